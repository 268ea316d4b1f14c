"""Do the predicted mass maps beat their inputs?  Held-out mocks under instrument conditions.

A mass map is worth making only if it traces the projected mass better than the observation it
is made from.  For every held-out mock map and each observing condition (`TRACER_CONDITIONS`)
this module compares, within :math:`R_{200}`,

* the predicted :math:`\\Sigma` with the true one (Pearson r of the pixels, and the offset of the
  main mass peaks, both found as `~massrecon.MassMap.compare_to` finds them), and
* the input itself, smoothed to its best resolution and raised to its best power :math:`X^a`
  (one smoothing of `SMOOTHING_GRID` and one exponent per view and condition, fitted on other
  halos: see `fit_exponent`), with the true :math:`\\Sigma`,

for each view set (one view, or all of them; for all views the input is the best single view),
over all maps and over the merging clusters alone.

Run it as::

    python -m massrecon.validation.tracers --n-halos 200 --out docs/validation_tracers.rst

which simulates a fresh set of halos with seed 11 (never used in training) on the training set's
grid, or give a data set with ``--data``.
"""

import argparse
import dataclasses
import json
import os
import sys
import tempfile
import time

import astropy.units as u
import h5py
import numpy as np
from astropy.stats import gaussian_fwhm_to_sigma
from scipy import ndimage

from ..contract import (
    FRAME_NPIX,
    FRAME_SIZE_R200,
    MEMBER_MAP_MASS_LIMIT,
    TARGET_MAP,
    TARGET_UNIT,
    VIEW_MAPS,
    VIEW_SCALES,
    VIEW_UNITS,
    VIEWS,
)
from ..models.transforms import ViewTransform
from .evaluate import _predict
from .instruments import INSTRUMENTS, XRAY_BACKGROUND

__all__ = [
    "TracerCondition",
    "TRACER_CONDITIONS",
    "EFEDS_XRAY_NOISE",
    "TRAINING_SEEDS",
    "EXPONENT_GRID",
    "load_maps",
    "pearson_r",
    "peak_offset",
    "signed_power",
    "fit_exponent",
    "tracer_comparison",
    "write_table",
    "simulate_test_set",
    "main",
]

#: Simulation seeds of the bundled weights' training sets (tools/simulate_training_set.sh):
#: a validation set must use another.
TRAINING_SEEDS = (1, 31, 32)

#: Per-pixel X-ray noise rms on the model frame at the reference level `~massrecon.contract.VIEW_SCALES` ``["xray"]``
#: (erg/s/kpc^2) of an eROSITA survey image: 3.9-4.2e38 on the eFEDS example field, soft bands
#: summed (docs/checks.rst).
EFEDS_XRAY_NOISE = 4e38


@dataclasses.dataclass(frozen=True)
class TracerCondition:
    """An observing condition: which view it degrades and how (the others are idealised).

    Attributes
    ----------
    name : str
    view : str or None
        The view degraded (None: none, the idealised maps); the condition must leave the other
        views idealised.
    description : str
    xray_noise : float
        Per-pixel X-ray noise rms at the reference level (0: none), Poisson-like over a background
        of ``xray_background`` times the reference level
        (`~massrecon.models.transforms.xray_noise_variance`).
    xray_background : float
    xray_beam_r200 : float
        X-ray PSF FWHM (R200).
    sz_highpass_r200 : float or None
        Dispersion of the Gaussian high-pass of the y map (R200;
        ``massrecon.training.augment.high_pass``), told to the network.
    member_mass_limit : float or None
        Stellar-mass limit (Msun) of the member catalogue the stars view is made from; None: the
        stored map (limit `~massrecon.contract.MEMBER_MAP_MASS_LIMIT`).
    """

    name: str
    view: object = None
    description: str = ""
    xray_noise: float = 0.0
    xray_background: float = XRAY_BACKGROUND["ideal"]
    xray_beam_r200: float = INSTRUMENTS["ideal"]["xray"][0]
    sz_highpass_r200: object = None
    member_mass_limit: object = None


