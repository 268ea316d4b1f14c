import itertools

import h5py
import numpy as np
import pytest
import torch

from massrecon.models.transforms import TargetTransform
from massrecon.training import AugmentConfig, ClusterMapDataset, ResumableSampler, TrainingConfig
from massrecon.training.augment import gaussian_beam, make_sample


def test_dataset_nominal_sample(tiny_dataset):
    ds = ClusterMapDataset(tiny_dataset, "train", npix=32)
    assert len(ds) == 8
    s = ds[0]
    assert s["x"].shape == (3, 32, 32) and s["t"].shape == (1, 32, 32) and s["cond"].shape == (10,)
    assert float(s["r200_px"]) == 16.0
    assert float(s["cond"][-2]) == 0.0  # the nominal frame is the true R200: r200_error = 0
    # the nominal frame is the central 2 R200 of the stored 2.6 R200: the target matches a direct crop
    with h5py.File(tiny_dataset) as fh:
        sig = fh["maps/sigma_total"][ds._index[0][1]].astype(float)
    direct = TargetTransform().forward(sig)
    assert float(s["t"].max()) == pytest.approx(direct.max(), abs=0.35)
    assert float(s["t"].min()) > direct.min() - 0.05
    # X-ray stored in 1e30 erg/s/kpc^2 units is rescaled to erg/s/kpc^2: asinh(x / 1e35) ~ O(1-10)
    assert 1 < float(s["x"][1].max()) < 15
    val = ClusterMapDataset([tiny_dataset], "validation", npix=32)
    assert len(val) == 2 and set(val.halo_ids()).isdisjoint(ds.halo_ids())


def test_augmented_samples_are_reproducible_and_valid(tiny_dataset):
    ds = ClusterMapDataset(tiny_dataset, "train", views=("sz", "xray"), npix=32, augment=AugmentConfig())
    a, b = ds[(3, (1, 2, 3))], ds[(3, (1, 2, 3))]
    for k in a:
        assert torch.equal(a[k], b[k])
    for i in range(8):
        s = ds[(i, (0, 0, i))]
        assert torch.isfinite(s["x"]).all() and s["mask"].sum() >= 1
        assert 32 / 2.6 <= float(s["r200_px"]) <= 32 / 1.4


def test_r200_known_and_estimated_frames(tiny_dataset):
    # r200_known_probability = 1: every frame is the true R200 and the network is told so
    known = ClusterMapDataset(tiny_dataset, "train", npix=32,
                              augment=AugmentConfig(r200_known_probability=1.0, center_jitter_r200=0.0))
    for i in range(4):
        s = known[(i, (5, 0, i))]
        assert float(s["r200_px"]) == pytest.approx(16.0) and float(s["cond"][-1]) == 0.0
    # otherwise the stated error bound w is in [0.05, 0.3] and the frame lies within 1 +- w
    est = ClusterMapDataset(tiny_dataset, "train", npix=32,
                            augment=AugmentConfig(r200_known_probability=0.0, r200_error=(0.05, 0.3)))
    for i in range(8):
        s = est[(i, (6, 0, i))]
        w = 0.3 * float(s["cond"][-2])
        f = 16.0 / float(s["r200_px"])
        assert 0.05 - 1e-6 <= w <= 0.3 + 1e-6 and abs(f - 1) <= w + 1e-5
    with pytest.raises(ValueError, match="r200_error"):
        AugmentConfig(r200_error=(0.1, 0.5))
    with pytest.raises(ValueError, match="r200_known_probability"):
        AugmentConfig(r200_known_probability=1.5)


def test_dataset_errors(tiny_dataset, tmp_path):
    with pytest.raises(ValueError, match="split"):
        ClusterMapDataset(tiny_dataset, "dev")
    with pytest.raises(FileNotFoundError):
        ClusterMapDataset(tmp_path / "missing.h5")
    p = tmp_path / "bad.h5"
    with h5py.File(p, "w") as fh:
        fh.attrs["layout_version"] = "0"
    with pytest.raises(ValueError, match="layout_version"):
        ClusterMapDataset(p)
    with pytest.raises(ValueError, match="unknown view"):
        ClusterMapDataset(tiny_dataset, views=("lensing",))


def test_beam_and_frame_resampling():
    img = np.zeros((41, 41))
    img[20, 20] = 1.0
    out = gaussian_beam(img, 6.0)
    assert out.sum() == pytest.approx(1.0, rel=1e-9)
    # second moment of the PSF: sigma^2 = (6 / 2.3548)^2
    yy, xx = np.mgrid[:41, :41] - 20
    assert (out * xx**2).sum() == pytest.approx((6.0 / 2.35482) ** 2, rel=0.01)
    # uniform maps stay uniform whatever the frame jitter
    s = make_sample(("stars",), {"stars": np.full((40, 40), 1e6)}, np.full((40, 40), 1e9), src_size_r200=2.6,
                    r200_kpc=1000.0, z=0.1, npix=32,
                    augment=AugmentConfig(noise_probability=0.0, view_dropout=0.0),
                    rng=np.random.default_rng(0))
    np.testing.assert_allclose(s["t"].numpy(), 1.0, atol=1e-6)
    with pytest.raises(ValueError, match="too small"):
        make_sample(("sz",), {"sz": np.ones((10, 10))}, np.ones((10, 10)), src_size_r200=1.5, r200_kpc=1.0,
                    z=0.1, npix=8)


