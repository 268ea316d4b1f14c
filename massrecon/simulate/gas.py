"""The intracluster gas: pressure, density, gas fraction, non-thermal pressure and clumping.

Model (each piece cited where it is defined):

* electron pressure: the generalised NFW "universal" profile of Arnaud et al. 2010 (A&A 517,
  A92; eq. 11-13 with the mass dependence of eq. 7-9), with the parameter sets of its cool-core
  and morphologically disturbed subsamples (Appendix C) for the two populations;
* gas density: the Vikhlinin et al. 2006 (ApJ 640, 691, eq. 3) form, cuspy for cool cores,
  cored otherwise, normalised so that the gas mass within R500 is ``f_gas,500 M500``;
* gas fraction: ``f_gas,500 = f0 (M500 / 5e14 Msun)^slope`` rising with mass (Lovisari et al.
  2015, A&A 573, A118: a factor ~2 between groups and clusters; Chiu et al. 2018 M_ICM ~
  M500^1.29 gives slope ~0.29);
* temperature: :math:`kT = P_e / n_e`, so pressure, density and temperature are consistent;
* non-thermal pressure fraction of Nelson, Lau & Nagai 2014 (ApJ 792, 25, eq. 7), used for the
  hydrostatic mass of the mock clusters;
* clumping :math:`C = \\langle n^2 \\rangle / \\langle n \\rangle^2`, unity in the core and
  rising to ~1.5-2 at R200 (Nagai & Lau 2011, ApJ 731, L10; Eckert et al. 2015, MNRAS 447, 2198),
  boosting the X-ray emission only.
"""

import astropy.units as u
import numpy as np

# the profile shapes live with the physics shared with the reconstruction's templates
from ..physics.profiles import DENSITY_PARAMETERS, PRESSURE_PARAMETERS, gnfw_shape, vikhlinin_shape

__all__ = [
    "PRESSURE_PARAMETERS",
    "DENSITY_PARAMETERS",
    "p500",
    "gnfw_shape",
    "electron_pressure",
    "vikhlinin_shape",
    "gas_fraction_500",
    "nonthermal_fraction",
    "clumping_factor",
]

def _h70(cosmology):
    return cosmology.H0.to_value(u.km / u.s / u.Mpc) / 70.0


def p500(m500_msun, z, cosmology):
    """Characteristic electron pressure :math:`P_{500}` in keV cm^-3.

    Arnaud et al. 2010, eq. 5: :math:`P_{500} = 1.65\\times10^{-3} E(z)^{8/3}
    [M_{500} / (3\\times10^{14} h_{70}^{-1} M_\\odot)]^{2/3} h_{70}^2` keV cm^-3.

    Examples
    --------
    >>> from astropy.cosmology import FlatLambdaCDM
    >>> from massrecon.simulate.gas import p500
    >>> cosmo = FlatLambdaCDM(H0=70, Om0=0.3)
    >>> round(float(p500(3e14, 1e-9, cosmo)), 6)
    0.00165
    """
    h70 = _h70(cosmology)
    ez = cosmology.efunc(z)
    return 1.65e-3 * ez ** (8.0 / 3.0) * (m500_msun / (3e14 / h70)) ** (2.0 / 3.0) * h70**2


def electron_pressure(r_kpc, m500_msun, r500_kpc, z, cosmology, params="arnaud10",
                      mass_dependence=True):
    """Electron pressure in keV cm^-3 (Arnaud et al. 2010, eq. 13).

    :math:`P(r) = P_{500}\\, p(x)\\, [M_{500}/3\\times10^{14} h_{70}^{-1}]^{\\alpha_P + \\alpha'_P(x)}`
    with :math:`\\alpha_P = 0.12` and :math:`\\alpha'_P(x) = 0.10 - (\\alpha_P + 0.10)
    (x/0.5)^3 / [1 + (x/0.5)^3]` (eq. 7-9); ``P0`` carries :math:`h_{70}^{-3/2}`.
    """
    if isinstance(params, str):
        params = PRESSURE_PARAMETERS[params]
    h70 = _h70(cosmology)
    x = np.asarray(r_kpc, dtype=float) / r500_kpc
    p = gnfw_shape(x, params) * h70**-1.5
    pr = p500(m500_msun, z, cosmology) * p
    if mass_dependence:
        ap = 0.12
        y3 = (x / 0.5) ** 3
        app = 0.10 - (ap + 0.10) * y3 / (1.0 + y3)
        pr = pr * (m500_msun / (3e14 / h70)) ** (ap + app)
    return pr


def gas_fraction_500(m500_msun, f0=0.125, slope=0.2, fmax=0.155, slope_high=0.08):
    """Gas fraction within R500: ``f0 (M500 / 5e14 Msun)^slope``, flattening above 5e14 Msun.

    Normalisation and slopes follow the compilation of Lovisari et al. 2015 (A&A 573, A118,
    Fig. 9: ~0.12-0.15 above 5e14 Msun, ~0.05-0.08 at 3e13 Msun); above 5e14 Msun the slope is
    ``slope_high`` and the fraction stays below ``fmax``, under the cosmic baryon fraction.

    Examples
    --------
    >>> from massrecon.simulate.gas import gas_fraction_500
    >>> round(float(gas_fraction_500(5e14)), 3), round(float(gas_fraction_500(3e13)), 3)
    (0.125, 0.071)
    """
    x = np.asarray(m500_msun, dtype=float) / 5e14
    return np.minimum(f0 * x ** np.where(x < 1, slope, slope_high), fmax)


def nonthermal_fraction(r_over_r200m, a=0.452, b=0.841, gamma=1.628):
    """Non-thermal pressure fraction :math:`P_{nt} / P_{tot}` (Nelson, Lau & Nagai 2014, eq. 7).

    :math:`1 - A\\{1 + \\exp[-(r / (B r_{200m}))^\\gamma]\\}` with A = 0.452, B = 0.841,
    gamma = 1.628 (their best fit).

    Examples
    --------
    >>> from massrecon.simulate.gas import nonthermal_fraction
    >>> round(float(nonthermal_fraction(0.5)), 3)
    0.254
    """
    x = np.asarray(r_over_r200m, dtype=float)
    return 1.0 - a * (1.0 + np.exp(-((x / b) ** gamma)))


def clumping_factor(r_over_r200, c200=1.6, r_start=0.5):
    """Gas clumping factor :math:`C(r) = \\langle n^2\\rangle / \\langle n\\rangle^2`.

    Unity inside ``r_start`` R200, rising as a power law to ``c200`` at R200 and beyond
    (Nagai & Lau 2011, Fig. 2; Eckert et al. 2015 measure :math:`\\sqrt{C} \\approx 1.25` at R200).
    """
    x = np.asarray(r_over_r200, dtype=float)
    t = np.clip((x - r_start) / (1.0 - r_start), 0.0, None)
    return 1.0 + (c200 - 1.0) * np.minimum(t, 1.5) ** 2
