"""Weak-lensing quantities of a mass map: critical density, convergence, tangential and reduced shear.

For a thin lens at :math:`z_l` and sources at :math:`z_s` (e.g. Bartelmann & Schneider 2001,
Phys. Rep. 340, 291, eq. 3.7, 3.39 and 4.11):

.. math::

    \\Sigma_{\\rm cr} = \\frac{c^2}{4 \\pi G} \\frac{D_s}{D_l D_{ls}}, \\qquad
    \\kappa = \\frac{\\Sigma}{\\Sigma_{\\rm cr}}, \\qquad
    \\gamma_t(R) = \\frac{\\bar\\Sigma(<R) - \\Sigma(R)}{\\Sigma_{\\rm cr}}, \\qquad
    g = \\frac{\\gamma}{1 - \\kappa},

with angular diameter distances from the `~astropy.cosmology.Cosmology`.  A `~massrecon.MassMap`
holds the mass in a slab of :math:`\\pm R_{200}`, so its shear lacks the contribution of the mass
further along the line of sight (a few per cent at :math:`R_{200}`).
"""

import dataclasses
import inspect
import warnings

import astropy.constants as const
import astropy.units as u
import numpy as np
from astropy.cosmology import Planck18

from ..contract import TARGET_UNIT
from ..exceptions import MassreconWarning
from . import _validate

__all__ = ["sigma_crit", "convergence", "tangential_shear_profile", "reduced_shear", "ShearProfile"]


def _distance_between(cosmology, z1, z2):
    """Angular diameter distance from ``z1`` to ``z2`` (> ``z1``).

    astropy >= 8 takes both redshifts in ``angular_diameter_distance`` and deprecates
    ``angular_diameter_distance_z1z2``; older versions only have the latter.
    """
    if len(inspect.signature(cosmology.angular_diameter_distance).parameters) >= 2:
        return cosmology.angular_diameter_distance(z1, z2)
    return cosmology.angular_diameter_distance_z1z2(z1, z2)


def sigma_crit(z_lens, z_source, cosmology=None, *, weights=None):
    """Critical surface density :math:`\\Sigma_{\\rm cr} = c^2 D_s / (4 \\pi G D_l D_{ls})`.

    Parameters
    ----------
    z_lens : float
        Lens (cluster) redshift, > 0.
    z_source : float or array-like
        Source redshift, > ``z_lens``; or the redshifts of a source sample (any may lie in front of
        the lens), for which the effective :math:`\\Sigma_{\\rm cr} = 1 / \\langle
        \\Sigma_{\\rm cr}^{-1} \\rangle` is returned: sources at :math:`z_s \\le z_l` are not
        lensed and contribute :math:`\\Sigma_{\\rm cr}^{-1} = 0` to the (weighted) average.
    cosmology : `~astropy.cosmology.Cosmology`, optional
        Defaults to `~astropy.cosmology.Planck18`.
    weights : array-like, optional
        Non-negative weights of the sources in ``z_source`` (e.g. a redshift distribution on a
        grid times its bin widths, or shape-noise weights); default equal.

    Returns
    -------
    sigma_cr : `~astropy.units.Quantity`
        In Msun/kpc\\ :sup:`2`.

    Examples
    --------
    >>> import numpy as np
    >>> from astropy.cosmology import FlatLambdaCDM
    >>> from massrecon.analysis import sigma_crit
    >>> cosmo = FlatLambdaCDM(H0=70, Om0=0.3)
    >>> sigma_crit(0.3, 1.0, cosmo).to("Msun / Mpc2")  # doctest: +FLOAT_CMP
    <Quantity 2.83476569e+15 solMass / Mpc2>

    Half of a sample in front of the lens doubles the effective critical density:

    >>> float(sigma_crit(0.3, [0.1, 1.0], cosmo) / sigma_crit(0.3, 1.0, cosmo))  # doctest: +FLOAT_CMP
    2.0
    """
    cosmology = Planck18 if cosmology is None else cosmology
    zl = _validate.redshift(z_lens, "z_lens")
    scalar = np.ndim(z_source.value if isinstance(z_source, u.Quantity) else z_source) == 0
    zs = np.atleast_1d(_validate.redshift(z_source, "z_source", allow_zero=True, array=True)).ravel()
    if scalar and zs[0] <= zl:
        raise ValueError(f"z_source must be larger than z_lens ({zl}), got {zs[0]}")
    w = np.ones_like(zs) if weights is None else np.asarray(weights, dtype=float).ravel()
    if w.shape != zs.shape:
        raise ValueError(f"weights must have the shape of z_source {zs.shape}, got {w.shape}")
    if not np.all(np.isfinite(w)) or np.any(w < 0) or w.sum() <= 0:
        raise ValueError("weights must be finite, non-negative and not all zero")
    behind = zs > zl
    if not np.any(behind & (w > 0)):
        raise ValueError(f"no source with weight lies behind the lens: every z_source <= z_lens ({zl})")
    d_l = cosmology.angular_diameter_distance(zl)
    d_s = cosmology.angular_diameter_distance(zs[behind])
    d_ls = _distance_between(cosmology, zl, zs[behind])
    inverse = np.zeros(zs.shape) * (u.kpc**2 / u.Msun)
    inverse[behind] = (4.0 * np.pi * const.G * d_l * d_ls / (const.c**2 * d_s)).to(u.kpc**2 / u.Msun)
    return (w.sum() / np.sum(w * inverse)).to(TARGET_UNIT)


