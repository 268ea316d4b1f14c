"""Transfer functions of filtered SZ maps: conventions, equivalent forms, filtering, input errors."""

import astropy.units as u
import numpy as np
import pytest

from massrecon.observations.transfer import TransferFunction, multipole_to_wavenumber, wavenumber_to_multipole

PIXEL = 0.5 * u.arcmin


def gaussian(n, pixel_arcmin, sigma_arcmin):
    """A unit-peak Gaussian centred on the middle of an n x n map, and the radius of each pixel."""
    yy, xx = (np.indices((n, n)) - (n - 1) / 2.0) * pixel_arcmin
    r = np.hypot(xx, yy)
    return np.exp(-0.5 * (r / sigma_arcmin) ** 2), r


def sample_table():
    """A smooth T(k) table, falling to 0 at k = 0 (in 1/arcmin)."""
    k = np.linspace(0.0, 2.0, 401)
    return k, 1.0 - np.exp(-((k / 0.08) ** 1.5))


# --- conventions: k = 1/lambda --------------------------------------------------------------------


@pytest.mark.parametrize("axis", ["x", "y", "diagonal"])
@pytest.mark.parametrize("make", ["high_pass", "table"])
def test_sine_wave_multiplied_by_t_of_one_over_lambda(axis, make):
    n = 128
    yy, xx = np.indices((n, n)) * PIXEL.value
    periods = {"x": (0, 3), "y": (2, 0), "diagonal": (2, 3)}[axis]
    size = n * PIXEL.value
    ky, kx = periods[0] / size, periods[1] / size  # cycles per arcmin
    wave = np.sin(2 * np.pi * (kx * xx + ky * yy))
    if make == "high_pass":
        tf = TransferFunction.high_pass(4 * u.arcmin)
    else:
        k, t = sample_table()
        tf = TransferFunction.from_table(t, k=k / u.arcmin)
    wavelength = 1.0 / np.hypot(kx, ky)
    expected = tf.evaluate(1 / (wavelength * u.arcmin)) * wave
    np.testing.assert_allclose(tf.apply(wave, PIXEL, pad=1), expected, atol=1e-12)
    assert 0.05 < tf.evaluate(1 / (wavelength * u.arcmin)) < 0.95  # a real test, not T = 0 or 1


def test_high_pass_form():
    theta = 3.0
    k = np.array([0.0, 0.01, 0.05, 0.2])
    expected = 1.0 - np.exp(-((2 * np.pi * k * theta) ** 2) / 2.0)
    np.testing.assert_allclose(TransferFunction.high_pass(theta * u.arcmin).evaluate(k / u.arcmin), expected,
                               rtol=1e-12)
    # half power at lambda = 2 pi theta / sqrt(2 ln 2)
    half = 2 * np.pi * theta / np.sqrt(2 * np.log(2))
    assert TransferFunction.high_pass(theta * u.arcmin).evaluate(1 / (half * u.arcmin)) == pytest.approx(0.5)


def test_anisotropic_grid_axes():
    """Axis 0 of the grid is k_y (rows), axis 1 is k_x (columns), as the image."""
    n = 32
    kx = np.fft.fftfreq(n, d=PIXEL.value)
    grid = np.broadcast_to(np.where(kx == 0, 1.0, 0.25), (n, n))  # scales only waves along x
    tf = TransferFunction.from_grid(grid, PIXEL)
    yy, xx = np.indices((n, n))
    along_x = np.cos(2 * np.pi * 2 * xx / n)
    along_y = np.cos(2 * np.pi * 2 * yy / n)
    np.testing.assert_allclose(tf.apply(along_x, PIXEL), 0.25 * along_x, atol=1e-12)
    np.testing.assert_allclose(tf.apply(along_y, PIXEL), along_y, atol=1e-12)
    centred = TransferFunction.from_grid(np.fft.fftshift(grid), PIXEL, centered=True)
    np.testing.assert_allclose(centred.on_grid((n, n), PIXEL), grid)


def test_multipole_convention():
    # ell = 2 pi k, k in cycles per radian: a 1 degree wavelength is ell = 360
    assert wavenumber_to_multipole(1 / u.deg) == pytest.approx(360.0)
    assert multipole_to_wavenumber(21600).to_value(1 / u.arcmin) == pytest.approx(1.0)
    ell = np.array([100.0, 2000.0, 8000.0])
    np.testing.assert_allclose(wavenumber_to_multipole(multipole_to_wavenumber(ell)), ell)
    k, t = sample_table()
    by_k = TransferFunction.from_table(t, k=k / u.arcmin)
    by_ell = TransferFunction.from_table(t, ell=k * 2 * np.pi * (1 * u.rad).to_value(u.arcmin))
    probe = np.linspace(0, 2.5, 50) / u.arcmin
    np.testing.assert_allclose(by_ell.evaluate(probe), by_k.evaluate(probe), rtol=1e-10, atol=1e-14)


