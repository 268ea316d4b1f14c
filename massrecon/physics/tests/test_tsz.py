"""tSZ conversions against the audit's reference values and independent calculations in the test."""

import math
from pathlib import Path

import astropy.units as u
import numpy as np
import pytest
from astropy.modeling.models import BlackBody

import massrecon
from massrecon.physics import (
    T_CMB,
    TSZ_NULL_FREQUENCY,
    delta_intensity_to_y,
    delta_t_cmb_to_y,
    delta_t_rj_per_cmb,
    delta_t_rj_to_y,
    tsz_dimensionless_frequency,
    tsz_spectral_function,
    y_from_map,
    y_to_delta_intensity,
    y_to_delta_t_cmb,
    y_to_delta_t_rj,
)

#: Real data for tests live next to the repository, never inside it (as the observation tests).
SZ_DIR = Path(massrecon.__file__).parents[2] / "shared" / "data" / "realclusters" / "macsj0025_sz"

# CODATA 2018 exact SI values, typed here rather than taken from the module
H_PLANCK = 6.62607015e-34
K_BOLTZMANN = 1.380649e-23

FREQUENCIES = [30.0, 90.0, 140.0, 150.0, 220.0, 270.0, 353.0, 545.0]


def independent_x(nu_ghz):
    return H_PLANCK * nu_ghz * 1e9 / (K_BOLTZMANN * 2.7255)


def independent_f(nu_ghz):
    """x (e^x + 1) / (e^x - 1) - 4, the form of Carlstrom et al. (2002) eq. 2."""
    x = independent_x(nu_ghz)
    return x * (math.exp(x) + 1.0) / (math.exp(x) - 1.0) - 4.0


def independent_rj(nu_ghz):
    x = independent_x(nu_ghz)
    return x**2 * math.exp(x) / (math.exp(x) - 1.0) ** 2


# --- reference values of the audit (physics reference, 2026-12-01) ---------------------------------


def test_reference_values_150ghz():
    nu = 150 * u.GHz
    assert tsz_dimensionless_frequency(nu) == pytest.approx(2.64, rel=1e-3)
    assert tsz_spectral_function(nu) == pytest.approx(-0.953, rel=1e-3)
    assert delta_t_rj_per_cmb(nu) == pytest.approx(0.577, rel=1e-3)
    # y = -Delta T_CMB / 2.597 K = -Delta T_RJ / 1.499 K
    assert (-1.0 / delta_t_cmb_to_y(1 * u.K, nu)) == pytest.approx(2.597, rel=1e-3)
    assert (-1.0 / delta_t_rj_to_y(1 * u.K, nu)) == pytest.approx(1.499, rel=1e-3)
    assert y_to_delta_t_cmb(1.0, nu).to_value(u.K) == pytest.approx(-2.597, rel=1e-3)
    assert y_to_delta_t_rj(1.0, nu).to_value(u.K) == pytest.approx(-1.499, rel=1e-3)


def test_t_cmb_is_fixsen_2009():
    assert T_CMB.to_value(u.K) == 2.7255


def test_null_frequency():
    # x_0 = 3.830 (e.g. Carlstrom et al. 2002): 217.5 GHz for T_CMB = 2.7255 K
    assert TSZ_NULL_FREQUENCY.to_value(u.GHz) == pytest.approx(3.8300 * K_BOLTZMANN * 2.7255 / H_PLANCK / 1e9,
                                                               rel=1e-4)
    assert abs(independent_f(TSZ_NULL_FREQUENCY.to_value(u.GHz))) < 1e-10


# --- independent calculations ---------------------------------------------------------------------


@pytest.mark.parametrize("nu", FREQUENCIES)
def test_spectral_function_matches_exponential_form(nu):
    assert tsz_dimensionless_frequency(nu * u.GHz) == pytest.approx(independent_x(nu), rel=1e-12)
    assert tsz_spectral_function(nu * u.GHz) == pytest.approx(independent_f(nu), rel=1e-10, abs=1e-12)
    assert delta_t_rj_per_cmb(nu * u.GHz) == pytest.approx(independent_rj(nu), rel=1e-10)


@pytest.mark.parametrize("nu", FREQUENCIES)
def test_cmb_to_intensity_matches_astropy_equivalency(nu):
    freq = nu * u.GHz
    dt = y_to_delta_t_cmb(3e-5, freq)
    expected = dt.to(u.MJy / u.sr, equivalencies=u.thermodynamic_temperature(freq, T_cmb=2.7255 * u.K))
    assert y_to_delta_intensity(3e-5, freq).to_value(u.MJy / u.sr) == pytest.approx(expected.value, rel=1e-8)


