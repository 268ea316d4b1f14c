"""The bundled generator: it loads safely, tampering is caught, and it is accurate on mocks."""

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from astropy.utils.data import get_pkg_data_path

from massrecon import MassReconstructor
from massrecon.models import load_generator

WEIGHTS = Path(get_pkg_data_path("models", "weights", package="massrecon"))


def test_metadata_complete():
    meta = json.loads((WEIGHTS / "generator.json").read_text())
    for key in ("views", "transforms", "frame", "supported", "training", "massrecon_version", "sha256",
                "metrics", "calibration", "weights_format"):
        assert key in meta, key
    assert meta["frame"] == {"npix": 80, "size_r200": 2.0}
    assert (WEIGHTS / "generator.pt").stat().st_size < 20e6


def test_predicts_fresh_mock_halos():
    # halos of a simulation seed the training never used, nominal maps of all three views, R200 known
    import torch

    from massrecon.models.transforms import TargetTransform
    from massrecon.simulate import SimulationConfig
    from massrecon.training import SimulatedMapDataset
    from massrecon.validation import mass_metrics, pixel_metrics

    rec = MassReconstructor.pretrained()
    assert rec.views == ("sz", "xray", "stars")
    cfg = SimulationConfig(seed=20261124, projections=1, npix=104, size_r200=2.6, z_range=(0.05, 0.8))
    ds = SimulatedMapDataset(12, cfg, split=None, npix=80)
    batch = [ds[i] for i in range(len(ds))]
    x, mask, cond, t = (torch.stack([b[k] for b in batch]) for k in ("x", "mask", "cond", "t"))
    with torch.inference_mode():
        pred = rec.model(x, mask, cond)
    pred, true = (TargetTransform().inverse(a[:, 0].double().numpy()) for a in (pred, t))
    m200 = mass_metrics(pred, true, 1.0)
    # test-split accuracy (generator.json): bias ~-1%, scatter ~3%; 12 halos: generous bounds
    assert abs(m200["bias"]) < 0.06 and m200["scatter"] < 0.08
    assert pixel_metrics(pred, true)["scatter"] < 0.3


def test_modified_or_truncated_file_is_rejected(tmp_path):
    shutil.copy(WEIGHTS / "generator.json", tmp_path / "generator.json")
    data = bytearray((WEIGHTS / "generator.pt").read_bytes())
    data[len(data) // 2] ^= 0xFF
    (tmp_path / "generator.pt").write_bytes(bytes(data))
    with pytest.raises(ValueError, match="does not match"):
        load_generator(tmp_path / "generator.pt")
    (tmp_path / "generator.pt").write_bytes(bytes(data[: len(data) // 3]))
    with pytest.raises(ValueError, match="does not match"):
        load_generator(tmp_path / "generator.pt")
    meta = json.loads((WEIGHTS / "generator.json").read_text())
    meta["weights_format"] = 999
    (tmp_path / "generator.json").write_text(json.dumps(meta))
    shutil.copy(WEIGHTS / "generator.pt", tmp_path / "generator.pt")
    with pytest.raises(ValueError, match="weights_format"):
        load_generator(tmp_path / "generator.pt")


def test_metrics_beat_baselines():
    meta = json.loads((WEIGHTS / "generator.json").read_text())
    ideal = meta["metrics"]["ideal"]
    base = meta["metrics"]["baselines"]
    for view in ("sz", "xray", "stars"):
        ours = ideal[view]["pixel"]["scatter"]
        assert ours < base[f"power_law_{view}"]["pixel"]["scatter"]
        assert ours < base[f"scaling_relation_{view}"]["pixel"]["scatter"]
    cov = meta["metrics"]["coverage_68"]["sz+xray+stars"]
    assert 0.6 < cov < 0.76
    assert np.isfinite(ideal["sz+xray+stars"]["mass_r200"]["bias"])
    # telling the network that R200 is exact must tighten the integrated mass (the r200_error input works)
    est = meta["metrics"]["ideal_r200_estimated"]["sz+xray+stars"]
    assert ideal["sz+xray+stars"]["mass_r200"]["scatter"] < 0.6 * est["mass_r200"]["scatter"]
    assert meta["conditioning"][-2:] == ["r200_error", "sz_highpass"] and meta["supported"]["r200_error"] == [0.0, 0.3]
