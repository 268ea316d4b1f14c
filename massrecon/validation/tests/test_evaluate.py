import numpy as np
import pytest
import torch

from massrecon.models import UNetGenerator
from massrecon.simulate import SimulationConfig
from massrecon.simulate.dataset import write_dataset
from massrecon.validation.evaluate import evaluate, load_split


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    path = tmp_path_factory.mktemp("eval") / "d.h5"
    cfg = SimulationConfig(projections=1, npix=32, size_r200=2.6, seed=11, z_range=(0.05, 0.5),
                           maps=("sigma_total", "compton_y", "xray_soft", "sigma_members"))
    write_dataset(path, 30, cfg, workers=1, progress=False)
    return path


def test_load_split(dataset):
    d = load_split(dataset, "test", ("sz", "xray", "stars"))
    assert d["target"].shape[1:] == (32, 32) and d["target"].shape[0] >= 1
    assert set(np.unique(d["halo_id"])).isdisjoint(set(np.unique(load_split(dataset, "train", ("sz",))["halo_id"])))


def test_evaluate_structure(dataset):
    torch.manual_seed(0)
    model = UNetGenerator(base_channels=4, depth=2).eval()
    res = evaluate(model, dataset, n_test=10, n_train_baseline=20, progress=False, n_self_consistent=3)
    assert set(res["ideal"]) == {"sz", "xray", "stars", "sz+xray", "sz+stars", "xray+stars", "sz+xray+stars"}
    m = res["ideal"]["sz+xray+stars"]
    for key in ("pixel", "profile", "mass_r500", "mass_r200"):
        assert np.isfinite(m[key]["scatter"])
    from massrecon.validation.evaluate import CONDITIONS

    for condition in CONDITIONS:
        assert set(res[condition]) == set(res["ideal"]), condition
    assert set(res["ideal_tta"]) == {"sz+xray+stars"}
    assert "scaling_relation_sz" in res["baselines"] and "power_law_sz+xray+stars" in res["baselines"]
    assert "scaling_relation_sz_self_consistent" in res["baselines"]
    cal = res["calibration"]["sz"]
    assert len(cal["sigma_log10"]) == len(cal["edges_r200"]) - 1
    assert 0 <= res["coverage_68"]["sz"] <= 1
    sc = res["self_consistent"]["ideal"]["sz+xray+stars"]
    assert 0 <= sc["converged"] <= 1 and sc["predictions"] >= 2
    assert set(res["self_consistent"]) == {"ideal", "planck_like"}


class _UniformSigma(torch.nn.Module):
    """A 'generator' predicting a uniform Sigma whatever it is shown."""

    views = ("sz", "xray", "stars")

    def __init__(self, sigma):
        super().__init__()
        from massrecon.models.transforms import TargetTransform

        self.t = float(TargetTransform().forward(np.array(sigma)))

    def forward(self, x, mask, cond):
        return torch.full((x.shape[0], 1, x.shape[-1], x.shape[-1]), self.t)


def test_self_consistent_solve_finds_the_analytic_root(dataset):
    # A uniform Sigma K gives a cylinder mass K pi (f R200)^2 on a frame of f R200, so the
    # self-consistent frame solves K pi f^2 R200^2 / ratio(c(M200 f^3)) = M200 f^3: choose K
    # for the root f = 1.1 and check that the solve finds M200 1.1^3 times the truth.
    import astropy.units as u

    from massrecon.halo import concentration_200c
    from massrecon.reconstruct import projected_to_m200_ratio
    from massrecon.validation.self_consistent import self_consistent_masses

    data = load_split(dataset, "test", ("sz", "xray", "stars"))
    for i in range(min(3, data["target"].shape[0])):
        one = {k: v[i:i + 1] if isinstance(v, np.ndarray) and v.ndim else v for k, v in data.items()}
        m200, r200, z = float(one["m200"][0]), float(one["r200"][0]), float(one["z"][0])
        ratio = float(projected_to_m200_ratio(float(concentration_200c(m200 * 1.1**3 * u.Msun, z))))
        k = ratio * m200 * 1.1**3 / (np.pi * 1.1**2 * r200**2)
        res = self_consistent_masses(_UniformSigma(k), one, [("sz", "xray", "stars")], npix=32, rtol=1e-4)
        r = res["sz+xray+stars"]
        assert r["converged"] == 1.0
        # the 32-pixel disc holds pi (16)^2 pixels to ~0.3%: the root moves by a third of that
        assert r["m200"]["bias"] == pytest.approx(1.1**3 - 1, abs=0.005)


