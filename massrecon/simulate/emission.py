"""Emission of the intracluster medium: thermal SZ and X-ray.

Compton-y (Sunyaev & Zeldovich 1972; e.g. Carlstrom, Holder & Reese 2002, ARA&A 40, 643, eq. 4):

.. math:: y = \\frac{\\sigma_T}{m_e c^2} \\int P_e \\, dl .

X-ray: the emissivity of a collisionally ionised plasma is :math:`\\epsilon = n_e n_H
\\Lambda(T, Z)`.  massrecon's maps carry the rest-frame *surface emissivity*, the luminosity per
unit projected physical area :math:`\\int n_e n_H \\Lambda \\, dl` in erg s^-1 kpc^-2: it does not
depend on the redshift, and an observed surface brightness converts to it through
:math:`4\\pi (1+z)^4 S_X` (cosmological dimming, e.g. Peebles 1993) and a band correction.

Cooling functions (no atomic database is available offline, so analytic fits are used):

* bolometric: Tozzi & Norman 2001 (ApJ 546, 63), eq. 13, a fit to Sutherland & Dopita (1993)
  for Z = 0.3 Zsun, :math:`\\Lambda = [C_1 (kT)^{-1.7} + C_2 (kT)^{0.5} + C_3]\\, 10^{-22}`
  erg cm^3 s^-1 with C1 = 8.6e-3, C2 = 5.8e-2, C3 = 6.3e-2 and kT in keV.  (The reference sheet
  quotes the prefactor as 1e-23; 1e-22 is right: it reproduces the Rybicki & Lightman free-free
  value, 1.5e-23 erg cm^3 s^-1 at 5 keV, tested in ``simulate/tests/test_population.py``.)
* 0.5-2 keV rest-frame band: the continuum terms (C2, C3) are multiplied by the fraction of a
  bremsstrahlung spectrum's energy that falls in the band, with the Born Gaunt factor
  (Rybicki & Lightman 1979, eqs. 5.14a and 5.15): `massrecon.physics.band_energy_fraction`, the
  spectrum whose band ratio `massrecon.observations.band_conversion_factor` uses to convert an
  observed band to this one, so that simulated and observed maps are the same quantity.  The
  line term (C1, dominated by the Fe-L complex near 1 keV) is taken to fall entirely in the band.
  This gives 4-6e-24 erg cm^3 s^-1 between 1 and 10 keV, nearly independent of T above 2 keV,
  as APEC does for Z = 0.3.
"""

from functools import lru_cache

import astropy.constants as const
import astropy.units as u
import numpy as np
from scipy.interpolate import CubicSpline

from ..physics import band_energy_fraction

__all__ = [
    "SIGMA_T_OVER_MEC2",
    "NE_OVER_NH",
    "MU_E",
    "MU",
    "cooling_function_bolometric",
    "cooling_function_soft",
    "bremsstrahlung_band_fraction",
    "compton_y_per_pressure_length",
]

#: :math:`\sigma_T / (m_e c^2)` in cm^2 / keV (1.3019e-27).
SIGMA_T_OVER_MEC2 = (const.sigma_T / (const.m_e * const.c**2)).to_value(u.cm**2 / u.keV)

#: Electron to hydrogen number ratio of a fully ionised plasma with primordial helium and
#: Z = 0.3 Zsun (e.g. Sarazin 1988).
NE_OVER_NH = 1.17

#: Mean molecular weight per electron, :math:`\rho_{gas} = \mu_e m_p n_e`.
MU_E = 1.14

#: Mean molecular weight, :math:`\rho_{gas} = \mu m_p n`.
MU = 0.59

_TN01 = (8.6e-3, 5.8e-2, 6.3e-2)
_KPC_CM = (1 * u.kpc).to_value(u.cm)

#: Rest-frame soft band of the X-ray maps (keV).
SOFT_BAND_KEV = (0.5, 2.0)


