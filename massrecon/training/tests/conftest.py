"""A tiny HDF5 data set in the simulator's layout (version 1), built from real projections."""

import json

import astropy.units as u
import h5py
import numpy as np
import pytest

from massrecon import __version__
from massrecon.simulate import (
    MAP_NAMES,
    MAP_UNITS,
    HaloModel,
    SimulationConfig,
    project_halo,
    projection_bases,
    sample_halo,
)

#: X-ray maps are stored in units of 1e30 erg/s/kpc^2 (as the simulator does), exercising unit scaling
_SCALE = {"xray_soft": 1e30, "xray_bol": 1e30}


def _unit(name):
    if name in _SCALE:
        return (u.Unit(_SCALE[name]) * MAP_UNITS[name]).to_string()
    return MAP_UNITS[name].to_string()


def write_tiny_dataset(path, n_halos=6, projections=2, npix=40, size_r200=2.6, seed=3):
    """Write ``n_halos * projections`` maps; halos 0..n-3 train, n-2 validation, n-1 test."""
    cfg = SimulationConfig(npix=npix, size_r200=size_r200, projections=projections, seed=seed,
                           log_m200_range=(14.0, 15.0))
    bases = projection_bases(projections)
    maps = {k: [] for k in MAP_NAMES}
    meta = {k: [] for k in ("halo_id", "projection", "m200", "r200", "m500", "r500", "z", "c200", "split",
                            "pixel_kpc")}
    for hid in range(n_halos):
        h = sample_halo(hid, cfg)
        model = HaloModel(h, cfg.physics)
        split = 0 if hid < n_halos - 2 else (1 if hid == n_halos - 2 else 2)
        for p in range(projections):
            m, _ = project_halo(model, bases[p], npix=npix, size_r200=size_r200)
            for k in MAP_NAMES:
                maps[k].append(m[k] / _SCALE.get(k, 1.0))
            for k, v in dict(halo_id=hid, projection=p, m200=h.m200, r200=h.r200, m500=h.m500, r500=h.r500,
                             z=h.z, c200=h.c200, split=split, pixel_kpc=size_r200 * h.r200 / npix).items():
                meta[k].append(v)
    n = len(meta["halo_id"])
    with h5py.File(path, "w") as fh:
        fh.attrs["layout_version"] = "1"
        fh.attrs["massrecon_version"] = __version__
        fh.attrs["config"] = cfg.to_json()
        fh.attrs["n_maps_done"] = n
        for k in MAP_NAMES:
            d = fh.create_dataset(f"maps/{k}", data=np.array(maps[k], dtype=np.float32),
                                  chunks=(1, npix, npix))
            d.attrs["unit"] = _unit(k)
        for k, v in meta.items():
            dtype = np.uint8 if k == "split" else (np.int64 if k in ("halo_id", "projection") else np.float64)
            fh.create_dataset(f"meta/{k}", data=np.array(v, dtype=dtype))
    return path


@pytest.fixture(scope="session")
def tiny_dataset(tmp_path_factory):
    """Path of a 12-map data set, 40 px over 2.6 R200 (crop to 32 px)."""
    return str(write_tiny_dataset(tmp_path_factory.mktemp("data") / "tiny.h5"))


@pytest.fixture
def tiny_config(tiny_dataset):
    """A small, fast training configuration on the tiny data set."""
    from massrecon.training import TrainingConfig

    return TrainingConfig(data_paths=[tiny_dataset], npix=32, base_channels=8, depth=3, max_channels=32,
                          cond_embedding=16, ndf=8, batch_size=4, steps=6, lr=3e-3, warmup_steps=2,
                          checkpoint_interval=3, log_interval=1, val_interval=3, val_batches=1, seed=5,
                          threads=1)


def json_config(cfg):
    return json.loads(cfg.to_json())
