"""``massrecon simulate`` and ``massrecon simulate merge``."""

import sys

from ..contract import FRAME_NPIX, FRAME_SIZE_R200
from .config import SimulationConfig
from .physics_models import PHYSICS_MODELS, SUPERSEDED_PHYSICS_MODELS
from .projection import MODEL_EXTENT_R200


def _shard_range(n_halos, shard):
    try:
        i, n = (int(v) for v in shard.split("/"))
    except Exception as exc:
        raise ValueError(f"--shard must look like I/N (e.g. 0/4), got {shard!r}") from exc
    if not (n >= 1 and 0 <= i < n):
        raise ValueError(f"--shard I/N needs 0 <= I < N, got {shard!r}")
    start = (i * n_halos) // n
    stop = ((i + 1) * n_halos) // n
    if stop <= start:
        raise ValueError(f"--shard {shard} holds no halo for --n-halos {n_halos}")
    return start, stop - start


def _run(args):
    from .dataset import write_dataset

    config = SimulationConfig(
        physics=args.physics, seed=args.seed, projections=args.projections,
        log_m200_range=(args.log_m_min, args.log_m_max), z_range=(args.z_min, args.z_max),
        mass_sampling=args.mass_sampling, npix=args.npix, size_r200=args.size_r200,
        depth_r200=args.depth_r200, observable_depth_r200=args.observable_depth_r200,
        smoothing_r200=args.smoothing_r200,
        maps=tuple(args.maps.split(",")) if args.maps else (), los_neighbours=args.los_neighbours,
    )
    if args.out is None:
        raise ValueError("--out is required: the output HDF5 file")
    start, n = 0, args.n_halos
    if args.shard:
        start, n = _shard_range(args.n_halos, args.shard)
    try:
        write_dataset(args.out, n, config, halo_start=start, overwrite=args.overwrite,
                      workers=args.workers, progress=not args.quiet)
    except KeyboardInterrupt:
        print(f"\nmassrecon simulate: interrupted; the halos finished so far are kept in {args.out}: run the same "
              "command again (without --overwrite) to resume", file=sys.stderr)
        return 130
    print(f"wrote {args.out}: halos {start}..{start + n - 1}, {n * config.projections} maps")
    return 0


def _merge(args):
    from .dataset import merge_datasets

    merge_datasets(args.shards, args.out, overwrite=args.overwrite)
    print(f"merged {len(args.shards)} shards into {args.out}")
    return 0


def register(sub):
    p = sub.add_parser("simulate", help="simulate a mock-cluster dataset (HDF5)",
                       description="Simulate mock clusters and write their maps to an HDF5 dataset. "
                                   "'massrecon simulate merge' joins shards.",
                       epilog="example: massrecon simulate --n-halos 20 --seed 11 --out test.h5")
    p.add_argument("--n-halos", type=int, default=100, help="number of halos (default 100)")
    p.add_argument("--projections", type=int, default=29, help="lines of sight per halo (default 29)")
    p.add_argument("--physics", default="fiducial", choices=sorted(PHYSICS_MODELS) + sorted(SUPERSEDED_PHYSICS_MODELS),
                   help="physics variant (default fiducial; the *_v1 variants are the superseded gas "
                        "calibration of the first phase of the bundled weights)")
    p.add_argument("--seed", type=int, default=1, help="random seed (default 1)")
    p.add_argument("--out", help="output HDF5 file")
    p.add_argument("--shard", help="write shard I of N (I/N): a contiguous block of halo ids")
    p.add_argument("--overwrite", action="store_true", help="replace an existing output file")
    p.add_argument("--workers", type=int, default=None, help="worker processes (default: all cores)")
    p.add_argument("--npix", type=int, default=FRAME_NPIX, help=f"pixels across a map (default {FRAME_NPIX})")
    p.add_argument("--size-r200", type=float, default=FRAME_SIZE_R200,
                   help=f"map width in R200 (default {FRAME_SIZE_R200:g})")
    p.add_argument("--depth-r200", type=float, default=1.0,
                   help="half-depth in R200 of the slab of the target surface densities (default 1)")
    p.add_argument("--observable-depth-r200", type=float, default=MODEL_EXTENT_R200,
                   help="half-depth in R200 of the column of the observables: y, X-ray, members "
                        f"(default {MODEL_EXTENT_R200:g}, the whole mock halo)")
    p.add_argument("--smoothing-r200", type=float, default=0.01, help="smoothing FWHM in R200 (0.01)")
    p.add_argument("--log-m-min", type=float, default=13.5, help="log10 M200c min [Msun/h] (13.5)")
    p.add_argument("--log-m-max", type=float, default=15.5, help="log10 M200c max [Msun/h] (15.5)")
    p.add_argument("--z-min", type=float, default=0.01, help="minimum redshift (0.01)")
    p.add_argument("--z-max", type=float, default=0.12, help="maximum redshift (0.12)")
    p.add_argument("--mass-sampling", default="flat", choices=("flat", "mass_function"))
    p.add_argument("--maps", help="comma-separated maps to store (default: all), e.g. "
                                  "sigma_total,compton_y,xray_soft,sigma_stars")
    p.add_argument("--los-neighbours", type=float, default=0.0,
                   help="mean number of unrelated halos along each line of sight beyond the halo, added to "
                        "the y and X-ray maps only (default 0: off)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=_run)
    ms = p.add_subparsers(dest="simulate_command", required=False)
    m = ms.add_parser("merge", help="join shards into one dataset")
    m.add_argument("shards", nargs="+", help="shard files")
    m.add_argument("--out", required=True, help="merged output file")
    m.add_argument("--overwrite", action="store_true", help="replace an existing output file")
    m.set_defaults(func=_merge)
    return p


__all__ = []

