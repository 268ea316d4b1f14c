import copy
import json

import astropy.units as u
import numpy as np
import pytest
import torch
from astropy.coordinates import SkyCoord
from scipy import stats

from massrecon.models import UNetGenerator
from massrecon.validation import heldout
from massrecon.validation.heldout import CoverageTally, measure, rst_table, simulate_variants, update_metadata

EDGES = [0.0, 0.5, 1.0, 1.5]


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    paths = simulate_variants(tmp_path_factory.mktemp("heldout"), n_halos=2, projections=1, npix=26, workers=1,
                              seeds={"fiducial": 11, "weak_feedback": 12}, progress=False)
    torch.manual_seed(0)
    model = UNetGenerator(base_channels=4, depth=2).eval()
    cal = {"sz": {"edges_r200": EDGES, "sigma_log10": [0.1, 0.1, 0.1]},
           "sz+xray+stars": {"edges_r200": EDGES, "sigma_log10": [0.1, 0.1, 0.1], "coverage_scale": 1.5}}
    return measure(model, {"calibration": cal}, paths, subsets=[("sz",), ("sz", "xray", "stars")], progress=False)


def test_structure(results):
    assert list(results["variants"]) == ["fiducial", "weak_feedback"]
    fid = results["variants"]["fiducial"]
    assert fid["seed"] == 11 and results["variants"]["weak_feedback"]["seed"] == 12
    assert fid["n_maps"] == 2 and fid["n_halos"] == 2
    assert set(fid["metrics"]) == set(heldout.DEFAULT_CONDITIONS)
    for per_set in fid["metrics"].values():
        assert set(per_set) == {"sz", "sz+xray+stars"}
        assert np.isfinite(per_set["sz"]["mass_r500"]["bias"]) and per_set["sz"]["pixel"]["n"] > 0
    cov = results["coverage"]["sz+xray+stars"]
    assert cov["current_scale"] == 1.5 and 0 <= cov["68"] <= cov["95"] <= 1 and cov["scale"] > 0
    # two conditions (idealised, instrument-like) x 2 maps x 2 variants of the pixels within R200
    assert cov["n"] == 2 * 2 * 2 * int((heldout.radius_grid(80) < 1).sum())
    # measured from the fiducial variant's bias under the same condition (its own is in the model error)
    fid_bias = {c: fid["metrics"][c]["sz"]["mass_r500"]["bias"] for c in results["conditions"]}
    biases = [abs(v["metrics"][c]["sz"]["mass_r500"]["bias"] - fid_bias[c]) for v in results["variants"].values()
              for c in results["conditions"]]
    assert results["physics_systematic"]["sz"] == pytest.approx(max(biases))


def test_table(results):
    text = rst_table(results, command="python -m massrecon.validation.heldout --n-halos 2", weights_label="w")
    assert text.count(".. list-table::") == 2
    assert "    python -m massrecon.validation.heldout --n-halos 2" in text
    assert "M500: weak_feedback (seed 12)" in text and "coverage scale fitted" in text
    # 1 header + 2 view sets x 3 conditions rows, then 1 header + 2 view sets
    assert text.count("   * - ") == (1 + 6) + (1 + 2)


def test_update_metadata(results, tmp_path):
    path = tmp_path / "generator.json"
    meta = {"sha256": "abc", "other": [1, 2], "calibration": {"sz": {"edges_r200": EDGES, "sigma_log10": [1, 2, 3]}}}
    path.write_text(json.dumps(meta))
    with pytest.raises(ValueError, match="refusing"):
        update_metadata(path, results, sha256="def")
    update_metadata(path, results, sha256="abc")
    new = json.loads(path.read_text())
    assert new["other"] == [1, 2] and "coverage_scale" not in new["calibration"]["sz"]
    assert new["physics_systematic"]["fraction"] == results["physics_systematic"]
    update_metadata(path, results, rescale_coverage=True)
    new = json.loads(path.read_text())
    assert new["calibration"]["sz"]["coverage_scale"] == results["coverage"]["sz"]["scale"]
    assert new["calibration"]["sz"]["sigma_log10"] == [1, 2, 3]


def test_coverage_scale_on_gaussian_errors():
    rng = np.random.default_rng(3)
    s_true, s_cal = 0.12, 0.1
    log_ratio = rng.normal(0.0, s_true, 1_000_000)
    tally = CoverageTally()
    tally.add(log_ratio, s_cal)
    # independent expectation: a Gaussian's mass within +-k sigma
    assert tally.coverage(0.68) == pytest.approx(2 * stats.norm.cdf(s_cal / s_true) - 1, abs=2e-3)
    k = tally.scale()
    assert k == pytest.approx(s_true * stats.norm.ppf(0.84) / s_cal, rel=3e-3)
    rescaled = CoverageTally(current_scale=k)
    rescaled.add(rng.normal(0.0, s_true, 1_000_000), s_cal)
    assert rescaled.coverage(0.68) == pytest.approx(0.68, abs=2e-3)
    assert rescaled.coverage(0.95) == pytest.approx(2 * stats.norm.cdf(1.96 * k * s_cal / s_true) - 1, abs=2e-3)


