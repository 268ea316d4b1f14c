"""Projected halo profiles as `astropy.modeling` models, and fits of them to surface-density profiles.

Models of the projected surface density :math:`\\Sigma(R)` (Msun/kpc\\ :sup:`2`, :math:`R` in kpc) of a
spherical halo at a fixed redshift and cosmology, parameterised by :math:`\\log_{10} M_{200c}` and
:math:`c_{200c} = R_{200c} / r_s`:

* `ProjectedNFW`: the NFW profile (Navarro, Frenk & White 1997, ApJ 490, 493, eq. 3), projected in
  closed form (Bartelmann 1996, A&A 313, 697; Wright & Brainerd 2000, ApJ 534, 34, eq. 11);
* `ProjectedEinasto`: the Einasto profile (Einasto 1965; Navarro et al. 2004, MNRAS 349, 1039,
  eq. 5) with :math:`r_{-2} = r_s`, projected by quadrature, with its shape :math:`\\alpha` free or
  fixed.

Both can be restricted to a slab :math:`|l| \\le D` along the line of sight,
:math:`\\Sigma_D(R) = 2 \\int_0^D \\rho(\\sqrt{R^2 + l^2})\\,dl`: the mass map made by
`~massrecon.MassReconstructor` is the mass in a slab of :math:`\\pm R_{200}`, so ``depth=1`` (in
units of the model's own :math:`R_{200}`) is the model of that target.

`fit_profile` fits any of them to a measured profile with a full covariance matrix (generalised
least squares) and returns the halo masses with their errors.
"""

import dataclasses
import functools
import warnings

import astropy.units as u
import numpy as np
from astropy.cosmology import Planck18
from astropy.modeling import Fittable1DModel, Parameter
from scipy import linalg, optimize, special

from ..contract import TARGET_UNIT
from ..exceptions import MassreconWarning, NotConvergedWarning
from ..halo import m500c_from_m200c, nfw_enclosed_mass_shape, radius_from_mass
from ..logger import log
from . import _validate

__all__ = ["ProjectedNFW", "ProjectedEinasto", "ProfileFit", "fit_profile", "fit_nfw"]

# Gauss-Legendre nodes on [0, 1] for the line-of-sight integrals.  The integrands are smooth after
# the changes of variable below; the numbers of nodes keep the quadrature error below 1e-5
# (checked against scipy.integrate.quad in the tests).
_TAIL_NODES = 48
_LOS_NODES = 160


@functools.lru_cache(maxsize=4)
def _gauss_legendre(n):
    x, w = np.polynomial.legendre.leggauss(n)
    return 0.5 * (x + 1.0), 0.5 * w


def _nfw_projected_shape(x):
    """:math:`\\Sigma / (2 \\rho_s r_s)` of an untruncated NFW at :math:`x = R / r_s`.

    Wright & Brainerd 2000 (ApJ 534, 34), eq. 11, with :math:`2\\,{\\rm artanh}\\sqrt{(1-x)/(1+x)} =
    {\\rm arccosh}(1/x)` and :math:`2 \\arctan\\sqrt{(x-1)/(1+x)} = \\arccos(1/x)`.  Within 1e-3 of
    :math:`x = 1`, where both branches cancel, the Taylor series
    :math:`1/3 - 2(x-1)/5 + 13(x-1)^2/35` is used (error < 1e-9).
    """
    x = np.asarray(x, dtype=float)
    out = np.empty_like(x)
    d = x - 1.0
    near = np.abs(d) < 1e-3
    low = (x < 1.0) & ~near
    high = (x > 1.0) & ~near
    with np.errstate(divide="ignore", invalid="ignore"):
        xl = x[low]
        out[low] = (1.0 - np.arccosh(1.0 / xl) / np.sqrt(1.0 - xl**2)) / (xl**2 - 1.0)
    xh = x[high]
    out[high] = (1.0 - np.arccos(1.0 / xh) / np.sqrt(xh**2 - 1.0)) / (xh**2 - 1.0)
    dn = d[near]
    out[near] = 1.0 / 3.0 - 0.4 * dn + 13.0 / 35.0 * dn**2
    out[np.isnan(x)] = np.nan
    return out


