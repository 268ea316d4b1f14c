"""Weights measured on fresh simulations of every physics variant, with seeds never used in training.

The test split of a training set shares its physics and its random stream with the training
halos.  Here each physics variant of the simulator (`~massrecon.simulate.PHYSICS_MODELS`) is
simulated afresh with a seed of its own (fiducial 11, the others 12: seeds the training sets of
``tools/simulate_training_set.sh`` never use), on the training set's sampling (104 pixels over
2.6 R200, z 0.01-1), and the weights are measured on every map of it, as
`massrecon.validation.evaluate` measures them on a test split:

* per variant, condition (`~massrecon.validation.instruments.CONDITIONS`: instrument and whether
  R200 is known) and view set, the bias and scatter of the projected mass inside the true
  :math:`R_{500}` of the predicted map against the true map, and the pixel scatter;
* the coverage of the pixel intervals of the weights' ``calibration`` (68% and 95%, i.e.
  :math:`\\pm 1` and :math:`\\pm 1.96` calibrated sigma) on the mix of inputs the calibration was
  measured on (R200 estimated, idealised and instrument-like inputs), per variant and pooled;
* the **physics systematic** of each view set, the largest :math:`|{\\rm bias}|` of
  :math:`M(<R_{500})` over variants and conditions (or their rms), the uncertainty of the mass
  scale that the choice of physics leaves (`physics_systematic`);
* the **coverage scale** of each view set, the factor on the calibrated sigma that makes the
  68% intervals cover 68% of the true pixels of all variants together (`CoverageTally.scale`).

``python -m massrecon.validation.heldout`` writes the table of the documentation
(``docs/validation_heldout.rst``) and, with ``--write-metadata``, stores the systematic
(``"physics_systematic"``) and, with ``--rescale-coverage``, the coverage scales
(``calibration[view_set]["coverage_scale"]``) in a weights' ``generator.json``; the reconstructor
multiplies the calibrated sigma by the scale, and `~massrecon.analysis.ModelErrors` adds the
systematic to the model error of masses in quadrature.

As in `massrecon.validation.evaluate`, "R200 estimated" tells the network ``r200_error=0.3`` on the
true frame; ``frame_jitter`` also cuts the frame at a wrong R200 (``f`` true R200, ``f`` uniform in
``1 +- frame_jitter`` as in training), the masses then measured in the true :math:`R_{500}`.
"""

import argparse
import itertools
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from scipy import stats

from ..contract import FRAME_NPIX, R200_ERROR_MAX, TARGET_MAP, VIEW_MAPS
from ..logger import log
from ..models.transforms import TargetTransform
from .evaluate import _predict, _samples, load_split
from .instruments import CONDITIONS
from .metrics import mass_metrics, pixel_metrics, radius_grid

__all__ = ["VARIANT_SEEDS", "DEFAULT_CONDITIONS", "COVERAGE_CONDITIONS", "heldout_config", "simulate_variants",
           "CoverageTally", "measure_variant", "measure", "physics_systematic", "rst_table", "update_metadata"]

#: Physics variant -> seed of its held-out simulation (never a training seed: 1, 31, 32).
VARIANT_SEEDS = {"fiducial": 11, "weak_feedback": 12, "strong_feedback": 12}

#: Conditions measured by default: the paper's (ideal, R200 known) and a user's (R200 estimated).
DEFAULT_CONDITIONS = ("ideal", "ideal_r200_estimated", "planck_like_r200_estimated")

#: The conditions of the pixel calibration (`massrecon.validation.evaluate`): R200 estimated,
#: idealised and instrument-like inputs mixed; the coverage is measured on the same mix.
COVERAGE_CONDITIONS = ("ideal_r200_estimated", "planck_like_r200_estimated")

#: Half-width, in calibrated sigma, of the 95% intervals.
_Z95 = float(stats.norm.ppf(0.975))

#: Storage sampling of the held-out maps: the training set's (tools/simulate_training_set.sh).
_NPIX, _SIZE_R200, _Z_RANGE = 104, 2.6, (0.01, 1.0)


