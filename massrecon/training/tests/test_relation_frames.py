"""Training frames at the scaling-relation mass (`massrecon.training.relation_frames`)."""

import astropy.units as u
import numpy as np
import pytest
import torch

from massrecon.contract import FRAME_SIZE_R200
from massrecon.halo import m200c_from_m500c
from massrecon.reconstruct import relation_frame_error
from massrecon.relations import ScalingRelation, aperture_fraction
from massrecon.training import AugmentConfig, ClusterMapDataset, TrainingConfig
from massrecon.training.augment import make_sample, resample_frame
from massrecon.training.relation_frames import RelationFrameSolver, _nfw_r500_r200


def test_fixed_point_of_a_uniform_map_is_analytic():
    # a uniform map of sigma per kpc^2: S(<R500) = sigma pi R500^2 with R500 = R200 (0.4 m / m200)^(1/3),
    # so the relation log10 m = a + b log10 S has the fixed point m^(1 - 2b/3) = 10^a (sigma pi R200^2
    # (0.4 / m200)^(2/3))^b
    a, b, sigma, m200, r200, z = 13.84, 0.6, 2e-6, 8e14, 1800.0, 0.3
    rel = ScalingRelation("sz", (a, b, 0.0), 0.04)
    npix = 200  # fine pixels: the aperture's exact pixel overlap is then close to pi R^2
    m_expected = (10**a * (sigma * np.pi * r200**2 * (0.4 / m200) ** (2 / 3)) ** b) ** (1 / (1 - 2 * b / 3))
    solver = RelationFrameSolver({"sz": rel})
    m, sd, scale = solver.solve({"sz": np.full((npix, npix), sigma)}, {"sz": np.zeros((npix, npix))}, ["sz"],
                                {"sz": 0.0}, None, m200=m200, r200_kpc=r200, z=z)
    assert m == pytest.approx(m_expected, rel=5e-3)
    assert sd == pytest.approx(0.04)
    # the frame is the R200 of that M500 on the Diemer & Joyce c-M relation (colossus, independently)
    m200_rel = m200c_from_m500c(m_expected * u.Msun, z)[0].to_value(u.Msun)
    assert scale == pytest.approx((m200_rel / m200) ** (1 / 3), rel=3e-3)


def test_noise_and_scatter_weight_the_views():
    # two views that disagree: the combination lies nearer the one with the smaller scatter, and
    # the noise of an integral adds to its view's scatter as the reconstructor states it
    npix = 80
    maps = {"sz": np.full((npix, npix), 1e-6), "xray": np.full((npix, npix), 1e-6)}
    zero = {v: np.zeros((npix, npix)) for v in maps}
    rels = {"sz": ScalingRelation("sz", (14.0, 0.1, 0.0), 0.03),
            "xray": ScalingRelation("xray", (14.6, 0.1, 0.0), 0.12)}
    solver = RelationFrameSolver(rels)
    kw = dict(m200=1e15, r200_kpc=2000.0, z=0.2)
    m, sd, _ = solver.solve(maps, zero, ["sz", "xray"], {}, None, **kw)
    m_sz, _, _ = solver.solve(maps, zero, ["sz"], {}, None, **kw)
    m_x, _, _ = solver.solve(maps, zero, ["xray"], {}, None, **kw)
    w = np.array([1 / 0.03**2, 1 / 0.12**2])
    assert np.log10(m) == pytest.approx((w * np.log10([m_sz, m_x])).sum() / w.sum(), abs=2e-3)
    assert sd == pytest.approx(1 / np.sqrt(w.sum()), rel=1e-6)
    # noise 30x the signal per pixel: the integral's noise over the N pixels of the R500 disc is
    # 30 sigma sqrt(N) on the true frame, `scale` times that in the sample's own (larger) pixels,
    # and adds b * noise / (S ln 10) to the scatter
    noisy = {"sz": np.full((npix, npix), 9e-10), "xray": np.zeros((npix, npix))}
    m_n, sd_noisy, scale = solver.solve(maps, noisy, ["sz"], {}, None, **kw)
    n_disc = np.pi * ((0.4 * m_n / kw["m200"]) ** (1 / 3) * npix / FRAME_SIZE_R200) ** 2
    meas = 0.1 * 30 * scale / (np.sqrt(n_disc) * np.log(10))
    assert sd_noisy == pytest.approx(np.hypot(0.03, meas), rel=0.03)
    assert meas > 0.02  # the noise term is as large as the scatter in this check
    # no view gives a mass: NaN, and the sample keeps its drawn frame
    assert np.isnan(solver.solve({"sz": -maps["sz"]}, zero, ["sz"], {}, None, **kw)[0])
    with pytest.raises(ValueError, match="at least one"):
        RelationFrameSolver({})
    with pytest.raises(TypeError, match="ScalingRelation"):
        RelationFrameSolver({"sz": (14.0, 0.6, 0.0)})


@pytest.mark.parametrize("view", ["xray", "stars"])
def test_tabulated_aperture_fractions(view):
    solver = RelationFrameSolver({view: ScalingRelation(view, (14.0, 0.6, 0.0), 0.1)})
    rng = np.random.default_rng(4)
    for _ in range(6):
        c, beam = rng.uniform(2.5, 8.0), 10 ** rng.uniform(-1.5, 0.1)
        direct = aperture_fraction(view, _nfw_r500_r200(c), beam, None, c200=c)
        assert solver._fraction(view, c, beam, None) == pytest.approx(direct, rel=0.03)
    assert solver._fraction(view, 4.0, 0.0, None) == 1.0


