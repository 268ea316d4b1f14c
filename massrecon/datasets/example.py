"""A bundled example: realistic observation files of one mock cluster, written by code.

`make_example_observations` simulates one cluster with `massrecon.simulate` and writes the kind of
files an astronomer holds for a real cluster:

* ``y_planck.fits``: a Planck-like Compton-y image (gnomonic, 1 arcmin pixels, 10 arcmin beam,
  white noise of 1e-6 per pixel, roughly MILCA/NILC full-mission levels per beam after
  smoothing), 6 R200 across, with its noise map in the ``NOISE`` extension;
* ``xray_counts.fits``, ``xray_expmap.fits``, ``xray_bkg.fits``, ``xray_mask.fits``: an
  eROSITA-like 0.5-2 keV observation (8 arcsec pixels, 30 arcsec PSF FWHM, 2 ks vignetted
  exposure as in eFEDS, a flat particle+sky background with its expected counts map, Poisson
  counts, a few point sources masked, Galactic absorption by :math:`N_H = 2 \\times 10^{20}`
  cm\\ :sup:`-2` (header keyword ``NH``), and the energy conversion factor of the eFEDS ARF for the
  absorbed flux, 0.636e12 counts s^-1 per erg s^-1 cm^-2, header keyword ``ECF``);
* ``members.ecsv``: an SDSS-like member catalogue (RA, Dec, stellar mass above 1e10 Msun,
  spectroscopic redshift);
* ``cluster.ecsv``: the catalogue entry (position, redshift and an M500 off by ~15%, as a
  PSZ2 or MCXC mass would be);
* ``truth.fits``: the true projected total mass on the model's frame (a `~massrecon.MassMap`).

Nothing is downloaded: the files are made from the simulator with a fixed seed, so they are the
same on every machine.  `read_example_observations` reads them back with the observation classes'
readers, as a user would read real files.
"""

import os
import typing

import astropy.units as u
import numpy as np
from astropy.constants import c as speed_of_light
from astropy.coordinates import SkyCoord
from astropy.io import fits
from astropy.stats import gaussian_fwhm_to_sigma
from astropy.table import QTable
from astropy.wcs import WCS
from scipy.ndimage import gaussian_filter

from ..contract import FRAME_NPIX, MEMBER_MAP_MASS_LIMIT
from ..frame import ClusterFrame
from ..massmap import MassMap

__all__ = ["EXAMPLE", "make_example_observations", "read_example_observations"]

#: Names of the example files, by role.
_FILES = dict(y="y_planck.fits", counts="xray_counts.fits", exposure="xray_expmap.fits", background="xray_bkg.fits",
              mask="xray_mask.fits", members="members.ecsv", cluster="cluster.ecsv", truth="truth.fits")

#: Parameters of the bundled example cluster.
EXAMPLE = dict(
    name="MOCK-J1200+2000", ra=180.0 * u.deg, dec=20.0 * u.deg, z=0.15, halo_id=3, seed=2024,
    log_m200=14.9, catalogue_mass_error=0.15, y_noise=1e-6, y_beam=10 * u.arcmin, y_pixel=1 * u.arcmin,
    xray_pixel=8 * u.arcsec, xray_psf=30 * u.arcsec, exposure=2000 * u.s,
    # massrecon.physics.energy_conversion_factor of the eFEDS ARF (shared/data/efeds, PSF loss
    # removed) for this cluster's spectrum (0.5-2 keV, kT = 7.7 keV, z = 0.15) and N_H, absorbed flux
    ecf=0.636e12 * u.ct / u.s / (u.erg / u.s / u.cm**2), nh=2e20 * u.cm**-2,
    background=2e-3 * u.ct / u.s / u.arcmin**2,
)


def _tan_wcs(center, npix, pixel):
    w = WCS(naxis=2)
    w.wcs.ctype = ["RA---TAN", "DEC--TAN"]
    w.wcs.crval = [center.ra.deg, center.dec.deg]
    w.wcs.crpix = [(npix + 1) / 2, (npix + 1) / 2]
    w.wcs.cdelt = [-pixel.to_value(u.deg), pixel.to_value(u.deg)]
    w.wcs.cunit = ["deg", "deg"]
    w.wcs.radesys = "ICRS"
    return w