def compton_y_per_pressure_length():
    """Factor converting :math:`\\int P_e\\, dl` in keV cm^-3 kpc to Compton-y."""
    return SIGMA_T_OVER_MEC2 * _KPC_CM


# Particle sets need the band fraction at millions of temperatures: a cubic spline of
# ln(fraction) in ln(kT) through band_energy_fraction on this grid reproduces it to ~1e-9.
_TABLE_KT_KEV = (0.01, 100.0)
_TABLE_NODES = 1201


@lru_cache(maxsize=8)
def _band_fraction_spline(e1_kev, e2_kev):
    ln_kt = np.linspace(*np.log(_TABLE_KT_KEV), _TABLE_NODES)
    frac = band_energy_fraction([e1_kev, e2_kev] * u.keV, np.exp(ln_kt) * u.keV)
    if not np.all(frac > 0):  # underflow for a band far above the coolest temperatures
        return None
    return CubicSpline(ln_kt, np.log(frac))


def bremsstrahlung_band_fraction(kt_kev, e1_kev, e2_kev):
    """Fraction of a bremsstrahlung spectrum's energy between ``e1`` and ``e2`` (rest frame, keV).

    `massrecon.physics.band_energy_fraction` with the Born Gaunt factor (Rybicki & Lightman 1979,
    eqs. 5.14a and 5.15), interpolated for kT of 0.01-100 keV (relative error ~1e-9) and computed
    directly outside.

    Examples
    --------
    >>> from massrecon.simulate.emission import bremsstrahlung_band_fraction
    >>> round(float(bremsstrahlung_band_fraction(5.0, 0.5, 2.0)), 3)
    0.304
    """
    kt = np.asarray(kt_kev, dtype=float)
    spline = _band_fraction_spline(float(e1_kev), float(e2_kev))
    lo, hi = _TABLE_KT_KEV
    inside = (kt >= lo) & (kt <= hi)
    if spline is None or not np.all(inside):
        out = np.asarray(band_energy_fraction([e1_kev, e2_kev] * u.keV, kt * u.keV), dtype=float)
        if spline is not None and np.any(inside):
            out = np.where(inside, np.exp(spline(np.log(np.where(inside, kt, lo)))), out)
        return out
    return np.exp(spline(np.log(kt)))


def cooling_function_bolometric(kt_kev):
    """Bolometric cooling function :math:`\\Lambda(T)` (erg cm^3 s^-1), Tozzi & Norman 2001 eq. 13.

    Examples
    --------
    >>> from massrecon.simulate.emission import cooling_function_bolometric
    >>> f"{float(cooling_function_bolometric(5.0)):.3g}"
    '1.93e-23'
    """
    kt = np.asarray(kt_kev, dtype=float)
    c1, c2, c3 = _TN01
    return (c1 * kt**-1.7 + c2 * np.sqrt(kt) + c3) * 1e-22


def cooling_function_soft(kt_kev, band=SOFT_BAND_KEV):
    """Cooling function in a rest-frame band (default 0.5-2 keV), erg cm^3 s^-1.

    Continuum terms of Tozzi & Norman 2001 (eq. 13) times the Born-Gaunt bremsstrahlung band
    fraction `bremsstrahlung_band_fraction` (`massrecon.physics.band_energy_fraction`); the line
    term (Fe-L, ~1 keV) is put entirely in the band.  Only meaningful for bands that contain 1 keV.

    Examples
    --------
    >>> from massrecon.simulate.emission import cooling_function_soft
    >>> f"{float(cooling_function_soft(5.0)):.2g}"
    '5.9e-24'
    """
    kt = np.asarray(kt_kev, dtype=float)
    c1, c2, c3 = _TN01
    frac = bremsstrahlung_band_fraction(kt, *band)
    return ((c2 * np.sqrt(kt) + c3) * frac + c1 * kt**-1.7) * 1e-22