def _radius_kpc(x):
    """Model input as kpc floats (astropy passes a Quantity in kpc when the user gave one)."""
    return x.to_value(u.kpc) if isinstance(x, u.Quantity) else np.asarray(x, dtype=float)


class _ProjectedHalo(Fittable1DModel):
    """Common part of the projected halo models: redshift, cosmology, slab depth, units."""

    _input_units = {"x": u.kpc}
    _return_units = {"y": TARGET_UNIT}
    _input_units_allow_dimensionless = True

    def __init__(self, *args, redshift, cosmology=None, depth=None, **kwargs):
        self._redshift = _validate.redshift(redshift, "redshift")
        self._cosmology = Planck18 if cosmology is None else cosmology
        self._rho_crit = float(self._cosmology.critical_density(self._redshift).to_value(u.Msun / u.kpc**3))
        self._depth_kpc, self._depth_r200 = self._parse_depth(depth)
        super().__init__(*args, **kwargs)

    @staticmethod
    def _parse_depth(depth):
        if depth is None:
            return None, None
        if isinstance(depth, u.Quantity) and depth.unit.is_equivalent(u.kpc):
            value = _validate.as_quantity(depth, u.kpc, "depth", positive=True, ndim=0)
            return float(value), None
        if isinstance(depth, u.Quantity) and depth.unit != u.dimensionless_unscaled:
            raise u.UnitsError(f"depth must be a length or a number (in units of R200), got unit '{depth.unit}'")
        value = float(u.Quantity(depth).value) if isinstance(depth, u.Quantity) else float(depth)
        if not np.isfinite(value) or value <= 0:
            raise ValueError(f"depth must be finite and positive, got {depth}")
        return None, value

    @property
    def redshift(self):
        """Redshift of the halo."""
        return self._redshift

    @property
    def cosmology(self):
        """The `~astropy.cosmology.Cosmology` of the critical density."""
        return self._cosmology

    @property
    def depth(self):
        """Half-depth of the line-of-sight slab: a length, a number (units of R200), or None."""
        if self._depth_kpc is not None:
            return self._depth_kpc * u.kpc
        return self._depth_r200

    @property
    def m200(self):
        """:math:`M_{200c}` of the current parameters."""
        return 10.0 ** float(self.log_m200.value) * u.Msun

    @property
    def r200(self):
        """:math:`R_{200c}` of the current parameters (`massrecon.halo.radius_from_mass`)."""
        return radius_from_mass(self.m200, 200, self._redshift, self._cosmology)

    def _r200_kpc(self, log_m200):
        m = 10.0 ** np.asarray(log_m200, dtype=float)
        # R200 = [3 M200 / (4 pi 200 rho_c)]^(1/3), as massrecon.halo.radius_from_mass, on floats
        # because the fitters call this many times.
        return np.cbrt(3.0 * m / (800.0 * np.pi * self._rho_crit))

    def _slab_kpc(self, r200):
        if self._depth_kpc is not None:
            return np.full_like(r200, self._depth_kpc)
        if self._depth_r200 is not None:
            return self._depth_r200 * r200
        return None

    def _parameter_units_for_data_units(self, inputs_unit, outputs_unit):
        # All parameters are dimensionless (log mass, concentration, shape).
        return {}


