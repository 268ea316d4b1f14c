"""Bremsstrahlung spectrum, band K-correction and cooling function against independent quadrature."""

import astropy.units as u
import numpy as np
import pytest
from scipy.integrate import quad
from scipy.special import kv

from massrecon.observations import band_conversion_factor
from massrecon.physics import (
    GAUNT_BORN_AVERAGE,
    HELIUM_TO_HYDROGEN,
    band_energy_fraction,
    band_kcorrection,
    energy_spectrum,
    free_free_cooling_function,
    gaunt_factor,
    photon_spectrum,
)
from massrecon.simulate.emission import bremsstrahlung_band_fraction


def born_spectrum(e, kt):
    """g_ff e^{-E/kT} written out with K_0 itself (Rybicki & Lightman eq. 5.14a/5.15)."""
    x = e / (2 * kt)
    # e^{x} K_0(x) e^{-2x} = K_0(x) e^{-x}
    return np.sqrt(3) / np.pi * kv(0, x) * np.exp(-x)


def band_energy(e1, e2, kt):
    return quad(born_spectrum, e1, e2, args=(kt,), epsabs=0, epsrel=1e-11)[0]


# Issue 16 audit: K from observed 0.5-2 keV to rest 0.5-2 keV.
AUDIT_K = [(0.33, 3.0, 0.938), (0.33, 5.0, 0.888), (0.8, 5.0, 0.808)]


@pytest.mark.parametrize(("z", "kt", "reference"), AUDIT_K)
def test_kcorrection_audit_values(z, kt, reference):
    independent = band_energy(0.5, 2.0, kt) / band_energy(0.5 * (1 + z), 2.0 * (1 + z), kt)
    k = band_kcorrection(z, kt * u.keV)
    assert k == pytest.approx(independent, rel=1e-8)
    assert k == pytest.approx(reference, rel=0.01)


@pytest.mark.parametrize(("z", "kt"), [(0.0, 1.0), (0.5, 0.3), (1.2, 12.0), (0.1, 50.0)])
def test_kcorrection_other_bands(z, kt):
    band, rest = [0.6, 2.3] * u.keV, [0.1, 2.4] * u.keV
    independent = band_energy(0.1, 2.4, kt) / band_energy(0.6 * (1 + z), 2.3 * (1 + z), kt)
    assert band_kcorrection(z, kt * u.keV, band, rest) == pytest.approx(independent, rel=1e-8)


def test_observations_and_simulator_share_the_spectrum():
    for z, kt in [(0.0, 5.0), (0.33, 3.0), (0.8, 8.0)]:
        for e1, e2 in [(0.5, 2.0), (0.6, 2.2)]:
            for gaunt in ("born", "constant"):
                obs = band_conversion_factor(e1 * u.keV, e2 * u.keV, z, kt * u.keV, gaunt=gaunt)
                new = band_kcorrection(z, kt * u.keV, [e1, e2] * u.keV, gaunt=gaunt)
                assert new == pytest.approx(obs, rel=1e-12)
        # the simulator's rest-frame band fraction: a spline of band_energy_fraction
        sim = bremsstrahlung_band_fraction(kt, 0.5, 2.0)
        assert band_energy_fraction([0.5, 2] * u.keV, kt * u.keV) == pytest.approx(sim, rel=1e-8)
        # the constant-Gaunt option is the pure exponential of massrecon before issue 16
        constant = np.exp(-0.5 / kt) - np.exp(-2.0 / kt)
        assert band_energy_fraction([0.5, 2] * u.keV, kt * u.keV, gaunt="constant") == pytest.approx(constant)


def test_kcorrection_broadcasts_and_kelvin():
    z = np.array([0.1, 0.33, 0.8])
    k = band_kcorrection(z, 5 * u.keV)
    assert k.shape == (3,)
    assert k[1] == pytest.approx(band_kcorrection(0.33, 5 * u.keV))
    kelvin = (5 * u.keV).to(u.K, equivalencies=u.temperature_energy())
    assert band_kcorrection(0.33, kelvin) == pytest.approx(k[1], rel=1e-12)
    assert band_kcorrection(0.0, 5 * u.keV) == pytest.approx(1.0)


def test_kcorrection_cold_gas_no_underflow():
    k = band_kcorrection(0.5, 0.02 * u.keV)
    expected = np.exp((0.75 - 0.5) / 0.02) * band_energy(0.5, 2, 0.02) * np.exp(0.5 / 0.02) / (
        band_energy(0.75, 3.0, 0.02) * np.exp(0.75 / 0.02))
    assert np.isfinite(k) and k == pytest.approx(expected, rel=1e-6)


