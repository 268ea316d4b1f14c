r"""The Schechter stellar-mass function of cluster satellites and catalogue-depth corrections.

The number of satellite galaxies per unit stellar mass is the Schechter (1976, ApJ 203, 297,
eq. 2, written for mass instead of luminosity) function

.. math::

    \Phi(M)\,dM = \phi^* \left(\frac{M}{M^*}\right)^{\alpha} e^{-M/M^*} \frac{dM}{M^*},

so that the number and the stellar mass of the satellites above a limit :math:`M_{lim}` are
upper incomplete gamma functions of :math:`x = M_{lim}/M^*`,

.. math::

    N(>M_{lim}) = \phi^* \, \Gamma(\alpha + 1, x), \qquad
    \rho(>M_{lim}) = \phi^* M^* \, \Gamma(\alpha + 2, x).

For :math:`\alpha + 1 \le 0` (every cluster SMF) :math:`\Gamma(\alpha+1, x)` follows from the
recurrence :math:`\Gamma(s, x) = [\Gamma(s+1, x) - x^s e^{-x}]/s` (Abramowitz & Stegun 1972,
eq. 6.5.22), or :math:`\Gamma(0, x) = E_1(x)` (eq. 6.5.15).

The default parameters, :math:`\log_{10}(M^*/M_\odot) = 10.9` and :math:`\alpha = -1.2`
(`CLUSTER_SMF_LOG_MSTAR`, `CLUSTER_SMF_ALPHA`; Chabrier IMF), are representative of the total
(quiescent + star-forming) satellite stellar-mass functions of massive clusters, e.g. van der
Burg et al. (2018, A&A 618, A140), whose cluster SMFs at :math:`0.5 < z < 0.7` have
:math:`\log M^* \approx 10.7-11` and a low-mass slope near -1; they are rounded values, not one
of their table entries, and the same SMF sets `~massrecon.contract.MEMBER_DEFAULT_MASS`.  Their
assumed uncertainties, `CLUSTER_SMF_LOG_MSTAR_ERROR` (0.15 dex) and `CLUSTER_SMF_ALPHA_ERROR`
(0.2), span the cluster-to-cluster and quiescent/star-forming differences of such fits.  Central
galaxies (BCGs) lie far above the exponential cut-off and are not described by it: Yang, Mo & van
den Bosch (2009, ApJ 695, 900) model the conditional SMF of centrals (a log-normal) apart from that
of satellites.
"""

import astropy.units as u
import numpy as np
from scipy.special import exp1, gamma, gammaincc

__all__ = [
    "CLUSTER_SMF_ALPHA",
    "CLUSTER_SMF_ALPHA_ERROR",
    "CLUSTER_SMF_LOG_MSTAR",
    "CLUSTER_SMF_LOG_MSTAR_ERROR",
    "schechter_depth_factor",
    "schechter_mass_above",
    "schechter_number_above",
]

#: log10 of the characteristic stellar mass (Msun, Chabrier IMF) of the cluster satellite SMF.
CLUSTER_SMF_LOG_MSTAR = 10.9
#: Low-mass slope of the cluster satellite SMF.
CLUSTER_SMF_ALPHA = -1.2
#: Assumed uncertainty (dex) of `CLUSTER_SMF_LOG_MSTAR`.
CLUSTER_SMF_LOG_MSTAR_ERROR = 0.15
#: Assumed uncertainty of `CLUSTER_SMF_ALPHA`.
CLUSTER_SMF_ALPHA_ERROR = 0.2


def _upper_gamma(s, x):
    """Upper incomplete gamma function Gamma(s, x) for s > -1 and x > 0 (A&S 6.5.22, 6.5.15)."""
    if s > 0:
        return gamma(s) * gammaincc(s, x)
    if s == 0:
        return exp1(x)
    return (_upper_gamma(s + 1.0, x) - x**s * np.exp(-x)) / s