class ProjectedNFW(_ProjectedHalo):
    """Projected surface density :math:`\\Sigma(R)` of an NFW halo.

    .. math::

        \\Sigma(R) = 2 \\rho_s r_s f(R / r_s), \\quad \\rho_s = \\delta_c \\rho_c(z), \\quad
        \\delta_c = \\frac{200}{3} \\frac{c^3}{\\ln(1 + c) - c/(1 + c)},

    with :math:`f` of Wright & Brainerd (2000, ApJ 534, 34, eq. 11; Bartelmann 1996, A&A 313, 697),
    :math:`r_s = R_{200c} / c_{200}` and :math:`\\rho_c(z)` from the cosmology.  With ``depth``,
    the halo is cut to the slab :math:`|l| \\le D`:
    :math:`\\Sigma_D = \\Sigma - 2 \\int_D^\\infty \\rho(\\sqrt{R^2 + l^2})\\,dl`, the tail
    integrated by Gauss-Legendre quadrature in :math:`t = D / l`.

    Parameters
    ----------
    log_m200 : float
        :math:`\\log_{10}(M_{200c} / M_\\odot)`.
    c200 : float
        Concentration :math:`R_{200c} / r_s`.
    redshift : float
        Redshift of the halo (keyword only, required).
    cosmology : `~astropy.cosmology.Cosmology`, optional
        Defaults to `~astropy.cosmology.Planck18`.
    depth : `~astropy.units.Quantity` or float, optional
        Half-depth of the slab along the line of sight: a length, or a number in units of the
        model's own :math:`R_{200c}` (``depth=1`` is the :math:`\\pm R_{200}` slab of a
        `~massrecon.MassMap`).  Default: untruncated.
    **kwargs
        Passed to `~astropy.modeling.Fittable1DModel` (``fixed``, ``bounds``, ``name``, ...).

    Notes
    -----
    The input is the projected radius (a length `~astropy.units.Quantity`, or floats in kpc);
    the output is in Msun/kpc\\ :sup:`2` (a Quantity when the input is one).

    Examples
    --------
    >>> import astropy.units as u
    >>> from massrecon.analysis import ProjectedNFW
    >>> nfw = ProjectedNFW(log_m200=15.0, c200=4.0, redshift=0.2)
    >>> nfw.r200.round()
    <Quantity 1971. kpc>
    >>> nfw([100, 1000] * u.kpc).round(-6)
    <Quantity [1.12e+09, 1.04e+08] solMass / kpc2>
    >>> slab = ProjectedNFW(log_m200=15.0, c200=4.0, redshift=0.2, depth=1)
    >>> round(float(slab(1000 * u.kpc) / nfw(1000 * u.kpc)), 3)
    0.845
    """

    log_m200 = Parameter(default=14.5, bounds=(10.0, 17.0), description="log10(M200c / Msun)")
    c200 = Parameter(default=4.0, bounds=(0.5, 40.0), description="concentration R200c / r_s")

    def evaluate(self, x, log_m200, c200):
        r = _radius_kpc(x)
        r200 = self._r200_kpc(log_m200)
        c200 = np.asarray(c200, dtype=float)
        rs = r200 / c200
        rho_s = 200.0 / 3.0 * c200**3 / nfw_enclosed_mass_shape(c200) * self._rho_crit
        sigma = 2.0 * rho_s * rs * _nfw_projected_shape(r / rs)
        depth = self._slab_kpc(r200)
        if depth is None:
            return sigma
        return sigma - 2.0 * self._tail(r, depth, rs, rho_s)

    @staticmethod
    def _tail(r, depth, rs, rho_s):
        """:math:`\\int_D^\\infty \\rho(\\sqrt{R^2 + l^2})\\,dl` with :math:`l = D / t`."""
        t, w = _gauss_legendre(_TAIL_NODES)
        r, depth, rs, rho_s = (np.asarray(a, dtype=float)[..., None] for a in np.broadcast_arrays(r, depth, rs, rho_s))
        s = np.sqrt(r**2 + (depth / t) ** 2) / rs
        rho = rho_s / (s * (1.0 + s) ** 2)
        return np.sum(w * rho * depth / t**2, axis=-1)

    def halo_masses(self):
        """:math:`M_{200c}, c_{200c}, M_{500c}, R_{200c}, R_{500c}` of the current parameters.

        :math:`M_{500c}` comes from `massrecon.halo.m500c_from_m200c` at this concentration.

        Returns
        -------
        masses : dict
            Keys ``m200``, ``c200``, ``m500``, ``r200``, ``r500`` (Quantities; ``c200`` a float).
        """
        m200 = self.m200
        c200 = float(self.c200.value)
        m500, _ = m500c_from_m200c(m200, self._redshift, self._cosmology, c200=c200)
        return {"m200": m200, "c200": c200, "m500": m500, "r200": self.r200,
                "r500": radius_from_mass(m500, 500, self._redshift, self._cosmology)}