#: The conditions measured.  The stars view is the member map above
#: `~massrecon.contract.MEMBER_MAP_MASS_LIMIT` (1e10 Msun): every catalogue complete to that limit or
#: deeper gives the stored map (the ``ideal`` condition), so only shallower catalogues are separate
#: conditions; their satellites are scaled by the depth factor as `~massrecon.observations.GalaxyMembers`
#: does for a stated ``completeness_limit``.
TRACER_CONDITIONS = {
    "ideal": TracerCondition("ideal", None, "idealised maps"),
    "xray_survey": TracerCondition(
        "xray_survey", "xray", f"eFEDS-like X-ray: rms {EFEDS_XRAY_NOISE:.0e} at 1e35 erg/s/kpc2, background "
                               f"{XRAY_BACKGROUND['planck_like']:g}x, PSF {INSTRUMENTS['planck_like']['xray'][0]} R200",
        xray_noise=EFEDS_XRAY_NOISE, xray_background=XRAY_BACKGROUND["planck_like"],
        xray_beam_r200=INSTRUMENTS["planck_like"]["xray"][0]),
    "sz_filtered": TracerCondition("sz_filtered", "sz", "y map Gaussian high-passed, theta = 0.3 R200",
                                   sz_highpass_r200=0.3),
    "members_3e10": TracerCondition("members_3e10", "stars", "member catalogue complete to 3e10 Msun",
                                    member_mass_limit=3e10),
    "members_1e11": TracerCondition("members_1e11", "stars", "member catalogue complete to 1e11 Msun",
                                    member_mass_limit=1e11),
}


def load_maps(path, views=VIEWS, n_max=None):
    """All maps of a data set (every split) with the metadata and member catalogues needed here.

    Returns
    -------
    dict
        ``views`` maps and ``"target"`` in `~massrecon.contract.VIEW_UNITS` /
        `~massrecon.contract.TARGET_UNIT` over the stored frame, per-map ``r200``, ``z``,
        ``pixel_kpc``, ``halo_id``, ``merger`` (bool), ``members`` (list of dicts: x, y in kpc,
        mstar in Msun), ``size_r200`` and ``smoothing_r200``.
    """
    from astropy import units as u

    with h5py.File(path, "r") as f:
        cfg = json.loads(f.attrs["config"])
        n = int(f.attrs["n_maps_done"]) if n_max is None else min(int(n_max), int(f.attrs["n_maps_done"]))
        out = {}
        for key, name, unit in [(v, VIEW_MAPS[v], VIEW_UNITS[v]) for v in views] + [("target", TARGET_MAP,
                                                                                       TARGET_UNIT)]:
            d = f[f"maps/{name}"]
            out[key] = d[:n].astype(np.float64) * float(u.Unit(d.attrs["unit"]).to(unit))
        for k in ("r200", "z", "pixel_kpc", "halo_id"):
            out[k] = f[f"meta/{k}"][:n]
        out["merger"] = f["meta/merger"][:n].astype(bool)
        starts, counts = f["meta/member_start"][:n], f["meta/member_count"][:n]
        cols = {k: f[f"members/{k}"][...] for k in ("x", "y", "mstar")}
        out["members"] = [{k: c[s:s + m] for k, c in cols.items()} for s, m in zip(starts, counts)]
    out["size_r200"] = float(cfg["size_r200"])
    out["smoothing_r200"] = float(cfg["smoothing_r200"])
    return out


def pearson_r(a, b, mask=None):
    """Pearson correlation coefficient of two maps over the pixels of ``mask`` (default: all).

    Examples
    --------
    >>> import numpy as np
    >>> from massrecon.validation.tracers import pearson_r
    >>> x = np.arange(16.0).reshape(4, 4)
    >>> round(pearson_r(x, 3 * x + 1), 12), round(pearson_r(x, -x), 12)
    (1.0, -1.0)
    """
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    if mask is not None:
        a, b = a[mask], b[mask]
    a = a.ravel() - a.mean()
    b = b.ravel() - b.mean()
    den = np.sqrt((a * a).sum() * (b * b).sum())
    return float((a * b).sum() / den) if den > 0 else float("nan")


