"""Stars: brightest cluster galaxy, intracluster light and satellite galaxies.

* Satellites: the stellar-to-halo mass relation of Moster, Naab & White 2013 (MNRAS 428, 3121,
  eq. 2 with the redshift evolution of eq. 11-14), evaluated on the subhalo's mass at infall,
  with 0.15 dex log-normal scatter (their Sect. 4).
* BCG: abundance matching underestimates BCGs (Kravtsov, Vikhlinin & Meshcheryakov 2018, Astron.
  Lett. 44, 8), so BCGs follow their own relation: :math:`M_{*,BCG} \\propto M_{500}^{0.4}` with
  0.2 dex scatter (Kravtsov+18), normalised to :math:`M_{*,BCG}/M_{500} = 0.12\\%` at
  :math:`6\\times10^{14} M_\\odot` (Chiu et al. 2016, MNRAS 455, 258).  Profile: Hernquist
  (1990, ApJ 356, 359) with half-mass radius 0.015 R200 (Kravtsov 2013, ApJ 764, L31).
* Intracluster light: 20-40% of the total stellar mass (Budzynski et al. 2014, MNRAS 437, 1362),
  a Hernquist profile ten times more extended than the BCG (half-mass radius ~0.15 R200), an
  engineering choice matching the ICL surface-brightness slopes of Zibetti et al. 2005.
"""

import numpy as np

__all__ = ["moster13_stellar_mass", "bcg_stellar_mass", "hernquist_projected_mass"]

# Moster+13 Table 1 (z = 0 values and redshift slopes).
_MOSTER = dict(m10=11.590, m11=1.195, n10=0.0351, n11=-0.0247, b10=1.376, b11=-0.826,
               g10=0.608, g11=0.329)


def moster13_stellar_mass(m_halo_msun, z):
    """Median stellar mass (Msun) of a galaxy in a halo of mass ``m_halo`` (Moster+13, eq. 2).

    Examples
    --------
    >>> from massrecon.simulate.stars import moster13_stellar_mass
    >>> f"{moster13_stellar_mass(1e12, 0.0):.2e}"
    '3.43e+10'
    """
    p = _MOSTER
    a = z / (1.0 + z)
    m1 = 10 ** (p["m10"] + p["m11"] * a)
    n = p["n10"] + p["n11"] * a
    b = p["b10"] + p["b11"] * a
    g = p["g10"] + p["g11"] * a
    m = np.asarray(m_halo_msun, dtype=float)
    return m * 2 * n / ((m / m1) ** (-b) + (m / m1) ** g)


def bcg_stellar_mass(m500_msun, norm=1.2e-3, slope=0.4):
    """Median BCG stellar mass (Msun): ``norm * 6e14 (M500 / 6e14)^slope`` (Chiu+16, Kravtsov+18).

    Examples
    --------
    >>> from massrecon.simulate.stars import bcg_stellar_mass
    >>> f"{bcg_stellar_mass(6e14):.2e}"
    '7.20e+11'
    """
    return norm * 6e14 * (np.asarray(m500_msun, dtype=float) / 6e14) ** slope


def hernquist_projected_mass(rp, mass, a):
    """Mass inside projected radius ``rp`` of a Hernquist sphere (Hernquist 1990, eq. 37-38)."""
    s = np.maximum(np.asarray(rp, dtype=float) / a, 1e-12)
    out = np.empty_like(s)
    lo = s < 1
    hi = s > 1
    xlo = np.arccosh(1 / s[lo]) / np.sqrt(1 - s[lo] ** 2)
    xhi = np.arccos(1 / s[hi]) / np.sqrt(s[hi] ** 2 - 1)
    out[lo] = s[lo] ** 2 * (xlo - 1) / (1 - s[lo] ** 2)
    out[hi] = s[hi] ** 2 * (1 - xhi) / (s[hi] ** 2 - 1)
    out[~(lo | hi)] = 1.0 / 3.0
    return mass * out