def heldout_config(physics, seed, projections=4, npix=_NPIX):
    """The `~massrecon.simulate.SimulationConfig` of a held-out simulation of one physics variant.

    The training set's sampling (``npix`` pixels over 2.6 R200, z 0.01-1) with the maps of the
    views and the target.

    Examples
    --------
    >>> from massrecon.validation.heldout import heldout_config
    >>> cfg = heldout_config("weak_feedback", 12)
    >>> cfg.physics, cfg.seed, cfg.size_r200, cfg.z_range
    ('weak_feedback', 12, 2.6, (0.01, 1.0))
    """
    from ..simulate import SimulationConfig

    return SimulationConfig(physics=physics, seed=int(seed), projections=int(projections), npix=int(npix),
                            size_r200=_SIZE_R200, z_range=_Z_RANGE,
                            maps=(TARGET_MAP, *dict.fromkeys(VIEW_MAPS.values())))


def simulate_variants(data_dir, *, n_halos=300, projections=4, seeds=None, npix=_NPIX, workers=None,
                      progress=True):
    """Simulate (or resume, or read) one held-out data set per physics variant.

    Parameters
    ----------
    data_dir : str or path
        Where the files ``{variant}_seed{seed}.h5`` are written; a complete file written with the
        same configuration is read as is.
    n_halos, projections : int
        Halos per variant and lines of sight per halo.
    seeds : dict, optional
        Variant -> seed; default `VARIANT_SEEDS`.
    npix : int
        Pixels of the stored maps (over 2.6 R200).
    workers : int, optional
        Processes of `~massrecon.simulate.dataset.write_dataset` (default: all cores).
    progress : bool

    Returns
    -------
    paths : dict
        Variant -> path of its data set.
    """
    from ..simulate.dataset import write_dataset

    seeds = VARIANT_SEEDS if seeds is None else seeds
    data_dir = Path(data_dir)
    data_dir.mkdir(parents=True, exist_ok=True)
    paths = {}
    for variant, seed in seeds.items():
        path = data_dir / f"{variant}_seed{seed}.h5"
        write_dataset(path, n_halos, heldout_config(variant, seed, projections, npix), workers=workers,
                      progress=progress)
        paths[variant] = path
    return paths


class CoverageTally:
    """Coverage of calibrated pixel intervals, accumulated over batches of maps.

    For each pixel, ``u = |log10(pred / true)| / sigma_log10`` (the calibrated sigma before any
    coverage scale).  The interval of half-width ``k`` sigma covers the truth where ``u <= k``;
    the counts at the weights' current scale are exact, and a fine histogram of ``u`` gives the
    scale whose 68% intervals cover 68% (`scale`).

    Parameters
    ----------
    current_scale : float
        The weights' coverage scale (1 without one).

    Examples
    --------
    Pixels whose errors are 1.2 times the calibrated sigma:

    >>> import numpy as np
    >>> from massrecon.validation.heldout import CoverageTally
    >>> tally = CoverageTally()
    >>> tally.add(1.2 * 0.1 * np.random.default_rng(1).normal(size=200_000), 0.1)
    >>> round(tally.coverage(0.68), 2), round(tally.scale(), 2)
    (0.6, 1.19)
    """

    #: Edges of the histogram of ``u``: 0.02% wide in ln u.
    EDGES = np.geomspace(1e-5, 1e3, 92_000)

    def __init__(self, current_scale=1.0):
        self.current_scale = float(current_scale)
        self.n = 0
        self.inside = {0.68: 0, 0.95: 0}
        self.hist = np.zeros(self.EDGES.size - 1, dtype=np.int64)

    def add(self, log_ratio, sigma_log10):
        """Count pixels with ``log10(pred / true)`` values ``log_ratio`` and calibrated sigma ``sigma_log10``."""
        u = np.abs(np.asarray(log_ratio, dtype=float)) / np.asarray(sigma_log10, dtype=float)
        u = u[np.isfinite(u)].ravel()
        self.n += u.size
        self.inside[0.68] += int(np.count_nonzero(u <= self.current_scale))
        self.inside[0.95] += int(np.count_nonzero(u <= _Z95 * self.current_scale))
        self.hist += np.histogram(np.clip(u, self.EDGES[0], self.EDGES[-1] * (1 - 1e-12)), self.EDGES)[0]

    def merge(self, other):
        """Add the counts of another tally with the same current scale; returns self."""
        if other.current_scale != self.current_scale:
            raise ValueError("tallies of different coverage scales cannot be merged")
        self.n += other.n
        for k in self.inside:
            self.inside[k] += other.inside[k]
        self.hist += other.hist
        return self

    def coverage(self, level):
        """Fraction of pixels inside the ``level`` (0.68 or 0.95) intervals at the current scale."""
        return self.inside[level] / self.n if self.n else float("nan")

    def scale(self, level=0.68):
        """The factor on the calibrated sigma whose ``level`` intervals cover ``level`` of the pixels.

        The ``level`` quantile of ``u``, divided by the half-width of the interval in sigma (1 for
        68%, 1.96 for 95%), interpolated in ln u within its histogram bin.
        """
        if not self.n:
            return float("nan")
        z = {0.68: 1.0, 0.95: _Z95}[level]
        cum = np.concatenate([[0], np.cumsum(self.hist)]) / self.n
        return float(np.exp(np.interp(level, cum, np.log(self.EDGES))) / z)