def peak_offset(a, b, pixel_kpc=1.0, smoothing=None):
    """Distance between the main peaks of two maps, as `~massrecon.MassMap.compare_to` finds them.

    Both maps are smoothed by a Gaussian of ``smoothing`` pixels (default
    ``massrecon.analysis.compare.PEAK_SMOOTHING_PIXELS``) and their maxima refined by a parabola.

    Examples
    --------
    >>> import numpy as np
    >>> from massrecon.validation.tracers import peak_offset
    >>> y, x = np.mgrid[0:40, 0:40]
    >>> g = lambda x0: np.exp(-((x - x0) ** 2 + (y - 20) ** 2) / 50.0)
    >>> round(peak_offset(g(20), g(23), pixel_kpc=10.0), 1)
    30.0
    """
    from ..analysis.compare import PEAK_SMOOTHING_PIXELS, peak_position

    smoothing = PEAK_SMOOTHING_PIXELS if smoothing is None else smoothing
    good = np.ones(np.shape(a), dtype=bool)
    pa = peak_position(np.asarray(a, dtype=float), good, smoothing)
    pb = peak_position(np.asarray(b, dtype=float), good, smoothing)
    return float(np.hypot(pa[0] - pb[0], pa[1] - pb[1])) * float(pixel_kpc)


def signed_power(x, a):
    """:math:`{\\rm sign}(x)\\,|x|^a`: a power that keeps the sign of noisy or filtered pixels.

    Examples
    --------
    >>> from massrecon.validation.tracers import signed_power
    >>> signed_power([-4.0, 0.0, 9.0], 0.5)
    array([-2.,  0.,  3.])
    """
    x = np.asarray(x, dtype=float)
    return np.sign(x) * np.abs(x) ** a


#: Exponents tried by `fit_exponent`.
EXPONENT_GRID = np.round(np.arange(0.1, 3.0001, 0.05), 2)


def fit_exponent(inputs, targets, mask, grid=EXPONENT_GRID):
    """The exponent ``a`` of ``grid`` whose :math:`X^a` has the highest median Pearson r with the targets.

    Parameters
    ----------
    inputs, targets : array of shape (n, npix, npix)
        Input maps (scaled to O(1), e.g. by `~massrecon.contract.VIEW_SCALES`) and true :math:`\\Sigma`.
    mask : 2D bool array
        Pixels compared (within R200).

    Examples
    --------
    >>> import numpy as np
    >>> from massrecon.validation.tracers import fit_exponent
    >>> x = np.random.default_rng(0).uniform(0.1, 2, (3, 8, 8))
    >>> float(fit_exponent(x, x ** 2, np.ones((8, 8), bool)))
    2.0
    """
    med = [np.median([pearson_r(signed_power(x, a), t, mask) for x, t in zip(inputs, targets)]) for a in grid]
    return float(grid[int(np.nanargmax(med))])


def _frames(data, views, condition, npix, seed):
    """Model-frame inputs (physical units), true Sigma and the observing conditions of each map."""
    from ..models.transforms import xray_noise_variance
    from ..observations.members import depth_corrected_masses
    from ..physics.smf import schechter_depth_factor
    from ..simulate.projection import members_map
    from ..training.augment import gaussian_beam, high_pass, resample_frame

    n = data["target"].shape[0]
    src_pix = data["size_r200"] / data["target"].shape[-1]
    obs, true, info = [], [], []
    if condition.member_mass_limit:
        factor, _ = schechter_depth_factor(condition.member_mass_limit, MEMBER_MAP_MASS_LIMIT.to_value(u.Msun))
    for i in range(n):
        maps = {v: data[v][i] for v in views}
        if condition.sz_highpass_r200 and "sz" in maps:
            maps["sz"] = high_pass(maps["sz"], condition.sz_highpass_r200 / src_pix)
        if condition.member_mass_limit and "stars" in maps:
            # as GalaxyMembers(completeness_limit=...) does: the satellites scaled by the depth factor
            m = data["members"][i]
            mstar = depth_corrected_masses(m["x"], m["y"], m["mstar"], condition.member_mass_limit, factor,
                                           float(data["r200"][i]))
            maps["stars"] = members_map(m["x"], m["y"], mstar, data["target"].shape[-1],
                                        float(data["pixel_kpc"][i]), float(data["r200"][i]),
                                        mass_limit=condition.member_mass_limit)
        if "xray" in maps and condition.xray_beam_r200 > 0.011:
            maps["xray"] = gaussian_beam(maps["xray"], condition.xray_beam_r200 / src_pix)
        stack = np.stack([maps[v] for v in views] + [data["target"][i]])
        frame = resample_frame(stack, data["size_r200"], npix, FRAME_SIZE_R200 / 2)
        beams = {v: max(INSTRUMENTS["ideal"][v][0], data["smoothing_r200"]) for v in views}
        noise = {v: 0.0 for v in views}
        if "xray" in views and condition.xray_noise > 0:
            j = views.index("xray")
            rng = np.random.default_rng([int(seed), i])
            var = xray_noise_variance(frame[j], condition.xray_noise, condition.xray_background)
            frame[j] = frame[j] + rng.normal(size=frame[j].shape) * np.sqrt(var)
            beams["xray"] = max(condition.xray_beam_r200, data["smoothing_r200"])
            noise["xray"] = condition.xray_noise
        obs.append(frame[:-1])
        true.append(frame[-1])
        info.append((beams, noise, FRAME_SIZE_R200 * float(data["r200"][i]) / npix, float(data["z"][i])))
    return np.stack(obs), np.stack(true), info


