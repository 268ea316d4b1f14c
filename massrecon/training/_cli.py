"""The ``massrecon train`` subcommand."""

from pathlib import Path

__all__ = ["register"]


def _cmd_train(args):
    from .config import TrainingConfig
    from .loop import train

    if args.resume is not None:
        if args.config is not None:
            raise ValueError("give either CONFIG.toml or --resume RUN_DIR, not both")
        result = train(None, args.resume, resume=True, progress=not args.quiet)
    else:
        if args.config is None:
            raise ValueError("give CONFIG.toml (a new run) or --resume RUN_DIR")
        config = TrainingConfig.from_toml(args.config)
        run_dir = args.run_dir if args.run_dir is not None else Path(args.config).with_suffix("")
        result = train(config, run_dir, progress=not args.quiet)
    print(f"trained to step {result['step']}; run directory {result['run_dir']}")
    return 0


def register(subparsers):
    """Add ``train`` to the ``massrecon`` command's subparsers."""
    p = subparsers.add_parser(
        "train", help="train the mass-map generator",
        description="Train the generator on HDF5 mock data sets (or on maps simulated on the fly: a "
                    "[data.simulate] table): `massrecon train CONFIG.toml [--run-dir DIR]` starts a run, "
                    "`massrecon train --resume RUN_DIR` continues one.",
        epilog="example: massrecon train configs/bundled_weights.toml --run-dir runs/base",
    )
    p.add_argument("config", nargs="?", default=None, help="TOML training configuration")
    p.add_argument("--run-dir", default=None,
                   help="run directory (default: the configuration's path without .toml)")
    p.add_argument("--resume", metavar="RUN_DIR", default=None, help="continue the run in RUN_DIR")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=_cmd_train)
    return p