def _map_quantity(sigma, name="sigma"):
    """A surface-density Quantity (NaN where masked) and the meta of an NDData-like input."""
    meta = {}
    if not isinstance(sigma, u.Quantity) and hasattr(sigma, "data") and getattr(sigma, "unit", None) is not None:
        meta = dict(getattr(sigma, "meta", {}) or {})
        data = np.array(sigma.data, dtype=float)
        if getattr(sigma, "mask", None) is not None:
            data[np.asarray(sigma.mask, bool)] = np.nan
        sigma = data * u.Unit(sigma.unit)
    if not isinstance(sigma, u.Quantity) or not sigma.unit.is_equivalent(TARGET_UNIT):
        raise u.UnitsError(f"{name} must be a surface density Quantity or MassMap (e.g. Msun/kpc^2), got "
                           f"{getattr(sigma, 'unit', type(sigma).__name__)}")
    return sigma.to(TARGET_UNIT), meta


def _critical(sigma_cr, z_lens, z_source, cosmology, weights, meta):
    """:math:`\\Sigma_{\\rm cr}` given directly or from the redshifts (lens redshift from the map)."""
    if sigma_cr is not None:
        if z_source is not None:
            raise ValueError("give either sigma_cr or z_source, not both")
        value = _validate.as_quantity(sigma_cr, TARGET_UNIT, "sigma_cr", positive=True, ndim=0)
        return value * TARGET_UNIT
    if z_source is None:
        raise ValueError("give z_source (and z_lens, unless the map has REDSHIFT in its meta) or sigma_cr")
    if z_lens is None:
        if "REDSHIFT" not in meta:
            raise ValueError("z_lens must be given: the map has no REDSHIFT in its meta")
        z_lens = float(meta["REDSHIFT"])
    return sigma_crit(z_lens, z_source, cosmology, weights=weights)


def convergence(sigma, z_lens=None, z_source=None, cosmology=None, *, weights=None, sigma_cr=None):
    """Convergence :math:`\\kappa = \\Sigma / \\Sigma_{\\rm cr}` of a surface density (map or profile).

    Parameters
    ----------
    sigma : `~astropy.units.Quantity` or `~massrecon.MassMap`
        Surface density, any shape; NaN (or masked) values give NaN.
    z_lens : float, optional
        Lens redshift; by default the ``REDSHIFT`` of a `~massrecon.MassMap`.
    z_source : float or array-like, optional
        Source redshift(s), as for `sigma_crit`.
    cosmology : `~astropy.cosmology.Cosmology`, optional
        Defaults to `~astropy.cosmology.Planck18`.
    weights : array-like, optional
        Weights of a source sample, as for `sigma_crit`.
    sigma_cr : `~astropy.units.Quantity`, optional
        :math:`\\Sigma_{\\rm cr}` to use instead of the redshifts.

    Returns
    -------
    kappa : `~astropy.units.Quantity`
        Dimensionless, the shape of ``sigma``.

    Examples
    --------
    >>> import astropy.units as u
    >>> from massrecon.analysis import convergence
    >>> convergence([1e8, 1e9] * u.Msun / u.kpc**2, sigma_cr=2e9 * u.Msun / u.kpc**2)
    <Quantity [0.05, 0.5 ]>
    """
    values, meta = _map_quantity(sigma)
    crit = _critical(sigma_cr, z_lens, z_source, cosmology, weights, meta)
    return (values / crit).to(u.dimensionless_unscaled)