#: FWHM (pixels) of the Gaussian smoothings tried on each input before its power (`_input_scores`):
#: a noisy survey image or a member map is compared at its best resolution, not at the raw one.
SMOOTHING_GRID = (0.0, 2.0, 4.0, 8.0)


def _smooth(maps, fwhm_px):
    if fwhm_px <= 0:
        return maps
    return np.stack([ndimage.gaussian_filter(m, fwhm_px * gaussian_fwhm_to_sigma, mode="nearest") for m in maps])


def _input_scores(obs_v, true, folds, disc, pixel_kpc):
    """Per-map r and peak offset of the best smoothing and power of one input, fitted on the other fold."""
    r, off = np.empty(len(true)), np.empty(len(true))
    exps = []
    smoothed = {fw: _smooth(obs_v, fw) for fw in SMOOTHING_GRID}
    for k in np.unique(folds):
        fit = folds != k if np.any(folds != k) else np.ones_like(folds, bool)  # one fold only: fit on all
        best = None
        for fw, maps in smoothed.items():
            a = fit_exponent(maps[fit], true[fit], disc)
            score = np.median([pearson_r(signed_power(x, a), t, disc) for x, t in zip(maps[fit], true[fit])])
            if best is None or score > best[0]:
                best = (score, fw, a)
        _, fw, a = best
        exps.append(a)
        for i in np.nonzero(folds == k)[0]:
            xa = signed_power(smoothed[fw][i], a)
            r[i] = pearson_r(xa, true[i], disc)
            off[i] = peak_offset(xa, true[i], pixel_kpc[i])
    return r, off, float(np.mean(exps))


def _summary(r, off, merger, tag):
    """Medians over all maps and over mergers (NaN without any), keys ``r_TAG``, ``r_TAG_mergers``, ..."""
    def med(x, sel):
        return float(np.median(x[sel])) if np.any(sel) else float("nan")

    every = np.ones_like(merger, bool)
    return {f"r_{tag}": med(r, every), f"r_{tag}_mergers": med(r, merger), f"offset_{tag}": med(off, every),
            f"offset_{tag}_mergers": med(off, merger)}


