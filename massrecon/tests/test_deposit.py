import numpy as np
import pytest

from massrecon._deposit import cic_deposit


def test_point_on_pixel_centre_lands_in_one_pixel():
    grid = cic_deposit(5, [2.0], [3.0], [7.0])
    expected = np.zeros((5, 5))
    expected[3, 2] = 7.0  # (row = y, column = x)
    np.testing.assert_array_equal(grid, expected)


def test_bilinear_split_between_four_pixels():
    grid = cic_deposit(4, [1.25], [2.5], [1.0])
    assert grid[2, 1] == pytest.approx(0.75 * 0.5)
    assert grid[2, 2] == pytest.approx(0.25 * 0.5)
    assert grid[3, 1] == pytest.approx(0.75 * 0.5)
    assert grid[3, 2] == pytest.approx(0.25 * 0.5)
    assert grid.sum() == pytest.approx(1.0)


def test_mass_conserved_inside_and_dropped_outside():
    rng = np.random.default_rng(3)
    fx, fy = rng.uniform(0, 15, (2, 1000))  # inside [0, npix - 1]: nothing lost
    m = rng.uniform(0.5, 2.0, 1000)
    assert cic_deposit(16, fx, fy, m).sum() == pytest.approx(m.sum())
    # half a pixel beyond the last centre: half of the weight leaves the grid
    assert cic_deposit(16, [15.5], [4.0], [1.0]).sum() == pytest.approx(0.5)
    assert cic_deposit(16, [-3.0], [4.0], [1.0]).sum() == 0.0


def test_several_fields_match_independent_add_at():
    rng = np.random.default_rng(4)
    npix = 9
    fx, fy = rng.uniform(-1, npix, (2, 300))
    vals = rng.normal(size=(2, 300))
    out = cic_deposit(npix, fx, fy, vals)
    assert out.shape == (2, npix, npix)
    for k in range(2):
        ref = np.zeros((npix + 2, npix + 2))  # one guard pixel each side
        ix, iy = np.floor(fx).astype(int), np.floor(fy).astype(int)
        tx, ty = fx - ix, fy - iy
        np.add.at(ref, (iy + 1, ix + 1), vals[k] * (1 - tx) * (1 - ty))
        np.add.at(ref, (iy + 1, ix + 2), vals[k] * tx * (1 - ty))
        np.add.at(ref, (iy + 2, ix + 1), vals[k] * (1 - tx) * ty)
        np.add.at(ref, (iy + 2, ix + 2), vals[k] * tx * ty)
        np.testing.assert_allclose(out[k], ref[1:-1, 1:-1], atol=1e-12)
