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
  maps and those above M500 = 5e14 Msun (docs/validation.rst, "What the table shows").

Usage::

    python tools/measure_docs_numbers.py relation600 runs/bundled/train.h5
    python tools/measure_docs_numbers.py variants runs/bundled/heldout
    python tools/measure_docs_numbers.py depth runs/bundled/heldout
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


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("what", choices=["relation600", "variants", "depth"])
    p.add_argument("path", help="the training set (relation600) or the held-out directory (variants, depth)")
    p.add_argument("--weights", help="generator.pt (metadata next to it); default: the bundled weights")
    p.add_argument("-n", type=int, help="maps (default 600 for relation600, 200 otherwise)")
    a = p.parse_args(argv)
    rec = MassReconstructor.from_files(a.weights) if a.weights else MassReconstructor.pretrained()
    {"relation600": relation600, "variants": variants, "depth": depth}[a.what](
        rec, a.path, a.n or (600 if a.what == "relation600" else 200))


if __name__ == "__main__":
    main()
