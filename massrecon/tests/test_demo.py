"""The demo's plumbing with a small untrained generator (the bundled weights are tested elsewhere)."""

import numpy as np
import torch

from massrecon import MassMap, MassReconstructor
from massrecon.demo import run_demo
from massrecon.models import TRANSFORM_CONSTANTS, UNetGenerator


def test_demo_runs_every_view_subset(tmp_path):
    torch.manual_seed(0)
    meta = {"transforms": TRANSFORM_CONSTANTS, "frame": {"npix": 80, "size_r200": 2.0},
            "supported": {"beam_fwhm_r200": [0.01, 1.5], "z": [0.01, 1.0], "log10_m200_h": [13.5, 15.5]}}
    rec = MassReconstructor(UNetGenerator(base_channels=4, depth=2).eval(), meta)
    summary = run_demo(tmp_path, reconstructor=rec, plot=True)
    assert len(summary) == 7
    assert (tmp_path / "demo.png").stat().st_size > 10_000
    m = MassMap.read(tmp_path / "massmap_sz+xray+stars.fits")
    assert m.data.shape == (80, 80) and np.all(m.data > 0)
    assert np.all(summary["m200_true"].value > 1e14)