def test_sampler_shards_and_resumes():
    full = ResumableSampler(10, seed=3)
    one_epoch = [i for i, _ in itertools.islice(iter(full), 10)]
    assert sorted(one_epoch) == list(range(10))
    shards = [[i for i, _ in itertools.islice(iter(ResumableSampler(10, seed=3, rank=r, world_size=2)), 5)]
              for r in range(2)]
    assert sorted(shards[0] + shards[1]) == list(range(10))
    a = list(itertools.islice(iter(ResumableSampler(7, seed=1, rank=1, world_size=2)), 9))
    b = list(itertools.islice(iter(ResumableSampler(7, seed=1, rank=1, world_size=2, start=5)), 4))
    assert a[5:] == b


def test_config_toml(tmp_path, tiny_dataset):
    p = tmp_path / "run.toml"
    p.write_text('[data]\ndata_paths = ["tiny.h5"]\nviews = ["xray", "sz"]\n[optim]\nsteps = 7\n'
                 'schedule = "linear"\n[loss]\ngan_weight = 0\n[augment]\nframe_jitter = [0.8, 1.2]\n')
    cfg = TrainingConfig.from_toml(p)
    assert cfg.data_paths == [str(tmp_path / "tiny.h5")] and cfg.views == ["sz", "xray"]
    assert cfg.steps == 7 and cfg.gan_weight == 0 and cfg.augment.frame_jitter == (0.8, 1.2)
    assert TrainingConfig.from_json(cfg.to_json()) == cfg
    p.write_text("[optim]\nstpes = 3\n")
    with pytest.raises(ValueError, match="unknown training configuration keys"):
        TrainingConfig.from_toml(p)
    for kw, msg in [(dict(batch_size=0), "batch_size"), (dict(lr=-1.0), "lr"),
                    (dict(schedule="step"), "schedule"),
                    (dict(npix=36), "divisible"), (dict(steps=2.5), "steps"),
                    (dict(augment={"frame_jitter": (1.3, 0.7)}), "frame_jitter")]:
        with pytest.raises((ValueError, TypeError), match=msg):
            TrainingConfig(**kw)


def test_stated_beam_is_in_units_of_the_frame():
    # The network must be told the beam in units of the frame's R200, as the observation classes
    # state it for real data; measure the blur of a point source in frame pixels.
    from massrecon.models.transforms import ViewTransform

    src = np.zeros((104, 104))
    src[52, 52] = 1e12
    aug = AugmentConfig(flips=False, center_jitter_r200=0.0, beam_probability=1.0, beam_fwhm_r200=(0.5, 0.5),
                        noise_probability=0.0, view_dropout=0.0, r200_known_probability=0.0,
                        r200_error=(0.3, 0.3))
    fs = []
    for seed in range(6):
        s = make_sample(("stars",), {"stars": src}, np.full((104, 104), 1e8), src_size_r200=2.6, r200_kpc=1000.0,
                        z=0.1, npix=80, augment=aug, rng=np.random.default_rng(seed))
        img = ViewTransform("stars").inverse(s["x"][0].double().numpy())
        yy, xx = np.mgrid[:80, :80]
        w = img / img.sum()
        cx, cy = (w * xx).sum(), (w * yy).sum()
        var = 0.5 * (w * ((xx - cx) ** 2 + (yy - cy) ** 2)).sum()
        fwhm_frame_px = np.sqrt(var) * 2.35482
        stated_r200 = 10 ** (float(s["cond"][0]) - 1.0)  # log10(fwhm) + 1, conditioning_names
        frame_r200_px = float(s["r200_px"]) * 1.0  # pixels per R200 of the *true* halo
        f = 40.0 / frame_r200_px  # frame R200 / true R200 (npix / 2 = 40 pixels per frame R200)
        fs.append(f)
        assert fwhm_frame_px == pytest.approx(stated_r200 * 40.0, rel=0.03)
    assert max(fs) - min(fs) > 0.1  # the frames really were jittered


def test_in_memory_samples_equal_those_read_from_the_file(tiny_dataset, tmp_path):
    # two files (the second a copy), augmented samples: identical with and without in_memory
    import shutil

    other = tmp_path / "copy.h5"
    shutil.copy(tiny_dataset, other)
    kw = dict(split="train", npix=32, augment=AugmentConfig(), seed=3)
    disk = ClusterMapDataset([tiny_dataset, other], **kw)
    mem = ClusterMapDataset([tiny_dataset, other], in_memory=True, **kw)
    assert len(mem) == len(disk) == 16
    for i in (0, 5, 9, 15):
        a, b = disk[(i, (2, i))], mem[(i, (2, i))]
        assert all(torch.equal(a[k], b[k]) for k in a)
    # only the split's rows are held, as stored
    arrays, position = mem._memory[0]
    assert len(position) == 8 and arrays["sigma_total"].shape[0] == 8
    assert TrainingConfig(data_paths=[tiny_dataset], in_memory=True).in_memory
