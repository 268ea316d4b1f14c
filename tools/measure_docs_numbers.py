"""The numbers of docs/accuracy.rst and docs/validation.rst that no table generator writes.

Each subcommand prints one block of numbers that the documentation quotes, for the bundled
weights (or ``--weights generator.pt``), so that every quoted number has a command:

* ``relation600 DATA.h5``: the relation frame on 600 test maps of the training set's test
  split, y / y+X-ray / all views, map against relation scatter with the paired-bootstrap error
  (docs/accuracy.rst, "Self-consistent R200");
* ``variants HELDOUT_DIR``: the relation frame on 200 held-out maps of each physics variant
  (``fiducial_seed11.h5``, ``strong_feedback_seed12.h5``, ``weak_feedback_seed12.h5``),
  M(<R500) bias / scatter per view set (docs/accuracy.rst, "Unknown physics");
* ``depth HELDOUT_DIR``: X-ray alone on the true frame, 200 held-out fiducial maps,
  M(<R500) median bias at a per-pixel noise of 0, 1e38 and 4e38 (reference level 1e35
  erg/s/kpc^2, background 140 times it, PSF 0.04 R200) with ``r200_error`` 0.3 and 0.1, all
  maps and those above M500 = 5e14 Msun (docs/validation.rst, "What the table shows");
* ``xray_profiles DATA.h5``: the X-ray surface-brightness profile of the real X-ray images with a
  catalogue mass (Abell 907, ZwCl 2341) on their catalogue frame (medians in rings of R200) as a
  percentile of the training maps of the same M500 (+-20%) and z (+-0.1), and, for Abell 907,
  the map and relation M500 and the outer ring with the fitted background scaled by 0.95 and 0.9,
  and the widening of ``background_error`` 0.05 and 0.1 (docs/validation.rst, "Why the X-ray
  maps of real clusters come out low");
* ``tension DATA.h5 [--split all]``: on the relation frame of 600 test maps (or every map of a
  held-out file), how often the map's mass and the relation's differ by more than
  ``TENSION_SIGMA`` times the errors ``MassMap.spherical_mass`` quotes (the false-alarm rate of
  `~massrecon.MassTensionWarning`; on the other physics variants, how often it sees their bias;
  docs/reconstruct.rst).

Usage::

    python tools/measure_docs_numbers.py relation600 runs/bundled/train.h5
    python tools/measure_docs_numbers.py variants runs/bundled/heldout
    python tools/measure_docs_numbers.py depth runs/bundled/heldout
    python tools/measure_docs_numbers.py xray_profiles runs/bundled/train.h5 --ecsv docs/validation_xray_profiles.ecsv
    python tools/measure_docs_numbers.py tension runs/bundled/train.h5
"""

import argparse
from pathlib import Path

import numpy as np

from massrecon import MassReconstructor
from massrecon.contract import FRAME_NPIX
from massrecon.models.transforms import TargetTransform
from massrecon.validation.evaluate import _predict, _samples, load_split
from massrecon.validation.instruments import INSTRUMENTS, XRAY_BACKGROUND
from massrecon.validation.metrics import mass_metrics, summarize
from massrecon.validation.self_consistent import relation_frame_masses

VIEW_SETS = {"y": ("sz",), "y+X-ray": ("sz", "xray"), "X-ray": ("xray",), "members": ("stars",),
             "all views": ("sz", "xray", "stars")}


def _rows(table, names):
    for name in names:
        row = table["+".join(VIEW_SETS[name])]
        yield name, row


def relation600(rec, data, n):
    d = load_split(data, "test", rec.views, n_max=n, seed=0)
    names = ["y", "y+X-ray", "all views"]
    res = relation_frame_masses(rec.model, d, [VIEW_SETS[k] for k in names], rec.relations)
    print(f"relation frame, {d['target'].shape[0]} test maps, ideal inputs: "
          "map M(<R500) scatter against the relation's")
    for name, row in _rows(res, names):
        diff = row["map_minus_relation"]
        print(f"  {name:10s} map {100 * row['mcyl_r500']['scatter']:5.1f}%  "
              f"relation {100 * row['m500_relation']['scatter']:5.1f}%  "
              f"difference {diff['difference'] * 100:+.1f} +- {diff['error'] * 100:.1f} points")


def variants(rec, heldout, n):
    names = ["y", "X-ray", "members", "all views"]
    files = [("fiducial (seed 11)", "fiducial_seed11.h5"), ("strong feedback", "strong_feedback_seed12.h5"),
             ("weak feedback", "weak_feedback_seed12.h5")]
    print(f"relation frame, {n} held-out maps per variant, ideal inputs: map M(<R500) bias / scatter")
    for label, fname in files:
        d = load_split(Path(heldout) / fname, None, rec.views, n_max=n, seed=0)
        res = relation_frame_masses(rec.model, d, [VIEW_SETS[k] for k in names], rec.relations)
        cells = [f"{name} {100 * row['mcyl_r500']['bias']:+.1f}% / {100 * row['mcyl_r500']['scatter']:.1f}%"
                 for name, row in _rows(res, names)]
        print(f"  {label:20s} " + ", ".join(cells))