def _sigma_map(table, npix):
    """The calibrated sigma (log10, before any coverage scale) at each pixel of an ``npix`` frame,
    indexed by the frame's radius as the reconstructor does."""
    edges, sig = np.asarray(table["edges_r200"]), np.asarray(table["sigma_log10"])
    return sig[np.clip(np.searchsorted(edges, radius_grid(npix)) - 1, 0, sig.size - 1)]


def _frame_scales(condition, n, frame_jitter, rng, size_r200):
    if CONDITIONS[condition][1] <= 0 or frame_jitter <= 0:
        return np.ones(n)
    return np.minimum(rng.uniform(1 - frame_jitter, 1 + frame_jitter, n), size_r200 / 2)


def measure_variant(model, calibration, data, *, conditions=DEFAULT_CONDITIONS, subsets=None, frame_jitter=0.0,
                    seed=0, npix=FRAME_NPIX):
    """Measure a generator on the maps of one data set.

    Parameters
    ----------
    model : `~massrecon.models.UNetGenerator`
    calibration : dict
        The weights' ``calibration`` metadata (view set -> table); may be empty (no coverage).
    data : dict
        Maps read by `massrecon.validation.evaluate.load_split` (e.g. with ``split=None``).
    conditions : sequence of str
        Keys of `~massrecon.validation.instruments.CONDITIONS`.
    subsets : list of tuple of str, optional
        View sets; default every combination of the model's views.
    frame_jitter : float
        With R200 estimated, frames of ``f`` true R200, ``f`` uniform in ``1 +- frame_jitter``
        (0: the true frame, as `massrecon.validation.evaluate`).
    seed : int
        Of the noise and the frame draws.
    npix : int
        Pixels of the model frame.

    Returns
    -------
    metrics : dict
        ``{condition: {view_set: {"mass_r500": ..., "pixel": ...}}}`` (items of
        `~massrecon.validation.summarize`).
    tallies : dict
        View set -> `CoverageTally` over the `COVERAGE_CONDITIONS` measured.
    """
    views = tuple(model.views)
    subsets = subsets or [s for k in range(1, len(views) + 1) for s in itertools.combinations(views, k)]
    rng = np.random.default_rng(seed)
    r5 = data["r500"] / data["r200"]
    within = radius_grid(npix) < 1.0
    metrics, tallies = {}, {}
    for condition in conditions:
        instrument, r200_error = CONDITIONS[condition]
        f = _frame_scales(condition, r5.size, frame_jitter, rng, data["size_r200"])
        x, t, conds = _samples(data, views, instrument, npix, rng, frame_scale=f)
        true = TargetTransform().inverse(t)
        metrics[condition] = {}
        for subset in subsets:
            key = "+".join(subset)
            pred = _predict(model, views, x, conds, subset, r200_error=r200_error)
            mass = mass_metrics(pred, true, r5 / f)
            metrics[condition][key] = {"mass_r500": {k: v for k, v in mass.items() if k != "log_ratio"},
                                       "pixel": pixel_metrics(pred, true)}
            table = calibration.get(key)
            if condition in COVERAGE_CONDITIONS and table:
                tally = tallies.setdefault(key, CoverageTally(table.get("coverage_scale", 1.0)))
                tally.add(np.log10(pred[:, within] / true[:, within]), _sigma_map(table, npix)[within])
    return metrics, tallies


