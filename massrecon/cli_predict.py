"""``massrecon predict``: a mass map from your own files.

The command reads what an astronomer holds for a cluster (a Compton-y FITS image or HEALPix map,
X-ray counts with exposure, background and mask in one or several bands, a member table), builds
the cluster's frame from a position, redshift and mass guess or from a catalogue entry, runs the
bundled model and writes:

* ``massmap.fits``: the `~massrecon.MassMap` (Sigma in Msun/kpc^2, WCS, uncertainty, provenance);
* ``masses.ecsv``: projected masses inside R500 and R200 and spherical M500c/M200c with their
  errors (pixel and model terms);
* ``profile.ecsv``: the azimuthally averaged profile with its errors;
* ``massmap.png`` (``--png``): the map on sky axes with R500/R200 circles, and the profile.

Everything here is the public Python API; the command only parses arguments.
"""

import os

__all__ = ["register"]

_EXAMPLE = ("example: massrecon predict --ra 149.593 --dec -11.064 --z 0.1669 --m500 5e14 "
            "--counts img.fits --exposure expmap.fits --ecf 6.1e11 --nh 4e20 --psf 30 --members members.ecsv "
            "--out a907")


def register(sub):
    """Add ``predict`` to the ``massrecon`` command's subparsers."""
    p = sub.add_parser(
        "predict", help="a mass map of a cluster from your own FITS/HEALPix/table files",
        description="Reconstruct the projected mass map of one cluster from your own files and write the "
                    "MassMap (FITS), a mass table and a profile table (ECSV) and optionally a PNG.",
        epilog=_EXAMPLE)
    g = p.add_argument_group("the cluster (a position, redshift and mass guess, or a catalogue entry)")
    g.add_argument("--ra", help="right ascension (deg or h:m:s)")
    g.add_argument("--dec", help="declination (deg or d:m:s)")
    g.add_argument("--z", type=float, help="redshift")
    g.add_argument("--m500", type=float, help="M500c guess in Msun (e.g. a catalogue mass)")
    g.add_argument("--m200", type=float, help="M200c guess in Msun")
    g.add_argument("--cluster", help="a catalogue name (PSZ2, MCXC or SPT), looked up in --catalog")
    g.add_argument("--catalog", help="the catalogue FITS file for --cluster")
    g = p.add_argument_group("Compton-y")
    g.add_argument("--y", help="FITS image of the SZ map (Compton-y, or a temperature: see --y-unit)")
    g.add_argument("--y-healpix", help="HEALPix FITS map of Compton-y (e.g. Planck MILCA)")
    g.add_argument("--y-beam", type=float, help="beam FWHM of the SZ map in arcmin")
    g.add_argument("--y-unit", default=None,
                   help="unit of the SZ image: '' (Compton-y, default) or a temperature such as uK, K, mK")
    g.add_argument("--y-kind", choices=("cmb", "rj"), default="cmb",
                   help="temperature convention of a temperature map (default cmb)")
    g.add_argument("--y-frequency", type=float, help="observing frequency in GHz of a temperature map")
    g.add_argument("--y-highpass", type=float, metavar="THETA",
                   help="a filtered (ground-based) map: dispersion in arcmin of its Gaussian high-pass")
    g.add_argument("--y-transfer", metavar="TABLE",
                   help="a filtered map: text table of its isotropic transfer function, columns ell and T(ell)")
    g = p.add_argument_group("X-ray (counts; several --counts are summed, each with its --exposure)")
    g.add_argument("--counts", action="append", default=[], help="counts image (repeat for several bands)")
    g.add_argument("--exposure", action="append", default=[], help="exposure map in s (one per --counts)")
    g.add_argument("--background", action="append", default=[], help="background counts image (one per --counts)")
    g.add_argument("--background-error", type=float, metavar="FRACTION",
                   help="fractional 1-sigma uncertainty of --background (e.g. 0.05): the map is predicted again "
                        "with the background scaled by 1 -+ FRACTION and the mass errors widened by the change")
    g.add_argument("--xray-mask", help="mask image (non-zero = good, eSASS convention)")
    g.add_argument("--band", type=float, nargs=2, default=[0.5, 2.0], metavar=("EMIN", "EMAX"),
                   help="observed energy band in keV of the summed counts (default 0.5 2)")
    g.add_argument("--ecf", type=float,
                   help="energy conversion factor, counts/s per erg/s/cm2 of ABSORBED flux in the band")
    g.add_argument("--arf", help="ARF file to compute the (absorbed-flux) ECF from, with --kt and --nh")
    g.add_argument("--kt", type=float, help="gas temperature in keV for the ECF and K-correction")
    g.add_argument("--nh", type=float, default=0.0,
                   help="Galactic NH in cm^-2: the absorption correction of the flux (default 0)")
    g.add_argument("--psf", type=float, help="X-ray PSF FWHM in arcsec")
    g = p.add_argument_group("member galaxies")
    g.add_argument("--members", help="member table (ECSV, FITS, CSV) with RA, Dec and stellar masses")
    g.add_argument("--members-completeness", type=float, metavar="MSUN",
                   help="stellar mass (Msun) above which the member table is complete")
    g.add_argument("--members-mag-limit", type=float, metavar="MAG",
                   help="instead: the member table's apparent AB magnitude limit (with --members-band)")
    g.add_argument("--members-band", choices=("g", "r", "i", "z"), default="r",
                   help="band of --members-mag-limit (default r)")
    g = p.add_argument_group("the prediction")
    g.add_argument("--r200-error", type=float, default=0.3,
                   help="fractional precision of the R200 from the mass guess (default 0.3)")
    g.add_argument("--self-consistent", action="store_true",
                   help="find R200 from the observations (the frame of the weights' scaling-relation mass; "
                        "docs/reconstruct.rst)")
    g.add_argument("--frame-ensemble", type=int, metavar="N",
                   help="average the maps of N frames within +-2%% in R200 (odd; default 5 with "
                        "--self-consistent, else 1)")
    g.add_argument("--out", default="massrecon-predict", help="output folder (default massrecon-predict)")
    g.add_argument("--overwrite", action="store_true", help="replace files of a previous run")
    g.add_argument("--png", action="store_true", help="also write massmap.png")
    p.set_defaults(func=run)