def depth(rec, heldout, n):
    views = tuple(rec.views)
    d = load_split(Path(heldout) / "fiducial_seed11.h5", None, views, n_max=n, seed=0)
    rng = np.random.default_rng(0)
    _, t_true, _ = _samples(d, views, "ideal", FRAME_NPIX, rng)
    true = TargetTransform().inverse(t_true)
    r5 = d["r500"] / d["r200"]
    massive = d["m500"] > 5e14
    print(f"X-ray alone, true frame, {true.shape[0]} held-out fiducial maps ({massive.sum()} above M500 = 5e14): "
          "M(<R500) median bias, all / above 5e14")
    for rms in (0.0, 1e38, 4e38):
        # evaluate's sampler reads instruments by name: register this one for the call only
        key = f"_xray_only_{rms:g}"
        INSTRUMENTS[key] = {"sz": (0.01, 0.0), "xray": (0.04, rms), "stars": (0.05, 0.0)}
        XRAY_BACKGROUND[key] = 140.0
        try:
            x, _, conds = _samples(d, views, key, FRAME_NPIX, rng)
        finally:
            del INSTRUMENTS[key], XRAY_BACKGROUND[key]
        cells = []
        for err in (0.3, 0.1):
            pred = _predict(rec.model, views, x, conds, ("xray",), r200_error=err)
            lr = mass_metrics(pred, true, r5)["log_ratio"]
            cells.append(f"r200_error {err}: {100 * summarize(lr)['bias']:+.1f}% / "
                         f"{100 * summarize(lr[massive])['bias']:+.1f}%")
        print(f"  noise {rms:7.0e}  " + "   ".join(cells))


def xray_profiles(rec, data, n, ecsv=None):
    import warnings

    import astropy.units as u

    from massrecon.contract import VIEW_UNITS
    from massrecon.validation import real_clusters as rc

    edges = np.array([0.0, 0.05, 0.1, 0.15, 0.2, 0.3, 0.45, 0.65])
    d = load_split(data, "train", ("xray",))
    npx = d["xray"].shape[-1]
    idx = np.arange(npx) - (npx - 1) / 2
    rr = np.hypot(*np.meshgrid(idx, idx)) * d["size_r200"] / npx
    rings = [(rr >= a) & (rr < b) for a, b in zip(edges[:-1], edges[1:])]
    unit = u.Unit(VIEW_UNITS["xray"])  # the unit load_split gives the training maps

    def profile(view, frame):
        data = np.where(view.mask, np.nan, (view.data * view.unit).to_value(unit))
        r = frame.radius_grid()
        return np.array([np.nanmedian(data[(r >= a) & (r < b)]) for a, b in zip(edges[:-1], edges[1:])])

    print("X-ray surface brightness on the catalogue frame, medians in rings of R200 "
          f"({', '.join(f'{a:g}-{b:g}' for a, b in zip(edges[:-1], edges[1:]))}), against the training maps "
          "(training split) of the same M500 (+-20%) and z (+-0.1); eFEDS has no catalogue mass:")
    rows = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        a907 = rc.load_a907()
        for vs in a907 + rc.load_zwcl2341():
            frame = rec.model_frame(vs.frame)
            real = profile(vs.observations[0].prepare(frame), frame)
            m5 = frame.m500.to_value(u.Msun)
            sel = np.nonzero((np.abs(np.log(d["m500"] / m5)) < 0.2) & (np.abs(d["z"] - frame.z) < 0.1))[0]
            mocks = np.array([[np.median(d["xray"][i][ring]) for ring in rings] for i in sel])
            rank = (mocks < real).mean(axis=0)
            pct = np.percentile(mocks, [5, 16, 50, 84, 95], axis=0) / 1e35
            for j in range(len(edges) - 1):
                rows.append((vs.label.split(": ", 1)[-1], f"{vs.cluster.split(' (')[0]}", edges[j], edges[j + 1],
                             real[j] / 1e35, *pct[:, j], sel.size))
            print(f"  {vs.label} (M500 {m5:.2e}, z {frame.z:.3f}; {sel.size} training maps of "
                  f"{np.unique(d['halo_id'][sel]).size} halos): real / median "
                  f"{' '.join(f'{v:.2f}' for v in real / np.median(mocks, axis=0))}; percentile "
                  f"{' '.join(f'{100 * v:.0f}' for v in rank)}")
        if ecsv:
            from astropy.table import Table

            t = Table(rows=rows, names=("image", "cluster", "r_in", "r_out", "real", "p5", "p16", "p50", "p84", "p95",
                                        "n_maps"))
            t.meta["comments"] = ["X-ray surface brightness (1e35 erg/s/kpc2, rest frame) on the catalogue frame: "
                                  "the real image's median in rings of R200 and the percentiles of the medians of "
                                  "the training maps of the same M500 (+-20%) and z (+-0.1); written by "
                                  "tools/measure_docs_numbers.py xray_profiles"]
            t.write(ecsv, overwrite=True)
            print(f"wrote {ecsv}")
        print("Abell 907, X-ray alone, r200_error 0.3 on the catalogue frame, with the fitted background times k: "
              "map M500, relation M500, median of the 0.45-0.65 R200 ring (1e35 erg/s/kpc2); and BKGWIDEN of "
              "background_error 0.05 and 0.1:")
        for vs in a907:
            img, cells = vs.observations[0], []
            for k in (1.0, 0.95, 0.9):
                scaled = img.with_background_scaled(k)
                m = rec.predict([scaled], vs.frame, r200_error=0.3).spherical_mass(500).mass.to_value(u.Msun)
                rel = rec.relation_mass([scaled], vs.frame).m500.to_value(u.Msun)
                outer = profile(scaled.prepare(rec.model_frame(vs.frame)), rec.model_frame(vs.frame))[-1] / 1e35
                cells.append(f"k {k:g}: {m:.2e}, {rel:.2e}, {outer:+.0f}")
            widen = []
            for err in (0.05, 0.1):
                img.background_error = err
                widen.append(rec.predict([img], vs.frame, r200_error=0.3).meta["BKGWIDEN"])
            img.background_error = None
            print(f"  {vs.label}  " + "; ".join(cells) + f"; BKGWIDEN {widen[0]:.3f}, {widen[1]:.3f}")