def _project(halo, model, basis, npix, size_r200):
    # the simulator is imported only when the files are made: massrecon's core does not need it
    from ..simulate import project_halo

    maps, members = project_halo(model, basis, npix=npix, size_r200=size_r200, smoothing_r200=0.0)
    return maps, members


def make_example_observations(directory, *, overwrite=False):
    """Write the example observation files into ``directory``.

    Parameters
    ----------
    directory : str or path-like
        Output folder (created if needed).
    overwrite : bool
        Replace existing files; without it an existing file raises `FileExistsError`.

    Returns
    -------
    files : dict
        Paths of the files written, by role (``y``, ``counts``, ``exposure``, ``background``,
        ``mask``, ``members``, ``cluster``, ``truth``).

    Examples
    --------
    >>> import tempfile
    >>> from massrecon.datasets import make_example_observations
    >>> files = make_example_observations(tempfile.mkdtemp())
    >>> sorted(files)
    ['background', 'cluster', 'counts', 'exposure', 'mask', 'members', 'truth', 'y']
    """
    from ..simulate import HaloModel, SimulationConfig, projection_bases, sample_halo

    ex = EXAMPLE
    directory = os.fspath(directory)
    os.makedirs(directory, exist_ok=True)
    files = {k: os.path.join(directory, v) for k, v in _FILES.items()}
    if not overwrite:
        existing = [p for p in files.values() if os.path.exists(p)]
        if existing:
            raise FileExistsError(f"{existing[0]} exists; pass overwrite=True (--overwrite) to replace it")
    rng = np.random.default_rng(ex["seed"])
    cfg = SimulationConfig(seed=ex["seed"], z_range=(ex["z"], ex["z"]),
                           log_m200_range=(ex["log_m200"] - 1e-6, ex["log_m200"] + 1e-6))
    halo = sample_halo(ex["halo_id"], cfg)
    mock = _Mock(halo, HaloModel(halo, cfg.physics), projection_bases(29)[0],
                 ClusterFrame(SkyCoord(ex["ra"], ex["dec"]), halo.z, m200=halo.m200 * u.Msun, name=ex["name"]))
    # the random draws happen in this order (y noise, then X-ray sources and counts): keep it
    _write_y(mock, rng, files)
    _write_xray(mock, rng, files)
    _write_members(mock, files)
    _write_catalogue_and_truth(mock, files)
    return files


class _Mock(typing.NamedTuple):
    """The example cluster: its simulated halo and model, the line of sight and the true frame."""

    halo: object
    model: object
    basis: np.ndarray
    frame: ClusterFrame

    @property
    def da_kpc(self):
        return self.frame.angular_diameter_distance.to_value(u.kpc)

    def project(self, npix, size_r200):
        return _project(self.halo, self.model, self.basis, npix, size_r200)


def _write_y(mock, rng, files):
    """The Planck-like Compton-y image with its noise map."""
    ex, halo, center = EXAMPLE, mock.halo, mock.frame.center
    pix = ex["y_pixel"]
    pix_kpc = pix.to_value(u.rad) * mock.da_kpc
    npix_y = int(np.ceil(6 * halo.r200 / pix_kpc / 2) * 2)
    maps, _ = mock.project(npix_y, npix_y * pix_kpc / halo.r200)
    sigma_pix = (ex["y_beam"] / pix).decompose().value * gaussian_fwhm_to_sigma
    y = gaussian_filter(maps["compton_y"], sigma_pix, mode="nearest")
    y = y + rng.normal(scale=ex["y_noise"], size=y.shape)
    hdr = _tan_wcs(center, npix_y, pix).to_header()
    hdr["BUNIT"] = ""
    hdr["BEAMFWHM"] = (ex["y_beam"].to_value(u.arcmin), "[arcmin] beam FWHM")
    hdr["NOISE"] = (ex["y_noise"], "white noise rms per pixel")
    hdr["COMMENT"] = "massrecon example: Planck-like Compton-y map of a mock cluster"
    noise = fits.ImageHDU(np.full(y.shape, ex["y_noise"]), name="NOISE")
    noise.header["COMMENT"] = "white noise rms per pixel"
    fits.HDUList([fits.PrimaryHDU(y.astype(np.float32), header=hdr), noise]).writeto(files["y"], overwrite=True)