def physics_systematic(variants, *, statistic="max", conditions=None):
    """The physics systematic of each view set from the per-variant biases of :math:`M(<R_{500})`.

    Parameters
    ----------
    variants : dict
        Variant -> ``{condition: {view_set: {"mass_r500": {"bias": ...}}}}`` (`measure_variant`).
    statistic : {"max", "rms"}
        The largest :math:`|{\\rm bias}|` over variants and conditions, or the rms of the biases.
        The biases are measured from the fiducial variant's under the same condition (when it
        is among ``variants``): its own bias is already part of the model error of the masses
        (the calibration of the test split), so only what another physics adds is counted.
    conditions : sequence of str, optional
        Conditions to use (default: all measured).

    Returns
    -------
    systematic : dict
        View set -> fraction.

    Examples
    --------
    >>> from massrecon.validation.heldout import physics_systematic
    >>> res = {"fiducial": {"ideal": {"sz": {"mass_r500": {"bias": 0.01}}}},
    ...        "weak_feedback": {"ideal": {"sz": {"mass_r500": {"bias": -0.04}}}}}
    >>> physics_systematic(res), round(physics_systematic(res, statistic="rms")["sz"], 4)
    ({'sz': 0.05}, 0.0354)
    """
    reference = variants.get("fiducial", {})
    biases = {}
    for per_condition in variants.values():
        for condition, per_set in per_condition.items():
            if conditions is None or condition in conditions:
                for key, m in per_set.items():
                    ref = reference.get(condition, {}).get(key, {}).get("mass_r500", {}).get("bias", 0.0)
                    biases.setdefault(key, []).append(m["mass_r500"]["bias"] - ref)
    if statistic == "max":
        return {k: float(np.max(np.abs(b))) for k, b in biases.items()}
    if statistic == "rms":
        return {k: float(np.sqrt(np.mean(np.square(b)))) for k, b in biases.items()}
    raise ValueError(f"statistic must be 'max' or 'rms', got {statistic!r}")


def measure(model, metadata, paths, *, conditions=DEFAULT_CONDITIONS, subsets=None, frame_jitter=0.0, seed=0,
            statistic="max", progress=True):
    """Measure a generator on one data set per physics variant (`measure_variant` on each).

    Parameters
    ----------
    model : `~massrecon.models.UNetGenerator`
    metadata : dict
        The weights' metadata (its ``calibration``).
    paths : dict
        Variant -> data set (`simulate_variants`).
    conditions, subsets, frame_jitter, seed
        As for `measure_variant`.
    statistic : {"max", "rms"}
        Of `physics_systematic`.
    progress : bool
        Log each variant as it is done.

    Returns
    -------
    results : dict
        ``variants`` (variant -> ``{"metrics", "coverage", "seed", "n_maps", "n_halos"}``),
        ``coverage`` (view set -> pooled ``{"68", "95", "n", "scale", "current_scale"}``),
        ``physics_systematic`` (view set -> fraction), ``statistic``, ``frame_jitter``.
    """
    import h5py

    calibration = metadata.get("calibration", {})
    views = tuple(model.views)
    results = {"variants": {}, "coverage": {}, "statistic": statistic, "frame_jitter": float(frame_jitter),
               "conditions": list(conditions)}
    pooled = {}
    for variant, path in paths.items():
        t0 = time.perf_counter()
        data = load_split(path, None, views)
        with h5py.File(path, "r") as fh:
            sim_seed = int(json.loads(fh.attrs["config"])["seed"])
        metrics, tallies = measure_variant(model, calibration, data, conditions=conditions, subsets=subsets,
                                           frame_jitter=frame_jitter, seed=seed)
        results["variants"][variant] = {
            "seed": sim_seed, "n_maps": int(data["target"].shape[0]), "n_halos": int(np.unique(data["halo_id"]).size),
            "metrics": metrics, "coverage": {k: {"68": t.coverage(0.68), "95": t.coverage(0.95), "n": t.n}
                                             for k, t in tallies.items()}}
        for key, tally in tallies.items():
            pooled[key] = tally if key not in pooled else pooled[key].merge(tally)
        if progress:
            log.info(f"{variant}: {data['target'].shape[0]} maps measured in {time.perf_counter() - t0:.0f} s")
    results["coverage"] = {k: {"68": t.coverage(0.68), "95": t.coverage(0.95), "n": t.n, "scale": t.scale(0.68),
                               "current_scale": t.current_scale} for k, t in pooled.items()}
    results["physics_systematic"] = physics_systematic({v: r["metrics"] for v, r in results["variants"].items()},
                                                       statistic=statistic)
    return results


def _pct(x, flag=None):
    text = f"{100 * x:+.1f}%"
    return f"**{text}**" if flag is not None and abs(x) > flag else text


def _list_table(title, header, rows):
    out = [f".. list-table:: {title}", "   :header-rows: 1", ""]
    for row in [header, *rows]:
        out.append("   * - " + str(row[0]))
        out += [f"     - {c}" for c in row[1:]]
    return out + [""]


