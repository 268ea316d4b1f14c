"""Evaluate a generator on held-out mocks: every view set, idealised and instrument-like inputs,
analytic baselines, and the calibration of the uncertainty maps.

Run as ``python -m massrecon.validation WEIGHTS_DIR --data DATA.h5 [--out metrics.json]``.
"""

import itertools
import json

import h5py
import numpy as np
import torch

from ..contract import FRAME_NPIX, FRAME_SIZE_R200, R200_ERROR_MAX, TARGET_MAP, TARGET_UNIT, VIEW_MAPS, VIEW_UNITS
from ..models.transforms import TargetTransform, xray_noise_variance
from ..symmetry import N_DIHEDRAL, dihedral, undo_dihedral
from .baselines import PowerLawBaseline, ScalingRelationBaseline
from .instruments import CONDITIONS, INSTRUMENTS, XRAY_BACKGROUND
from .metrics import interval_coverage, mass_metrics, pixel_metrics, profile_metrics, radius_grid, summarize
from .self_consistent import relation_frame_masses, self_consistent_masses

__all__ = ["load_split", "evaluate"]

def load_split(path, split, views, n_max=None, seed=0):
    """Read the maps of one split (``0`` train, ``1`` validation, ``2`` test; None: every map) of a dataset."""
    from astropy import units as u

    with h5py.File(path, "r") as f:
        cfg = json.loads(f.attrs["config"])
        if split is None:
            sel = np.arange(f["meta/split"].shape[0])
        else:
            code = {"train": 0, "validation": 1, "test": 2}[split] if isinstance(split, str) else int(split)
            sel = np.nonzero(f["meta/split"][...] == code)[0]
        if n_max is not None and sel.size > n_max:
            sel = np.sort(np.random.default_rng(seed).choice(sel, n_max, replace=False))
        out = {"index": sel}
        for v in views:
            d = f[f"maps/{VIEW_MAPS[v]}"]
            out[v] = d[sel].astype(np.float64) * float(u.Unit(d.attrs["unit"]).to(VIEW_UNITS[v]))
        d = f[f"maps/{TARGET_MAP}"]
        out["target"] = d[sel].astype(np.float64) * float(u.Unit(d.attrs["unit"]).to(TARGET_UNIT))
        for k in ("m200", "r200", "m500", "r500", "z", "halo_id", "pixel_kpc"):
            out[k] = f[f"meta/{k}"][sel]
    out["size_r200"] = float(cfg["size_r200"])
    out["smoothing_r200"] = float(cfg["smoothing_r200"])
    return out


def _samples(data, views, instrument, npix, rng, frame_scale=None):
    """Nominal frames (2 R200) with the instrument's beams and noise, all views present.

    ``frame_scale`` (one per map, default 1) makes the frame's R200 that many true R200 (a wrong
    R200 estimate, <= ``size_r200 / 2``): the beams and the pixel size are stated in its units.
    """
    from ..training.augment import gaussian_beam, make_sample

    xs, ts, conds = [], [], []
    n = data["target"].shape[0]
    src_pix = data["size_r200"] / data["target"].shape[-1]
    scales = np.ones(n) if frame_scale is None else np.asarray(frame_scale, dtype=float)
    for i in range(n):
        f = float(scales[i])
        maps = {}
        for v in views:
            m = data[v][i]
            fwhm = INSTRUMENTS[instrument][v][0]
            if fwhm > 0.011:
                m = gaussian_beam(m, fwhm / src_pix)
            maps[v] = m
        # the frame's R200 is f true R200: the stored field and its smoothing in its units
        s = make_sample(views, maps, data["target"][i], src_size_r200=data["size_r200"] / f,
                        r200_kpc=f * float(data["r200"][i]), z=float(data["z"][i]), npix=npix,
                        native_fwhm_r200=data["smoothing_r200"] / f)
        x = s["x"].numpy()
        from ..models.transforms import ViewTransform

        beams, noises = {}, {}
        for j, v in enumerate(views):
            fwhm, rms = INSTRUMENTS[instrument][v]
            beams[v] = max(fwhm, data["smoothing_r200"]) / f
            noises[v] = rms
            if rms > 0:
                phys = ViewTransform(v).inverse(x[j].astype(np.float64))
                if v == "xray":
                    var = xray_noise_variance(phys, rms, XRAY_BACKGROUND[instrument])
                    phys = phys + rng.normal(size=phys.shape) * np.sqrt(var)
                elif v == "sz":
                    white = rng.normal(size=phys.shape)
                    fpx = fwhm / f * npix / FRAME_SIZE_R200
                    if fpx > 1:
                        white = gaussian_beam(white, fpx)
                        white /= white.std()
                    phys = phys + rms * white
                else:
                    phys = phys + rng.normal(0, rms, phys.shape)
                x[j] = ViewTransform(v).forward(phys)
        xs.append(x)
        ts.append(s["t"].numpy()[0])
        conds.append((beams, noises, FRAME_SIZE_R200 * f * float(data["r200"][i]) / npix, float(data["z"][i])))
    return np.stack(xs), np.stack(ts), conds


