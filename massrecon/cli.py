"""The ``massrecon`` command line.

Thin by design: it parses arguments, calls the library and turns expected errors into one-line
messages with a non-zero exit status.
"""

import argparse
import sys

__all__ = ["main"]


def _cmd_frame(args):
    import astropy.units as u

    from .datasets import example_frame

    frame = example_frame(args.example, npix=args.npix, size_r200=args.size_r200)
    print(frame)
    rows = [
        ("M200c", f"{frame.m200.to_value(u.Msun):.4e} Msun"),
        ("M500c", f"{frame.m500.to_value(u.Msun):.4e} Msun"),
        ("R200c", f"{frame.r200.to_value(u.kpc):.1f} kpc"),
        ("R500c", f"{frame.r500.to_value(u.kpc):.1f} kpc"),
        ("c200", f"{frame.c200:.3f} ({frame.cm_relation})"),
        ("theta200", f"{frame.theta200.to_value(u.arcmin):.3f} arcmin"),
        ("pixel", f"{frame.pixel_scale.to_value(u.arcsec):.2f} arcsec = "
                  f"{frame.pixel_scale_kpc.to_value(u.kpc):.2f} kpc"),
        ("shape", f"{frame.array_shape}"),
    ]
    for key, val in rows:
        print(f"  {key:<9} {val}")
    if args.header:
        print(repr(frame.to_header()))
    return 0


def _register_frame(sub):
    from .contract import FRAME_NPIX, FRAME_SIZE_R200

    p = sub.add_parser("frame", help=_SUBCOMMANDS["frame"][0],
                       description="Show the model's R200 frame of a bundled example cluster.",
                       epilog="example: massrecon frame --example coma --header")
    p.add_argument("--example", default="coma", help="example cluster name (default: coma)")
    p.add_argument("--npix", type=int, default=FRAME_NPIX, help=f"pixels across the frame (default {FRAME_NPIX})")
    p.add_argument("--size-r200", type=float, default=FRAME_SIZE_R200,
                   help=f"frame width in units of R200 (default {FRAME_SIZE_R200:g})")
    p.add_argument("--header", action="store_true", help="also print the FITS header")
    p.set_defaults(func=_cmd_frame)


def _cmd_info(args):
    import json
    from pathlib import Path

    from . import __version__

    weights = Path(__file__).parent / "models" / "weights"
    meta = json.loads((weights / "generator.json").read_text())
    sup = meta.get("supported", {})
    print(f"massrecon {__version__}")
    print(f"bundled weights: {weights / 'generator.pt'}")
    print(f"  sha256       {meta.get('sha256', '?')}")
    print(f"  created      {meta.get('created_utc', '?')} with massrecon {meta.get('massrecon_version', '?')}, "
          f"torch {meta.get('torch_version', '?')}")
    print(f"  views        {', '.join(meta.get('views', []))}")
    frame = meta.get("frame", {})
    print(f"  frame        {frame.get('npix', '?')} px over {frame.get('size_r200', '?')} R200c")
    rows = [("log10 M200c", "log10_m200_h", "[h^-1 Msun]"), ("redshift", "z", ""),
            ("beam FWHM", "beam_fwhm_r200", "[R200c]"), ("frame scale", "frame_scale", "[R200 / true R200]"),
            ("R200 error", "r200_error", "(fractional)")]
    print("trained on:")
    for label, key, unit in rows:
        if key in sup:
            lo, hi = sup[key]
            print(f"  {label:<12} {lo:g} - {hi:g} {unit}")
    for view, (lo, hi) in sup.get("noise", {}).items():
        print(f"  noise {view:<6} {lo:g} - {hi:g} per pixel (model units)")
    relations = meta.get("scaling_relations")
    if relations:  # the frame of predict(..., self_consistent=True), docs/reconstruct.rst
        print("scaling relations (log10 M500 = a + b log10 S + c log10 E(z)):")
        for view in meta.get("views", []):
            if view in relations:
                r = relations[view]
                a, b, c = r["coef"]
                print(f"  {view:<6} S in {r.get('unit', '?'):<8} a = {a:.3f}, b = {b:.3f}, c = {c:.3f}, "
                      f"scatter {r['scatter_dex']:.3f} dex")
    return 0


def _register_info(sub):
    p = sub.add_parser("info", help=_SUBCOMMANDS["info"][0],
                       description="Print the massrecon version, the bundled weights (file, checksum, views, frame) "
                                   "and the ranges of mass, redshift, beam and noise they were trained on.",
                       epilog="example: massrecon info")
    p.set_defaults(func=_cmd_info)


def _cmd_lookup(args):
    import astropy.units as u
    from astropy.coordinates import SkyCoord

    from .observations import find_clusters

    try:
        position = SkyCoord(args.ra, args.dec, unit=(u.deg, u.deg))
    except ValueError:
        position = SkyCoord(args.ra, args.dec, unit=(u.hourangle, u.deg))
    matches = find_clusters(position, args.catalog, radius=args.radius * u.arcmin)
    if len(matches) == 0:
        print(f"no cluster within {args.radius:g} arcmin of {position.to_string('hmsdms')}")
        return 1
    matches["separation"].info.format = ".2f"
    matches["z"].info.format = ".4f"
    matches["m500"].info.format = ".3e"
    matches.pprint(max_width=-1, max_lines=-1)
    return 0


