import numpy as np
import pytest
import torch
from scipy import stats

from massrecon.models import UNetGenerator
from massrecon.simulate import SimulationConfig
from massrecon.simulate.dataset import write_dataset
from massrecon.validation.tracers import (
    TRACER_CONDITIONS,
    fit_exponent,
    load_maps,
    main,
    peak_offset,
    pearson_r,
    signed_power,
    simulate_test_set,
    tracer_comparison,
    write_table,
)

COLUMNS = ["condition", "view_set", "input", "r_pred", "r_pred_mergers", "offset_pred", "offset_pred_mergers",
           "r_input", "r_input_mergers", "offset_input", "offset_input_mergers"]


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    # halo 3 of seed 11 is a merger: 2 of the 8 maps
    path = tmp_path_factory.mktemp("tracers") / "d.h5"
    cfg = SimulationConfig(projections=2, npix=32, size_r200=2.6, seed=11, z_range=(0.01, 1.0),
                           maps=("sigma_total", "compton_y", "xray_soft", "sigma_members"))
    write_dataset(path, 4, cfg, workers=1, progress=False)
    return path


@pytest.fixture(scope="module")
def table(dataset):
    torch.manual_seed(0)
    model = UNetGenerator(base_channels=4, depth=2).eval()
    return tracer_comparison(model, load_maps(dataset), npix=24)


def test_table_structure(table):
    assert table.colnames == COLUMNS
    # the idealised maps with every view set, each other condition with its view and all views
    expected = [("ideal", v) for v in ("sz", "xray", "stars", "all")]
    for name, cond in TRACER_CONDITIONS.items():
        if cond.view is not None:
            expected += [(name, cond.view), (name, "all")]
    assert list(zip(table["condition"], table["view_set"])) == expected
    assert table.meta["n_maps"] == 8 and table.meta["n_halos"] == 4 and table.meta["n_merger_maps"] == 2
    for c in COLUMNS[3:]:
        assert np.all(np.isfinite(table[c])), c
        if c.startswith("r_"):
            assert np.all(np.abs(table[c]) <= 1), c
        else:
            assert np.all(table[c] >= 0), c
    # a single view's input is that view; the idealised views are the same in every condition
    for row in table:
        if row["view_set"] != "all":
            assert row["input"].startswith(row["view_set"] + "^")
    def row(cond, views):
        return table[(table["condition"] == cond) & (table["view_set"] == views)][0]

    # all views: the best single input, the views a condition leaves alone scored as idealised
    assert row("xray_survey", "all")["r_input"] == max(row("ideal", "sz")["r_input"], row("ideal", "stars")["r_input"],
                                                       row("xray_survey", "xray")["r_input"])


def test_write_table(table, tmp_path):
    out = tmp_path / "t.rst"
    text = write_table(table, out, command="python -m massrecon.validation.tracers", seconds=12.0)
    assert out.read_text() == text
    assert "``python -m massrecon.validation.tracers`` (12 s)" in text
    lines = text.splitlines()
    rules = [i for i, line in enumerate(lines) if line.startswith("====")]
    assert len(rules) == 3 and rules[2] - rules[1] - 1 == len(table)
    assert "r pred (mergers)" in lines[rules[0] + 1]


def test_deterministic(dataset, table):
    torch.manual_seed(0)
    model = UNetGenerator(base_channels=4, depth=2).eval()
    # the noisy condition alone: the same noise draws, the same numbers
    again = tracer_comparison(model, load_maps(dataset), [TRACER_CONDITIONS["xray_survey"]], npix=24)
    same = table[table["condition"] == "xray_survey"]
    for c in COLUMNS:
        assert list(again[c]) == list(same[c]), c


def test_pearson_r_matches_scipy():
    rng = np.random.default_rng(3)
    a = rng.normal(size=(20, 20))
    b = 0.5 * a + rng.normal(size=(20, 20))
    mask = rng.uniform(size=(20, 20)) < 0.6
    assert pearson_r(a, b, mask) == pytest.approx(stats.pearsonr(a[mask], b[mask])[0], rel=1e-12)
    assert pearson_r(a, b) == pytest.approx(stats.pearsonr(a.ravel(), b.ravel())[0], rel=1e-12)
    assert np.isnan(pearson_r(np.ones(5), np.arange(5.0)))


@pytest.mark.parametrize("smoothing", [0.0, None])
def test_peak_offset_of_shifted_gaussians(smoothing):
    # two Gaussians shifted by (3.3, -1.7) pixels: the parabola refinement of the peak is good to a
    # small fraction of a pixel for a well-sampled peak (sigma 4 pixels)
    y, x = np.mgrid[0:48, 0:48].astype(float)

    def gauss(x0, y0):
        return np.exp(-((x - x0) ** 2 + (y - y0) ** 2) / (2 * 4.0**2))

    offset = peak_offset(gauss(22.0, 25.0), gauss(25.3, 23.3), pixel_kpc=20.0, smoothing=smoothing)
    assert offset == pytest.approx(20.0 * np.hypot(3.3, 1.7), abs=20.0 * 0.15)
    assert peak_offset(gauss(22.0, 25.0), gauss(22.0, 25.0)) == 0.0


def test_fit_exponent_and_signed_power():
    rng = np.random.default_rng(1)
    x = rng.uniform(-0.2, 3.0, (4, 16, 16))
    t = signed_power(x, 0.45) + 1e-9 * rng.normal(size=x.shape)
    assert fit_exponent(x, t, np.ones((16, 16), bool)) == pytest.approx(0.45)
    np.testing.assert_array_equal(signed_power(np.array([-8.0, 8.0]), 1 / 3), np.cbrt([-8.0, 8.0]))


def test_training_seeds_refused(tmp_path):
    with pytest.raises(ValueError, match="training halos"):
        simulate_test_set(tmp_path / "x.h5", 2, seed=31)


def test_cli_with_bundled_weights(dataset, tmp_path, capsys):
    # the old bundled weights take 9 conditioning features: the full vector goes in all the same
    out = tmp_path / "t.rst"
    assert main(["--data", str(dataset), "--n-max", "2", "--conditions", "sz_filtered", "--out", str(out)]) == 0
    text = out.read_text()
    assert "sz_filtered" in text and "--conditions sz_filtered" in text and "2 maps of 1 halos" in text
    assert text in capsys.readouterr().out
