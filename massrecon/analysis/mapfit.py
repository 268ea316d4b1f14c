"""Halo-profile fits to a mass map's own profile, and spherical masses :math:`M_{\\Delta c}` from them.

The profile is measured in annuli (`~massrecon.analysis.masses.map_profile`) with its full
covariance (pixel term + correlated model term) and fitted by `~massrecon.analysis.fit_profile`.
The mean of :math:`\\Sigma` over an annulus is not :math:`\\Sigma` at the annulus' middle radius
(by up to 1% for 0.12 dex bins of an NFW), so the fit is done twice: the second time at the
radii where the first best fit equals its own annulus mean.
"""

import dataclasses

import astropy.units as u
import numpy as np
from scipy import linalg

from ..contract import TARGET_UNIT
from ..halo import nfw_enclosed_mass_shape, nfw_radius_ratio, radius_from_mass
from .masses import MassMeasurement, map_profile
from .profiles import ProjectedNFW, fit_profile

__all__ = ["fit_map_profile", "spherical_mass"]


def _effective_radii(model, lo, hi, n=32):
    """Radii in each annulus ``[lo, hi]`` (kpc) where ``model`` equals its area-weighted annulus mean."""
    t, w = np.polynomial.legendre.leggauss(n)
    t, w = 0.5 * (t + 1.0), 0.5 * w
    out = np.empty(lo.size)
    for i, (a, b) in enumerate(zip(lo, hi)):
        r = a + (b - a) * t
        sig = model.evaluate(r, *model.parameters)
        mean = np.sum(w * sig * r) * (b - a) * 2.0 / (b**2 - a**2)
        grid = np.linspace(max(a, 1e-3 * b), b, 400)
        prof = model.evaluate(grid, *model.parameters)
        out[i] = np.interp(mean, prof[::-1], grid[::-1])  # a halo's profile falls with radius
    return out


def fit_map_profile(mass_map, model, edges_pix, errors):
    """Fit ``model`` to the profile of ``mass_map`` in annuli of ``edges_pix`` pixels.

    Parameters
    ----------
    mass_map : `~massrecon.MassMap`
    model : `~massrecon.analysis.ProjectedNFW` or other halo model
        Starting point; not modified.
    edges_pix : `~numpy.ndarray`
        Annulus edges in pixels.
    errors : `~massrecon.analysis.ModelErrors` or None
        Model errors; the fit leaves out their uncertainty of the mass scale (``mass_scale``: the
        physics systematic and the map's widening, added to masses after the fit by
        `spherical_mass`).

    Returns
    -------
    fit : `~massrecon.analysis.ProfileFit`
    profile : `~massrecon.analysis.ProfileMeasurement`
    pixel_covariance : `~numpy.ndarray`
        Covariance of the free parameters from the pixel term alone.
    """
    if errors is not None and errors.mass_scale:
        errors = dataclasses.replace(errors, physics_systematic=0.0, scale_widening=0.0)
    prof = map_profile(mass_map, edges_pix, errors)
    sigma = prof.sigma.to_value(TARGET_UNIT)
    cov = prof.covariance.to_value(TARGET_UNIT**2)
    good = np.isfinite(sigma) & (np.diag(cov) > 0)
    if not np.any(np.diag(cov) > 0):
        raise ValueError("the profile has no errors: the map has neither an uncertainty nor a model error "
                         "(VIEWS in its meta); give it an uncertainty to fit it")
    if good.sum() <= len(model.param_names):
        raise ValueError(f"only {good.sum()} annuli have data: give more or wider edges")
    edges = prof.edges.to_value(u.kpc)
    lo, hi = edges[:-1][good], edges[1:][good]
    cov = cov[np.ix_(good, good)] * TARGET_UNIT**2
    data = sigma[good] * TARGET_UNIT
    fit = fit_profile(prof.radius[good], data, cov, model)
    radii = _effective_radii(fit.model, lo, hi) * u.kpc
    fit = fit_profile(radii, data, cov, fit.model)
    pix_var = prof.pixel_error.to_value(TARGET_UNIT)[good] ** 2
    return fit, prof, _pixel_covariance(fit, radii.value, pix_var)


