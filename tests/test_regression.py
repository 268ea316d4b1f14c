"""Behaviour regression: refactors must keep the bundled model's predictions and the simulator's output.

The reference values in ``tests/data/regression.npz`` are written by ``tools/make_regression_data.py``
and rewritten only by a commit that changes behaviour on purpose (a physics correction, new weights).

Tolerances: the simulator's maps and halo properties to rtol 1e-9 (bit for bit on one machine; the
margin is float round-off where a library call replaces a hand-written loop); the network's output to
rtol 1e-5 (float32 arithmetic, whose summation order may differ between CPU kernels).
"""

from pathlib import Path

import numpy as np
import pytest
from regression_cases import prediction_arrays, simulator_arrays

DATA = Path(__file__).parent / "data" / "regression.npz"


@pytest.fixture(scope="module")
def reference():
    with np.load(DATA) as f:
        return {k: f[k] for k in f.files}


def _compare(new, reference, prefix, rtol, atol_frac):
    keys = sorted(k for k in reference if k.startswith(prefix))
    assert keys, f"no reference arrays under {prefix!r}"
    assert sorted(k for k in new if k.startswith(prefix)) == keys
    for k in keys:
        ref = reference[k]
        atol = atol_frac * float(np.nanmax(np.abs(ref))) if ref.size and np.any(np.isfinite(ref)) else 0.0
        np.testing.assert_allclose(new[k], ref, rtol=rtol, atol=atol, err_msg=k)


def test_simulator_unchanged(reference):
    _compare(simulator_arrays(), reference, "sim/", rtol=1e-9, atol_frac=1e-12)


def test_predictions_unchanged(reference, tmp_path):
    _compare(prediction_arrays(tmp_path), reference, "pred/", rtol=1e-5, atol_frac=1e-7)