def _einasto_log_norm(alpha, c200):
    """:math:`\\ln[M_{200} / (4 \\pi \\rho_s r_s^3)]` of an Einasto halo of concentration ``c200``.

    :math:`M(<r) = 4 \\pi \\rho_s r_s^3 \\, e^{2/\\alpha} \\alpha^{-1} (\\alpha/2)^{3/\\alpha}
    \\gamma(3/\\alpha, (2/\\alpha) x^\\alpha)` (e.g. Cardone, Piedipalumbo & Tortora 2005, MNRAS 358,
    1325, eq. 8; :math:`\\gamma` the lower incomplete gamma function), in logarithms so that it
    stays finite for small :math:`\\alpha`.
    """
    a = 3.0 / alpha
    return (2.0 / alpha - np.log(alpha) + a * np.log(alpha / 2.0) + special.gammaln(a)
            + np.log(special.gammainc(a, 2.0 / alpha * c200**alpha)))


class ProjectedEinasto(_ProjectedHalo):
    """Projected surface density :math:`\\Sigma(R)` of an Einasto halo, by quadrature.

    .. math::

        \\rho(r) = \\rho_s \\exp\\left\\{-\\frac{2}{\\alpha}\\left[\\left(\\frac{r}{r_s}\\right)^\\alpha
        - 1\\right]\\right\\}

    (Navarro et al. 2004, MNRAS 349, 1039, eq. 5), with :math:`r_s = r_{-2} = R_{200c} / c_{200}`
    and :math:`\\rho_s` set by :math:`M(<R_{200c}) = M_{200c}`.  :math:`\\Sigma(R) = 2
    \\int_0^{D} \\rho(\\sqrt{R^2 + l^2})\\,dl` is integrated by Gauss-Legendre quadrature in
    :math:`u` with :math:`l = R \\sinh u`; without ``depth``, up to the distance where
    :math:`\\rho / \\rho_s < e^{-50}`.  Typical cluster halos have :math:`\\alpha \\approx 0.18-0.25`
    (Gao et al. 2008, MNRAS 387, 536).

    Parameters
    ----------
    log_m200, c200 : float
        :math:`\\log_{10}(M_{200c} / M_\\odot)` and :math:`R_{200c} / r_{-2}`.
    alpha : float
        Shape parameter; fix it with ``fixed={"alpha": True}``.
    redshift, cosmology, depth, **kwargs
        As for `ProjectedNFW`.

    Examples
    --------
    >>> import astropy.units as u
    >>> from massrecon.analysis import ProjectedEinasto
    >>> ein = ProjectedEinasto(log_m200=15.0, c200=4.0, alpha=0.18, redshift=0.2, fixed={"alpha": True})
    >>> ein([100, 1000] * u.kpc).round(-6)
    <Quantity [1.171e+09, 1.040e+08] solMass / kpc2>
    """

    log_m200 = Parameter(default=14.5, bounds=(10.0, 17.0), description="log10(M200c / Msun)")
    c200 = Parameter(default=4.0, bounds=(0.5, 40.0), description="concentration R200c / r_-2")
    alpha = Parameter(default=0.18, bounds=(0.05, 1.0), description="Einasto shape parameter")

    def _rho_s(self, log_m200, c200, alpha):
        r200 = self._r200_kpc(log_m200)
        rs = r200 / c200
        m200 = 10.0 ** np.asarray(log_m200, dtype=float)
        return m200 / (4.0 * np.pi * rs**3 * np.exp(_einasto_log_norm(alpha, c200))), rs, r200

    def evaluate(self, x, log_m200, c200, alpha):
        r = _radius_kpc(x)
        c200 = np.asarray(c200, dtype=float)
        alpha = np.asarray(alpha, dtype=float)
        rho_s, rs, r200 = self._rho_s(log_m200, c200, alpha)
        depth = self._slab_kpc(r200)
        reach = rs * (1.0 + 25.0 * alpha) ** (1.0 / alpha)  # rho / rho_s = e^-50 there
        depth = reach if depth is None else np.minimum(depth, reach)
        r, depth, rs, rho_s, alpha = (np.asarray(a, dtype=float)[..., None]
                                      for a in np.broadcast_arrays(r, depth, rs, rho_s, alpha))
        t, w = _gauss_legendre(_LOS_NODES)
        umax = np.arcsinh(depth / r)
        uu = umax * t
        rr = r * np.cosh(uu)  # sqrt(R^2 + l^2) for l = R sinh(u)
        rho = rho_s * np.exp(-2.0 / alpha * ((rr / rs) ** alpha - 1.0))
        return 2.0 * np.sum(w * umax * rho * rr, axis=-1)  # dl = R cosh(u) du = rr du

    def _enclosed_mass(self, r, c200, alpha, rs, rho_s):
        a = 3.0 / alpha
        log_shape = (2.0 / alpha - np.log(alpha) + a * np.log(alpha / 2.0) + special.gammaln(a)
                     + np.log(special.gammainc(a, 2.0 / alpha * (r / rs) ** alpha)))
        return 4.0 * np.pi * rho_s * rs**3 * np.exp(log_shape)

    def halo_masses(self):
        """:math:`M_{200c}, c_{200c}, M_{500c}, R_{200c}, R_{500c}` of the current parameters.

        :math:`R_{500c}` solves :math:`M(<r) = (4/3) \\pi 500 \\rho_c r^3` (Brent's method).

        Returns
        -------
        masses : dict
            Keys ``m200``, ``c200``, ``m500``, ``r200``, ``r500`` (Quantities; ``c200`` a float).
        """
        lm, c, alpha = (float(p.value) for p in (self.log_m200, self.c200, self.alpha))
        rho_s, rs, r200 = (float(v) for v in self._rho_s(lm, c, alpha))

        def excess(r):
            return self._enclosed_mass(r, c, alpha, rs, rho_s) - 4.0 / 3.0 * np.pi * 500.0 * self._rho_crit * r**3

        r500 = optimize.brentq(excess, 1e-3 * r200, r200, xtol=1e-10 * r200)
        m500 = self._enclosed_mass(r500, c, alpha, rs, rho_s)
        return {"m200": self.m200, "c200": c, "m500": m500 * u.Msun, "r200": r200 * u.kpc, "r500": r500 * u.kpc}