def test_samples_on_relation_frames(tiny_dataset):
    # no beam, noise or dropout: the sample's frame is the solver's fixed point on the stored maps' true
    # frame, and the network is told the reconstructor's precision for it
    aug = AugmentConfig(relation_frame_probability=1.0, r200_known_probability=0.0, beam_probability=0.0,
                        noise_probability=0.0, view_dropout=0.0, center_jitter_r200=0.0, flips=False)
    ds = ClusterMapDataset(tiny_dataset, "train", npix=32, augment=aug)
    ds.relation_frames = RelationFrameSolver.from_data(tiny_dataset)
    k, row = ds._index[1]
    fh = ds._file(k)
    info = ds.file_info[k]
    maps = {v: fh[f"maps/{n}"][row] * info["scales"][v] for v, n in
            (("sz", "compton_y"), ("xray", "xray_soft"), ("stars", "sigma_members"))}
    stack = np.stack([maps[v] for v in ("sz", "xray", "stars")])
    cut = resample_frame(stack, info["size_r200"], 32, FRAME_SIZE_R200 / 2, (0.0, 0.0))
    m, sd, scale = ds.relation_frames.solve(dict(zip(("sz", "xray", "stars"), cut, strict=True)),
                                            {v: np.zeros((32, 32)) for v in maps}, ["sz", "xray", "stars"],
                                            {v: info["smoothing_r200"] for v in maps}, None,
                                            m200=float(info["m200"][row]), r200_kpc=float(info["r200"][row]),
                                            z=float(info["z"][row]))
    s = ds[(1, (7, 0, 1))]
    assert 16.0 / float(s["r200_px"]) == pytest.approx(np.clip(scale, 0.5, 1.3), rel=1e-6)
    assert 0.3 * float(s["cond"][-2]) == pytest.approx(relation_frame_error(sd), rel=1e-5)
    # the same seed gives the same sample
    again = ds[(1, (7, 0, 1))]
    assert all(np.array_equal(s[key].numpy(), again[key].numpy()) for key in s)


def test_relation_frames_need_a_solver(tiny_dataset):
    aug = AugmentConfig(relation_frame_probability=1.0, r200_known_probability=0.0)
    ds = ClusterMapDataset(tiny_dataset, "train", npix=32, augment=aug)
    with pytest.raises(ValueError, match="relation_frames"):
        ds[(0, (1, 2, 3))]
    with pytest.raises(ValueError, match="relation_frame_probability"):
        AugmentConfig(relation_frame_probability=1.5)
    with pytest.raises(ValueError, match="relation_frame_probability > 0 needs data_paths"):
        TrainingConfig(simulate={"n_halos": 10}, augment=AugmentConfig(relation_frame_probability=0.5))
    # probability 0 draws nothing: the samples are those of a configuration without the option
    rng_a, rng_b = np.random.default_rng(5), np.random.default_rng(5)
    img = np.full((26, 26), 1e-6)
    kw = dict(src_size_r200=2.6, r200_kpc=1000.0, z=0.1, npix=8)
    a = make_sample(("sz",), {"sz": img}, np.full((26, 26), 1e8), augment=AugmentConfig(), rng=rng_a, **kw)
    b = make_sample(("sz",), {"sz": img}, np.full((26, 26), 1e8),
                    augment=AugmentConfig(relation_frame_probability=0.0), rng=rng_b, **kw)
    assert all(np.array_equal(a[key].numpy(), b[key].numpy()) for key in a)


class _StubSolver:
    """Returns a fixed answer, and records the maps and noise it was given."""

    def __init__(self, scale):
        self.scale, self.calls = scale, []

    def solve(self, maps, variance, present, beams, highpass, **kw):
        self.calls.append(sorted(present))
        return (1e14, 0.05, self.scale) if np.isfinite(self.scale) else (np.nan, np.nan, np.nan)

    def frame_error(self, scatter_dex):
        return relation_frame_error(scatter_dex)


def test_relation_frame_keeps_the_sample_noise_and_dropout(tiny_dataset):
    # the generator is rewound after the true-frame cut: the sample draws the same noise levels and
    # the same view dropout whatever frame the solver returns, and the solver saw those views
    aug = AugmentConfig(relation_frame_probability=1.0, r200_known_probability=0.0, noise_probability=0.7,
                        view_dropout=0.4)
    ds = ClusterMapDataset(tiny_dataset, "train", npix=32, augment=aug)
    for seed in range(6):
        out = {}
        for scale in (np.nan, 1.1):
            ds.relation_frames = _StubSolver(scale)
            out[scale] = (ds[(2, (seed, 2))], ds.relation_frames.calls[0])
        (kept, seen_a), (moved, seen_b) = out[np.nan], out[1.1]
        assert torch.equal(kept["mask"], moved["mask"]) and seen_a == seen_b
        assert seen_b == sorted(v for v, k in zip(("sz", "xray", "stars"), moved["mask"].tolist(), strict=True) if k)
        # the y and member noise features (the X-ray one is stated per frame pixel area)
        assert torch.equal(kept["cond"][[3, 5]], moved["cond"][[3, 5]])
        assert 16.0 / float(moved["r200_px"]) == pytest.approx(1.1)
        assert 0.3 * float(moved["cond"][-2]) == pytest.approx(relation_frame_error(0.05), rel=1e-5)