def _xray_rate(mock, npix_x, pix):
    """Expected source count rate per pixel (ct/s) of the absorbed, PSF-smoothed cluster."""
    from ..observations.xray import rest_frame_emissivity

    ex, halo, frame = EXAMPLE, mock.halo, mock.frame
    maps_x, _ = mock.project(npix_x, npix_x * pix.to_value(u.rad) * mock.da_kpc / halo.r200)
    # Vikhlinin et al. 2009 M-T relation for the spectrum's temperature
    kt = 5.0 * (frame.m500.to_value(u.Msun) * frame.cosmology.h * frame.cosmology.efunc(halo.z)
                / 3.02e14) ** (1 / 1.53) * u.keV
    band = [0.5, 2.0] * u.keV
    # the absorbed surface brightness: the observation's conversion, Galactic absorption included
    per_sx = rest_frame_emissivity(1.0 * u.erg / u.s / u.cm**2 / u.sr, halo.z, band, kt, nh=ex["nh"])
    sx = maps_x["xray_soft"] * u.erg / u.s / u.kpc**2 / per_sx * (u.erg / u.s / u.cm**2 / u.sr)
    pix_sr = (pix.to(u.rad) ** 2).to(u.sr)
    rate = (sx.to(u.erg / u.s / u.cm**2 / u.sr) * pix_sr * ex["ecf"]).to_value(u.ct / u.s)
    return gaussian_filter(rate, (ex["xray_psf"] / pix).decompose().value * gaussian_fwhm_to_sigma)


def _write_xray(mock, rng, files):
    """eROSITA-like counts, exposure, background and point-source mask."""
    ex, halo = EXAMPLE, mock.halo
    pix = ex["xray_pixel"]
    npix_x = int(np.ceil(3 * halo.r200 / (pix.to_value(u.rad) * mock.da_kpc) / 2) * 2)
    rate = _xray_rate(mock, npix_x, pix)
    psf_sigma = (ex["xray_psf"] / pix).decompose().value * gaussian_fwhm_to_sigma  # pixels
    ii = np.arange(npix_x) - (npix_x - 1) / 2
    rr = np.hypot(*np.meshgrid(ii, ii)) * pix.to_value(u.arcmin)
    # vignetting: a gentle fall-off across the field (eROSITA survey exposure varies slowly)
    expmap = ex["exposure"].to_value(u.s) * (1 - 0.15 * (rr / rr.max()) ** 2)
    bkg = (ex["background"] * (pix.to(u.arcmin)) ** 2).to_value(u.ct / u.s)
    mask = np.ones((npix_x, npix_x), dtype=np.int16)
    for _ in range(6):  # unrelated point sources (AGN), masked as a survey pipeline would
        cx, cy = rng.uniform(0.15, 0.85, size=2) * npix_x
        flux = 10 ** rng.uniform(-2.5, -1.5)
        d2 = (np.arange(npix_x)[None, :] - cx) ** 2 + (np.arange(npix_x)[:, None] - cy) ** 2
        rate = rate + flux * np.exp(-d2 / (2 * psf_sigma**2)) / (2 * np.pi * psf_sigma**2)
        mask[d2 < 8**2] = 0
    counts = rng.poisson((rate + bkg) * expmap).astype(np.int32)
    whdr = _tan_wcs(mock.frame.center, npix_x, pix).to_header()
    h = whdr.copy()
    h["BUNIT"] = "count"
    h["EMIN"], h["EMAX"] = 0.5, 2.0
    h["PSFFWHM"] = (ex["xray_psf"].to_value(u.arcsec), "[arcsec] PSF FWHM")
    h["ECF"] = (ex["ecf"].value, "ct/s per erg/s/cm2, absorbed flux")
    h["NH"] = (ex["nh"].to_value(u.cm**-2), "[cm-2] Galactic hydrogen column")
    h["BKGRATE"] = (ex["background"].value, "[ct/s/arcmin2] background")
    fits.PrimaryHDU(counts, header=h).writeto(files["counts"], overwrite=True)
    h = whdr.copy()
    h["BUNIT"] = "s"
    fits.PrimaryHDU(expmap.astype(np.float32), header=h).writeto(files["exposure"], overwrite=True)
    h = whdr.copy()
    h["BUNIT"] = "count"
    h["COMMENT"] = "expected background counts (particle + sky)"
    # on the exposure as stored (float32), which is what a reader of the files multiplies
    fits.PrimaryHDU(bkg * expmap.astype(np.float32), header=h).writeto(files["background"], overwrite=True)
    h = whdr.copy()
    h["COMMENT"] = "1 = good, 0 = masked point source"
    fits.PrimaryHDU(mask, header=h).writeto(files["mask"], overwrite=True)


