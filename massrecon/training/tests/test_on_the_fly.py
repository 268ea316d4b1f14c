import dataclasses
import json
import pickle

import numpy as np
import pytest
import torch
from torch.utils.data import DataLoader

from massrecon.simulate import SimulationConfig
from massrecon.simulate.dataset import simulate_halo, split_of_halo, write_dataset
from massrecon.training import (
    AugmentConfig,
    ClusterMapDataset,
    SimulatedMapDataset,
    TrainingConfig,
    export_weights,
    load_checkpoint,
    train,
)
from massrecon.training.data import SPLITS

#: A small simulation: 12 halos (seed 3: 9 train, 1 validation, 2 test), 2 projections of 40 px
#: over 2.6 R200, so that the default augmentations (frames up to 2.6 R200) can be cut.
SIM = dict(seed=3, projections=2, npix=40, size_r200=2.6, log_m200_range=(14.0, 15.0))
N_HALOS = 12


@pytest.fixture(scope="module")
def sim_config():
    return SimulationConfig(**SIM)


@pytest.fixture(scope="module")
def written(sim_config, tmp_path_factory):
    """The HDF5 file the simulator writes for the same configuration and halos."""
    path = tmp_path_factory.mktemp("otf") / "same.h5"
    return str(write_dataset(path, N_HALOS, sim_config, workers=1, progress=False))


def _equal(a, b):
    assert sorted(a) == sorted(b)
    for k in a:
        assert torch.equal(a[k], b[k]), k


def test_sample_is_deterministic(sim_config):
    aug = AugmentConfig()
    a = SimulatedMapDataset(N_HALOS, sim_config, "train", npix=32, augment=aug, cache_size=0)
    key = (5, (7, 0, 5))
    first = a[key]
    _equal(first, a[key])
    # another process (a data-loader worker gets a pickled copy) computing other samples first
    b = pickle.loads(pickle.dumps(a))
    b.cache_size = 4
    for i in (4, 3, 5):
        b[(i, (7, 0, i))]
    _equal(first, b[key])
    assert not torch.equal(first["x"], a[(5, (7, 0, 6))]["x"])  # the sample seed matters
    # workers: the same samples whichever process computes them
    keys = [(i, (1, 0, i)) for i in range(4)]
    one = [a[k] for k in keys]
    loaded = list(DataLoader(a, batch_size=None, sampler=keys, num_workers=2))
    for x, y in zip(one, loaded, strict=True):
        _equal(x, y)


def test_split_follows_the_writer(sim_config):
    n, start = 30, 100  # ids 100..129 of seed 3: 26 train, 3 validation, 1 test
    ids = {}
    for split, code in SPLITS.items():
        ds = SimulatedMapDataset(n, sim_config, split, npix=32, halo_start=start)
        expected = [h for h in range(start, start + n) if split_of_halo(h, sim_config.seed) == code]
        assert list(ds.halos) == expected and len(ds) == len(expected) * sim_config.projections
        ids[split] = set(ds.halo_ids().tolist())
    assert [len(v) for v in ids.values()] == [26, 3, 1]
    assert ids["train"].isdisjoint(ids["validation"]) and ids["train"].isdisjoint(ids["test"])
    assert ids["validation"].isdisjoint(ids["test"])
    assert set().union(*ids.values()) == set(range(start, start + n))
    assert len(SimulatedMapDataset(n, sim_config, None, npix=32, halo_start=start)) == 2 * n
    # the last sample is the last projection of the last halo of the split
    s = ds[len(ds) - 1]
    assert int(s["index"]) == 1 and ds.projection(1)[1]["halo_id"] == 129 and ds.projection(1)[1]["projection"] == 1


def test_samples_equal_those_of_the_written_file(sim_config, written):
    # Same rows, same units (X-ray stored in 1e30 erg/s/kpc^2, rescaled alike), same field and
    # resolution: the nominal and the augmented samples are bit for bit those of the HDF5 file.
    for split in ("train", "validation"):
        otf = SimulatedMapDataset(N_HALOS, sim_config, split, npix=32)
        h5 = ClusterMapDataset(written, split, npix=32)
        assert len(otf) == len(h5) and (otf.halo_ids() == h5.halo_ids()).all()
        for i in (0, len(otf) - 1):
            _equal(otf[i], h5[i])
    s = otf[0]
    assert s["x"].shape == (3, 32, 32) and s["t"].shape == (1, 32, 32) and float(s["r200_px"]) == 16.0
    assert 1 < float(s["x"][1].max()) < 15  # asinh(X-ray / 1e35 erg/s/kpc^2): the 1e30 factor is applied
    aug = AugmentConfig()
    otf = SimulatedMapDataset(N_HALOS, sim_config, "train", npix=32, augment=aug, seed=2)
    h5 = ClusterMapDataset(written, "train", npix=32, augment=aug, seed=2)
    for key in (3, (7, (9, 1, 7))):
        _equal(otf[key], h5[key])
    h5.close()
    # one projection alone is that projection of the whole halo
    full, meta, _ = simulate_halo(4, sim_config)
    one, meta1, _ = simulate_halo(4, sim_config, projection_indices=[1])
    assert all(np.array_equal(full[k][1:], one[k]) for k in full) and meta1["projection"].tolist() == [1]
    with pytest.raises(ValueError, match="projection_indices"):
        simulate_halo(4, sim_config, projection_indices=[2])


