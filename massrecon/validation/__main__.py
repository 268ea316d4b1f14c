"""Export a training run as weights and measure them on held-out mocks.

Usage::

    python -m massrecon.validation RUN_DIR --data DATA.h5 --out-dir OUT [--n-test 600]

writes ``OUT/generator.pt`` and ``OUT/generator.json`` (with the metrics, the uncertainty
calibration and the calibration of :math:`M_{cyl}(<R_{200})/M_{200}` on the training halos of
``DATA.h5``, `massrecon.validation.projected_ratio`, and the views' scaling relations,
`massrecon.validation.scaling_relations`) and ``OUT/metrics.md`` (a table for the
documentation).
"""

import argparse
import json
import sys
from pathlib import Path

from .instruments import CONDITIONS


def _table(results):
    lines = ["| inputs | view set | pixel scatter | profile bias / scatter | M(<R500) bias / scatter "
             "| M(<R200) bias / scatter |", "|---|---|---|---|---|---|"]

    def pct(x):
        return f"{100 * x:+.1f}%"

    for inst in [c for c in (*CONDITIONS, "ideal_tta") if c in results]:
        for key, m in results[inst].items():
            lines.append(f"| {inst} | {key} | {100 * m['pixel']['scatter']:.1f}% | {pct(m['profile']['bias'])} / "
                         f"{100 * m['profile']['scatter']:.1f}% | {pct(m['mass_r500']['bias'])} / "
                         f"{100 * m['mass_r500']['scatter']:.1f}% | {pct(m['mass_r200']['bias'])} / "
                         f"{100 * m['mass_r200']['scatter']:.1f}% |")
    for key, m in results.get("baselines", {}).items():
        lines.append(f"| ideal | baseline {key} | {100 * m['pixel']['scatter']:.1f}% | {pct(m['profile']['bias'])} / "
                     f"{100 * m['profile']['scatter']:.1f}% | {pct(m['mass_r500']['bias'])} / "
                     f"{100 * m['mass_r500']['scatter']:.1f}% | {pct(m['mass_r200']['bias'])} / "
                     f"{100 * m['mass_r200']['scatter']:.1f}% |")
    sc = results.get("self_consistent")
    if sc:
        lines += ["", "Self-consistent R200 from a start up to 30% off (test maps; masses relative to the truth):", "",
                  "| inputs | view set | M200 bias / scatter | M(<true R200) bias / scatter | converged "
                  "| predictions |", "|---|---|---|---|---|---|"]
        for inst, per in sc.items():
            for key, m in per.items():
                lines.append(f"| {inst} | {key} | {pct(m['m200']['bias'])} / {100 * m['m200']['scatter']:.1f}% | "
                             f"{pct(m['mcyl_r200']['bias'])} / {100 * m['mcyl_r200']['scatter']:.1f}% | "
                             f"{100 * m['converged']:.0f}% | {m['predictions']:.1f} |")
    rf = results.get("relation_frame")
    if rf:
        lines += ["", "The default self-consistent method (\"relation\"): the scaling relations' M500 at its own R500, "
                  "and the map predicted on its frame (test maps; masses relative to the truth):", "",
                  "| inputs | view set | relation M500 bias / scatter | map M(<true R500) bias / scatter "
                  "| map - relation scatter | frames clipped |", "|---|---|---|---|---|---|"]
        for inst, per in rf.items():
            for key, m in per.items():
                lines.append(f"| {inst} | {key} | {pct(m['m500_relation']['bias'])} / "
                             f"{100 * m['m500_relation']['scatter']:.1f}% | {pct(m['mcyl_r500']['bias'])} / "
                             f"{100 * m['mcyl_r500']['scatter']:.1f}% | {_difference(m)} | "
                             f"{100 * m['frame_clipped']:.0f}% |")
    lines.append("")
    lines.append("68% interval coverage of true pixels within R200 (test split, idealised and "
                 "instrument-like inputs): "
                 + ", ".join(f"{k} {100 * v:.1f}%" for k, v in results["coverage_68"].items()))
    return "\n".join(lines) + "\n"


def _difference(m):
    """The map's scatter minus the relation's, with its paired-bootstrap error (points)."""
    d = m.get("map_minus_relation")
    return f"{100 * d['difference']:+.1f} +- {100 * d['error']:.1f}" if d else "-"


