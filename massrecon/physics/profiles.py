"""Dimensionless radial profiles of the intracluster gas, shared by the simulator and the
reconstruction's aperture templates (`massrecon.relations.aperture_fraction`).

* the generalised NFW pressure of Nagai, Kravtsov & Vikhlinin (2007) with the parameter sets of
  Arnaud et al. (2010, A&A 517, A92, eq. 11-12 and Appendix C) and Planck Intermediate Results V
  (2013, A&A 550, A131, eq. 8);
* the gas density of Vikhlinin et al. (2006, ApJ 640, 691, eq. 3), one component.

Examples
--------
>>> from massrecon.physics.profiles import gnfw_shape, vikhlinin_shape
>>> round(float(gnfw_shape(1.0, "arnaud10")), 4)  # p(x) at R500, universal parameters
0.1687
>>> float(vikhlinin_shape(0.0, "non_cool_core")) > float(vikhlinin_shape(1.0, "non_cool_core"))
True
"""

import numpy as np

__all__ = ["PRESSURE_PARAMETERS", "DENSITY_PARAMETERS", "gnfw_shape", "vikhlinin_shape"]

#: GNFW parameters (P0, c500, gamma, alpha, beta).  Arnaud et al. 2010: universal (eq. 12),
#: cool-core and disturbed subsamples (Appendix C, Table C.2); Planck Int. Res. V (2013, A&A 550,
#: A131, eq. 8).
PRESSURE_PARAMETERS = {
    "arnaud10": (8.403, 1.177, 0.3081, 1.0510, 5.4905),
    "arnaud10_cc": (3.249, 1.128, 0.7736, 1.2223, 5.4905),
    "arnaud10_disturbed": (3.202, 1.083, 0.3798, 1.4063, 5.4905),
    "planck13": (6.41, 1.81, 0.31, 1.33, 4.13),
}

#: Vikhlinin et al. 2006 eq. 3 shape parameters in units of R500: (rc, alpha, beta, rs, epsilon,
#: gamma).  Representative of their Table 2 fits: cool cores have a central cusp (alpha ~1) and
#: a small core radius; non-cool cores a flat core.
DENSITY_PARAMETERS = {
    "cool_core": (0.08, 1.0, 0.64, 1.0, 3.0, 3.0),
    "non_cool_core": (0.25, 0.0, 0.70, 1.1, 3.0, 3.0),
}


def gnfw_shape(x, params):
    """Dimensionless GNFW pressure :math:`p(x)` (Nagai, Kravtsov & Vikhlinin 2007; Arnaud+10 eq. 11).

    ``x = r / R500``; ``params = (P0, c500, gamma, alpha, beta)`` (P0 in units of h70^-3/2) or a
    key of `PRESSURE_PARAMETERS`.
    """
    if isinstance(params, str):
        params = PRESSURE_PARAMETERS[params]
    p0, c500, gamma, alpha, beta = params
    cx = c500 * np.asarray(x, dtype=float)
    return p0 / (cx**gamma * (1.0 + cx**alpha) ** ((beta - gamma) / alpha))


def vikhlinin_shape(x, params):
    """Shape of :math:`n_e` (unnormalised) from Vikhlinin et al. 2006 eq. 3 (one component).

    :math:`n_p n_e \\propto (x/r_c)^{-\\alpha} / (1 + x^2/r_c^2)^{3\\beta - \\alpha/2}
    / (1 + x^\\gamma / r_s^\\gamma)^{\\epsilon/\\gamma}`; the density is the square root.
    ``x = r / R500``; ``params = (rc, alpha, beta, rs, epsilon, gamma)`` in units of R500.
    """
    if isinstance(params, str):
        params = DENSITY_PARAMETERS[params]
    rc, alpha, beta, rs, eps, gamma = params
    x = np.maximum(np.asarray(x, dtype=float), 1e-6)
    npne = (x / rc) ** (-alpha) / (1 + (x / rc) ** 2) ** (3 * beta - alpha / 2) / (
        1 + (x / rs) ** gamma
    ) ** (eps / gamma)
    return np.sqrt(npne)