@pytest.mark.parametrize("nu", FREQUENCIES)
def test_intensity_is_planck_derivative(nu):
    """Delta I = dB/dT Delta T_CMB, the derivative by central differences of astropy's BlackBody."""
    freq = nu * u.GHz
    bb = BlackBody(temperature=1 * u.K, scale=1 * u.MJy / u.sr)
    step = 1e-4
    db_dt = (bb.evaluate(freq, 2.7255 + step, 1.0) - bb.evaluate(freq, 2.7255 - step, 1.0)) / (2 * step)
    expected = db_dt * y_to_delta_t_cmb(1e-4, freq).to_value(u.K)
    assert y_to_delta_intensity(1e-4, freq).to_value(u.MJy / u.sr) == pytest.approx(float(expected), rel=1e-6)


@pytest.mark.parametrize("nu", FREQUENCIES)
def test_rj_temperature_matches_astropy_brightness_temperature(nu):
    """Delta T_RJ = c^2 Delta I / (2 k nu^2): astropy's Rayleigh-Jeans brightness temperature."""
    freq = nu * u.GHz
    expected = y_to_delta_intensity(2e-5, freq).to(u.K, equivalencies=u.brightness_temperature(freq))
    assert y_to_delta_t_rj(2e-5, freq).to_value(u.K) == pytest.approx(expected.value, rel=1e-8)


def test_rayleigh_jeans_limit():
    # x -> 0: the RJ/CMB ratio -> 1 and f -> -2 (Delta T_RJ = -2 y T_CMB)
    assert delta_t_rj_per_cmb(0.1 * u.GHz) == pytest.approx(1.0, abs=1e-5)
    assert tsz_spectral_function(0.1 * u.GHz) == pytest.approx(-2.0, abs=1e-5)


def test_signs_either_side_of_null():
    # a decrement below the null and an increment above it, both positive y
    assert delta_t_cmb_to_y(-100 * u.uK, 150 * u.GHz) > 0
    assert delta_t_cmb_to_y(100 * u.uK, 353 * u.GHz) > 0
    assert y_to_delta_t_cmb(1e-4, 270 * u.GHz) > 0 * u.K


# --- round trips ----------------------------------------------------------------------------------


@pytest.mark.parametrize("nu", [90.0, 150.0, 270.0, 353.0])
def test_round_trips(nu):
    freq = nu * u.GHz
    y = np.array([[1e-6, 3e-5], [-2e-5, 1.2e-4]])
    np.testing.assert_allclose(delta_t_cmb_to_y(y_to_delta_t_cmb(y, freq), freq), y, rtol=1e-12)
    np.testing.assert_allclose(delta_t_rj_to_y(y_to_delta_t_rj(y, freq), freq), y, rtol=1e-12)
    np.testing.assert_allclose(delta_intensity_to_y(y_to_delta_intensity(y, freq), freq), y, rtol=1e-12)
    np.testing.assert_allclose(y_from_map(y_to_delta_t_cmb(y, freq).to(u.uK), freq), y, rtol=1e-12)
    np.testing.assert_allclose(y_from_map(y_to_delta_t_rj(y, freq).to(u.mK), freq, kind="rj"), y, rtol=1e-12)


def test_y_from_map_units_and_nan_pixels():
    data = np.array([[-259.83, np.nan], [0.0, 100.0]]) * u.uK
    y_uk = y_from_map(data, 150 * u.GHz)
    np.testing.assert_allclose(y_from_map(data.to(u.K), 150 * u.GHz), y_uk, rtol=1e-12)
    assert y_uk[0, 0] == pytest.approx(1e-4, rel=1e-4)
    assert np.isnan(y_uk[0, 1]) and y_uk[1, 1] < 0
    assert isinstance(y_uk, np.ndarray) and y_uk.shape == (2, 2)


def test_dimensionless_quantity_y_accepted():
    assert y_to_delta_t_cmb(1e-4 * u.one, 150 * u.GHz) == y_to_delta_t_cmb(1e-4, 150 * u.GHz)


