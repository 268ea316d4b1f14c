"""Halo mass definitions, concentration-mass relations and NFW conversions.

This module is the single place where massrecon converts between spherical-overdensity mass
definitions.  It follows the NFW profile (Navarro, Frenk & White 1997, ApJ 490, 493, eq. 3), whose
enclosed mass is

.. math::

    M(<r) = 4 \\pi \\rho_s r_s^3 \\, m(r / r_s), \\qquad m(x) = \\ln(1 + x) - \\frac{x}{1 + x},

so that for a halo of concentration :math:`c_{200} = R_{200} / r_s` the radius :math:`x_\\Delta =
R_\\Delta / r_s` of another overdensity :math:`\\Delta` (with respect to the critical density)
solves :math:`m(x_\\Delta) / m(c_{200}) = (\\Delta / 200) (x_\\Delta / c_{200})^3`
(e.g. Hu & Kravtsov 2003, ApJ 584, 702, eq. 9-11).

Concentrations come from a named concentration-mass relation evaluated by `colossus
<https://bdiemer.bitbucket.io/colossus/>`_ (Diemer 2018, ApJS 239, 35), which implements the
published relations and their cosmology dependence (through the peak height) exactly; writing
them again by hand would duplicate a well-tested library.  Supported relations:

* ``"diemer19"``: Diemer & Joyce 2019, ApJ 871, 168 (default, the most recent calibration);
* ``"duffy08"``: Duffy et al. 2008, MNRAS 390, L64, Table 1 (full sample, 200c);
* ``"dutton14"``: Dutton & Maccio 2014, MNRAS 441, 3359, eq. 7-8;
* ``"child18"``: Child et al. 2018, ApJ 859, 55.

All functions take and return `~astropy.units.Quantity` masses in physical units (no factors
of h); the conversion to colossus' :math:`h^{-1} M_\\odot` happens inside.
"""

import functools
import warnings

import astropy.units as u
import numpy as np
from astropy.cosmology import Planck18

__all__ = [
    "CM_RELATIONS",
    "concentration_200c",
    "nfw_enclosed_mass_shape",
    "nfw_radius_ratio",
    "radius_from_mass",
    "mass_from_radius",
    "m500c_from_m200c",
    "m200c_from_m500c",
]

#: Concentration-mass relations accepted by `concentration_200c` and `~massrecon.ClusterFrame`.
CM_RELATIONS = ("diemer19", "duffy08", "dutton14", "child18")

# Planck 2018 (Paper VI, Table 2, TT,TE,EE+lowE+lensing+BAO) values used when an astropy
# cosmology does not carry sigma8 / n_s in its meta (colossus needs them for peak heights).
_DEFAULT_SIGMA8 = 0.8102
_DEFAULT_NS = 0.9665


def _cosmology_key(cosmology):
    return (
        float(cosmology.H0.value),
        float(cosmology.Om0),
        float(cosmology.Ob0 if cosmology.Ob0 is not None else 0.049),
        float(cosmology.Ode0),
        float(cosmology.Tcmb0.value),
        float(cosmology.meta.get("sigma8", _DEFAULT_SIGMA8)),
        float(cosmology.meta.get("n", _DEFAULT_NS)),
    )


@functools.lru_cache(maxsize=16)
def _colossus_cosmology_from_key(key):
    from colossus.cosmology import cosmology as ccosmo

    h0, om0, ob0, ode0, tcmb0, sigma8, ns = key
    params = {
        "flat": bool(abs(1.0 - om0 - ode0) < 1e-4),
        "H0": h0,
        "Om0": om0,
        "Ode0": ode0,
        "Ob0": ob0,
        "sigma8": sigma8,
        "ns": ns,
        "Tcmb0": tcmb0 if tcmb0 > 0 else 2.7255,
        "relspecies": tcmb0 > 0,
    }
    name = "massrecon_" + "_".join(f"{v:.6g}" for v in key)
    # persistence="" keeps colossus from writing cache files into the user's home directory.
    return ccosmo.setCosmology(name, params=params, persistence="")


def _colossus_cosmology(cosmology):
    """Return (and make current) the colossus cosmology matching an astropy cosmology."""
    from colossus.cosmology import cosmology as ccosmo

    cc = _colossus_cosmology_from_key(_cosmology_key(cosmology))
    ccosmo.setCurrent(cc)
    return cc


