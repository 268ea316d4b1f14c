"""Integrated observables of mock halos, for comparison with observed scaling relations.

All integrals are over spheres (for the ellipsoidal components, ellipsoids of the same volume,
since the axes are normalised to ``abc = 1``), from the radial tables of a
`~massrecon.simulate.HaloModel`.
"""

import astropy.units as u
import numpy as np

from .emission import SIGMA_T_OVER_MEC2

__all__ = ["halo_observables", "arnaud10_y500", "planck13_y500", "vikhlinin09_lx", "chiu18_mstar"]

_KPC_CM = (1 * u.kpc).to_value(u.cm)
_MPC_CM = (1 * u.Mpc).to_value(u.cm)


def _integrate(r, f, rmax):
    sel = r <= rmax
    rr = np.append(r[sel], rmax)
    ff = np.append(f[sel], np.interp(np.log(rmax), np.log(r), f))
    return float(np.trapezoid(4 * np.pi * rr**3 * ff, np.log(rr)) + 4 * np.pi / 3 * rr[0] ** 3 * ff[0])


def halo_observables(model):
    """Integrated quantities of a `~massrecon.simulate.HaloModel` within R500.

    Returns
    -------
    obs : dict
        ``y500`` (:math:`Y_{sph}(R_{500}) D_A^2` in Mpc^2), ``y5r500`` (within 5 R500),
        ``lx500_soft`` and ``lx500_bol`` (erg/s, rest frame, clumping included), ``fgas500``,
        ``mstar500`` (BCG + ICL + satellites inside R500, Msun), ``tmg`` (gas-mass-weighted
        temperature in 0.15-1 R500, keV), ``m500`` (Msun) and ``z``.
    """
    h = model.halo
    r = model.r
    out = {"m500": h.m500, "z": h.z}
    if "gas" in model.include:
        ypv = _integrate(r, model.pe, h.r500) * SIGMA_T_OVER_MEC2 * _KPC_CM**3 / _MPC_CM**2
        out["y500"] = ypv
        out["y5r500"] = (_integrate(r, model.pe, min(5 * h.r500, r[-1])) * SIGMA_T_OVER_MEC2
                         * _KPC_CM**3 / _MPC_CM**2)
        out["lx500_soft"] = _integrate(r, model.eps_soft, h.r500)
        out["lx500_bol"] = _integrate(r, model.eps_bol, h.r500)
        out["fgas500"] = _integrate(r, model.rho_gas, h.r500) / h.m500
        shell = (r >= 0.15 * h.r500) & (r <= h.r500)
        w = 4 * np.pi * r[shell] ** 3 * model.rho_gas[shell]
        out["tmg"] = float(np.sum(w * model.kt[shell]) / np.sum(w))
    mstar = 0.0
    if "stars" in model.include:
        f_h = h.r500**2 / (h.r500 + model.a_bcg) ** 2
        f_i = h.r500**2 / (h.r500 + model.a_icl) ** 2
        mstar = model.m_bcg * f_h + model.m_icl * f_i
        if "subhalos" in model.include and len(h.sub_mass):
            inside = np.linalg.norm(h.sub_pos, axis=1) < h.r500
            mstar += float(np.sum(h.sub_mstar[inside]))
    out["mstar500"] = mstar
    return out


def arnaud10_y500(m500, z, cosmology):
    """:math:`Y_{sph}(R_{500}) D_A^2` (Mpc^2) of Arnaud et al. 2010 (A&A 517, A92), eq. 22.

    :math:`E(z)^{-2/3} Y D_A^2 = 10^{-4.739} [M_{500} / 3\\times10^{14} h_{70}^{-1}]^{1.787}
    h_{70}^{-5/2}` Mpc^2.
    """
    h70 = cosmology.H0.value / 70.0
    return cosmology.efunc(z) ** (2 / 3) * 10**-4.739 * (np.asarray(m500) * h70 / 3e14) ** 1.787 * h70**-2.5


def planck13_y500(m500, z, cosmology, bias=0.2):
    """:math:`Y_{500} D_A^2` (Mpc^2) of Planck 2013 XX (A&A 571, A20), eq. 6-7 with table 1.

    :math:`E^{-\\beta}(z) D_A^2 Y_{500} / 10^{-4}\\,{\\rm Mpc^2} = Y_* (h/0.7)^{-2+\\alpha}
    [(1-b) M_{500} / 6\\times10^{14} M_\\odot]^\\alpha`, log Y* = -0.19, alpha = 1.79,
    beta = 2/3, intrinsic scatter 0.075 dex; true masses enter through the hydrostatic bias
    ``(1 - b) = 0.8``.
    """
    h = cosmology.H0.value / 100.0
    alpha = 1.79
    return (cosmology.efunc(z) ** (2 / 3) * 1e-4 * 10**-0.19 * (h / 0.7) ** (-2 + alpha)
            * ((1 - bias) * np.asarray(m500) / 6e14) ** alpha)


def vikhlinin09_lx(m500, z, cosmology):
    """Soft-band (0.5-2 keV) luminosity (erg/s) of Vikhlinin et al. 2009 (ApJ 692, 1033), eq. 22.

    :math:`\\ln L = 47.392 + 1.61 \\ln M_{500} + 1.850 \\ln E(z) - 0.39 \\ln(h/0.72)` with
    :math:`M_{500}` in :math:`M_\\odot`; intrinsic scatter 0.396 in ln L.

    The mass is in plain solar masses, not :math:`h^{-1} M_\\odot`: the Hubble-constant term
    carries the whole :math:`h` dependence, :math:`-0.39 = 1.61 - 2` for :math:`L \\propto h^{-2}`
    and :math:`M \\propto h^{-1}` (with :math:`M` in :math:`h^{-1} M_\\odot` it would be
    :math:`-2`).  This reading gives 1.4e43 erg/s at 1e14 Msun, and in the 0.1-2.4 keV band it
    lies 0.38 in ln L below the REXCESS relation behind the MCXC catalogue (Piffaretti et al.
    2011), which is calibrated on hydrostatic masses too (tested; the other reading: 0.95).
    Before December 2026 the function multiplied the mass by :math:`h`, which put the relation
    1.85 times too low (:math:`h^{1.61}` for h = 0.68).

    Examples
    --------
    >>> from astropy.cosmology import Planck18
    >>> from massrecon.simulate.observables import vikhlinin09_lx
    >>> f"{vikhlinin09_lx(1e14, 0.0, Planck18):.2g}"
    '1.4e+43'
    """
    h = cosmology.H0.value / 100.0
    lnl = (47.392 + 1.61 * np.log(np.asarray(m500, dtype=float)) + 1.850 * np.log(cosmology.efunc(z))
           - 0.39 * np.log(h / 0.72))
    return np.exp(lnl)


def chiu18_mstar(m500, norm=0.011, pivot=6e14, slope=0.80):
    """Total stellar mass within R500 (Msun).

    Normalisation: :math:`f_* = 1.1\\%` at :math:`6\\times10^{14} M_\\odot` (Chiu et al. 2016,
    MNRAS 455, 258); slope 0.80 +- 0.12 of :math:`M_* \\propto M_{500}` (Chiu et al. 2018, MNRAS
    478, 3072).
    """
    return norm * pivot * (np.asarray(m500) / pivot) ** slope
