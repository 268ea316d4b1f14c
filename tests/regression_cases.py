"""The fixed cases of the behaviour regression test (used by the test and by its data writer)."""

import dataclasses

import numpy as np
from astropy.coordinates import SkyCoord

#: View sets predicted on the example observations.
VIEW_SETS = (("sz",), ("xray",), ("stars",), ("sz", "xray", "stars"))

#: (halo id, projection index, physics) of the simulator cases; seed 7, small maps.
SIM_CASES = ((0, 0, "fiducial"), (5, 3, "strong_feedback"))


def _example_observations(directory):
    from massrecon.datasets import make_example_observations, read_example_observations

    return read_example_observations(make_example_observations(directory))


def prediction_arrays(directory):
    """Predictions of the bundled weights: Sigma maps and the self-consistent R200."""
    from massrecon import ClusterFrame, MassReconstructor

    obs, row = _example_observations(directory)
    frame = ClusterFrame(SkyCoord(row["ra"], row["dec"]), float(row["z"]), m500=row["m500"])
    rec = MassReconstructor.pretrained()
    out = {}
    for views in VIEW_SETS:
        name = "+".join(views)
        m = rec.predict([obs[v] for v in views], frame, r200_error=0.1)
        out[f"pred/{name}/sigma"] = np.asarray(m.data, dtype=np.float64)
        out[f"pred/{name}/sigma_err"] = np.asarray(m.uncertainty.array, dtype=np.float64)
        out[f"pred/{name}/r200"] = np.array(float(m.meta["R200C"]))
    m = rec.predict([obs["sz"], obs["stars"]], frame, self_consistent=True)
    out["pred/sc/sigma"] = np.asarray(m.data, dtype=np.float64)
    out["pred/sc/r200"] = np.array(float(m.meta["R200C"]))
    return out


def simulator_arrays():
    """Halo properties and projected maps of the simulator for fixed seeds."""
    from massrecon.simulate import HaloModel, SimulationConfig, project_halo, projection_bases, sample_halo

    out = {}
    for hid, proj, physics in SIM_CASES:
        cfg = SimulationConfig(seed=7, physics=physics, npix=40)
        halo = sample_halo(hid, cfg)
        key = f"sim/{hid}/{proj}/{physics}"
        props = dataclasses.asdict(halo)
        for k, v in sorted(props.items()):
            try:
                a = np.asarray(v, dtype=np.float64)
            except (TypeError, ValueError):
                continue
            out[f"{key}/halo/{k}"] = a
        model = HaloModel(halo, cfg.physics)
        basis = projection_bases(cfg.projections)[proj]
        maps, members = project_halo(model, basis, npix=40, size_r200=2.0)
        for k, v in sorted(maps.items()):
            out[f"{key}/map/{k}"] = np.asarray(v, dtype=np.float64)
        for k in sorted(members.keys() if hasattr(members, "keys") else members.dtype.names):
            out[f"{key}/members/{k}"] = np.asarray(members[k], dtype=np.float64)
    return out


def compute_all(directory):
    out = simulator_arrays()
    out.update(prediction_arrays(directory))
    return out