def test_train_on_the_fly(tiny_config, tmp_path):
    torch.use_deterministic_algorithms(True)
    cfg = dataclasses.replace(tiny_config, data_paths=[], simulate=dict(SIM, n_halos=N_HALOS), steps=4,
                              checkpoint_interval=2, val_interval=2)
    full = train(cfg, tmp_path / "a", progress=False)
    assert full["step"] == 4 and "val_l1" in full["metrics"]
    ckpt = load_checkpoint(tmp_path / "a")
    assert ckpt["step"] == 4 and ckpt["config"]["simulate"]["n_halos"] == N_HALOS
    assert TrainingConfig.from_dict(ckpt["config"]) == cfg
    meta = export_weights(tmp_path / "a", tmp_path / "weights")
    assert meta["supported"]["log10_m200_h"] == [14.0, 15.0] and meta["supported"]["z"] == list(cfg.simulate["z_range"])
    # an interrupted run resumes onto the same simulated samples
    part = train(cfg, tmp_path / "b", stop_at=2, progress=False)
    rest = train(None, tmp_path / "b", resume=True, progress=False)
    assert part["losses"] + rest["losses"] == full["losses"]


def test_simulate_config(tmp_path):
    p = tmp_path / "run.toml"
    p.write_text('[data]\nviews = ["sz", "xray"]\n[data.simulate]\nn_halos = 50\nseed = 4\nsize_r200 = 2.6\n'
                 'log_m200_range = [14, 15]\nphysics = "strong_feedback"\n[optim]\nsteps = 3\n')
    cfg = TrainingConfig.from_toml(p)
    assert cfg.data_paths == [] and cfg.simulate["n_halos"] == 50 and cfg.simulate["halo_start"] == 0
    assert cfg.simulate["log_m200_range"] == [14.0, 15.0] and cfg.simulate["projections"] == 29  # default
    sim = cfg.simulation_config()
    assert sim == SimulationConfig(seed=4, size_r200=2.6, log_m200_range=(14.0, 15.0), physics="strong_feedback")
    assert TrainingConfig.from_json(cfg.to_json()) == cfg
    assert json.loads(cfg.to_json())["simulate"]["size_r200"] == 2.6
    inline = TrainingConfig.from_dict({"simulate": {"n_halos": 50, "seed": 4, "size_r200": 2.6, "physics":
                                                    "strong_feedback", "log_m200_range": [14, 15]},
                                       "views": ["xray", "sz"], "steps": 3})
    assert inline == cfg
    # HDF5 runs keep the configuration (and checkpoints) they had: no simulate key at all
    assert "simulate" not in TrainingConfig(data_paths=["a.h5"]).to_dict()
    assert TrainingConfig().simulation_config() is None

    good = dict(n_halos=10, size_r200=2.6)
    for bad, msg in [({"size_r200": 2.6}, "simulate.n_halos"),
                     (dict(good, n_halos=0), "simulate.n_halos"),
                     (dict(good, n_halos=True), "simulate.n_halos"),
                     (dict(good, halo_start=-1), "simulate.halo_start"),
                     (dict(good, npix=4), "simulate.npix"),
                     (dict(good, npix=40.5), "simulate.npix"),
                     (dict(good, seed=-1), "simulate.seed"),
                     (dict(good, physics="magic"), "simulate.physics"),
                     (dict(good, log_m200_range=[14.0]), "simulate.log_m200_range"),
                     (dict(good, z_range=[0.5, 0.1]), "simulate.z_range"),
                     (dict(good, size_r200="big"), "simulate.size_r200"),
                     (dict(good, size_r200=2.0), r"simulate.size_r200 must be >= 2.6"),
                     (dict(good, maps=["sigma_total"]), "unknown simulate keys"),
                     (dict(good, npixx=40), "unknown simulate keys")]:
        with pytest.raises(ValueError, match=msg):
            TrainingConfig(simulate=bad)
    # frames no wider than 2 R200 (R200 always known) fit a 2-R200 field
    TrainingConfig(simulate=dict(good, size_r200=2.0), augment={"r200_known_probability": 1.0})
    with pytest.raises(ValueError, match="not both"):
        TrainingConfig(data_paths=["a.h5"], simulate=good)
    with pytest.raises(TypeError, match="simulate must be a table"):
        TrainingConfig(simulate=[10])
    with pytest.raises(ValueError, match="names no data set"):
        train(TrainingConfig(), tmp_path / "run", progress=False)


def test_dataset_errors(sim_config):
    with pytest.raises(ValueError, match="split"):
        SimulatedMapDataset(N_HALOS, sim_config, "dev")
    with pytest.raises(ValueError, match="no halos of split 'validation'"):
        SimulatedMapDataset(1, sim_config, "validation")
    with pytest.raises(ValueError, match="n_halos"):
        SimulatedMapDataset(0, sim_config)
    with pytest.raises(ValueError, match="at least 2"):
        SimulatedMapDataset(N_HALOS, dataclasses.replace(sim_config, size_r200=1.5))
    with pytest.raises(TypeError, match="SimulationConfig"):
        SimulatedMapDataset(N_HALOS, {"npix": 40})
    with pytest.raises(IndexError):
        SimulatedMapDataset(N_HALOS, sim_config, "validation", npix=32)[2]