# --- filtering a cluster-like image ---------------------------------------------------------------


@pytest.mark.parametrize("sigma", [1.0, 1.0 / 2.3548])  # a 1' Gaussian: sigma or FWHM
def test_high_pass_keeps_compact_source(sigma):
    image, _ = gaussian(256, PIXEL.value, sigma)
    filtered = TransferFunction.high_pass(4 * u.arcmin).apply(image, PIXEL)
    assert filtered.max() / image.max() > 0.9


@pytest.mark.parametrize("remove_mean", [True, False])
def test_high_pass_removes_extended_source(remove_mean):
    image, r = gaussian(256, PIXEL.value, 20.0)  # sigma = 20', on a 128' map
    filtered = TransferFunction.high_pass(4 * u.arcmin).apply(image, PIXEL, remove_mean=remove_mean)
    for radius in (20.0, 40.0, np.inf):
        inside = r < radius
        assert abs(filtered[inside].sum()) < 0.1 * image[inside].sum()


def test_padding_limits_wrap_around():
    """A source at the edge: without padding its negative filter wings wrap onto the other edge."""
    image = np.zeros((64, 64))
    image[:, :3] = 1.0  # a strip along the left edge
    tf = TransferFunction.high_pass(2 * u.arcmin)
    far = (slice(None), slice(-3, None))  # strip along the right edge, 30' away
    assert abs(tf.apply(image, PIXEL, pad=1, remove_mean=False)[far]).max() > 0.05
    assert abs(tf.apply(image, PIXEL, pad=2, remove_mean=False)[far]).max() < 1e-3


def test_mean_removed_and_units_kept():
    rng = np.random.default_rng(3)
    image = (rng.normal(size=(40, 40)) + 7.0) * u.uK
    tf = TransferFunction.from_table([1.0, 1.0], k=[0.0, 1.0] / u.arcmin)  # T = 1: only the mean goes
    out = tf.apply(image, PIXEL)
    assert out.unit == u.uK
    assert abs(out.mean().value) < 1e-12
    np.testing.assert_allclose(out.value, image.value - image.value.mean(), atol=1e-12)
    np.testing.assert_allclose(tf.apply(image, PIXEL, remove_mean=False).value, image.value, atol=1e-12)


# --- equivalent descriptions ----------------------------------------------------------------------


def test_table_and_equivalent_grid_filter_the_same():
    k, t = sample_table()
    table = TransferFunction.from_table(t, k=k / u.arcmin)
    image, _ = gaussian(40, PIXEL.value, 1.5)
    grid = TransferFunction.from_grid(table.on_grid((40, 40), PIXEL), PIXEL)
    np.testing.assert_allclose(grid.apply(image, PIXEL), table.apply(image, PIXEL, pad=1), atol=1e-14)
    # with padding, the table resampled onto the padded grid is the same filter
    padded = TransferFunction.resample(table, (80, 80), PIXEL)
    np.testing.assert_allclose(padded.apply(image, PIXEL, pad=2), table.apply(image, PIXEL, pad=2), atol=1e-14)
    # and the 2-D grid interpolated onto the padded grid is close to it
    close = grid.apply(image, PIXEL, pad=2)
    assert abs(close - table.apply(image, PIXEL, pad=2)).max() < 0.02 * image.max()


def test_grid_profile_is_its_azimuthal_average():
    tf = TransferFunction.high_pass(2 * u.arcmin)
    grid = TransferFunction.resample(tf, (128, 128), PIXEL)
    k = np.linspace(0.02, 0.9, 30) / u.arcmin
    np.testing.assert_allclose(grid.evaluate(k), tf.evaluate(k), atol=0.01)


def test_resample_grid_onto_finer_grid():
    tf = TransferFunction.high_pass(3 * u.arcmin)
    coarse = TransferFunction.resample(tf, (42, 42), 20 * u.arcsec)
    fine = coarse.on_grid((90, 90), 15 * u.arcsec)  # beyond the coarse Nyquist: edge values
    direct = tf.on_grid((90, 90), 15 * u.arcsec)
    ky, kx = np.meshgrid(np.fft.fftfreq(90, 0.25), np.fft.fftfreq(90, 0.25), indexing="ij")
    k = np.hypot(ky, kx)
    # linear interpolation between the coarse grid's points, 0.071 / arcmin apart
    assert abs(fine - direct).max() < 0.12
    assert abs(fine - direct)[k > 0.2].max() < 0.02
    assert fine[0, 0] == 0.0
    assert coarse.kind == "grid" and coarse.shape == (42, 42)
    assert coarse.pixel_scale.to_value(u.arcsec) == pytest.approx(20.0)
    assert "grid" in repr(coarse) and tf.shape is None and tf.pixel_scale is None


