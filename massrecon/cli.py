"""The ``massrecon`` command line.

Thin by design: it parses arguments, calls the library and turns expected errors into one-line
messages with a non-zero exit status.
"""

import argparse
import sys

import astropy.units as u

from .contract import FRAME_NPIX, FRAME_SIZE_R200

__all__ = ["main"]


def _cmd_frame(args):
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


def build_parser():
    """The argument parser of the ``massrecon`` command."""
    from . import __version__

    parser = argparse.ArgumentParser(
        prog="massrecon", description="Mass maps of galaxy clusters from SZ, X-ray and galaxies."
    )
    parser.add_argument("--version", action="version", version=f"massrecon {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("frame", help="show the model's R200 frame of a bundled example cluster")
    p.add_argument("--example", default="coma", help="example cluster name (default: coma)")
    p.add_argument("--npix", type=int, default=FRAME_NPIX, help=f"pixels across the frame (default {FRAME_NPIX})")
    p.add_argument("--size-r200", type=float, default=FRAME_SIZE_R200,
                   help=f"frame width in units of R200 (default {FRAME_SIZE_R200:g})")
    p.add_argument("--header", action="store_true", help="also print the FITS header")
    p.set_defaults(func=_cmd_frame)

    for register in _SUBCOMMANDS:
        register(sub)
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
    p = sub.add_parser("demo", help="run the whole path on the bundled example cluster",
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


# Subcommands of other subpackages; each is a function adding its parser to ``sub``.
_SUBCOMMANDS = [_register_simulate, _register_demo, _register_train]


def main(argv=None):
    """Entry point of the ``massrecon`` command."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except (ValueError, TypeError, u.UnitsError, OSError) as exc:
        print(f"massrecon {args.command}: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