def rst_table(results, *, command=None, weights_label="", bias_limit=0.05):
    """The held-out tables as reStructuredText (`measure`'s ``results``).

    Two tables: per condition and view set, :math:`M(<R_{500})` bias / scatter and pixel scatter
    per variant (biases beyond ``bias_limit`` in bold); per view set, the coverage of the pixel
    intervals, the coverage scale and the physics systematic.
    """
    variants = results["variants"]
    names = [f"{v} (seed {r['seed']})" for v, r in variants.items()]
    first = next(iter(variants.values()))
    lines = [".. This file is written by python -m massrecon.validation.heldout (massrecon.validation.heldout).", ""]
    if command:
        lines += ["Regenerate with::", "", f"    {command}", ""]
    lines += [f"Weights {weights_label}; per variant {first['n_halos']} halos, {first['n_maps']} maps (all "
              f"lines of sight), R200 estimated: ``r200_error={R200_ERROR_MAX}``"
              + (f", frames of 1 +- {results['frame_jitter']:g} true R200" if results["frame_jitter"] else
                 " on the true frame") + f"; biases beyond +-{100 * bias_limit:.0f}% in bold.", ""]
    rows = []
    for condition in results["conditions"]:
        for key in first["metrics"][condition]:
            ms = [r["metrics"][condition][key] for r in variants.values()]
            rows.append([condition, key]
                        + [f"{_pct(m['mass_r500']['bias'], bias_limit)} / {100 * m['mass_r500']['scatter']:.1f}%"
                           for m in ms]
                        + [f"{100 * m['pixel']['scatter']:.1f}%" for m in ms])
    lines += _list_table("M(<R500) bias / scatter and pixel scatter on the held-out variants",
                         ["inputs", "view set", *(f"M500: {n}" for n in names),
                          *(f"pixel scatter: {v}" for v in variants)], rows)
    cov = results["coverage"]
    rows = []
    for key, c in cov.items():
        rows.append([key] + [f"{100 * r['coverage'][key]['68']:.1f}%" if key in r["coverage"] else "--"
                             for r in variants.values()]
                    + [f"{100 * c['68']:.1f}%", f"{100 * c['95']:.1f}%", f"{c['current_scale']:.3f}",
                       f"{c['scale']:.3f}", f"{100 * results['physics_systematic'][key]:.1f}%"])
    what = {"max": "the largest absolute", "rms": "the rms of the"}[results["statistic"]]
    lines += _list_table(f"Pixel-interval coverage within R200 ({', '.join(COVERAGE_CONDITIONS)}) and the "
                         f"physics systematic ({what} M500 biases over variants and inputs)",
                         ["view set", *(f"68%: {v}" for v in variants), "68%: all", "95%: all",
                          "coverage scale in use", "coverage scale fitted", "physics systematic"], rows)
    return "\n".join(lines)


def update_metadata(path, results, *, rescale_coverage=False, sha256=None):
    """Store the physics systematic (and the coverage scales) in a weights' metadata file (generator JSON).

    Only ``"physics_systematic"`` and, with ``rescale_coverage``, the ``coverage_scale`` of each
    measured view set's ``calibration`` table are written; every other key is kept as it is.

    Parameters
    ----------
    path : str or path
        The metadata file, rewritten in place.
    results : dict
        Of `measure`.
    rescale_coverage : bool
        Also store the fitted coverage scales.
    sha256 : str, optional
        The checksum of the measured weights: the file must describe them.

    Returns
    -------
    metadata : dict
        The updated metadata.
    """
    path = Path(path)
    meta = json.loads(path.read_text())
    if sha256 is not None and meta.get("sha256") != sha256:
        raise ValueError(f"{path} describes weights {meta.get('sha256', '?')[:12]}, not the measured "
                         f"{sha256[:12]}: refusing to write")
    if "physics_systematic" in meta:
        log.info(f"replacing the physics_systematic of {path}")
    meta["physics_systematic"] = {
        "fraction": results["physics_systematic"],
        "quantity": "bias of M(<R500) of the predicted map (projected, slab +-R200) against the truth",
        "statistic": results["statistic"], "conditions": results["conditions"],
        "frame_jitter": results["frame_jitter"],
        "variants": {v: {"seed": r["seed"], "n_maps": r["n_maps"]} for v, r in results["variants"].items()},
    }
    if rescale_coverage:
        for key, c in results["coverage"].items():
            if key in meta.get("calibration", {}):
                meta["calibration"][key]["coverage_scale"] = c["scale"]
    path.write_text(json.dumps(meta, indent=1, sort_keys=True))
    return meta