@dataclasses.dataclass(frozen=True)
class ProfileFit:
    """Result of `fit_profile` / `fit_nfw`.

    Attributes
    ----------
    model : `~astropy.modeling.Fittable1DModel`
        A copy of the model with the best-fit parameters.
    parameters, errors : dict
        Best-fit value and 1-sigma error of every parameter (0 for fixed ones).
    free_parameters : tuple of str
        Names of the fitted parameters, the order of ``covariance``.
    covariance : `~numpy.ndarray`
        Covariance of the free parameters, :math:`(J^T C^{-1} J)^{-1}` at the best fit.
    chi2 : float
        :math:`r^T C^{-1} r` at the best fit.
    dof : int
        Number of data points minus free parameters.
    m200, m500 : `~astropy.units.Quantity` or None
        Halo masses (Msun), where the model defines them (``halo_masses``).
    m200_err, m500_err : `~astropy.units.Quantity` or None
        Their 1-sigma errors, propagated from ``covariance`` (linearised).
    c200, c200_err : float or None
        Concentration and its error.
    r200, r500 : `~astropy.units.Quantity` or None
        The radii of the best fit (kpc).
    success : bool
        Whether the optimiser reported convergence.
    message : str
        The optimiser's message.
    """

    model: Fittable1DModel
    parameters: dict
    errors: dict
    free_parameters: tuple
    covariance: np.ndarray
    chi2: float
    dof: int
    m200: u.Quantity = None
    m200_err: u.Quantity = None
    c200: float = None
    c200_err: float = None
    m500: u.Quantity = None
    m500_err: u.Quantity = None
    r200: u.Quantity = None
    r500: u.Quantity = None
    success: bool = True
    message: str = ""

    @property
    def reduced_chi2(self):
        """:math:`\\chi^2` per degree of freedom."""
        return self.chi2 / self.dof if self.dof > 0 else np.nan