def tracer_comparison(model, data, conditions=None, *, seed=0, r200_error=0.0, npix=FRAME_NPIX, progress=False):
    """Predicted maps against their inputs as tracers of the true :math:`\\Sigma` (see the module docstring).

    Parameters
    ----------
    model : `~massrecon.models.UNetGenerator`
    data : dict
        Maps read by `load_maps`.
    conditions : list of `TracerCondition`, optional
        Default: all of `TRACER_CONDITIONS`.  Each is measured with the view set of its degraded
        view and with all views (the idealised condition with every view set).
    seed : int
        Seed of the noise draws.
    r200_error : float
        R200 precision told to the network (0: the true R200, as the frame is).
    npix : int
        Pixels of the model frame.

    Returns
    -------
    `~astropy.table.Table`
        One row per condition and view set: ``condition``, ``view_set``, ``input`` (the best input
        and its exponent), median Pearson r within R200 of the prediction and of the input, over
        all maps and over mergers (``r_pred``, ``r_input``, ``r_pred_mergers``,
        ``r_input_mergers``), and median peak offsets in kpc (``offset_pred``, ...).
        ``meta`` holds the numbers of maps, halos and mergers.
    """
    from astropy.table import Table

    views = tuple(model.views)
    conditions = list(TRACER_CONDITIONS.values()) if conditions is None else list(conditions)
    disc = _disc(npix)
    folds = np.asarray(data["halo_id"]) % 2  # two-fold cross-fitting by halo
    merger = np.asarray(data["merger"], bool)
    pixel_kpc = FRAME_SIZE_R200 * np.asarray(data["r200"], float) / npix
    rows, clean = [], {}  # clean: scores of the views a condition leaves idealised, the same in all
    for cond in conditions:
        obs, true, info = _frames(data, views, cond, npix, seed)
        inputs = {}
        for j, v in enumerate(views):
            if v == cond.view or v not in clean:
                inputs[v] = _input_scores(obs[:, j] / VIEW_SCALES[v], true, folds, disc, pixel_kpc)
                if v != cond.view:
                    clean[v] = inputs[v]
            else:
                inputs[v] = clean[v]
        sets = [(v,) for v in views] + [views] if cond.view is None else [(cond.view,), views]
        x = np.stack([ViewTransform(v).forward(obs[:, j]) for j, v in enumerate(views)], axis=1)
        for subset in sets:
            pred = _predict(model, views, x, info, subset, batch=32, r200_error=r200_error,
                            sz_highpass_r200=cond.sz_highpass_r200)
            r = np.array([pearson_r(p, t, disc) for p, t in zip(pred, true)])
            off = np.array([peak_offset(p, t, k) for p, t, k in zip(pred, true, pixel_kpc)])
            best = max(subset, key=lambda v: np.median(inputs[v][0]))
            rows.append({"condition": cond.name, "view_set": "all" if len(subset) > 1 else subset[0],
                         "input": f"{best}^{inputs[best][2]:.2f}", **_summary(r, off, merger, "pred"),
                         **_summary(*inputs[best][:2], merger, "input")})
        if progress:
            print(f"{cond.name}: done", file=sys.stderr)
    table = Table(rows=rows)
    table.meta.update({"n_maps": int(merger.size), "n_halos": int(np.unique(data["halo_id"]).size),
                       "n_merger_maps": int(merger.sum()), "r200_error": float(r200_error)})
    return table


def _disc(npix):
    from .metrics import radius_grid

    return radius_grid(npix) < 1.0


_HEADER = ("condition", "view set", "input", "r pred", "r input", "r pred (mergers)", "r input (mergers)",
           "offset pred (kpc)", "offset input (kpc)", "offset pred (mergers)", "offset input (mergers)")
_COLUMNS = ("condition", "view_set", "input", "r_pred", "r_input", "r_pred_mergers", "r_input_mergers",
            "offset_pred", "offset_input", "offset_pred_mergers", "offset_input_mergers")


def write_table(table, path, command=None, seconds=None):
    """Write the result of `tracer_comparison` as an RST fragment, to be included in a page."""
    m = table.meta
    lines = []
    if command:
        lines += [f"Made with ``{command}``" + (f" ({seconds:.0f} s)" if seconds else "") + ":", ""]
    lines += [f"{m['n_maps']} maps of {m['n_halos']} halos ({m['n_merger_maps']} of merging clusters); "
              f"median over maps; r: Pearson r of the pixels within R200 with the true Sigma; offset: "
              f"distance of the main peak from the true one.  Conditions:", ""]
    for c in TRACER_CONDITIONS.values():
        if c.name in set(table["condition"]):
            lines.append(f"* ``{c.name}``: {c.description}")
    lines.append("")
    cells = [list(_HEADER)]
    for row in table:
        cells.append([str(row[k]) if isinstance(row[k], str) else f"{row[k]:.3f}" if k.startswith("r_")
                      else f"{row[k]:.0f}" for k in _COLUMNS])
    widths = [max(len(c[j]) for c in cells) for j in range(len(_HEADER))]
    rule = "  ".join("=" * w for w in widths)
    lines += [rule, "  ".join(h.ljust(w) for h, w in zip(cells[0], widths)), rule]
    lines += ["  ".join(c.ljust(w) for c, w in zip(r, widths)) for r in cells[1:]]
    lines += [rule, ""]
    text = "\n".join(lines)
    if path is not None:
        with open(path, "w") as f:
            f.write(text)
    return text