def test_coverage_scale_is_applied_by_the_reconstructor():
    from massrecon import ClusterFrame, MassReconstructor

    rec = MassReconstructor.pretrained()
    frame = rec.model_frame(ClusterFrame(SkyCoord(150, 2, unit="deg"), 0.2, m200=5e14 * u.Msun))
    rec.metadata["calibration"] = copy.deepcopy(rec.metadata["calibration"])
    rec.metadata["calibration"]["sz+xray"].pop("coverage_scale", None)  # the bundled weights carry one
    before, sz = rec._calibrated_sigma(frame, ["sz", "xray"]), rec._calibrated_sigma(frame, ["sz"])
    rec.metadata["calibration"]["sz+xray"]["coverage_scale"] = 1.25
    np.testing.assert_allclose(rec._calibrated_sigma(frame, ["sz", "xray"]), 1.25 * before, rtol=1e-12)
    np.testing.assert_array_equal(rec._calibrated_sigma(frame, ["sz"]), sz)


@pytest.fixture()
def model_map():
    """An NFW-like map made by the model's views (so with model errors) and a per-pixel uncertainty."""
    from massrecon import ClusterFrame, MassMap
    from massrecon.analysis import ProjectedNFW

    frame = ClusterFrame(SkyCoord(150, 2, unit="deg"), 0.2, m200=5e14 * u.Msun, npix=48)
    r = np.hypot(*np.meshgrid(*(2 * [(np.arange(48) - 23.5) * frame.pixel_scale_kpc.to_value(u.kpc)])))
    nfw = ProjectedNFW(log_m200=np.log10(5e14), c200=4.0, redshift=0.2)
    sigma = nfw.evaluate(np.maximum(r, 1.0), *nfw.parameters) * u.Msun / u.kpc**2
    meta = {"VIEWS": "sz,xray", "R200ERR": 0.3, "REDSHIFT": 0.2, "R200C": frame.r200.to_value(u.kpc),
            "R500C": frame.r500.to_value(u.kpc), "M200C": 5e14}
    return MassMap.from_frame(sigma, frame, uncertainty=0.05 * sigma, meta=meta), frame


def _with_systematic(monkeypatch, value):
    from massrecon.analysis import masses

    monkeypatch.setattr(masses, "bundled_physics_systematic", lambda: {"sz+xray": value})


@pytest.mark.parametrize("source", ["physics_systematic", "SCWIDEN", "both"])
def test_mass_scale_errors_added_in_quadrature(model_map, monkeypatch, source):
    # the weights' physics systematic and the widening of an ambiguous self-consistent answer
    # (the map's SCWIDEN card) are both uncertainties of the mass scale, fully correlated over radii
    m, frame = model_map
    s = 0.07
    _with_systematic(monkeypatch, 0.0)
    base = {"circle": m.projected_mass(frame.r500), "annulus": m.projected_mass(frame.r200, inner_radius=frame.r500),
            "sphere": m.spherical_mass(500)}
    prof0 = m.profile()
    if source == "physics_systematic":
        _with_systematic(monkeypatch, s)
    elif source == "SCWIDEN":
        m.meta["SCWIDEN"] = s
    else:
        _with_systematic(monkeypatch, s * 0.6)
        m.meta["SCWIDEN"] = s * 0.8
    new = {"circle": m.projected_mass(frame.r500), "annulus": m.projected_mass(frame.r200, inner_radius=frame.r500),
           "sphere": m.spherical_mass(500)}
    for kind, b in base.items():
        n = new[kind]
        mass = b.mass.to_value(u.Msun)
        assert n.mass == b.mass and n.pixel_error == b.pixel_error, kind
        expect_model = np.sqrt(b.model_error.to_value(u.Msun) ** 2 + (s * mass) ** 2)
        expect_total = np.sqrt(b.pixel_error.to_value(u.Msun) ** 2 + expect_model**2)
        assert n.model_error.to_value(u.Msun) == pytest.approx(expect_model, rel=1e-9), kind
        assert n.error.to_value(u.Msun) == pytest.approx(expect_total, rel=1e-9), kind
    prof = m.profile()
    sig = prof0.sigma.value
    np.testing.assert_allclose(prof.covariance.value, prof0.covariance.value + s**2 * np.outer(sig, sig), rtol=1e-12)
    np.testing.assert_allclose(prof.model_error.value, np.hypot(prof0.model_error.value, s * sig), rtol=1e-12)


def test_no_systematic_key_changes_nothing(model_map, monkeypatch):
    from massrecon.analysis import masses

    m, frame = model_map
    monkeypatch.setattr(masses, "bundled_physics_systematic", lambda: {})
    a = m.projected_mass(frame.r500), m.spherical_mass(500)
    monkeypatch.setattr(masses, "bundled_physics_systematic", lambda: {"sz": 0.3})  # another view set
    b = m.projected_mass(frame.r500), m.spherical_mass(500)
    assert a == b