def _csv(results):
    rows = ["inputs,view set,pixel scatter,profile bias,profile scatter,M500 bias,M500 scatter,M200 bias,M200 scatter"]

    def row(inst, key, m):
        vals = [m["pixel"]["scatter"], m["profile"]["bias"], m["profile"]["scatter"], m["mass_r500"]["bias"],
                m["mass_r500"]["scatter"], m["mass_r200"]["bias"], m["mass_r200"]["scatter"]]
        return ",".join([inst, key] + [f"{100 * v:.1f}%" for v in vals])

    for inst in [c for c in (*CONDITIONS, "ideal_tta") if c in results]:
        for key, m in results[inst].items():
            rows.append(row(inst, key, m))
    for key, m in results.get("baselines", {}).items():
        rows.append(row("ideal", "baseline: " + key, m))
    return "\n".join(rows) + "\n"


def _csv_self_consistent(results):
    rows = ["inputs,view set,M200 bias,M200 scatter,M(<true R200) bias,M(<true R200) scatter,converged,predictions"]
    for inst, per in results.get("self_consistent", {}).items():
        for key, m in per.items():
            rows.append(",".join([inst, key] + [f"{100 * m[a][b]:.1f}%" for a in ("m200", "mcyl_r200")
                                                for b in ("bias", "scatter")]
                                 + [f"{100 * m['converged']:.0f}%", f"{m['predictions']:.1f}"]))
    return "\n".join(rows) + "\n"


def _csv_relation_frame(results):
    rows = ["inputs,view set,relation M500 bias,relation M500 scatter,map M(<true R500) bias,"
            "map M(<true R500) scatter,map - relation scatter,frames clipped"]
    for inst, per in results.get("relation_frame", {}).items():
        for key, m in per.items():
            rows.append(",".join([inst, key] + [f"{100 * m[a][b]:.1f}%" for a in ("m500_relation", "mcyl_r500")
                                                for b in ("bias", "scatter")]
                                 + [_difference(m), f"{100 * m['frame_clipped']:.0f}%"]))
    return "\n".join(rows) + "\n"


def main(argv=None):
    p = argparse.ArgumentParser(prog="python -m massrecon.validation", description=__doc__.split("\n")[0])
    p.add_argument("run", help="training run directory or checkpoint")
    p.add_argument("--data", required=True, help="HDF5 dataset with a test split")
    p.add_argument("--out-dir", required=True, help="where to write generator.pt/.json and metrics.md")
    p.add_argument("--n-test", type=int, default=400, help="test maps to evaluate (default 400)")
    p.add_argument("--n-train-baseline", type=int, default=400,
                   help="training maps to fit the baselines on (default 400)")
    p.add_argument("--n-self-consistent", type=int, default=200,
                   help="test maps solved for a self-consistent R200 (default 200; 0: none)")
    p.add_argument("--n-ratio", type=int, default=400,
                   help="training halos (one projection each) to calibrate M_cyl(<R200)/M200 on (default 400)")
    p.add_argument("--n-relations", type=int, default=1500,
                   help="training maps to fit the views' M500 scaling relations on (default 1500)")
    p.add_argument("--no-baselines", action="store_true")
    p.add_argument("--overwrite", action="store_true")
    args = p.parse_args(argv)

    from ..models import load_generator
    from ..relations import RELATIONS_KEY, ScalingRelation
    from ..training import export_weights
    from .evaluate import evaluate
    from .projected_ratio import calibrate
    from .scaling_relations import calibrate_relations

    out = Path(args.out_dir)
    export_weights(args.run, out, overwrite=args.overwrite)
    model, meta = load_generator(out / "generator.pt")
    # first, as the self-consistent solve measured below uses it as the reconstructor will
    meta["projected_ratio"] = calibrate(data=args.data, split="train", n=args.n_ratio)
    meta[RELATIONS_KEY] = calibrate_relations(args.data, n=args.n_relations)
    results = evaluate(model, args.data, n_test=args.n_test, n_train_baseline=args.n_train_baseline,
                       baselines=not args.no_baselines, n_self_consistent=args.n_self_consistent,
                       projected_ratio=meta["projected_ratio"],
                       relations={v: ScalingRelation.from_dict(v, meta[RELATIONS_KEY][v]) for v in model.views})
    meta["calibration"] = results["calibration"]
    meta["metrics"] = {k: v for k, v in results.items() if k != "calibration"}
    (out / "generator.json").write_text(json.dumps(meta, indent=1, sort_keys=True))
    (out / "metrics.md").write_text(_table(results))
    (out / "metrics.csv").write_text(_csv(results))
    if results.get("self_consistent"):
        (out / "self_consistent.csv").write_text(_csv_self_consistent(results))
    if results.get("relation_frame"):
        (out / "relation_frame.csv").write_text(_csv_relation_frame(results))
    print(_table(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