def _write_members(mock, files):
    """The SDSS-like member catalogue: galaxies above the stars view's limit, spectroscopic z."""
    halo, center, da = mock.halo, mock.frame.center, mock.da_kpc
    _, members = mock.project(FRAME_NPIX, 4.0)
    sel = members["mstar"] >= MEMBER_MAP_MASS_LIMIT.to_value(u.Msun)
    offs_x = members["x"][sel] / da * u.rad
    offs_y = members["y"][sel] / da * u.rad
    # image x grows to the west on the sky (east left): RA decreases with x
    coords = center.spherical_offsets_by(-offs_x.to(u.deg), offs_y.to(u.deg))
    zspec = halo.z + members["v_los"][sel] / speed_of_light.to_value(u.km / u.s) * (1 + halo.z)
    tab = QTable()
    tab["ra"] = coords.ra.to(u.deg)
    tab["dec"] = coords.dec.to(u.deg)
    tab["mstar"] = members["mstar"][sel] * u.Msun
    tab["z"] = zspec
    tab.meta["comments"] = ["massrecon example: SDSS-like member catalogue of a mock cluster"]
    tab.write(files["members"], format="ascii.ecsv", overwrite=True)


def _write_catalogue_and_truth(mock, files):
    """The catalogue entry (a mass off by ``catalogue_mass_error``) and the true mass map."""
    ex, halo, frame = EXAMPLE, mock.halo, mock.frame
    center = frame.center
    m500_cat = frame.m500 * (1 + ex["catalogue_mass_error"])
    cat = QTable(dict(name=[ex["name"]], ra=[center.ra.deg] * u.deg, dec=[center.dec.deg] * u.deg,
                      z=[halo.z], m500=[m500_cat.to_value(u.Msun)] * u.Msun,
                      m500_true=[frame.m500.to_value(u.Msun)] * u.Msun))
    cat.write(files["cluster"], format="ascii.ecsv", overwrite=True)
    truth_maps, _ = mock.project(frame.npix, frame.size_r200)
    truth = MassMap.from_frame(truth_maps["sigma_total"] * u.Msun / u.kpc**2, frame,
                               meta={"MODEL": "truth", "COMMENT": "true projected mass, slab +-R200"})
    truth.write(files["truth"], overwrite=True)


def read_example_observations(files):
    """Read the example files back as a user reads real ones: the observations and the catalogue entry.

    Parameters
    ----------
    files : dict
        Paths by role, as returned by `make_example_observations`.

    Returns
    -------
    observations : dict
        `~massrecon.observations.ComptonYMap`, `~massrecon.observations.XrayImage` and
        `~massrecon.observations.GalaxyMembers` by view (``"sz"``, ``"xray"``, ``"stars"``).
    entry : `~astropy.table.Row`
        The catalogue entry of the cluster (``name``, ``ra``, ``dec``, ``z``, the catalogue
        ``m500`` and the true ``m500_true``).
    """
    from ..observations import ComptonYMap, GalaxyMembers, XrayImage

    hy = fits.getheader(files["y"])
    hx = fits.getheader(files["counts"])
    observations = {
        "sz": ComptonYMap.read(files["y"], beam=hy["BEAMFWHM"] * u.arcmin, noise_hdu="NOISE"),
        "xray": XrayImage.read_counts(files["counts"], files["exposure"], band=[hx["EMIN"], hx["EMAX"]] * u.keV,
                                      ecf=hx["ECF"] * u.ct / u.s / (u.erg / u.s / u.cm**2), nh=hx["NH"] * u.cm**-2,
                                      beam=hx["PSFFWHM"] * u.arcsec, background_file=files["background"],
                                      mask_file=files["mask"]),
        "stars": GalaxyMembers(QTable.read(files["members"])),
    }
    return observations, QTable.read(files["cluster"])[0]