def test_relation_frame_masses_against_independent_values(dataset):
    # relations that ignore the integral (b = 0) put every frame at M500 = 10^14.5 Msun, and a
    # uniform Sigma K has K pi R500^2 inside the true R500 whatever the frame: both checked
    # against values computed here from the stored maps, at their own resolution
    from photutils.aperture import CircularAperture

    from massrecon.relations import ScalingRelation
    from massrecon.validation.self_consistent import relation_frame_masses

    data = load_split(dataset, "test", ("sz", "xray", "stars"))
    k = 3e8
    rels = {v: ScalingRelation(v, (14.5, 0.0, 0.0), 0.1) for v in ("sz", "xray", "stars")}
    res = relation_frame_masses(_UniformSigma(k), data, [("sz",), ("sz", "xray", "stars")], rels, npix=32,
                                per_map=True)
    n = data["target"].shape[0]
    npix = data["target"].shape[-1]
    rel, cyl = [], []
    for i in range(n):
        r500_pix = data["r500"][i] / data["r200"][i] * npix / data["size_r200"]
        c = (npix - 1) / 2
        true = CircularAperture((c, c), r500_pix).do_photometry(data["target"][i])[0][0] * data["pixel_kpc"][i] ** 2
        rel.append(np.log10(10**14.5 / data["m500"][i]))
        cyl.append(np.log10(k * np.pi * data["r500"][i] ** 2 / true))
    for key in ("sz", "sz+xray+stars"):
        r = res[key]
        assert r["failed"] == 0
        assert r["m500_relation"]["bias_dex"] == pytest.approx(np.median(rel), abs=1e-6)
        # frames clipped to 0.5-1.3 R200 change nothing for a uniform map
        assert r["mcyl_r500"]["bias_dex"] == pytest.approx(np.median(cyl), abs=0.015)
        # every pair is finite here: the paired difference is that of the two scatters
        d = r["map_minus_relation"]
        assert d["difference"] == pytest.approx(r["mcyl_r500"]["scatter"] - r["m500_relation"]["scatter"], abs=1e-12)
        assert d["error"] > 0
        # per map: the same values, in the order of the data, and the relations' 0.1 dex told
        pm = r["per_map"]
        assert np.array_equal(pm["index"], np.arange(n))
        assert np.allclose(pm["relation_dex"], rel, atol=1e-6)
        assert np.allclose(pm["map_dex"], cyl, atol=0.03)
        assert np.all(pm["relation_scatter_dex"] <= 0.1 + 1e-12) and np.all(pm["relation_scatter_dex"] > 0.05)


def test_relation_frame_masses_fixed_point_against_quadrature(dataset):
    # a Y-M relation (b = 0.57) iterated to its own R500 on each map: the fixed point solved here
    # independently, with photutils apertures on the stored maps and scipy's brentq
    from photutils.aperture import CircularAperture
    from scipy.optimize import brentq

    from massrecon.relations import ScalingRelation
    from massrecon.validation.self_consistent import relation_frame_masses

    data = load_split(dataset, "test", ("sz", "xray", "stars"))
    rel = ScalingRelation("sz", (13.7, 0.57, 0.0), 0.04)
    res = relation_frame_masses(_UniformSigma(1e8), data, [("sz",)], {"sz": rel}, npix=32)
    n, npix = data["target"].shape[0], data["sz"].shape[-1]
    c = (npix - 1) / 2
    expected = []
    for i in range(n):
        k = data["r500"][i] / data["m500"][i] ** (1 / 3)  # kpc per Msun^(1/3)
        pix = data["pixel_kpc"][i]

        def g(log_m, i=i, k=k, pix=pix):
            r_pix = k * 10 ** (log_m / 3) / pix
            y = CircularAperture((c, c), r_pix).do_photometry(data["sz"][i])[0][0] * pix**2
            return rel.coef[0] + rel.coef[1] * np.log10(y) - log_m

        expected.append(brentq(g, 12.5, 16.0) - np.log10(data["m500"][i]))
    # the code measures on the 32-pixel model frame, the check on the stored 2.6-R200 maps
    assert res["sz"]["m500_relation"]["bias_dex"] == pytest.approx(np.median(expected), abs=0.01)


def test_relation_frame_csv_has_the_paired_difference():
    from massrecon.validation.__main__ import _csv_relation_frame

    s = {"bias": -0.01, "scatter": 0.1}
    row = {"m500_relation": s, "mcyl_r500": dict(s, scatter=0.09), "frame_clipped": 0.0,
           "map_minus_relation": {"difference": -0.012, "error": 0.0074}}
    old = {k: v for k, v in row.items() if k != "map_minus_relation"}  # results written before the column
    lines = _csv_relation_frame({"relation_frame": {"ideal": {"sz": row, "xray": old}}}).splitlines()
    assert lines[0].split(",")[-2] == "map - relation scatter"
    assert lines[1] == "ideal,sz,-1.0%,10.0%,-1.0%,9.0%,-1.2 +- 0.7,0%"
    assert lines[2].split(",")[-2] == "-"