def _check(limit, log_mstar, alpha):
    """``limit / M*`` after checking the limit (Msun; a Quantity in mass units) and the slope."""
    if isinstance(limit, u.Quantity):
        if not limit.unit.is_equivalent(u.Msun):
            raise u.UnitsError(f"the stellar-mass limit must have mass units, got unit '{limit.unit}'")
        limit = limit.to_value(u.Msun)
    m = float(limit)
    if not np.isfinite(m) or m <= 0:
        raise ValueError(f"the stellar-mass limit must be finite and > 0 (Msun), got {limit}")
    if not -2.0 < float(alpha) < 5.0:
        raise ValueError(f"alpha must lie in (-2, 5) for these closed forms, got {alpha}")
    return m / 10.0 ** float(log_mstar)


def schechter_number_above(limit, log_mstar=CLUSTER_SMF_LOG_MSTAR, alpha=CLUSTER_SMF_ALPHA):
    r"""Number of galaxies above ``limit`` per unit :math:`\phi^*`: :math:`\Gamma(\alpha+1, M_{lim}/M^*)`.

    Parameters
    ----------
    limit : float or `~astropy.units.Quantity`
        Stellar-mass limit (Msun).
    log_mstar, alpha : float
        :math:`\log_{10}(M^*/M_\odot)` and the low-mass slope (-2 < alpha).

    Examples
    --------
    >>> from massrecon.physics import schechter_number_above
    >>> round(float(schechter_number_above(1e9) / schechter_number_above(1e10)), 2)
    3.14
    """
    return float(_upper_gamma(float(alpha) + 1.0, _check(limit, log_mstar, alpha)))


def schechter_mass_above(limit, log_mstar=CLUSTER_SMF_LOG_MSTAR, alpha=CLUSTER_SMF_ALPHA):
    r"""Stellar mass (Msun) above ``limit`` per unit :math:`\phi^*`: :math:`M^*\,\Gamma(\alpha+2, M_{lim}/M^*)`.

    Examples
    --------
    >>> from massrecon.physics import schechter_mass_above, schechter_number_above
    >>> f"{schechter_mass_above(1e10) / schechter_number_above(1e10):.2e}"  # mean mass above 1e10 Msun
    '3.77e+10'
    """
    x = _check(limit, log_mstar, alpha)
    return float(10.0 ** float(log_mstar) * _upper_gamma(float(alpha) + 2.0, x))


def schechter_depth_factor(completeness_limit, map_limit, log_mstar=CLUSTER_SMF_LOG_MSTAR, alpha=CLUSTER_SMF_ALPHA,
                           log_mstar_error=CLUSTER_SMF_LOG_MSTAR_ERROR, alpha_error=CLUSTER_SMF_ALPHA_ERROR):
    r"""Ratio :math:`\rho(>M_{map})/\rho(>M_{compl})` of satellite stellar mass, and its uncertainty.

    The factor that turns the stellar mass of the satellites above a catalogue's completeness
    limit into that above the map's limit: above 1 for a catalogue shallower than the map, below
    1 for a deeper one.  Its uncertainty adds in quadrature the changes of the factor over
    :math:`\pm 1\sigma` of each parameter (half the difference of the two ends).

    Parameters
    ----------
    completeness_limit, map_limit : float or `~astropy.units.Quantity`
        Stellar masses (Msun).
    log_mstar, alpha : float, optional
        Schechter parameters; default `CLUSTER_SMF_LOG_MSTAR`, `CLUSTER_SMF_ALPHA`.
    log_mstar_error, alpha_error : float, optional
        Their assumed uncertainties.

    Returns
    -------
    factor, uncertainty : float

    Examples
    --------
    >>> from massrecon.physics import schechter_depth_factor
    >>> f, df = schechter_depth_factor(1e11, 1e10)
    >>> round(f, 2), round(df, 2)
    (3.82, 1.99)
    """
    def ratio(ls, a):
        return schechter_mass_above(map_limit, ls, a) / schechter_mass_above(completeness_limit, ls, a)

    factor = ratio(log_mstar, alpha)
    d_ls = 0.5 * (ratio(log_mstar + log_mstar_error, alpha) - ratio(log_mstar - log_mstar_error, alpha))
    d_a = 0.5 * (ratio(log_mstar, alpha + alpha_error) - ratio(log_mstar, alpha - alpha_error))
    return float(factor), float(np.hypot(d_ls, d_a))