def _parse_variants(text):
    out = {}
    for item in text.split(","):
        name, _, seed = item.partition(":")
        out[name.strip()] = int(seed) if seed else VARIANT_SEEDS[name.strip()]
    return out


def _parser():
    p = argparse.ArgumentParser(prog="python -m massrecon.validation.heldout", description=__doc__.split("\n")[0])
    p.add_argument("--weights", help="generator.pt (metadata next to it); default: the bundled weights")
    p.add_argument("--data-dir", help="where the held-out data sets are written or read (default: a temporary "
                                      "directory, removed afterwards)")
    p.add_argument("--n-halos", type=int, default=300, help="halos per variant (default 300)")
    p.add_argument("--projections", type=int, default=4, help="lines of sight per halo (default 4)")
    p.add_argument("--npix", type=int, default=_NPIX, help=f"pixels of the stored maps over 2.6 R200 "
                                                           f"(default {_NPIX})")
    p.add_argument("--variants", default=",".join(f"{k}:{v}" for k, v in VARIANT_SEEDS.items()),
                   help="variant:seed,... (default %(default)s)")
    p.add_argument("--conditions", default=",".join(DEFAULT_CONDITIONS),
                   help=f"of {', '.join(CONDITIONS)} (default %(default)s)")
    p.add_argument("--view-sets", help="e.g. sz+xray+stars,sz (default: all)")
    p.add_argument("--frame-jitter", type=float, default=0.0,
                   help="with R200 estimated, frames of 1 +- this true R200 (default 0: the true frame)")
    p.add_argument("--statistic", choices=("max", "rms"), default="max", help="of the physics systematic")
    p.add_argument("--workers", type=int, help="simulation processes (default: all cores)")
    p.add_argument("--threads", type=int, help="torch threads of the predictions (default: torch's; 1 is "
                                               "faster on a machine shared with other jobs)")
    p.add_argument("--seed", type=int, default=0, help="of the noise and frame draws")
    p.add_argument("--out", help="RST table to write, e.g. docs/validation_heldout.rst")
    p.add_argument("--json", help="JSON file for the full results")
    p.add_argument("--write-metadata", help="generator.json to store the physics systematic in (in place)")
    p.add_argument("--rescale-coverage", action="store_true",
                   help="with --write-metadata, also store calibration[view_set]['coverage_scale']")
    return p


def _load(weights):
    from importlib import resources

    from ..models import load_generator

    path = Path(weights) if weights else Path(str(resources.files("massrecon.models").joinpath("weights",
                                                                                               "generator.pt")))
    model, meta = load_generator(path)
    return model, meta, path


def main(argv=None):
    """The command line: python -m massrecon.validation.heldout (see the module docstring)."""
    args = _parser().parse_args(argv)
    if args.rescale_coverage and not args.write_metadata:
        raise SystemExit("--rescale-coverage stores the scales with --write-metadata: give both")
    if args.threads:
        import torch

        torch.set_num_threads(args.threads)
    model, meta, wpath = _load(args.weights)
    conditions = [c.strip() for c in args.conditions.split(",")]
    unknown = [c for c in conditions if c not in CONDITIONS]
    if unknown:
        raise SystemExit(f"unknown conditions {unknown}: choose from {list(CONDITIONS)}")
    subsets = None if not args.view_sets else [tuple(v for v in model.views if v in k.split("+"))
                                               for k in args.view_sets.split(",")]
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        paths = simulate_variants(args.data_dir or tmp, n_halos=args.n_halos, projections=args.projections,
                                  seeds=_parse_variants(args.variants), npix=args.npix, workers=args.workers)
        t_sim = time.perf_counter() - t0
        results = measure(model, meta, paths, conditions=conditions, subsets=subsets,
                          frame_jitter=args.frame_jitter, seed=args.seed, statistic=args.statistic)
    results["seconds"] = {"simulation": t_sim, "total": time.perf_counter() - t0}
    command = "python -m massrecon.validation.heldout " + " ".join(sys.argv[1:] if argv is None else argv)
    label = f"{wpath.name} (sha256 {str(meta.get('sha256', ''))[:12]}, {meta.get('created_utc', '?')})"
    text = rst_table(results, command=command, weights_label=label)
    print(text)
    if args.out:
        Path(args.out).write_text(text)
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=1, sort_keys=True))
    if args.write_metadata:
        update_metadata(args.write_metadata, results, rescale_coverage=args.rescale_coverage,
                        sha256=meta.get("sha256"))
    log.info(f"held-out measurement: simulation {t_sim:.0f} s, total {results['seconds']['total']:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