def _predict(model, views, x, conds, subset, batch=64, r200_error=0.0, tta=False, sz_highpass_r200=None):
    if tta:  # the reconstructor's test-time augmentation: mean of log10 Sigma over the 8 symmetries
        logs = [undo_dihedral(np.log10(_predict(model, views, np.ascontiguousarray(dihedral(x, k)), conds, subset,
                                                batch, r200_error, sz_highpass_r200=sz_highpass_r200)), k)
                for k in range(N_DIHEDRAL)]
        return 10 ** np.mean(logs, axis=0)
    from ..models.transforms import encode_conditioning

    present = {v: v in subset for v in views}
    mask = np.array([present[v] for v in views], dtype=np.float32)
    hp = sz_highpass_r200 if present.get("sz", False) else None
    cond = np.stack([encode_conditioning(views, b, n, p, z, present=present, r200_error=r200_error,
                                         sz_highpass_r200=hp) for b, n, p, z in conds])
    out = []
    with torch.inference_mode():
        for s in range(0, x.shape[0], batch):
            xb = torch.from_numpy((x[s:s + batch] * mask[None, :, None, None]).astype(np.float32))
            mb = torch.from_numpy(np.repeat(mask[None], xb.shape[0], axis=0))
            cb = torch.from_numpy(cond[s:s + batch].astype(np.float32))
            out.append(model(xb, mb, cb)[:, 0].float().numpy())
    return TargetTransform().inverse(np.concatenate(out))


def _metrics(pred, true, r500_r200):
    return {
        "pixel": pixel_metrics(pred, true),
        "profile": {k: (v.tolist() if isinstance(v, np.ndarray) else v)
                    for k, v in profile_metrics(pred, true).items()},
        "mass_r500": {k: v for k, v in mass_metrics(pred, true, r500_r200).items() if k != "log_ratio"},
        "mass_r200": {k: v for k, v in mass_metrics(pred, true, 1.0).items() if k != "log_ratio"},
    }


def _calibration(pred, true, edges):
    r = radius_grid(pred.shape[-1])
    sig = []
    for lo, hi in zip(edges[:-1], edges[1:]):
        sel = (r >= lo) & (r < hi)
        sig.append(summarize(np.log10(pred[:, sel] / true[:, sel]))["scatter_dex"])
    return {"edges_r200": list(map(float, edges)), "sigma_log10": sig}


