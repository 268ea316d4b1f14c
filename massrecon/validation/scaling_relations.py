"""Calibration of the weights' scaling relations (`massrecon.relations`) on their training halos.

For each view, the integral of the ideal map (no beam, no noise) within the halo's true
:math:`R_{500c}` is related to its true :math:`M_{500c}` by a least-squares power law with an
:math:`E(z)` term (`~massrecon.relations.ScalingRelation.fit`).  The result is the weights'
metadata entry ``"scaling_relations"``, which ``MassReconstructor.predict(...,
self_consistent=True)`` uses to place the frame.  ``python -m massrecon.validation`` writes it
with the other calibrations; this module's command adds it to an existing ``generator.json``::

    python -m massrecon.validation.scaling_relations --data runs/bundled/train.h5 \\
        --weights-json massrecon/models/weights/generator.json
"""

import argparse
import json
import sys
from pathlib import Path

import numpy as np

from ..apertures import aperture_weights
from ..relations import RELATIONS_KEY, ScalingRelation

__all__ = ["measure_integrals", "calibrate_relations", "main"]


def measure_integrals(data):
    """Integrals of each view's maps within the true :math:`R_{500}` (view unit times kpc^2).

    Parameters
    ----------
    data : dict
        A split read by `massrecon.validation.evaluate.load_split` (maps over ``size_r200``,
        centred on the halo).

    Returns
    -------
    dict
        ``{view: array}`` for the views in ``data``.

    Examples
    --------
    A uniform map of 1 per kpc^2: the integral is the aperture's area, pi R500^2:

    >>> import numpy as np
    >>> from massrecon.validation.scaling_relations import measure_integrals
    >>> d = {"sz": np.ones((1, 101, 101)), "size_r200": 2.0, "r200": np.array([1000.0]),
    ...      "r500": np.array([650.0]), "pixel_kpc": np.array([2000.0 / 101])}
    >>> round(float(measure_integrals(d)["sz"][0] / (np.pi * 650.0**2)), 3)
    1.0
    """
    out = {}
    for v in ("sz", "xray", "stars"):
        if v not in data:
            continue
        maps = np.asarray(data[v], dtype=float)
        npix = maps.shape[-1]
        radius_pix = np.asarray(data["r500"]) / np.asarray(data["r200"]) * npix / float(data["size_r200"])
        pix = np.asarray(data["pixel_kpc"], dtype=float)
        # radii rounded to 0.02 pixel so that the aperture weights are shared (0.1% on the sum)
        out[v] = np.array([float((m * aperture_weights(npix, round(float(rp) * 50) / 50)).sum()) * p**2
                           for m, rp, p in zip(maps, radius_pix, pix)])
    return out


def calibrate_relations(data_path, *, views=("sz", "xray", "stars"), n=1500, seed=2):
    """Fit the relation of each view on ``n`` maps of the training split of a data set.

    Parameters
    ----------
    data_path : str or path
        An HDF5 data set of `massrecon.simulate.dataset` (the weights' fiducial training set).
    views : tuple of str
    n : int
        Training maps (drawn with ``seed``).
    seed : int

    Returns
    -------
    dict
        The metadata entry ``"scaling_relations"``: ``{view: ScalingRelation.to_dict()}`` and,
        under ``"data"``, the provenance.
    """
    from .evaluate import load_split

    d = load_split(data_path, "train", views, n_max=n, seed=seed)
    integrals = measure_integrals(d)
    entry = {v: ScalingRelation.fit(v, integrals[v], d["m500"], d["z"]).to_dict() for v in views}
    entry["data"] = {"file": Path(data_path).name, "split": "train", "n": int(len(d["z"])), "seed": seed,
                     "maps": "ideal (no beam, no noise), integral within the true R500",
                     "cosmology": "Planck18 (E(z))"}
    return entry


def main(argv=None):
    """``python -m massrecon.validation.scaling_relations``: calibrate and (optionally) store."""
    p = argparse.ArgumentParser(prog="python -m massrecon.validation.scaling_relations",
                                description="Fit the M500 scaling relation of each view on a data set's training "
                                            "halos and store them in a weights' metadata (key scaling_relations).")
    p.add_argument("--data", required=True, help="HDF5 data set (the weights' fiducial training set)")
    p.add_argument("--n", type=int, default=1500, help="training maps (default 1500)")
    p.add_argument("--weights-json", help="generator.json to add the relations to (in place)")
    args = p.parse_args(argv)
    if args.n < 4:
        p.error(f"--n must be at least 4, got {args.n}")
    entry = calibrate_relations(args.data, n=args.n)
    print(json.dumps(entry, indent=1))
    if args.weights_json:
        path = Path(args.weights_json)
        meta = json.loads(path.read_text())
        meta[RELATIONS_KEY] = entry
        path.write_text(json.dumps(meta, indent=1, sort_keys=True))
    return 0


if __name__ == "__main__":
    sys.exit(main())