def simulate_test_set(path, n_halos, *, seed=11, projections=2, physics="fiducial", workers=None):
    """Simulate held-out halos on the training set's grid (104 px over 2.6 R200, z 0.01-1).

    ``seed`` must not be one of `TRAINING_SEEDS`.
    """
    from ..simulate import SimulationConfig
    from ..simulate.dataset import write_dataset

    if int(seed) in TRAINING_SEEDS:
        raise ValueError(f"seed {seed} made training halos of the bundled weights ({TRAINING_SEEDS}): choose another")
    cfg = SimulationConfig(physics=physics, seed=int(seed), projections=int(projections), npix=104, size_r200=2.6,
                           z_range=(0.01, 1.0), maps=(TARGET_MAP,) + tuple(VIEW_MAPS[v] for v in VIEWS))
    return write_dataset(path, int(n_halos), cfg, overwrite=True, workers=workers, progress=False)


def main(argv=None):
    """The command line: python -m massrecon.validation.tracers (see the module docstring)."""
    p = argparse.ArgumentParser(prog="python -m massrecon.validation.tracers", description=__doc__.split("\n")[0])
    p.add_argument("--data", help="HDF5 data set of held-out halos (default: simulate afresh)")
    p.add_argument("--weights", help="generator.pt (default: the bundled weights)")
    p.add_argument("--n-halos", type=int, default=200, help="halos to simulate without --data (default 200)")
    p.add_argument("--projections", type=int, default=2, help="lines of sight per simulated halo (default 2)")
    p.add_argument("--seed", type=int, default=11, help="simulation seed, not one of the training's (default 11)")
    p.add_argument("--physics", default="fiducial", help="physics variant of the simulation (default fiducial)")
    p.add_argument("--workers", type=int, default=None, help="simulation processes (default: all cores)")
    p.add_argument("--n-max", type=int, default=None, help="use the first N maps of --data only")
    p.add_argument("--conditions", default=",".join(TRACER_CONDITIONS),
                   help=f"comma-separated conditions (default all: {','.join(TRACER_CONDITIONS)})")
    p.add_argument("--r200-error", type=float, default=0.0, help="R200 precision told to the network (default 0)")
    p.add_argument("--out", help="write the table as an RST fragment here")
    args = p.parse_args(argv)

    from ..models import load_generator

    t0 = time.perf_counter()
    unknown = [c for c in args.conditions.split(",") if c not in TRACER_CONDITIONS]
    if unknown:
        p.error(f"unknown conditions {unknown}; choose from {list(TRACER_CONDITIONS)}")
    if args.weights is None:
        from astropy.utils.data import get_pkg_data_path

        args.weights = get_pkg_data_path("models", "weights", "generator.pt", package="massrecon")
    model, _ = load_generator(args.weights)
    with tempfile.TemporaryDirectory() as tmp:
        path = args.data
        if path is None:
            path = simulate_test_set(os.path.join(tmp, "test.h5"), args.n_halos, seed=args.seed,
                                     projections=args.projections, physics=args.physics, workers=args.workers)
        data = load_maps(path, tuple(model.views), n_max=args.n_max)
    table = tracer_comparison(model, data, [TRACER_CONDITIONS[c] for c in args.conditions.split(",")],
                              r200_error=args.r200_error, progress=True)
    seconds = time.perf_counter() - t0
    command = "python -m massrecon.validation.tracers " + " ".join(sys.argv[1:] if argv is None else argv)
    print(write_table(table, args.out, command=command.strip(), seconds=seconds))
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