def _whitener(uncertainty, sigma_unit, n):
    """A function turning residuals into whitened residuals, from errors or a covariance."""
    if not isinstance(uncertainty, u.Quantity):
        raise u.UnitsError("covariance_or_errors must be a Quantity: errors in the unit of sigma or a "
                           f"covariance in its square, got {uncertainty!r}")
    ndim = np.ndim(uncertainty)
    if ndim == 1:
        err = _validate.as_quantity(uncertainty, sigma_unit, "covariance_or_errors (errors)", positive=True)
        if err.shape != (n,):
            raise ValueError(f"covariance_or_errors (errors) must have the shape of sigma ({n},), got {err.shape}")
        return lambda r: r / err
    if ndim != 2:
        raise ValueError(f"covariance_or_errors must be 1-D (errors) or 2-D (covariance), got {ndim}-D")
    cov = _validate.as_quantity(uncertainty, sigma_unit**2, "covariance_or_errors (covariance)")
    if cov.shape != (n, n):
        raise ValueError(f"covariance_or_errors (covariance) must have shape ({n}, {n}), got {cov.shape}")
    if not np.allclose(cov, cov.T, rtol=1e-8, atol=0):
        raise ValueError("covariance_or_errors (covariance) must be symmetric")
    try:
        chol = linalg.cholesky(cov, lower=True)
    except linalg.LinAlgError:
        raise ValueError("covariance_or_errors (covariance) must be positive definite") from None
    return lambda r: linalg.solve_triangular(chol, r, lower=True, check_finite=False)


def _free_parameters(model):
    names = [n for n in model.param_names if not model.fixed[n] and not model.tied[n]]
    if not names:
        raise ValueError("model has no free parameters to fit")
    lower, upper, start = [], [], []
    for n in names:
        lo, hi = model.bounds[n]
        lo = -np.inf if lo is None else lo
        hi = np.inf if hi is None else hi
        lower.append(lo)
        upper.append(hi)
        value = float(getattr(model, n).value)
        span = (hi - lo) if np.isfinite(hi - lo) else 1.0
        start.append(np.clip(value, lo + 1e-6 * span, hi - 1e-6 * span))
    return names, np.array(lower), np.array(upper), np.array(start)


def _parameter_covariance(jac):
    """:math:`(J^T J)^{-1}` of the whitened Jacobian, by SVD (infinite where undetermined)."""
    _, s, vt = linalg.svd(jac, full_matrices=False)
    tiny = s <= s.max() * np.finfo(float).eps * max(jac.shape)
    if np.any(tiny):
        warnings.warn("the fit does not constrain every free parameter: its covariance is infinite",
                      MassreconWarning)
        return np.full((jac.shape[1],) * 2, np.inf)
    return (vt.T / s**2) @ vt


def _derived(model, names, values, covariance):
    """Halo masses of the best fit and their linearised errors (central differences)."""
    if not hasattr(model, "halo_masses"):
        return {}
    best = model.halo_masses()
    keys = ("m200", "c200", "m500")

    def vector(vals):
        trial = model.copy()
        for n, v in zip(names, vals):
            setattr(trial, n, v)
        h = trial.halo_masses()
        return np.array([np.log(h["m200"].to_value(u.Msun)), h["c200"], np.log(h["m500"].to_value(u.Msun))])

    jac = np.zeros((len(keys), len(names)))
    for i, sd in enumerate(np.sqrt(np.diag(covariance))):
        step = 1e-3 * sd if np.isfinite(sd) and sd > 0 else 1e-6 * max(abs(values[i]), 1.0)
        up, down = values.copy(), values.copy()
        up[i] += step
        down[i] -= step
        jac[:, i] = (vector(up) - vector(down)) / (2.0 * step)
    with np.errstate(invalid="ignore"):
        err = np.sqrt(np.diag(jac @ covariance @ jac.T))
    out = dict(best)
    out["m200_err"] = best["m200"] * err[0]
    out["c200_err"] = float(err[1])
    out["m500_err"] = best["m500"] * err[2]
    return out