def reduced_shear(gamma, kappa):
    """Reduced shear :math:`g = \\gamma / (1 - \\kappa)` (weak-lensing regime, :math:`\\kappa < 1`).

    Where :math:`\\kappa \\ge 1` (inside the Einstein radius, where the observable is
    :math:`1/g^*`) the result is NaN and a `~massrecon.MassreconWarning` is issued.

    Parameters
    ----------
    gamma, kappa : array-like or dimensionless `~astropy.units.Quantity`
        Shear (any component) and convergence, broadcastable.

    Returns
    -------
    g : `~numpy.ndarray` or float

    Examples
    --------
    >>> from massrecon.analysis import reduced_shear
    >>> reduced_shear([0.1, 0.2], [0.2, 0.5])
    array([0.125, 0.4  ])
    """
    g = _dimensionless(gamma, "gamma")
    k = _dimensionless(kappa, "kappa")
    strong = k >= 1
    if np.any(strong):
        warnings.warn("kappa >= 1 somewhere (strong lensing): the reduced shear is NaN there", MassreconWarning)
    with np.errstate(divide="ignore", invalid="ignore"):
        out = np.where(strong, np.nan, g / (1.0 - k))
    return out if out.ndim else float(out)


def _dimensionless(value, name):
    if isinstance(value, u.Quantity):
        if not value.unit.is_equivalent(u.dimensionless_unscaled):
            raise u.UnitsError(f"{name} must be dimensionless, got unit '{value.unit}'")
        value = value.to_value(u.dimensionless_unscaled)
    return np.asarray(value, dtype=float)


@dataclasses.dataclass(frozen=True)
class ShearProfile:
    """Tangential shear profile of a surface-density map (`tangential_shear_profile`).

    Attributes
    ----------
    radius : `~astropy.units.Quantity`
        Bin centres (kpc), the mean of the bin edges.
    edges : `~astropy.units.Quantity`
        Bin edges (kpc).
    sigma : `~astropy.units.Quantity`
        Mean :math:`\\Sigma` in each annulus (Msun/kpc\\ :sup:`2`).
    mean_sigma_inside : `~astropy.units.Quantity`
        :math:`\\bar\\Sigma(<R)` inside the circle of radius ``radius``.
    delta_sigma : `~astropy.units.Quantity`
        Excess surface density :math:`\\Delta\\Sigma = \\bar\\Sigma(<R) - \\Sigma(R)`.
    sigma_cr : `~astropy.units.Quantity`
        The critical surface density used.
    kappa, gamma_t, g_t : `~numpy.ndarray`
        Convergence, tangential shear :math:`\\Delta\\Sigma / \\Sigma_{\\rm cr}` and reduced
        tangential shear :math:`\\gamma_t / (1 - \\kappa)` (NaN where :math:`\\kappa \\ge 1`).
    """

    radius: u.Quantity
    edges: u.Quantity
    sigma: u.Quantity
    mean_sigma_inside: u.Quantity
    delta_sigma: u.Quantity
    sigma_cr: u.Quantity
    kappa: np.ndarray
    gamma_t: np.ndarray
    g_t: np.ndarray


def _geometry(sigma, pixel_kpc, centre_pixel, edges):
    """Pixel size (kpc), centre (x, y) and edges (pixels), defaulting to a MassMap's own."""
    if pixel_kpc is None:
        if not hasattr(sigma, "pixel_kpc"):
            raise ValueError("pixel_kpc must be given for a map without a pixel size")
        pixel_kpc = sigma.pixel_kpc
    pix = float(_validate.as_quantity(pixel_kpc, u.kpc, "pixel_kpc", positive=True, ndim=0))
    if centre_pixel is None:
        if not hasattr(sigma, "center_pixel"):
            raise ValueError("centre_pixel must be given for a map without a centre")
        centre_pixel = sigma.center_pixel()
    centre = np.asarray(centre_pixel, dtype=float)
    if centre.shape != (2,) or not np.all(np.isfinite(centre)):
        raise ValueError(f"centre_pixel must be a finite (x, y) pair, got {centre_pixel!r}")
    edges_kpc = _validate.as_quantity(edges, u.kpc, "edges", nonnegative=True, ndim=1)
    if edges_kpc.size < 2 or np.any(np.diff(edges_kpc) <= 0):
        raise ValueError(f"edges must be at least two strictly increasing radii, got {edges}")
    return pix, centre, edges_kpc


def _aperture_means(data, mask, centre, radii_pix, edges_pix):
    """Mean of ``data`` inside circles and in annuli (exact overlap, over unmasked pixels only)."""
    from photutils.aperture import CircularAnnulus, CircularAperture

    ones = np.ones_like(data)

    def mean(aperture):
        total, _ = aperture.do_photometry(data, mask=mask, method="exact")
        area, _ = aperture.do_photometry(ones, mask=mask, method="exact")
        with np.errstate(invalid="ignore", divide="ignore"):
            return float(total[0] / area[0]) if area[0] > 0 else np.nan

    inside = np.array([mean(CircularAperture(centre, r=r)) for r in radii_pix])
    ring = np.array([mean(CircularAnnulus(centre, r_in=lo, r_out=hi) if lo > 0 else CircularAperture(centre, r=hi))
                     for lo, hi in zip(edges_pix[:-1], edges_pix[1:])])
    return inside, ring