def _frame(args):
    import astropy.units as u
    from astropy.coordinates import SkyCoord

    from .frame import ClusterFrame
    from .observations import frame_from_mcxc, frame_from_psz2, frame_from_spt, read_catalog

    if args.cluster:
        if not args.catalog:
            raise ValueError("--cluster needs --catalog (the PSZ2, MCXC or SPT FITS file)")
        table = read_catalog(args.catalog)
        maker = {"PSZ2": frame_from_psz2, "MCXC": frame_from_mcxc, "SPT": frame_from_spt}[table.meta["catalog"]]
        return maker(args.cluster, table)
    missing = [k for k in ("ra", "dec", "z") if getattr(args, k) is None]
    if missing or (args.m500 is None) == (args.m200 is None):
        raise ValueError("give --ra, --dec, --z and one of --m500/--m200 (or --cluster with --catalog); "
                         f"missing: {', '.join('--' + m for m in missing) or '--m500 or --m200'}")
    try:
        center = SkyCoord(args.ra, args.dec, unit=(u.deg, u.deg))
    except ValueError:
        center = SkyCoord(args.ra, args.dec, unit=(u.hourangle, u.deg))
    mass = {"m500": args.m500 * u.Msun} if args.m500 is not None else {"m200": args.m200 * u.Msun}
    return ClusterFrame(center, args.z, **mass)


def _sz(args):
    import astropy.units as u
    import numpy as np

    from .observations import ComptonYMap

    if args.y and args.y_healpix:
        raise ValueError("give one of --y and --y-healpix")
    if not (args.y or args.y_healpix):
        return None
    if args.y_beam is None:
        raise ValueError("--y-beam (the SZ beam FWHM in arcmin) is required with an SZ map")
    beam = args.y_beam * u.arcmin
    transfer = _transfer_function(args)
    if args.y_healpix:
        if transfer is not None:
            raise ValueError("--y-highpass and --y-transfer describe a filtered cut-out, not a HEALPix map")
        return ComptonYMap.from_healpix(args.y_healpix, beam=beam)
    if args.y_unit in (None, "", "1"):
        ymap = ComptonYMap.read(args.y, beam=beam, unit=u.dimensionless_unscaled)
        return ymap if transfer is None else ComptonYMap(ymap.data, wcs=ymap.wcs, beam=beam, name=ymap.name,
                                                         transfer_function=transfer)
    from astropy.io import fits

    from .physics.tsz import y_from_map

    if args.y_frequency is None:
        raise ValueError(f"--y-frequency is required to convert an SZ map in {args.y_unit} to Compton-y")
    ymap = ComptonYMap.read(args.y, beam=beam, unit=u.dimensionless_unscaled)  # for its WCS and mask
    with fits.open(args.y) as hdul:
        data = np.squeeze(hdul[0].data).astype(float) * u.Unit(args.y_unit)
    y = y_from_map(data, args.y_frequency * u.GHz, kind=args.y_kind)
    return ComptonYMap(np.asarray(y), wcs=ymap.wcs, beam=beam, name=ymap.name, transfer_function=transfer)