def fit_profile(radii, sigma, covariance_or_errors, model):
    """Fit a projected profile model to :math:`\\Sigma(R)` by generalised least squares.

    Minimises :math:`\\chi^2 = r^T C^{-1} r`, :math:`r = \\Sigma - \\Sigma_{\\rm model}`, as the
    sum of squares of the whitened residuals :math:`L^{-1} r` (:math:`C = L L^T`, Cholesky) with
    `scipy.optimize.least_squares` (trust region, within the parameters' bounds).  Correlated
    errors, such as those of a profile measured on a smoothed or reconstructed map, need the full
    covariance: with only its diagonal the errors of the fit are too small.

    Parameters
    ----------
    radii : `~astropy.units.Quantity`
        Projected radii (length), 1-D, positive.
    sigma : `~astropy.units.Quantity`
        Surface densities at ``radii`` (e.g. Msun/kpc\\ :sup:`2`).
    covariance_or_errors : `~astropy.units.Quantity`
        1-D: the 1-sigma errors of ``sigma`` (independent); 2-D: their covariance matrix, in the
        square of ``sigma``'s unit.
    model : `ProjectedNFW`, `ProjectedEinasto` or `~astropy.modeling.Fittable1DModel`
        The model, whose parameter values are the starting point; ``fixed`` and ``bounds`` are
        honoured.  It is not modified.

    Returns
    -------
    fit : `ProfileFit`
        Best-fit parameters, their covariance and, for halo models, :math:`M_{200c}`,
        :math:`c_{200c}` and :math:`M_{500c}` with errors.

    Examples
    --------
    >>> import astropy.units as u, numpy as np
    >>> from massrecon.analysis import ProjectedNFW, fit_profile
    >>> truth = ProjectedNFW(log_m200=15.0, c200=4.0, redshift=0.2)
    >>> r = np.geomspace(100, 2000, 12) * u.kpc
    >>> fit = fit_profile(r, truth(r), 0.05 * truth(r), ProjectedNFW(redshift=0.2))
    >>> f"{fit.m200:.3e}", round(fit.c200, 3)
    ('1.000e+15 solMass', 4.0)
    """
    r = _validate.as_quantity(radii, u.kpc, "radii", positive=True, ndim=1)
    data = _validate.as_quantity(sigma, TARGET_UNIT, "sigma", ndim=1)
    sigma_unit = TARGET_UNIT
    if data.shape != r.shape:
        raise ValueError(f"sigma must have the shape of radii {r.shape}, got {data.shape}")
    whiten = _whitener(covariance_or_errors, sigma_unit, r.size)
    names, lower, upper, start = _free_parameters(model)
    if r.size <= len(names):
        raise ValueError(f"need more data points ({r.size}) than free parameters ({len(names)})")
    work = model.copy()

    def residuals(values):
        params = [float(getattr(work, n).value) for n in work.param_names]
        for n, v in zip(names, values):
            params[work.param_names.index(n)] = v
        return whiten(data - work.evaluate(r, *params))

    res = optimize.least_squares(residuals, start, bounds=(lower, upper), method="trf", jac="3-point",
                                 x_scale="jac", xtol=1e-12, ftol=1e-12, gtol=1e-12, max_nfev=2000)
    return _fit_result(work, names, res, r.size, lower, upper)


