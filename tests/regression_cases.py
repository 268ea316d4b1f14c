"""The fixed cases of the behaviour regression test (used by the test and by its data writer)."""

import dataclasses

import numpy as np
from astropy.coordinates import SkyCoord

#: View sets predicted on the example observations.
VIEW_SETS = (("sz",), ("xray",), ("stars",), ("sz", "xray", "stars"))

#: (halo id, projection index, physics) of the simulator cases; seed 7, small maps.
SIM_CASES = ((0, 0, "fiducial"), (5, 3, "strong_feedback"))

#: A data-set configuration as stored before ``observable_depth_r200`` existed, when the observables
#: were integrated over the target's slab (with line-of-sight neighbours): what it makes must not
#: change.  Its ``legacy/`` arrays and the ``map_slab`` arrays of `SIM_CASES` were checked bit for
#: bit against the maps of the code before whole-column observables (regression data of 8875e46).
LEGACY_CONFIG_JSON = (
    '{"catalogue_mass_limit": 1000000000.0, "cm_relation": "diemer19", "cm_scatter_dex": 0.12, '
    '"depth_r200": 1.0, "log_m200_range": [13.5, 15.5], "los_neighbours": 2.0, "los_nodes": 24, '
    '"maps": ["sigma_total", "sigma_dm", "sigma_gas", "sigma_stars", "compton_y", "xray_soft", "xray_bol", '
    '"sigma_members"], "mass_sampling": "flat", "npix": 24, "physics": "fiducial", "physics_model": '
    '{"clumping_r200": 1.6, "cool_core_fraction": 0.3, "core_scale": 1.0, "fgas_norm": 0.125, '
    '"fgas_scatter_dex": 0.04, "fgas_slope": 0.25, "icl_fraction": [0.2, 0.4], "merger_fraction": 0.15, '
    '"name": "fiducial", "orphan_ratio": 1.5, "pressure_scatter_dex": 0.06, "stellar_scale": 1.0, '
    '"subhalo_norm": 1.0}, "projections": 2, "seed": 3, "size_r200": 2.0, "smoothing_r200": 0.01, '
    '"z_range": [0.01, 0.12]}')

#: Halo of `LEGACY_CONFIG_JSON`'s universe simulated: a merger with satellites.
LEGACY_HALO = 4


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
        # the observables over the slab only, as before whole-column observables
        maps, members = project_halo(model, basis, npix=40, size_r200=2.0, observable_depth_r200=1.0)
        for k, v in sorted(maps.items()):
            out[f"{key}/map_slab/{k}"] = np.asarray(v, dtype=np.float64)
        out[f"{key}/members_slab/x"] = np.asarray(members["x"], dtype=np.float64)
    out.update(legacy_arrays())
    return out


def legacy_arrays():
    """Maps and members that `LEGACY_CONFIG_JSON` makes for `LEGACY_HALO`."""
    from massrecon.simulate import SimulationConfig
    from massrecon.simulate.dataset import simulate_halo

    maps, _, members = simulate_halo(LEGACY_HALO, SimulationConfig.from_json(LEGACY_CONFIG_JSON))
    out = {f"legacy/map/{k}": np.asarray(v, dtype=np.float64) for k, v in sorted(maps.items())}
    for k in sorted(members[0]):
        out[f"legacy/members/{k}"] = np.concatenate([np.asarray(m[k], dtype=np.float64) for m in members])
    return out


def compute_all(directory):
    out = simulator_arrays()
    out.update(prediction_arrays(directory))
    return out
