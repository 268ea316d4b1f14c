import numpy as np
import pytest

from massrecon.apertures import aperture_weights
from massrecon.validation import (
    PowerLawBaseline,
    interval_coverage,
    mass_metrics,
    pixel_metrics,
    profile_metrics,
    scatter_difference,
    summarize,
)


def test_summarize_gaussian():
    rng = np.random.default_rng(0)
    x = rng.normal(0.01, 0.03, 200000)
    s = summarize(x)
    assert s["bias_dex"] == pytest.approx(0.01, abs=5e-4)
    assert s["scatter_dex"] == pytest.approx(0.03, rel=0.02)
    assert s["scatter"] == pytest.approx(10**0.03 - 1, rel=0.02)


def test_aperture_weights_area():
    w = aperture_weights(80, 20.0)
    assert w.sum() == pytest.approx(np.pi * 20**2, rel=2e-3)


def test_metrics_on_known_errors():
    rng = np.random.default_rng(1)
    true = 10 ** rng.uniform(7, 9, size=(50, 40, 40))
    pred = true * 1.05
    assert pixel_metrics(pred, true)["bias"] == pytest.approx(0.05, rel=1e-6)
    assert pixel_metrics(pred, true)["scatter"] == pytest.approx(0.0, abs=1e-9)
    m = mass_metrics(pred, true, 1.0)
    assert m["bias"] == pytest.approx(0.05, rel=1e-6)
    p = profile_metrics(pred, true)
    assert np.allclose(p["bin_bias"], 0.05)
    assert interval_coverage(true * 0.9, true * 1.1, true) == 1.0
    assert interval_coverage(true * 1.01, true * 1.1, true) == 0.0


def test_power_law_baseline_recovers_law():
    rng = np.random.default_rng(2)
    x1 = 10 ** rng.uniform(-7, -4, size=(20, 16, 16))
    x2 = 10 ** rng.uniform(34, 38, size=(20, 16, 16))
    sigma = 10**3.0 * x1**0.5 * x2**0.1
    b = PowerLawBaseline([1e-9, 1e30]).fit([x1, x2], sigma)
    assert np.allclose(b.coef, [3.0, 0.5, 0.1], atol=1e-8)
    assert np.allclose(b.predict([x1, x2]), sigma, rtol=1e-8)


def test_scaling_relation_baseline_on_mocks():
    from massrecon.simulate import HaloModel, SimulationConfig, project_halo, projection_bases, sample_halo
    from massrecon.validation import ScalingRelationBaseline

    cfg = SimulationConfig(seed=8)
    ys, m500, r5, pk, z, r200 = [], [], [], [], [], []
    for i in range(16):
        h = sample_halo(i, cfg)
        maps, _ = project_halo(HaloModel(h, include={"dm", "gas"}), projection_bases(1)[0], npix=32)
        ys.append(maps["compton_y"])
        m500.append(h.m500)
        r5.append(h.r500 / h.r200)
        pk.append(2 * h.r200 / 32)
        z.append(h.z)
        r200.append(h.r200)
    b = ScalingRelationBaseline(npix=32).fit(ys[:12], m500[:12], r5[:12], pk[:12], z[:12])
    pred = b.predict_m500(ys[12:], r5[12:], pk[12:], z[12:])
    assert np.all(np.abs(np.log10(pred / np.array(m500[12:]))) < 0.15)
    sigma = b.predict(ys[12:13], r5[12:13], pk[12:13], z[12:13], r200[12:13])
    assert sigma.shape == (1, 32, 32) and np.all(sigma > 0)
    w = aperture_weights(32, 16.0)
    m_cyl = (sigma[0] * w).sum() * pk[12] ** 2
    assert 0.5 < m_cyl / (pred[0] / 0.7) < 2.0
    # without R500: the aperture follows the mass; R500 / M500^(1/3) is (3 / (4 pi 500 rho_c(z)))^(1/3),
    # computed here from the cosmology, independently of the halos' own radii
    import astropy.units as u
    from astropy.cosmology import Planck18

    zz = np.array(z[12:])
    rho = Planck18.critical_density(zz).to_value(u.Msun / u.kpc**3)
    k = (3 / (4 * np.pi * 500 * rho)) ** (1 / 3) / np.array(r200[12:])
    assert np.allclose(k * np.array(m500[12:]) ** (1 / 3), r5[12:], rtol=0.02)
    m_a = b.predict_m500_iterated(ys[12:], k, pk[12:], zz, m500_start=np.array(m500[12:]) / 2)
    m_b = b.predict_m500_iterated(ys[12:], k, pk[12:], zz, m500_start=np.array(m500[12:]) * 2)
    assert np.allclose(m_a, m_b, rtol=0.01)  # one fixed point, from either side
    assert np.all(np.abs(np.log10(m_a / np.array(m500[12:]))) < 0.15)


def test_scatter_difference_against_repeated_draws():
    # two estimates of the same maps sharing most of their error: the bootstrap error of the
    # difference of scatters must match the spread of that difference over independent test sets
    rng = np.random.default_rng(7)

    def draw(n=200):
        common = rng.normal(0, 0.04, n)
        return common + rng.normal(0, 0.02, n), common + rng.normal(0, 0.01, n)

    sig_a, sig_b = np.hypot(0.04, 0.02), np.hypot(0.04, 0.01)
    expected = (10**sig_a - 1) - (10**sig_b - 1)  # half the 16-84% range of a Gaussian is sigma
    diffs = [scatter_difference(*draw())["difference"] for _ in range(300)]
    a, b = draw()
    d = scatter_difference(a, b, n_boot=2000, seed=3)
    assert abs(np.mean(diffs) - expected) < 0.1 * expected
    assert 0.7 < d["error"] / np.std(diffs) < 1.4
    # pairing matters: resampling the sets independently would give a much larger error
    unpaired = np.std([summarize(a[rng.integers(0, 200, 200)])["scatter"]
                       - summarize(b[rng.integers(0, 200, 200)])["scatter"] for _ in range(500)])
    assert d["error"] < 0.85 * unpaired


def test_scatter_difference_is_the_difference_of_the_summarized_scatters():
    # a skewed, heavy-tailed sample, where a std would differ from half the 16-84% range
    rng = np.random.default_rng(11)
    a = rng.lognormal(-3.0, 0.8, 300) - 0.03
    b = 0.5 * a + rng.standard_t(3, 300) * 0.01
    d = scatter_difference(a, b)
    assert d["difference"] == pytest.approx(summarize(a)["scatter"] - summarize(b)["scatter"], rel=1e-12)
    # a non-finite value drops its pair from both sets
    a2, b2 = np.append(a, np.nan), np.append(b, 5.0)
    assert scatter_difference(a2, b2)["difference"] == pytest.approx(d["difference"], rel=1e-12)


def test_scatter_difference_rejects_unpaired():
    with pytest.raises(ValueError, match="log_ratio_a and log_ratio_b must be paired"):
        scatter_difference(np.zeros(3), np.zeros(4))
    with pytest.raises(ValueError, match="at least two pairs"):
        scatter_difference([0.1, np.nan], [0.2, 0.3])