def _validate_mass(mass, name):
    if not isinstance(mass, u.Quantity):
        raise u.UnitsError(f"{name} must be an astropy Quantity with mass units (e.g. Msun), got {mass!r}")
    if not mass.unit.is_equivalent(u.Msun):
        raise u.UnitsError(f"{name} must have mass units (e.g. Msun), got unit '{mass.unit}'")
    value = mass.to_value(u.Msun)
    if not np.all(np.isfinite(value)) or np.any(value <= 0):
        raise ValueError(f"{name} must be finite and positive, got {mass}")
    return value


def _validate_redshift(z, name="z"):
    if isinstance(z, u.Quantity):
        if z.unit not in (u.dimensionless_unscaled, u.redshift):
            raise u.UnitsError(f"{name} must be dimensionless, got unit '{z.unit}'")
        z = z.value
    z = np.asarray(z, dtype=float)
    if not np.all(np.isfinite(z)) or np.any(z <= 0):
        raise ValueError(f"{name} must be finite and > 0, got {z}")
    return z


def concentration_200c(m200c, z, cosmology=None, relation="diemer19"):
    """Median concentration :math:`c_{200c}` of halos of mass :math:`M_{200c}` at redshift ``z``.

    Parameters
    ----------
    m200c : `~astropy.units.Quantity`
        Mass(es) :math:`M_{200c}` (physical units, e.g. ``u.Msun``).
    z : float or array-like
        Redshift(s), > 0.
    cosmology : `~astropy.cosmology.Cosmology`, optional
        Defaults to `~astropy.cosmology.Planck18`.
    relation : str, optional
        One of `CM_RELATIONS`.

    Returns
    -------
    c200 : float or `~numpy.ndarray`
        The concentration :math:`R_{200c} / r_s`.

    Examples
    --------
    >>> import astropy.units as u
    >>> from massrecon.halo import concentration_200c
    >>> round(float(concentration_200c(1e15 * u.Msun / 0.6766, 0.01)), 1)
    3.7
    """
    cosmology = Planck18 if cosmology is None else cosmology
    if relation not in CM_RELATIONS:
        raise ValueError(f"relation must be one of {CM_RELATIONS}, got {relation!r}")
    m = _validate_mass(m200c, "m200c")
    z = _validate_redshift(z)
    cc = _colossus_cosmology(cosmology)
    from colossus.halo import concentration as cconc

    mh = m * cc.h
    # colossus evaluates one redshift at a time.
    zb, mb = np.broadcast_arrays(z, mh)
    out = np.empty(mb.shape)
    flat_z, flat_m, flat_out = zb.ravel(), mb.ravel(), out.ravel()
    for zi in np.unique(flat_z):
        sel = flat_z == zi
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            flat_out[sel] = cconc.concentration(flat_m[sel], "200c", float(zi), model=relation)
    if np.any(~np.isfinite(out)) or np.any(out <= 0):
        raise ValueError(
            f"the concentration relation {relation!r} is undefined for m200c={m200c}, z={z}"
        )
    return out if out.ndim else float(out)


def nfw_enclosed_mass_shape(x):
    """The NFW enclosed-mass function :math:`m(x) = \\ln(1+x) - x/(1+x)`.

    Navarro, Frenk & White 1997 (ApJ 490, 493), eq. 3 integrated.

    Examples
    --------
    >>> from massrecon.halo import nfw_enclosed_mass_shape
    >>> round(float(nfw_enclosed_mass_shape(1.0)), 4)
    0.1931
    """
    x = np.asarray(x, dtype=float)
    return np.log1p(x) - x / (1.0 + x)