def evaluate(model, data_path, *, n_test=600, n_train_baseline=800, seed=0, baselines=True, progress=True,
             n_self_consistent=200, projected_ratio=None, relations=None):
    """Metrics of ``model`` on the test split, per view set and instrument, plus baselines.

    ``n_self_consistent`` test maps (0: none) are also solved for their self-consistent R200
    from a starting R200 up to 30% off (`massrecon.validation.self_consistent`), with the
    calibration ``projected_ratio`` of :math:`M_{cyl}(<R_{200})/M_{200}` (the weights' metadata
    entry, `massrecon.validation.projected_ratio`; None: pure NFW).  With ``relations`` (``{view:
    ScalingRelation}``, the weights' ``"scaling_relations"``) the same maps are also solved by the
    default ``"relation"`` method (`massrecon.validation.self_consistent.relation_frame_masses`).

    Returns
    -------
    results : dict
        ``{"ideal": {view_set: metrics}, "planck_like": {...}, "baselines": {...},
        "calibration": {view_set: table}, "coverage": {view_set: fraction},
        "self_consistent": {instrument: {view_set: metrics}}, "relation_frame": {...}}``.
    """
    views = tuple(model.views)
    npix = FRAME_NPIX
    rng = np.random.default_rng(seed)
    test = load_split(data_path, "test", views, n_max=n_test, seed=seed)
    val = load_split(data_path, "validation", views, n_max=n_test, seed=seed + 1)
    subsets = [s for k in range(1, len(views) + 1) for s in itertools.combinations(views, k)]
    results = {"n_test_maps": int(test["target"].shape[0]), "n_test_halos": int(np.unique(test["halo_id"]).size)}
    # the true Sigma on the nominal frame and R500/R200 per map
    _, t_true, _ = _samples(test, views, "ideal", npix, rng)
    true = TargetTransform().inverse(t_true)
    r5 = test["r500"] / test["r200"]
    edges = np.array([0.0, 0.05, 0.1, 0.2, 0.35, 0.5, 0.75, 1.0, 1.5])
    for condition, (instrument, r200_error) in CONDITIONS.items():
        x, _, conds = _samples(test, views, instrument, npix, rng)
        results[condition] = {}
        for subset in subsets:
            pred = _predict(model, views, x, conds, subset, r200_error=r200_error)
            results[condition]["+".join(subset)] = _metrics(pred, true, r5)
        if progress:
            print(f"{condition}: done")
    # the reconstructor's optional test-time augmentation, on the ideal all-view inputs
    x, _, conds = _samples(test, views, "ideal", npix, rng)
    results["ideal_tta"] = {"+".join(views): _metrics(_predict(model, views, x, conds, views, tta=True), true, r5)}
    # uncertainty calibration on the validation split (idealised and instrument-like mixed, R200
    # an estimate as in the reconstructor's default use), and its coverage on the test split
    err = R200_ERROR_MAX
    xv, tv, cv = _samples(val, views, "ideal", npix, rng)
    truev = TargetTransform().inverse(tv)
    xv2, _, cv2 = _samples(val, views, "planck_like", npix, rng)
    results["calibration"], results["coverage_68"] = {}, {}
    x, _, conds = _samples(test, views, "ideal", npix, rng)
    x2, _, conds2 = _samples(test, views, "planck_like", npix, rng)
    for subset in subsets:
        key = "+".join(subset)
        pv = np.concatenate([_predict(model, views, xv, cv, subset, r200_error=err),
                             _predict(model, views, xv2, cv2, subset, r200_error=err)])
        cal = _calibration(pv, np.concatenate([truev, truev]), edges)
        results["calibration"][key] = cal
        # coverage on the test split, with the same mix of idealised and instrument-like inputs
        pred = np.concatenate([_predict(model, views, x, conds, subset, r200_error=err),
                               _predict(model, views, x2, conds2, subset, r200_error=err)])
        sig = np.asarray(cal["sigma_log10"])[np.clip(np.searchsorted(edges, radius_grid(npix)) - 1, 0, len(edges) - 2)]
        results["coverage_68"][key] = interval_coverage(pred / 10**sig, pred * 10**sig,
                                                        np.concatenate([true, true]))
    if n_self_consistent:
        sc = {k: v[:n_self_consistent] if isinstance(v, np.ndarray) and v.ndim else v for k, v in test.items()}
        results["self_consistent"] = {inst: self_consistent_masses(model, sc, subsets, instrument=inst, seed=seed,
                                                                projected_ratio=projected_ratio)
                                      for inst in INSTRUMENTS}
        if relations:
            results["relation_frame"] = {inst: relation_frame_masses(model, sc, subsets, relations, instrument=inst,
                                                                     seed=seed) for inst in INSTRUMENTS}
        if progress:
            print("self-consistent R200: done")
    if baselines:
        results["baselines"] = _baselines(data_path, views, test, true, r5, n_train_baseline, seed)
    return results


def _baselines(data_path, views, test, true, r5, n_train, seed):
    from ..training.augment import resample_frame

    train = load_split(data_path, "train", views, n_max=n_train, seed=seed + 2)

    def on_frame(d, key):  # the stored maps span size_r200: the model's frame from their centre
        return resample_frame(d[key], d["size_r200"], FRAME_NPIX, FRAME_SIZE_R200 / 2)

    res = {}
    pix_train = FRAME_SIZE_R200 * train["r200"] / FRAME_NPIX
    pix_test = FRAME_SIZE_R200 * test["r200"] / FRAME_NPIX
    tr = {v: on_frame(train, v) for v in views}
    te = {v: on_frame(test, v) for v in views}
    train_true = on_frame(train, "target")
    for v in views:
        b = ScalingRelationBaseline().fit(tr[v], train["m500"], train["r500"] / train["r200"], pix_train,
                                                train["z"])
        pred = b.predict(te[v], r5, pix_test, test["z"], test["r200"])
        res[f"scaling_relation_{v}"] = _metrics(pred, true, r5)
        # without the true R500, as an observer: the aperture follows the relation's mass
        # (R500 / M500^(1/3) depends on z only), the baseline of the R200-estimated rows
        m_it = b.predict_m500_iterated(te[v], r5 / test["m500"] ** (1 / 3), pix_test, test["z"])
        pred = np.array([b.paint(m, zi, r) for m, zi, r in zip(m_it, test["z"], test["r200"])])
        res[f"scaling_relation_{v}_self_consistent"] = _metrics(pred, true, r5)
    floors = {"sz": 1e-8, "xray": 1e32, "stars": 1e3}
    for k in range(1, len(views) + 1):
        for subset in itertools.combinations(views, k):
            b = PowerLawBaseline([floors[v] for v in subset]).fit([tr[v] for v in subset], train_true)
            pred = b.predict([te[v] for v in subset])
            res["power_law_" + "+".join(subset)] = _metrics(pred, true, r5)
    return res
