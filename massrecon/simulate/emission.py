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
  value, 1.5e-23 erg cm^3 s^-1 at 5 keV, tested in ``test_emission.py``.)
* 0.5-2 keV rest-frame band: the continuum terms (C2, C3) are multiplied by the band fraction of a
  bremsstrahlung spectrum, :math:`e^{-E_1/kT} - e^{-E_2/kT}` (Rybicki & Lightman 1979, eq.
  5.14b with a constant Gaunt factor), while the line term (C1, dominated by the Fe-L complex near
  1 keV) is taken to fall entirely in the band.  This gives 3-7e-24 erg cm^3 s^-1 between 1 and
  10 keV, nearly independent of T above 2 keV, as APEC does for Z = 0.3.
"""

import astropy.constants as const
import astropy.units as u
import numpy as np

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


def bremsstrahlung_band_fraction(kt_kev, e1_kev, e2_kev):
    """Fraction of a bremsstrahlung spectrum's energy between ``e1`` and ``e2``.

    With a constant Gaunt factor, :math:`\\epsilon_E \\propto e^{-E/kT}`, so the fraction is
    :math:`e^{-E_1/kT} - e^{-E_2/kT}` (Rybicki & Lightman 1979, eq. 5.14b).

    Examples
    --------
    >>> from massrecon.simulate.emission import bremsstrahlung_band_fraction
    >>> round(float(bremsstrahlung_band_fraction(5.0, 0.5, 2.0)), 3)
    0.235
    """
    kt = np.asarray(kt_kev, dtype=float)
    return np.exp(-e1_kev / kt) - np.exp(-e2_kev / kt)


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

    Continuum terms of Tozzi & Norman 2001 (eq. 13) times the bremsstrahlung band fraction; the
    line term (Fe-L, ~1 keV) is put entirely in the band.  Only meaningful for bands that
    contain 1 keV.

    Examples
    --------
    >>> from massrecon.simulate.emission import cooling_function_soft
    >>> f"{float(cooling_function_soft(5.0)):.2g}"
    '4.6e-24'
    """
    kt = np.asarray(kt_kev, dtype=float)
    c1, c2, c3 = _TN01
    frac = bremsstrahlung_band_fraction(kt, *band)
    return ((c2 * np.sqrt(kt) + c3) * frac + c1 * kt**-1.7) * 1e-22
