import subprocess
import sys

import numpy as np
import pytest

from massrecon.apertures import aperture_weights
from massrecon.solvers import solve_log_scale


def _counting(f):
    seen = []

    def h(x):
        seen.append(x)
        return f(x)

    return h, seen


@pytest.mark.parametrize("root", [-0.6, -0.05, 0.0, 0.3, 0.9])
def test_solve_log_scale_brackets_and_refines(root):
    h, seen = _counting(lambda x: np.tanh(root - x))
    assert solve_log_scale(h, max_iter=20, rtol=1e-3)
    best = min(seen, key=lambda x: abs(root - x))
    assert abs(best - root) < np.log1p(1e-3)
    assert len(seen) == len(set(seen)) <= 20  # no evaluation is repeated


def test_solve_log_scale_without_root_gives_up_within_max_iter():
    h, seen = _counting(lambda x: 1.0 + np.exp(-x))  # positive everywhere: no root
    assert solve_log_scale(h, max_iter=6) is False
    assert len(seen) == 6


def test_solve_log_scale_stops_at_max_iter_while_refining():
    h, seen = _counting(lambda x: np.cbrt(0.07 - x))  # a root that secant steps approach slowly
    converged = solve_log_scale(h, max_iter=3, rtol=1e-9)
    assert converged is False and len(seen) == 3


def test_aperture_weights_match_photutils_photometry():
    from photutils.aperture import CircularAperture, aperture_photometry

    data = np.random.default_rng(0).uniform(size=(30, 40))
    for center, r in (((19.5, 14.5), 9.3), ((10.2, 20.7), 12.0)):
        w = aperture_weights(data.shape, r, center=center)
        ref = aperture_photometry(data, CircularAperture(center, r=r), method="exact")["aperture_sum"][0]
        assert (data * w).sum() == pytest.approx(ref, rel=1e-12)
    assert not aperture_weights(20, 5.0).flags.writeable


def test_import_massrecon_stays_light():
    code = ("import sys, massrecon; bad = [m for m in ('massrecon.simulate', 'massrecon.datasets', 'torch') "
            "if m in sys.modules]; print(bad)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