def _transfer_function(args):
    """The filter of a ground-based SZ map from --y-highpass or --y-transfer (None: unfiltered)."""
    import astropy.units as u
    import numpy as np

    from .observations import TransferFunction

    if args.y_highpass is not None and args.y_transfer:
        raise ValueError("give one of --y-highpass and --y-transfer")
    if args.y_highpass is not None:
        return TransferFunction.high_pass(args.y_highpass * u.arcmin)
    if args.y_transfer:
        table = np.loadtxt(args.y_transfer, ndmin=2)
        if table.shape[1] < 2:
            raise ValueError(f"--y-transfer {args.y_transfer}: expected two columns (ell, T), got {table.shape[1]}")
        return TransferFunction.from_table(table[:, 1], ell=table[:, 0])
    return None


def _xray(args, frame):
    import astropy.units as u
    import numpy as np
    from astropy.io import fits
    from astropy.wcs import WCS

    from .observations import XrayImage

    if not args.counts:
        if getattr(args, "background_error", None) is not None:
            raise ValueError("--background-error needs X-ray counts (--counts) and their --background")
        return None
    if len(args.exposure) != len(args.counts):
        raise ValueError(f"give one --exposure per --counts (got {len(args.counts)} counts, "
                         f"{len(args.exposure)} exposure maps)")
    if args.background and len(args.background) != len(args.counts):
        raise ValueError("give one --background per --counts, or none")
    if args.psf is None:
        raise ValueError("--psf (the X-ray PSF FWHM in arcsec) is required with X-ray counts")
    band = args.band * u.keV
    ecf = _ecf(args, frame, band)
    counts, exposure, background = 0.0, 0.0, None
    for i, (cfile, efile) in enumerate(zip(args.counts, args.exposure)):
        counts = counts + fits.getdata(cfile).astype(float)
        # counts of several bands over one exposure: the exposure maps agree within vignetting, and
        # the summed rate needs their mean
        exposure = exposure + fits.getdata(efile).astype(float) / len(args.counts)
        if args.background:
            b = fits.getdata(args.background[i]).astype(float)
            background = b if background is None else background + b
    mask = None
    if args.xray_mask:
        mask = np.asarray(fits.getdata(args.xray_mask)) == 0
    return XrayImage.from_counts(counts * u.ct, exposure * u.s, wcs=WCS(fits.getheader(args.counts[0])).celestial,
                                 band=band, ecf=ecf, background=None if background is None else background * u.ct,
                                 mask=mask, beam=args.psf * u.arcsec, nh=args.nh * u.cm**-2,
                                 background_error=args.background_error,
                                 **({"kT": args.kt * u.keV} if args.kt else {}))


def _ecf(args, frame, band):
    import astropy.units as u

    unit = u.ct / u.s / (u.erg / u.s / u.cm**2)
    if (args.ecf is None) == (args.arf is None):
        raise ValueError("give one of --ecf (counts/s per erg/s/cm2) and --arf (with --kt, --nh)")
    if args.ecf is not None:
        return args.ecf * unit
    from .physics.response import energy_conversion_factor, read_arf

    if args.kt is None:
        raise ValueError("--kt (gas temperature in keV) is required to compute the ECF from --arf")
    # an ECF of the absorbed flux, nearly independent of NH; the flux is then corrected for NH
    return energy_conversion_factor(read_arf(args.arf), band, args.kt * u.keV, z=frame.z,
                                    nh=args.nh * u.cm**-2, flux="absorbed").to(unit)


def _members(args):
    import astropy.units as u
    from astropy.table import QTable

    from .observations import GalaxyMembers

    if not args.members:
        return None
    if args.members_completeness is not None and args.members_mag_limit is not None:
        raise ValueError("give one of --members-completeness and --members-mag-limit")
    depth = {}
    if args.members_completeness is not None:
        depth["completeness_limit"] = args.members_completeness * u.Msun
    elif args.members_mag_limit is not None:
        depth.update(magnitude_limit=args.members_mag_limit, magnitude_band=args.members_band)
    fmt = "ascii.csv" if str(args.members).lower().endswith(".csv") else None
    return GalaxyMembers(QTable.read(args.members, format=fmt) if fmt else QTable.read(args.members), **depth)