def nfw_radius_ratio(c, delta_ratio):
    """Radius in units of :math:`r_s` enclosing ``delta_ratio`` times the mean density at ``c``.

    Solves :math:`m(x) / m(c) = \\delta (x / c)^3` for :math:`x`, with :math:`\\delta =
    \\Delta_{out} / \\Delta_{in}` (e.g. ``500 / 200``), by colossus'
    ``NFWProfile.xDelta`` (an inverse-spline table of :math:`3 m(x) / x^3`, accurate to better than
    :math:`10^{-7}` in :math:`x` for :math:`10^{-4} < x < 10^4`).

    Parameters
    ----------
    c : float or array-like
        Concentration for the input overdensity :math:`R_{\\Delta_{in}} / r_s`.
    delta_ratio : float
        :math:`\\Delta_{out} / \\Delta_{in}`.

    Returns
    -------
    x : float or `~numpy.ndarray`
        :math:`R_{\\Delta_{out}} / r_s`.

    Examples
    --------
    >>> from massrecon.halo import nfw_radius_ratio
    >>> round(nfw_radius_ratio(4.0, 500 / 200), 4)
    2.6067
    """
    from colossus.halo.profile_nfw import NFWProfile

    c = np.asarray(c, dtype=float)
    if np.any(~np.isfinite(c)) or np.any(c <= 0):
        raise ValueError(f"concentration must be finite and positive, got {c}")
    # In units where rho_s = 1 the mean density inside x is 3 m(x) / x^3 (the threshold xDelta solves for).
    threshold = 3.0 * delta_ratio * nfw_enclosed_mass_shape(c) / c**3
    try:
        out = np.asarray(NFWProfile.xDelta(1.0, threshold), dtype=float)
    except Exception as exc:  # colossus raises a bare Exception outside its table
        raise ValueError(f"no NFW radius of overdensity ratio {delta_ratio} for concentration {c}: {exc}") from None
    return out if out.ndim else float(out)


def _change_mass_definition(mass_msun, c, z, cosmology, mdef_in, mdef_out):
    """colossus' NFW ``changeMassDefinition`` on physical masses, one redshift at a time.

    Returns the new mass (Msun) and the new concentration.
    """
    from colossus.halo import mass_defs

    cc = _colossus_cosmology(Planck18 if cosmology is None else cosmology)
    zb, mb, cb = np.broadcast_arrays(np.asarray(z, dtype=float), mass_msun * cc.h, np.asarray(c, dtype=float))
    m_out, c_out = np.empty(mb.shape), np.empty(mb.shape)
    for zi in np.unique(zb):
        sel = zb == zi
        m_new, _, c_new = mass_defs.changeMassDefinition(mb[sel], cb[sel], float(zi), mdef_in, mdef_out,
                                                         profile="nfw")
        m_out[sel], c_out[sel] = m_new, c_new
    return m_out / cc.h, c_out


def _rho_crit(z, cosmology):
    return cosmology.critical_density(z).to(u.Msun / u.kpc**3)


def radius_from_mass(mass, delta, z, cosmology=None):
    """Spherical-overdensity radius :math:`R_\\Delta = [3 M / (4 \\pi \\Delta \\rho_c(z))]^{1/3}`.

    Parameters
    ----------
    mass : `~astropy.units.Quantity`
        :math:`M_\\Delta`.
    delta : float
        Overdensity with respect to the critical density (200, 500, ...).
    z : float
        Redshift.
    cosmology : `~astropy.cosmology.Cosmology`, optional
        Defaults to `~astropy.cosmology.Planck18`.

    Returns
    -------
    radius : `~astropy.units.Quantity`
        In kpc.

    Examples
    --------
    >>> import astropy.units as u
    >>> from massrecon.halo import radius_from_mass
    >>> radius_from_mass(1e15 * u.Msun, 200, 0.1).round(0)
    <Quantity 2042. kpc>
    """
    cosmology = Planck18 if cosmology is None else cosmology
    m = _validate_mass(mass, "mass") * u.Msun
    return np.cbrt(3.0 * m / (4.0 * np.pi * delta * _rho_crit(z, cosmology))).to(u.kpc)


def mass_from_radius(radius, delta, z, cosmology=None):
    """Inverse of `radius_from_mass`: :math:`M_\\Delta = (4/3) \\pi \\Delta \\rho_c(z) R_\\Delta^3`.

    Examples
    --------
    >>> import astropy.units as u
    >>> from massrecon.halo import mass_from_radius
    >>> f"{mass_from_radius(2 * u.Mpc, 200, 0.1).value:.3e}"
    '9.392e+14'
    """
    cosmology = Planck18 if cosmology is None else cosmology
    if not isinstance(radius, u.Quantity) or not radius.unit.is_equivalent(u.kpc):
        raise u.UnitsError(f"radius must be a Quantity with length units, got {radius!r}")
    r = radius.to(u.kpc)
    if not np.all(np.isfinite(r.value)) or np.any(r.value <= 0):
        raise ValueError(f"radius must be finite and positive, got {radius}")
    return (4.0 / 3.0 * np.pi * delta * _rho_crit(z, cosmology) * r**3).to(u.Msun)


