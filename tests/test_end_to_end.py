"""End to end on the bundled example files: the bundled model recovers the truth at its test accuracy."""

import json
from pathlib import Path

import numpy as np
from astropy.utils.data import get_pkg_data_path

from massrecon.demo import run_demo


def test_demo_recovers_masses(tmp_path):
    meta = json.loads((Path(get_pkg_data_path("models", "weights", package="massrecon")) / "generator.json")
                      .read_text())
    summary = run_demo(tmp_path, plot=False)
    assert len(summary) == 7
    for row in summary:
        # the demo iterates R200 from a catalogue M500: the "R200 estimated" accuracy applies
        m = meta["metrics"]["planck_like_r200_estimated"][row["views"]]
        for key, name in (("m500", "mass_r500"), ("m200", "mass_r200")):
            ratio = np.log10((row[f"{key}_pred"] / row[f"{key}_true"]).value)
            bias = np.log10(1 + m[name]["bias"])
            sigma = np.log10(1 + m[name]["scatter"])
            # one cluster: within 3 sigma of the model's test distribution
            assert abs(ratio - bias) < 3 * sigma, (row["views"], key, ratio, bias, sigma)
        assert row["iterations"] < 10