def test_complex_grid_keeps_real_output():
    n = 32
    grid = TransferFunction.high_pass(2 * u.arcmin).on_grid((n, n), PIXEL).astype(complex)
    tf = TransferFunction.from_grid(grid, PIXEL)
    image, _ = gaussian(n, PIXEL.value, 1.0)
    out = tf.apply(image, PIXEL)
    assert out.dtype == np.float64
    np.testing.assert_allclose(out, TransferFunction.from_grid(grid.real, PIXEL).apply(image, PIXEL), atol=1e-14)
    assert np.iscomplexobj(TransferFunction.resample(tf, (40, 40), PIXEL).on_grid((40, 40), PIXEL))


# --- errors ---------------------------------------------------------------------------------------


def test_angle_errors():
    for bad, err in [(4.0, u.UnitsError), (4 * u.kg, u.UnitsError), (-4 * u.arcmin, ValueError),
                     (0 * u.arcmin, ValueError), (np.nan * u.arcmin, ValueError), ([1, 2] * u.arcmin, ValueError)]:
        with pytest.raises(err, match="theta"):
            TransferFunction.high_pass(bad)
        with pytest.raises(err, match="pixel_scale"):
            TransferFunction.high_pass(1 * u.arcmin).apply(np.zeros((4, 4)), bad)
        with pytest.raises(err, match="pixel_scale"):
            TransferFunction.from_grid(np.ones((4, 4)), bad)


def test_image_errors():
    tf = TransferFunction.high_pass(1 * u.arcmin)
    with pytest.raises(ValueError, match="image must be a 2-D"):
        tf.apply(np.zeros(16), PIXEL)
    with pytest.raises(ValueError, match="image must be a 2-D"):
        tf.apply(np.zeros((2, 4, 4)), PIXEL)
    with pytest.raises(ValueError, match="image must be finite"):
        tf.apply(np.full((4, 4), np.nan), PIXEL)
    with pytest.raises(ValueError, match="pad"):
        tf.apply(np.zeros((4, 4)), PIXEL, pad=0.5)
    with pytest.raises(ValueError, match="pad"):
        tf.apply(np.zeros((4, 4)), PIXEL, pad=np.nan)


def test_grid_errors():
    with pytest.raises(ValueError, match="array must be a 2-D"):
        TransferFunction.from_grid(np.ones(8), PIXEL)
    with pytest.raises(ValueError, match="array must be finite"):
        TransferFunction.from_grid(np.full((4, 4), np.nan), PIXEL)
    with pytest.raises(ValueError, match="shape"):
        TransferFunction.high_pass(1 * u.arcmin).on_grid((4, 4, 4), PIXEL)
    with pytest.raises(TypeError, match="transfer must be a TransferFunction"):
        TransferFunction.resample(np.ones((4, 4)), (4, 4), PIXEL)


def test_table_errors():
    with pytest.raises(ValueError, match="exactly one of k"):
        TransferFunction.from_table([0, 1])
    with pytest.raises(ValueError, match="exactly one of k"):
        TransferFunction.from_table([0, 1], k=[0, 1] / u.arcmin, ell=[0, 1])
    with pytest.raises(u.UnitsError, match="k must be a Quantity in inverse-angle"):
        TransferFunction.from_table([0, 1], k=[0, 1])
    with pytest.raises(u.UnitsError, match="k must be a Quantity in inverse-angle"):
        TransferFunction.from_table([0, 1], k=[0, 1] * u.arcmin)
    with pytest.raises(u.UnitsError, match="ell must be dimensionless"):
        TransferFunction.from_table([0, 1], ell=[0, 1] / u.arcmin)
    with pytest.raises(ValueError, match="k must be strictly increasing"):
        TransferFunction.from_table([0, 1], k=[1, 0] / u.arcmin)
    with pytest.raises(ValueError, match="ell must be >= 0"):
        TransferFunction.from_table([0, 1], ell=[-1, 0])
    with pytest.raises(ValueError, match="transfer must be finite"):
        TransferFunction.from_table([0, np.nan], ell=[0, 1])
    with pytest.raises(ValueError, match="same length"):
        TransferFunction.from_table([0, 1, 1], ell=[0, 1])
    with pytest.raises(u.UnitsError, match="k must be"):
        TransferFunction.high_pass(1 * u.arcmin).evaluate(0.1)
    with pytest.raises(ValueError, match="k must be finite"):
        TransferFunction.high_pass(1 * u.arcmin).evaluate(np.nan / u.arcmin)