def _register_lookup(sub):
    p = sub.add_parser("lookup", help=_SUBCOMMANDS["lookup"][0],
                       description="List the PSZ2, MCXC and SPT entries near a sky position, nearest first, with "
                                   "redshift, M500 and what each catalogue's M500 means.",
                       epilog="example: massrecon lookup 149.59 -11.06 --catalog HFI_PCCS_SZ-union_R2.08.fits "
                              "--catalog mcxc.fits --radius 5")
    p.add_argument("ra", help="right ascension (deg, or h:m:s)")
    p.add_argument("dec", help="declination (deg, or d:m:s)")
    p.add_argument("--catalog", action="append", required=True,
                   help="a PSZ2, MCXC or SPT FITS catalogue (repeat for several)")
    p.add_argument("--radius", type=float, default=5.0, help="search radius in arcmin (default 5)")
    p.set_defaults(func=_cmd_lookup)


def _register_predict(sub):
    from .cli_predict import register

    register(sub)


def _requested_command(argv):
    for token in argv:
        if not token.startswith("-"):
            return token if token in _SUBCOMMANDS else None
    return None


def build_parser(argv=None):
    """The argument parser of the ``massrecon`` command.

    Only the subcommand named in ``argv`` gets its full parser: the others are listed by name and
    help, so that ``massrecon --help`` and ``--version`` answer without importing the simulator or
    torch.
    """
    from . import __version__

    argv = sys.argv[1:] if argv is None else list(argv)
    parser = argparse.ArgumentParser(
        prog="massrecon", description="Mass maps of galaxy clusters from SZ, X-ray and galaxies.",
        epilog="examples: massrecon demo --out demo; massrecon info; massrecon simulate --help",
    )
    parser.add_argument("--version", action="version", version=f"massrecon {__version__}")
    parser.add_argument("--debug", action="store_true", help="show the full traceback of an error")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    wanted = _requested_command(argv)
    for name, (help_text, register) in _SUBCOMMANDS.items():
        if name == wanted:
            register(sub)
        else:
            sub.add_parser(name, help=help_text)
    return parser


def _register_simulate(sub):
    from .simulate._cli import register

    register(sub)


def _cmd_demo(args):
    from .demo import run_demo

    summary = run_demo(args.out, overwrite=args.overwrite, plot=not args.no_plot)
    cols = ["views", "m500_pred", "m500_true", "m200_pred", "m200_true", "pixel_scatter", "iterations",
            "seconds"]
    for c in ("m500_pred", "m500_true", "m200_pred", "m200_true"):
        summary[c].info.format = ".3e"
    for c in ("pixel_scatter", "seconds"):
        summary[c].info.format = ".3f"
    summary[cols].pprint(max_width=-1, max_lines=-1)
    print(f"wrote mass maps, summary.ecsv{'' if args.no_plot else ' and demo.png'} to {args.out}")
    return 0


def _register_demo(sub):
    p = sub.add_parser("demo", help=_SUBCOMMANDS["demo"][0], epilog="example: massrecon demo --out massrecon-demo",
                       description="Write realistic mock observations of an example cluster (Planck-like y, "
                                   "eROSITA-like counts, SDSS-like members), read them back, reconstruct "
                                   "the mass map with every view subset, and write FITS maps, a summary and "
                                   "a figure.")
    p.add_argument("--out", default="massrecon-demo", help="output folder (default massrecon-demo)")
    p.add_argument("--overwrite", action="store_true", help="replace files of a previous run")
    p.add_argument("--no-plot", action="store_true", help="skip the PNG figure")
    p.set_defaults(func=_cmd_demo)


def _register_train(sub):
    try:
        from .training._cli import register
    except ImportError:  # pragma: no cover - training needs torch, which is a dependency
        return
    register(sub)


# name -> (one-line help, function adding the subcommand's full parser to ``sub``)
_SUBCOMMANDS = {
    "frame": ("show the model's R200 frame of a bundled example cluster", _register_frame),
    "info": ("version, bundled weights and the ranges they were trained on", _register_info),
    "predict": ("a mass map of a cluster from your own FITS/HEALPix/table files", _register_predict),
    "lookup": ("find catalogue clusters (PSZ2, MCXC, SPT) near a sky position", _register_lookup),
    "demo": ("run the whole path on the bundled example cluster", _register_demo),
    "simulate": ("simulate a mock-cluster dataset (HDF5)", _register_simulate),
    "train": ("train the mass-map generator", _register_train),
}

# What to do after Ctrl-C, per subcommand.
_RESUME_HINTS = {
    "simulate": "finished halos are kept: run the same command again to resume",
    "train": "the last checkpoint is kept: continue with massrecon train --resume RUN_DIR",
    "predict": "no output was written",
}


def main(argv=None):
    """Entry point of the ``massrecon`` command."""
    argv = sys.argv[1:] if argv is None else list(argv)
    parser = build_parser(argv)
    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except KeyboardInterrupt:
        hint = _RESUME_HINTS.get(args.command, "nothing was written after the interruption")
        print(f"massrecon {args.command}: interrupted; {hint}", file=sys.stderr)
        return 130
    except (ValueError, TypeError, OSError) as exc:  # astropy's UnitsError is a ValueError
        if args.debug:
            raise
        print(f"massrecon {args.command}: error: {exc} (--debug shows the traceback)", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
