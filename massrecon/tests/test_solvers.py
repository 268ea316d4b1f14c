import subprocess
import sys

import numpy as np
import pytest

from massrecon.apertures import aperture_weights
from massrecon.solvers import find_log_scale_roots, log_scale_grid, solve_log_scale


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


# --- the grid search of every root (find_log_scale_roots) -------------------------------------
def test_one_root_is_found_from_any_grid_and_refined():
    h = lambda x: 0.1 - 1.5 * x  # noqa: E731  g = 0.5: a well-determined root at x = 1/15
    for lo, hi in ((-0.6, 0.6), (-0.2, 0.9)):
        res = find_log_scale_roots(h, log_scale_grid(lo, hi), rtol=1e-6)
        assert res.root == pytest.approx(1 / 15, abs=1e-6) and res.converged
        assert not res.ambiguous and not res.flat and res.response == pytest.approx(0.5)


def test_two_roots_are_both_reported_and_the_steepest_chosen():
    # falls through 0 at s = 0.8 (dh/dln s = -0.84) and s = 1.5 (-1.53), rises through 0 at s = 1
    def h(x):
        return -6 * (x - np.log(0.8)) * x * (x - np.log(1.5))

    grid = log_scale_grid(-0.6, 0.6)
    res = find_log_scale_roots(h, grid, rtol=1e-6)
    assert res.ambiguous and res.roots.size == 2
    assert np.exp(res.roots) == pytest.approx([0.8, 1.5], rel=1e-5)
    assert res.unstable.size == 1 and res.unstable[0] == pytest.approx(0.0, abs=0.03)
    assert res.choice == 1  # the steeper, where the implied mass depends least on the frame
    # the choice does not depend on where the search was centred
    assert find_log_scale_roots(h, grid, prefer=np.log(0.8)).choice == 1


def test_flat_response_is_flagged_with_its_consistent_interval():
    h = lambda x: -0.15 * x  # noqa: E731  g = 0.95: the implied mass almost follows the frame
    res = find_log_scale_roots(h, log_scale_grid(-0.6, 0.6))
    assert res.flat and res.response == pytest.approx(0.95)
    lo, hi = res.consistent
    assert lo == pytest.approx(-0.6) and hi == pytest.approx(0.6)  # |h| <= 0.1 over the whole grid
    res = find_log_scale_roots(lambda x: -3 * x, log_scale_grid(-0.6, 0.6))
    assert not res.flat and res.consistent == pytest.approx((-1 / 30, 1 / 30))


def test_no_stable_root_and_unavailable_points():
    res = find_log_scale_roots(lambda x: 1.0 - x, log_scale_grid(-0.6, 0.6))
    assert res.choice is None and res.root is None and not res.converged and res.response is None
    # NaN points (frames the observations cannot fill) are left out of the search
    res = find_log_scale_roots(lambda x: np.nan if x < -0.3 else -x, log_scale_grid(-0.6, 0.6))
    assert res.grid.min() > -0.3 and res.root == pytest.approx(0.0, abs=1e-3)
    with pytest.raises(ValueError, match="finite on 1 of"):
        find_log_scale_roots(lambda x: np.nan if x < 0.58 else -x, log_scale_grid(-0.6, 0.6))


def test_grid_is_anchored():
    a = log_scale_grid(-0.6, 0.6, anchor=0.05)
    b = log_scale_grid(-0.3, 0.9, anchor=0.05)
    shared = np.intersect1d(a.round(12), b.round(12))
    assert shared.size >= 6  # two searches over overlapping ranges share their inner points
    with pytest.raises(ValueError, match="hi > lo"):
        log_scale_grid(0.2, 0.1)