def m500c_from_m200c(m200c, z, cosmology=None, relation="diemer19", c200=None):
    """Convert :math:`M_{200c}` to :math:`M_{500c}` for an NFW halo.

    Parameters
    ----------
    m200c : `~astropy.units.Quantity`
        Mass :math:`M_{200c}`.
    z : float
        Redshift.
    cosmology : `~astropy.cosmology.Cosmology`, optional
        Defaults to `~astropy.cosmology.Planck18`.
    relation : str, optional
        Concentration-mass relation (one of `CM_RELATIONS`), used when ``c200`` is not given.
    c200 : float or array-like, optional
        Concentration to use instead of the relation's median.

    Returns
    -------
    m500c : `~astropy.units.Quantity`
        In Msun.
    c200 : float or `~numpy.ndarray`
        The concentration used.

    Examples
    --------
    >>> import astropy.units as u
    >>> from massrecon.halo import m500c_from_m200c
    >>> m500, c = m500c_from_m200c(1e15 * u.Msun, 0.1, c200=4.0)
    >>> round(float(m500 / (1e15 * u.Msun)), 3)
    0.692
    """
    m = _validate_mass(m200c, "m200c")
    if c200 is None:
        c200 = concentration_200c(m200c, z, cosmology, relation)
    elif np.any(~np.isfinite(c200)) or np.any(np.asarray(c200) <= 0):
        raise ValueError(f"c200 must be finite and positive, got {c200}")
    m500, _ = _change_mass_definition(m, c200, _validate_redshift(z), cosmology, "200c", "500c")
    return (m500 if m500.ndim else float(m500)) * u.Msun, c200


def m200c_from_m500c(m500c, z, cosmology=None, relation="diemer19"):
    """Convert :math:`M_{500c}` to :math:`M_{200c}` for an NFW halo on a c-M relation.

    The concentration is defined at :math:`M_{200c}`, which is unknown: colossus'
    ``changeMassDefinitionCModel`` finds the :math:`M_{200c}` whose halo on the relation has
    this :math:`M_{500c}` (a Brent root, to machine precision) and converts it (to better than
    :math:`10^{-7}`, the accuracy of its NFW radius table).

    Returns
    -------
    m200c : `~astropy.units.Quantity`
        In Msun.
    c200 : float or `~numpy.ndarray`
        The concentration of the converted halo.

    Examples
    --------
    >>> import astropy.units as u
    >>> from massrecon.halo import m200c_from_m500c, m500c_from_m200c
    >>> m200, c = m200c_from_m500c(5e14 * u.Msun, 0.2)
    >>> back, _ = m500c_from_m200c(m200, 0.2)
    >>> round(float(back / (5e14 * u.Msun)), 6)
    1.0
    """
    from colossus.halo import mass_adv

    cosmology = Planck18 if cosmology is None else cosmology
    if relation not in CM_RELATIONS:
        raise ValueError(f"relation must be one of {CM_RELATIONS}, got {relation!r}")
    m500 = _validate_mass(m500c, "m500c")
    z = _validate_redshift(z)
    cc = _colossus_cosmology(cosmology)
    zb, mb = np.broadcast_arrays(z, m500 * cc.h)
    m200, c200 = np.empty(mb.shape), np.empty(mb.shape)
    for zi in np.unique(zb):
        sel = zb == zi
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # out-of-range masses show up as invalid concentrations
            m_new, _, c_new = mass_adv.changeMassDefinitionCModel(mb[sel], float(zi), "500c", "200c",
                                                                  profile="nfw", c_model=relation)
        m200[sel], c200[sel] = m_new, c_new
    if np.any(~np.isfinite(c200)) or np.any(c200 <= 0):
        raise ValueError(f"the concentration relation {relation!r} is undefined for m500c={m500c}, z={z}")
    m200 = m200 / cc.h
    return (m200 if m200.ndim else float(m200)) * u.Msun, (c200 if c200.ndim else float(c200))
