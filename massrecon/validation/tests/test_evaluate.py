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
    res = evaluate(model, dataset, n_test=10, n_train_baseline=20, progress=False)
    assert set(res["ideal"]) == {"sz", "xray", "stars", "sz+xray", "sz+stars", "xray+stars", "sz+xray+stars"}
    m = res["ideal"]["sz+xray+stars"]
    for key in ("pixel", "profile", "mass_r500", "mass_r200"):
        assert np.isfinite(m[key]["scatter"])
    from massrecon.validation.evaluate import CONDITIONS

    for condition in CONDITIONS:
        assert set(res[condition]) == set(res["ideal"]), condition
    assert set(res["ideal_tta"]) == {"sz+xray+stars"}
    assert "scaling_relation_sz" in res["baselines"] and "power_law_sz+xray+stars" in res["baselines"]
    cal = res["calibration"]["sz"]
    assert len(cal["sigma_log10"]) == len(cal["edges_r200"]) - 1
    assert 0 <= res["coverage_68"]["sz"] <= 1