# --- errors ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("nu", [217.0, 217.5, 218.0])
def test_null_raises_naming_frequency(nu):
    for call in (lambda: delta_t_cmb_to_y(-1 * u.uK, nu * u.GHz),
                 lambda: delta_t_rj_to_y(-1 * u.uK, nu * u.GHz),
                 lambda: delta_intensity_to_y(1 * u.MJy / u.sr, nu * u.GHz),
                 lambda: y_from_map(np.zeros((2, 2)) * u.uK, nu * u.GHz)):
        with pytest.raises(ValueError, match="frequency.*null"):
            call()


def test_forward_conversion_at_null_is_defined():
    assert abs(y_to_delta_t_cmb(1e-4, TSZ_NULL_FREQUENCY).to_value(u.uK)) < 1e-6


@pytest.mark.parametrize("bad", [150.0, 2 * u.mm, 150 * u.K])
def test_frequency_units_errors(bad):
    with pytest.raises(u.UnitsError, match="frequency"):
        tsz_spectral_function(bad)
    with pytest.raises(u.UnitsError, match="frequency"):
        y_from_map(np.zeros(3) * u.uK, bad)


@pytest.mark.parametrize("bad", [np.nan * u.GHz, -150 * u.GHz, 0 * u.GHz, np.inf * u.GHz])
def test_frequency_value_errors(bad):
    with pytest.raises(ValueError, match="frequency"):
        delta_t_cmb_to_y(1 * u.uK, bad)


def test_y_from_map_errors():
    with pytest.raises(u.UnitsError, match="data"):
        y_from_map(np.zeros((3, 3)), 150 * u.GHz)
    with pytest.raises(u.UnitsError, match="data.*delta_intensity_to_y"):
        y_from_map(np.zeros((3, 3)) * u.MJy / u.sr, 150 * u.GHz)
    with pytest.raises(ValueError, match="kind"):
        y_from_map(np.zeros((3, 3)) * u.uK, 150 * u.GHz, kind="thermodynamic")
    with pytest.raises(ValueError, match="frequency.*scalar"):
        y_from_map(np.zeros((3, 3)) * u.uK, [90, 150] * u.GHz)
    with pytest.raises(ValueError, match="delta_t"):
        y_from_map(np.array([np.inf]) * u.uK, 150 * u.GHz)


def test_other_input_errors():
    with pytest.raises(u.UnitsError, match="delta_t"):
        delta_t_cmb_to_y(1e-4, 150 * u.GHz)
    with pytest.raises(u.UnitsError, match="delta_i"):
        delta_intensity_to_y(1 * u.uK, 150 * u.GHz)
    with pytest.raises(u.UnitsError, match="y must be dimensionless"):
        y_to_delta_t_cmb(1 * u.uK, 150 * u.GHz)
    with pytest.raises(ValueError, match="y must not"):
        y_to_delta_t_rj(np.inf, 150 * u.GHz)
    with pytest.raises(TypeError, match="y must be"):
        y_to_delta_intensity("a lot", 150 * u.GHz)


# --- the real ACT map of MACS J0025.4-1222 ---------------------------------------------------------


def act_map(band):
    path = SZ_DIR / f"act_{band}_data.npy"
    if not path.exists():
        pytest.skip(f"real test data not available: {path}")
    return np.load(path)


def central_mean(image, pixel_arcmin, radius_arcmin):
    yy, xx = np.indices(image.shape)
    c = (np.array(image.shape) - 1) / 2.0
    r = np.hypot(yy - c[0], xx - c[1]) * pixel_arcmin
    return image[r < radius_arcmin].mean()


def test_act_macsj0025_central_y():
    """ACT DR5 150 GHz cut-out: uK_CMB on 30" pixels (clustergnfwfit extract_maps, res = 30 arcsec)."""
    data = act_map(150)
    assert data.shape == (40, 40)
    y = y_from_map(data * u.uK, 150 * u.GHz)
    # mean within 1.5' (about the 1.4' beam), minus the mean level beyond 6' (the map is not zero-mean)
    y_centre = central_mean(y, 0.5, 1.5)
    y_outer = y[np.hypot(*(np.indices(y.shape) - 19.5)) * 0.5 > 6.0].mean()
    assert 1e-5 < y_centre < 1e-4
    assert 1e-5 < y_centre - y_outer < 1e-4
    # the same cluster at 90 GHz, where the decrement per y is 1.64 times deeper, gives a similar y
    y90 = y_from_map(act_map(90) * u.uK, 90 * u.GHz)
    assert 0.5 < central_mean(y90, 0.5, 1.5) / y_centre < 2.0