def _fit_result(model, names, res, ndata, lower, upper):
    if not res.success:
        warnings.warn(f"the profile fit did not converge: {res.message}", NotConvergedWarning)
    at_bound = (np.isclose(res.x, lower, rtol=1e-6, atol=1e-9) | np.isclose(res.x, upper, rtol=1e-6, atol=1e-9))
    if np.any(at_bound):
        warnings.warn(f"the best fit of {[n for n, b in zip(names, at_bound) if b]} lies on a bound: "
                      "its errors are not meaningful", MassreconWarning)
    for n, v in zip(names, res.x):
        setattr(model, n, v)
    cov = _parameter_covariance(res.jac)
    errors = dict.fromkeys(model.param_names, 0.0)
    errors.update({n: float(np.sqrt(cov[i, i])) for i, n in enumerate(names)})
    chi2 = float(2.0 * res.cost)
    log.debug(f"profile fit: chi2 = {chi2:.3g} for {ndata - len(names)} dof after {res.nfev} evaluations")
    derived = _derived(model, names, res.x.copy(), cov)
    return ProfileFit(model=model, parameters={n: float(getattr(model, n).value) for n in model.param_names},
                      errors=errors, free_parameters=tuple(names), covariance=cov, chi2=chi2,
                      dof=ndata - len(names), success=bool(res.success), message=str(res.message), **derived)


def fit_nfw(radii, sigma, covariance_or_errors, *, redshift, cosmology=None, depth=None, m200=None,
            c200=None, fix_c200=False):
    """Fit an NFW profile (`ProjectedNFW`) to :math:`\\Sigma(R)`: `fit_profile` with a start.

    Parameters
    ----------
    radii, sigma, covariance_or_errors
        As for `fit_profile`.
    redshift : float
        Redshift of the cluster.
    cosmology : `~astropy.cosmology.Cosmology`, optional
        Defaults to `~astropy.cosmology.Planck18`.
    depth : `~astropy.units.Quantity` or float, optional
        Slab half-depth, as for `ProjectedNFW`; ``1`` for a `~massrecon.MassMap` (:math:`\\pm R_{200}`).
    m200 : `~astropy.units.Quantity`, optional
        Starting mass; by default the best of a grid from :math:`10^{13}` to :math:`10^{16}\\,M_\\odot`.
    c200 : float, optional
        Starting (or, with ``fix_c200``, fixed) concentration; default 4.
    fix_c200 : bool, optional
        Fit the mass only, at ``c200``.

    Returns
    -------
    fit : `ProfileFit`

    Examples
    --------
    >>> import astropy.units as u, numpy as np
    >>> from massrecon.analysis import ProjectedNFW, fit_nfw
    >>> r = np.geomspace(100, 2000, 12) * u.kpc
    >>> sigma = ProjectedNFW(log_m200=14.7, c200=5.0, redshift=0.3, depth=1)(r)
    >>> fit = fit_nfw(r, sigma, 0.05 * sigma, redshift=0.3, depth=1)
    >>> f"{fit.m200:.3e}", round(fit.c200, 3), f"{fit.m500:.2e}"
    ('5.012e+14 solMass', 5.0, '3.62e+14 solMass')
    """
    if c200 is None:
        c200 = 4.0
    model = ProjectedNFW(c200=c200, redshift=redshift, cosmology=cosmology, depth=depth,
                         fixed={"c200": bool(fix_c200)})
    if m200 is not None:
        model.log_m200 = np.log10(_validate.as_quantity(m200, u.Msun, "m200", positive=True, ndim=0))
    else:
        model.log_m200 = _grid_start(model, radii, sigma)
    return fit_profile(radii, sigma, covariance_or_errors, model)


def _grid_start(model, radii, sigma):
    """The mass of a coarse grid whose profile is closest to ``sigma`` in log (a robust start)."""
    r = _validate.as_quantity(radii, u.kpc, "radii", positive=True, ndim=1)
    data = _validate.as_quantity(sigma, TARGET_UNIT, "sigma", ndim=1)
    if data.shape != r.shape:
        raise ValueError(f"sigma must have the shape of radii {r.shape}, got {data.shape}")
    grid = np.arange(13.0, 16.01, 0.25)
    c = float(model.c200.value)
    good = data > 0
    if not np.any(good):
        return 14.5
    cost = [np.sum((np.log(model.evaluate(r[good], lm, c)) - np.log(data[good])) ** 2) for lm in grid]
    return float(grid[int(np.argmin(cost))])