def _tables(mass_map, frame):
    import astropy.units as u
    import numpy as np
    from astropy.table import QTable

    rows = []
    # the radii of the map's own frame (a self-consistent frame is not the catalogue's)
    r500 = float(mass_map.meta.get("R500C", frame.r500.to_value(u.kpc))) * u.kpc
    r200 = float(mass_map.meta.get("R200C", frame.r200.to_value(u.kpc))) * u.kpc
    for label, radius in (("projected R500", r500), ("projected R200", r200)):
        m = mass_map.projected_mass(radius)
        rows.append((label, m.mass, m.error, m.pixel_error, m.model_error))
    for delta in (500, 200):
        try:
            m = mass_map.spherical_mass(delta)
        except (ValueError, RuntimeError) as exc:  # a fit that fails is reported, not fatal
            from .logger import log

            log.warning(f"spherical M{delta}c: the NFW fit failed ({exc})")
            continue
        rows.append((f"spherical M{delta}c", m.mass, m.error, m.pixel_error, m.model_error))
    if "RELM500" in mass_map.meta:
        # the scaling-relation mass that placed a self-consistent frame, with the relations' scatter
        rel = float(mass_map.meta["RELM500"]) * u.Msun
        err = rel * float(mass_map.meta.get("RELSCAT", np.nan)) * np.log(10)
        rows.append(("relation M500c", rel, err, np.nan * u.Msun, err))
    masses = QTable(rows=rows, names=("quantity", "mass", "error", "pixel_error", "model_error"))
    edges = np.geomspace(0.05, 1.0, 11) * r200
    prof = mass_map.profile(edges)
    profile = QTable({"r_in": edges[:-1].to(u.kpc), "r_out": edges[1:].to(u.kpc), "sigma": prof.sigma,
                      "error": prof.error, "pixel_error": prof.pixel_error, "model_error": prof.model_error})
    return masses, profile


def _png(path, mass_map):
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(11, 5))
    FigureCanvasAgg(fig)
    ax = fig.add_subplot(1, 2, 1, projection=mass_map.wcs)
    mass_map.plot(ax=ax)
    mass_map.plot_profile(ax=fig.add_subplot(1, 2, 2))
    fig.tight_layout()
    fig.savefig(path, dpi=90)


def run(args):
    """Run ``massrecon predict`` (the parsed arguments of `register`'s parser)."""
    from .frame_ensemble import check_frame_ensemble
    from .reconstruct import MassReconstructor

    if args.frame_ensemble is not None:
        try:
            check_frame_ensemble(args.frame_ensemble)
        except ValueError:
            # before anything is read: the option's own name
            raise ValueError(f"--frame-ensemble must be a positive odd number of frames, got "
                             f"{args.frame_ensemble}") from None

    files = {k: os.path.join(args.out, v) for k, v in dict(
        map="massmap.fits", masses="masses.ecsv", profile="profile.ecsv", png="massmap.png").items()}
    if not args.overwrite:
        existing = [f for k, f in files.items() if os.path.exists(f) and (k != "png" or args.png)]
        if existing:
            raise FileExistsError(f"{existing[0]} exists: pass --overwrite to replace it")
    frame = _frame(args)
    observations = [o for o in (_sz(args), _xray(args, frame), _members(args)) if o is not None]
    if not observations:
        raise ValueError("give at least one observation: --y/--y-healpix, --counts with --exposure, or --members")
    rec = MassReconstructor.pretrained()
    mass_map = rec.predict(observations, frame, r200_error=None if args.self_consistent else args.r200_error,
                           self_consistent=args.self_consistent, frame_ensemble=args.frame_ensemble)
    os.makedirs(args.out, exist_ok=True)
    mass_map.write(files["map"], overwrite=True)
    masses, profile = _tables(mass_map, frame)
    masses.write(files["masses"], format="ascii.ecsv", overwrite=True)
    profile.write(files["profile"], format="ascii.ecsv", overwrite=True)
    if args.png:
        _png(files["png"], mass_map)
    for row in masses:
        print(f"{row['quantity']:<16} {row['mass'].value:.3e} +- {row['error'].value:.2e} Msun")
    print(f"wrote {', '.join(os.path.basename(f) for k, f in files.items() if k != 'png' or args.png)} "
          f"to {args.out}")
    return 0