def tension(rec, data, n, split="test"):
    from massrecon.analysis.masses import ModelErrors
    from massrecon.massmap import TENSION_SIGMA

    d = load_split(data, None if split == "all" else split, tuple(rec.views), n_max=n, seed=0)
    sets = {"y": ("sz",), "X-ray": ("xray",), "members": ("stars",), "all views": ("sz", "xray", "stars")}
    print(f"relation frame, {d['target'].shape[0]} maps ({split}) of {Path(data).name}: ln(map M(<R500) / "
          "relation M500) over the errors spherical_mass and RELSCAT quote (model term of the view set with R200 "
          "uncertain, physics systematic; the relation's precision); fraction beyond "
          f"{TENSION_SIGMA:g} (MassTensionWarning) and beyond 2, and the 95th percentile of |pull|")
    for inst in ("ideal", "planck_like"):
        res = relation_frame_masses(rec.model, d, list(sets.values()), rec.relations, instrument=inst,
                                    per_map=True)
        for name, subset in sets.items():
            pm = res["+".join(subset)]["per_map"]
            errors = ModelErrors.from_meta({"VIEWS": ",".join(subset), "R200ERR": 0.1})
            q = d["r500"][pm["index"]] / d["r200"][pm["index"]]
            s_map = np.array([errors.aperture_fraction(x, x) for x in q])
            pull = (pm["map_dex"] - pm["relation_dex"]) * np.log(10) / np.hypot(
                s_map, pm["relation_scatter_dex"] * np.log(10))
            beyond, beyond2 = 100 * np.mean(np.abs(pull) > TENSION_SIGMA), 100 * np.mean(np.abs(pull) > 2)
            s_rel = np.median(pm["relation_scatter_dex"]) * np.log(10)
            print(f"  {inst:12s} {name:10s} beyond {TENSION_SIGMA:g}: {beyond:4.1f}%  beyond 2: {beyond2:4.1f}%  "
                  f"95th percentile {np.percentile(np.abs(pull), 95):.2f}  (median errors in ln: map "
                  f"{np.median(s_map):.2f}, relation {s_rel:.2f})")


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("what", choices=["relation600", "variants", "depth", "xray_profiles", "tension"])
    p.add_argument("path", help="the training set (relation600, xray_profiles, tension) or the held-out directory "
                                "(variants, depth)")
    p.add_argument("--weights", help="generator.pt (metadata next to it); default: the bundled weights")
    p.add_argument("-n", type=int, help="maps (default 600 for relation600, 200 otherwise)")
    p.add_argument("--ecsv", help="xray_profiles: also write the profiles and the training percentiles here "
                                  "(docs/validation_xray_profiles.ecsv, read by the docs' figure)")
    p.add_argument("--split", default="test", choices=["train", "validation", "test", "all"],
                   help="tension: the split of DATA.h5 (all: every map, e.g. of a held-out file)")
    a = p.parse_args(argv)
    rec = MassReconstructor.from_files(a.weights) if a.weights else MassReconstructor.pretrained()
    if a.what == "tension":
        tension(rec, a.path, a.n or 600, a.split)
        return
    if a.what == "xray_profiles":
        xray_profiles(rec, a.path, a.n, a.ecsv)
        return
    {"relation600": relation600, "variants": variants, "depth": depth}[a.what](
        rec, a.path, a.n or (600 if a.what == "relation600" else 200))


if __name__ == "__main__":
    main()