def _pixel_covariance(fit, radii, pix_var):
    """:math:`(J^T C_{pix}^{-1} J)^{-1}` of the free parameters at the best fit (pixel term only)."""
    names = fit.free_parameters
    if not np.all(pix_var > 0):
        return np.zeros((len(names),) * 2)
    model = fit.model
    jac = np.empty((radii.size, len(names)))
    for k, name in enumerate(names):
        step = 1e-5 * max(abs(fit.parameters[name]), 1.0)
        vals = []
        for sign in (1, -1):
            params = [fit.parameters[n] + (sign * step if n == name else 0.0) for n in model.param_names]
            vals.append(model.evaluate(radii, *params))
        jac[:, k] = (vals[0] - vals[1]) / (2 * step)
    return linalg.pinv(jac.T @ (jac / pix_var[:, None]))


def _nfw_mass(log_m200, c200, delta):
    """:math:`M_{\\Delta c}` (Msun) of an NFW of :math:`M_{200c}, c_{200c}`: the mass inside
    :math:`x = R_\\Delta / r_s` with :math:`m(x) / x^3 = (\\Delta / 200)\\, m(c) / c^3`."""
    x = c200 if delta == 200 else nfw_radius_ratio(c200, delta / 200.0)
    return 10.0**log_m200 * nfw_enclosed_mass_shape(x) / nfw_enclosed_mass_shape(c200)


def spherical_mass(fit, pixel_covariance, delta, physics_systematic=0.0):
    """:math:`M_{\\Delta c}` of an NFW fit, with the fit's total and pixel-only errors.

    The model error is the fit's total error less its pixel term, in quadrature, and the
    ``physics_systematic`` fraction of the mass (`massrecon.analysis.ModelErrors.mass_scale`: the
    physics systematic and the widening of an ambiguous self-consistent answer) in quadrature.

    Parameters
    ----------
    fit : `~massrecon.analysis.ProfileFit`
        An NFW fit (`~massrecon.analysis.ProjectedNFW`).
    pixel_covariance : `~numpy.ndarray`
        Covariance of the free parameters from the pixel term alone.
    delta : float
        Overdensity with respect to the critical density, e.g. 200, 500, 2500.
    physics_systematic : float
        Fraction of the mass added in quadrature to the model (and total) error.

    Returns
    -------
    mass : `~massrecon.analysis.MassMeasurement`
    """
    if not isinstance(fit.model, ProjectedNFW):
        raise TypeError(f"spherical masses come from an NFW fit, got a {type(fit.model).__name__}")
    best = {n: fit.parameters[n] for n in ("log_m200", "c200")}
    mass = _nfw_mass(best["log_m200"], best["c200"], delta)
    grad = []
    for name in fit.free_parameters:
        step = 1e-5 * max(abs(best[name]), 1.0)
        up, down = dict(best), dict(best)
        up[name] += step
        down[name] -= step
        grad.append((np.log(_nfw_mass(**up, delta=delta)) - np.log(_nfw_mass(**down, delta=delta))) / (2 * step))
    grad = np.array(grad)
    total = mass * float(np.sqrt(max(grad @ fit.covariance @ grad, 0.0)))
    pixel = mass * float(np.sqrt(max(grad @ pixel_covariance @ grad, 0.0)))
    model = float(np.sqrt(max(total**2 - pixel**2, 0.0)))
    if physics_systematic:
        model = float(np.hypot(model, physics_systematic * mass))
        total = float(np.hypot(total, physics_systematic * mass))
    radius = radius_from_mass(mass * u.Msun, delta, fit.model.redshift, fit.model.cosmology)
    return MassMeasurement(mass=mass * u.Msun, error=total * u.Msun, pixel_error=pixel * u.Msun,
                           model_error=model * u.Msun, kind=f"M{delta:g}c", radius=radius.to(u.kpc))