def tangential_shear_profile(sigma, pixel_kpc=None, centre_pixel=None, edges=None, *, z_lens=None, z_source=None,
                             cosmology=None, weights=None, sigma_cr=None, mask=None):
    """Tangential shear profile :math:`\\gamma_t(R) = [\\bar\\Sigma(<R) - \\Sigma(R)] / \\Sigma_{\\rm cr}`.

    :math:`\\bar\\Sigma(<R)` is the mean of the map inside the circle of radius :math:`R` (the bin
    centre) and :math:`\\Sigma(R)` the mean in the annulus between the bin edges, both from
    `photutils.aperture` sums with exact pixel overlap, divided by the unmasked area.  NaN pixels
    are masked (a masked region inside :math:`R` is assumed to have the mean of the rest).

    Parameters
    ----------
    sigma : `~astropy.units.Quantity` or `~massrecon.MassMap`
        2-D surface-density map.
    pixel_kpc : `~astropy.units.Quantity`, optional
        Physical pixel size at the cluster; default that of a `~massrecon.MassMap`.
    centre_pixel : tuple of float, optional
        Zero-based (x, y) pixel of the centre; default the centre of a `~massrecon.MassMap`.
    edges : `~astropy.units.Quantity`
        Radial bin edges (length), increasing; every circle must lie inside the map.
    z_lens, z_source, cosmology, weights, sigma_cr
        The lensing geometry, as for `convergence`.
    mask : bool array, optional
        True where pixels are to be ignored.

    Returns
    -------
    profile : `ShearProfile`

    Examples
    --------
    >>> import astropy.units as u, numpy as np
    >>> from massrecon.analysis import ProjectedNFW, tangential_shear_profile
    >>> nfw = ProjectedNFW(log_m200=15.0, c200=4.0, redshift=0.3)
    >>> yy, xx = np.mgrid[:80, :80]
    >>> sigma = nfw(np.hypot(xx - 39.5, yy - 39.5) * 50 * u.kpc)
    >>> prof = tangential_shear_profile(sigma, 50 * u.kpc, (39.5, 39.5), [500, 1000, 1500] * u.kpc,
    ...                                 z_lens=0.3, z_source=1.0)
    >>> prof.gamma_t.round(3)
    array([0.065, 0.042])
    """
    if edges is None:
        raise ValueError("edges must be given (radial bin edges, a length Quantity)")
    values, meta = _map_quantity(sigma)
    if values.ndim != 2:
        raise ValueError(f"sigma must be a 2-D map, got shape {values.shape}")
    pix, centre, edges_kpc = _geometry(sigma, pixel_kpc, centre_pixel, edges)
    crit = _critical(sigma_cr, z_lens, z_source, cosmology, weights, meta)
    edges_pix = edges_kpc / pix
    ny, nx = values.shape
    room = min(centre[0] + 0.5, nx - 0.5 - centre[0], centre[1] + 0.5, ny - 0.5 - centre[1])
    if edges_pix[-1] > room * (1 + 1e-9):
        raise ValueError(f"edges reach beyond the map: the largest circle inside it has radius {room * pix:.4g} kpc, "
                         f"the last edge is {edges_kpc[-1]:.4g} kpc")
    data = values.to_value(TARGET_UNIT)
    bad = ~np.isfinite(data)
    if mask is not None:
        mask = np.asarray(mask, bool)
        if mask.shape != data.shape:
            raise ValueError(f"mask must have the map's shape {data.shape}, got {mask.shape}")
        bad |= mask
    data = np.where(bad, 0.0, data)
    radius_pix = 0.5 * (edges_pix[:-1] + edges_pix[1:])
    inside, ring = _aperture_means(data, bad, centre, radius_pix, edges_pix)
    crit_value = crit.to_value(TARGET_UNIT)
    kappa = ring / crit_value
    gamma_t = (inside - ring) / crit_value
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", MassreconWarning)  # the NaN of kappa >= 1 is documented
        g_t = reduced_shear(gamma_t, kappa)
    return ShearProfile(radius=radius_pix * pix * u.kpc, edges=edges_kpc * u.kpc, sigma=ring * TARGET_UNIT,
                        mean_sigma_inside=inside * TARGET_UNIT, delta_sigma=(inside - ring) * TARGET_UNIT,
                        sigma_cr=crit, kappa=kappa, gamma_t=gamma_t, g_t=np.atleast_1d(g_t))