def test_band_fraction_and_normalisation():
    kt = 5.0
    independent = band_energy(0.5, 2.0, kt) / (GAUNT_BORN_AVERAGE * kt)
    assert band_energy_fraction([0.5, 2] * u.keV, kt * u.keV) == pytest.approx(independent, rel=1e-8)
    # the spectrum-averaged Gaunt factor 2 sqrt(3)/pi makes the fractions sum to one
    total = quad(born_spectrum, 0, np.inf, args=(kt,), epsrel=1e-10, limit=200)[0]
    assert total / kt == pytest.approx(GAUNT_BORN_AVERAGE, rel=1e-6)
    z = 0.4
    shifted = band_energy(0.5 * (1 + z), 2 * (1 + z), kt) / (GAUNT_BORN_AVERAGE * kt)
    assert band_energy_fraction([0.5, 2] * u.keV, kt * u.keV, z=z) == pytest.approx(shifted, rel=1e-8)


def test_spectra_and_gaunt():
    e, kt = np.array([0.3, 1.0, 7.0]), 4.0
    assert np.allclose(gaunt_factor(e * u.keV, kt * u.keV),
                       np.sqrt(3) / np.pi * np.exp(e / (2 * kt)) * kv(0, e / (2 * kt)))
    assert np.allclose(energy_spectrum(e * u.keV, kt * u.keV), born_spectrum(e, kt))
    # redshift: the observed shape at E is the rest-frame shape at E (1+z)
    assert np.allclose(energy_spectrum(e * u.keV, kt * u.keV, z=0.5), born_spectrum(1.5 * e, kt))
    ph = photon_spectrum(e * u.keV, kt * u.keV)
    assert ph.unit == u.keV**-1
    assert np.allclose(ph.value, born_spectrum(e, kt) / e)


def test_cooling_function_prefactor_and_band():
    kt = np.array([1.0, 5.0, 8.0])
    t_kelvin = (kt * u.keV).to_value(u.K, equivalencies=u.temperature_energy())
    h_kev_s = 4.135667696e-18
    ions = 1 + 4 * HELIUM_TO_HYDROGEN
    bolometric = free_free_cooling_function(kt * u.keV)
    assert bolometric.unit == u.erg * u.cm**3 / u.s
    # Rybicki & Lightman eq. 5.14a prefactor 6.8e-38 erg s-1 cm3 Hz-1 K^1/2
    prefactor = bolometric.value / (t_kelvin**-0.5 * ions * GAUNT_BORN_AVERAGE * kt / h_kev_s)
    assert np.allclose(prefactor, 6.8e-38, rtol=0.005)
    band = free_free_cooling_function(kt * u.keV, [0.5, 2] * u.keV).value
    independent = [6.8e-38 * t**-0.5 * ions * band_energy(0.5, 2.0, k) / h_kev_s for k, t in zip(kt, t_kelvin)]
    assert np.allclose(band, independent, rtol=0.005)
    # the reference sheet's bolometric free-free value at 5 keV uses g_B ~ 1.2 (1.72e-23)
    assert bolometric[1].value == pytest.approx(1.72e-23 * GAUNT_BORN_AVERAGE / 1.2, rel=0.02)


@pytest.mark.parametrize(("call", "match"), [
    (lambda: band_kcorrection(0.3, 5.0), "kT must be a Quantity"),
    (lambda: band_kcorrection(0.3, 5 * u.m), "kT must have energy"),
    (lambda: band_kcorrection(0.3, 5 * u.keV, [2, 0.5] * u.keV), "band must be two energies"),
    (lambda: band_kcorrection(0.3, 5 * u.keV, rest_band=[1, 2, 3] * u.keV), "rest_band"),
    (lambda: band_kcorrection(-0.1, 5 * u.keV), "z must be finite and >= 0"),
    (lambda: band_kcorrection(0.3, 5 * u.keV, gaunt="exact"), "gaunt must be one of"),
    (lambda: band_kcorrection(0.3 * u.km, 5 * u.keV), "z must be dimensionless"),
    (lambda: free_free_cooling_function(5 * u.keV, helium_to_hydrogen=-1), "helium_to_hydrogen"),
    (lambda: gaunt_factor(1.0, 5 * u.keV), "energy must be a Quantity"),
])
def test_input_errors(call, match):
    with pytest.raises((ValueError, u.UnitsError), match=match):
        call()
