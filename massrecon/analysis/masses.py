"""Masses and profiles of a mass map with honest errors: a per-pixel term and a correlated model term.

Every mass or profile measured here carries two errors, added in quadrature:

* the **pixel term**, from the map's per-pixel uncertainty, propagated as if pixels were
  independent (:math:`\\sigma^2_M = \\sum_i w_i^2 \\sigma_i^2 A^2`, :math:`w_i` the exact overlap of
  pixel :math:`i`, :math:`A` the pixel area).  The errors of a reconstructed map are correlated
  over the beam and the network's receptive field, so this term alone is a lower bound;
* the **model term**, the error of the reconstruction itself measured on the held-out test mocks
  for the map's view set (the ``metrics`` of the weights' metadata, `ModelErrors`): the relative
  root-mean-square error :math:`\\sqrt{b^2 + s^2}` (bias :math:`b` = median and scatter
  :math:`s` = half the 16-84% range of :math:`\\log_{10}` pred / true, both as fractions) of
  the projected masses inside :math:`R_{500}` and :math:`R_{200}` and of the profile in 8
  logarithmic bins from 0.1 to 1 :math:`R_{200}`.  The bias is not subtracted: it is a property
  of the test set, quoted as part of the error.  Where the weights' metadata carry a
  ``"physics_systematic"`` (`massrecon.validation.heldout`: the largest bias of
  :math:`M(<R_{500})` over fresh simulations of the simulator's physics variants), that fraction
  of the mass is added in quadrature, as an uncertainty of the mass scale shared by all radii.

The correlation model of the profile's model term: the relative errors :math:`\\delta(R)` of two
annuli at :math:`R_i, R_j` correlate as :math:`\\rho_{ij} = \\exp(-|\\ln R_i / R_j| / \\ell)`
with :math:`\\ell` = `CORRELATION_LENGTH` = 1 (errors a factor :math:`e` apart in radius
correlate at :math:`1/e`): a reconstruction that is too high at one radius is too high at its
neighbours.  The model covariance of a profile is :math:`C_{ij} = \\rho_{ij} s_i s_j \\Sigma_i
\\Sigma_j`.  Circles centred on the cluster use the measured aperture-mass errors (interpolated
in :math:`\\ln R` between :math:`R_{500}` and :math:`R_{200}`, constant outside); annuli and
other regions sum the profile covariance over the radial bins they cover, weighted by their mass
in each.  The physics systematic :math:`s_{\\rm phys}` enters every mass as
:math:`\\sigma^2_{\\rm model} \\to \\sigma^2_{\\rm model} + (s_{\\rm phys} M)^2` and the profile
covariance as the fully correlated :math:`s^2_{\\rm phys} \\Sigma_i \\Sigma_j`; profile fits leave it
out and spherical masses add it after the fit (`massrecon.analysis.mapfit.spherical_mass`).
Maps not made by the model (no ``VIEWS`` in their meta) have no model term.
"""

import dataclasses
import functools
import json
import warnings
from importlib import resources

import astropy.units as u
import numpy as np

from ..contract import TARGET_UNIT
from ..exceptions import ApertureWarning

__all__ = ["CORRELATION_LENGTH", "ModelErrors", "MassMeasurement", "ProfileMeasurement", "bundled_metrics",
           "bundled_physics_systematic", "map_mass", "map_profile", "check_radius"]

#: e-folding length, in :math:`\ln R`, of the correlation of the model errors between radii.
CORRELATION_LENGTH = 1.0

#: Aperture coverage below which a mass is flagged as incomplete (`~massrecon.ApertureWarning`).
_COMPLETE = 0.999


@functools.lru_cache(maxsize=1)
def _bundled_metadata():
    path = resources.files("massrecon.models").joinpath("weights", "generator.json")
    with path.open("r") as fh:
        return json.load(fh)


def bundled_metrics():
    """The test-split ``metrics`` of the bundled weights (``massrecon/models/weights/generator.json``).

    Returns
    -------
    metrics : dict
        ``metrics[setting][view_set]["mass_r500" | "mass_r200" | "profile"]`` with ``bias`` and
        ``scatter`` (fractions); settings ``ideal``, ``planck_like`` and their
        ``_r200_estimated`` variants.

    Examples
    --------
    >>> from massrecon.analysis.masses import bundled_metrics
    >>> sorted(bundled_metrics()["planck_like"])[:3]
    ['stars', 'sz', 'sz+stars']
    """
    return _bundled_metadata().get("metrics", {})


def bundled_physics_systematic():
    """The physics systematic of the bundled weights, per view set (empty if they carry none).

    The ``"fraction"`` of the metadata entry ``"physics_systematic"`` written by
    ``python -m massrecon.validation.heldout --write-metadata`` (`massrecon.validation.heldout`).

    Returns
    -------
    systematic : dict
        View set (``"sz+xray"``, ...) -> fraction of the mass.

    Examples
    --------
    >>> from massrecon.analysis.masses import bundled_physics_systematic
    >>> isinstance(bundled_physics_systematic(), dict)
    True
    """
    return dict(_bundled_metadata().get("physics_systematic", {}).get("fraction", {}))


def _rms(entry):
    return float(np.hypot(entry["bias"], entry["scatter"]))


@dataclasses.dataclass(frozen=True)
class ModelErrors:
    """Relative model errors of a reconstruction, measured on the test mocks (see the module notes).

    Attributes
    ----------
    views : str
        View set, e.g. ``"sz+xray+stars"``.
    setting : str
        Test condition, e.g. ``"planck_like_r200_estimated"``.
    mass_r500, mass_r200 : float
        Relative rms error of the projected mass inside :math:`R_{500}`, :math:`R_{200}`.
    profile_edges_r200 : `~numpy.ndarray`
        Edges of the profile bins in units of :math:`R_{200}`.
    profile : `~numpy.ndarray`
        Relative rms error of :math:`\\Sigma` in each bin.
    correlation_length : float
        :math:`\\ell` of the correlation between radii.
    physics_systematic : float
        Fraction of the mass added in quadrature to every mass error, fully correlated across
        radii (0: none).
    scale_widening : float
        This map's own uncertainty of the mass scale (ln mass), added like
        ``physics_systematic``: the widening of an ambiguous self-consistent solve (``SCWIDEN``)
        and that of an uncertain X-ray background (``BKGWIDEN``), in quadrature.

    Examples
    --------
    >>> from massrecon.analysis.masses import ModelErrors
    >>> err = ModelErrors.from_meta({"VIEWS": "sz,xray,stars", "R200ERR": 0.0})
    >>> err.setting, round(err.mass_r200, 3)
    ('planck_like', 0.031)
    """

    views: str
    setting: str
    mass_r500: float
    mass_r200: float
    profile_edges_r200: np.ndarray
    profile: np.ndarray
    correlation_length: float = CORRELATION_LENGTH
    physics_systematic: float = 0.0
    scale_widening: float = 0.0

    @property
    def mass_scale(self):
        """Fraction of the mass fully correlated across radii: the physics systematic and the
        map's scale widening in quadrature."""
        return float(np.hypot(self.physics_systematic, self.scale_widening))

    @classmethod
    def from_meta(cls, meta, setting=None, metrics=None, correlation_length=CORRELATION_LENGTH,
                  physics_systematic=None):
        """The errors for a map's ``VIEWS`` (None if it has none: not a model map).

        Parameters
        ----------
        meta : dict-like
            The map's meta (``VIEWS``, ``R200ERR``, and ``SCWIDEN`` / ``BKGWIDEN`` where the
            reconstructor widened an ambiguous self-consistent answer or an uncertain background).
        setting : str, optional
            Test condition; default ``"planck_like"`` (real data are noisier than the ideal
            mocks), with ``"_r200_estimated"`` appended when the map was made with an uncertain
            R200 (``R200ERR > 0``, as `~massrecon.MassReconstructor.predict` does by default).
        metrics : dict, optional
            Test metrics; default `bundled_metrics`.
        correlation_length : float, optional
            :math:`\\ell`; default `CORRELATION_LENGTH`.
        physics_systematic : dict, optional
            View set -> fraction; default `bundled_physics_systematic` (without an entry for the
            map's view set, none).
        """
        views = str(meta.get("VIEWS", "") or "").strip()
        if not views:
            return None
        key = "+".join(v.strip() for v in views.split(","))
        if setting is None:
            setting = "planck_like" + ("_r200_estimated" if float(meta.get("R200ERR", 0) or 0) > 0 else "")
        metrics = bundled_metrics() if metrics is None else metrics
        if setting not in metrics:
            raise ValueError(f"error_model must be one of {sorted(k for k in metrics if k in _SETTINGS)}, "
                             f"got {setting!r}")
        if key not in metrics[setting]:
            raise ValueError(f"the test metrics ({setting!r}) have no view set {key!r} (the map's VIEWS)")
        entry = metrics[setting][key]
        prof = entry["profile"]
        rms = np.hypot(np.asarray(prof["bin_bias"]), np.asarray(prof["bin_scatter"]))
        systematic = bundled_physics_systematic() if physics_systematic is None else physics_systematic
        return cls(views=key, setting=setting, mass_r500=_rms(entry["mass_r500"]), mass_r200=_rms(entry["mass_r200"]),
                   profile_edges_r200=np.asarray(prof["edges_r200"], dtype=float), profile=rms,
                   correlation_length=float(correlation_length),
                   physics_systematic=float(systematic.get(key, 0.0)),
                   scale_widening=float(np.hypot(float(meta.get("SCWIDEN", 0) or 0),
                                                 float(meta.get("BKGWIDEN", 0) or 0))))

    def aperture_fraction(self, radius_r200, r500_r200):
        """Relative error of the mass in a circle of ``radius_r200`` (interpolated in ln R), with the
        mass scale's error (`mass_scale`) in quadrature."""
        x = np.log([r500_r200, 1.0])
        return float(np.hypot(np.interp(np.log(radius_r200), x, [self.mass_r500, self.mass_r200]),
                              self.mass_scale))

    def profile_fraction(self, radius_r200):
        """Relative error of :math:`\\Sigma` at ``radius_r200`` (constant beyond the bins), without
        the physics systematic (the part correlated over `correlation`)."""
        centres = np.sqrt(self.profile_edges_r200[:-1] * self.profile_edges_r200[1:])
        return np.interp(np.log(radius_r200), np.log(centres), self.profile)

    def correlation(self, radius_r200):
        """:math:`\\rho_{ij} = \\exp(-|\\ln R_i / R_j| / \\ell)`."""
        lr = np.log(np.asarray(radius_r200, dtype=float))
        return np.exp(-np.abs(lr[:, None] - lr[None, :]) / self.correlation_length)


_SETTINGS = ("ideal", "planck_like", "ideal_r200_estimated", "planck_like_r200_estimated")


@dataclasses.dataclass(frozen=True)
class MassMeasurement:
    """A projected or spherical mass and its errors.

    Attributes
    ----------
    mass : `~astropy.units.Quantity`
        The mass (Msun).
    error : `~astropy.units.Quantity`
        Total 1-sigma error, ``pixel_error`` and ``model_error`` in quadrature.
    pixel_error, model_error : `~astropy.units.Quantity`
        The two terms (see `massrecon.analysis.masses`).
    kind : str
        ``"circle"``, ``"annulus"``, ``"region"`` or ``"M500c"``-like for spherical masses.
    coverage : float
        Fraction of the aperture's area on unmasked pixels of the map (1 when complete).
    radius : `~astropy.units.Quantity` or None
        Outer radius (kpc) where defined.
    """

    mass: u.Quantity
    error: u.Quantity
    pixel_error: u.Quantity
    model_error: u.Quantity
    kind: str
    coverage: float = 1.0
    radius: u.Quantity = None

    def __repr__(self):
        where = f" R={self.radius:.1f}" if self.radius is not None else ""
        return (f"<MassMeasurement {self.kind}{where}: {self.mass.value:.4g} +- {self.error.value:.3g} Msun "
                f"(pixel {self.pixel_error.value:.3g}, model {self.model_error.value:.3g})>")


@dataclasses.dataclass(frozen=True)
class ProfileMeasurement:
    """Azimuthally averaged :math:`\\Sigma(R)` with its covariance.

    Attributes
    ----------
    edges, radius : `~astropy.units.Quantity`
        Bin edges and centres (the mean of the edges), kpc.
    sigma : `~astropy.units.Quantity`
        Mean :math:`\\Sigma` per annulus (exact overlap; masked pixels excluded).
    pixel_error, model_error, error : `~astropy.units.Quantity`
        The errors of each bin (see `massrecon.analysis.masses`); ``error`` in quadrature.
    covariance : `~astropy.units.Quantity`
        Full covariance: the diagonal pixel term plus the correlated model term.
    """

    edges: u.Quantity
    radius: u.Quantity
    sigma: u.Quantity
    pixel_error: u.Quantity
    model_error: u.Quantity
    error: u.Quantity
    covariance: u.Quantity


def check_radius(radius, name="radius"):
    """``radius`` as a scalar length or angle Quantity, finite and positive (errors name ``name``)."""
    if not isinstance(radius, u.Quantity):
        raise u.UnitsError(f"{name} must be a Quantity (a length at the cluster or an angle), got {radius!r}")
    if not (radius.unit.is_equivalent(u.kpc) or radius.unit.is_equivalent(u.deg)):
        raise u.UnitsError(f"{name} must have length or angle units, got unit '{radius.unit}'")
    if radius.ndim:
        raise ValueError(f"{name} must be a scalar, got shape {radius.shape}: call once per radius")
    if not np.isfinite(radius.value) or radius.value <= 0:
        raise ValueError(f"{name} must be finite and positive, got {radius}")
    return radius


def _pixels(mass_map):
    """Surface density, its variance (0 where unknown) and the usable-pixel mask."""
    data = np.array(mass_map.data, dtype=float) * float(u.Unit(mass_map.unit).to(TARGET_UNIT))
    good = np.isfinite(data)
    if mass_map.mask is not None:
        good &= ~np.asarray(mass_map.mask, bool)
    var = np.zeros(data.shape)
    if mass_map.uncertainty is not None:
        err = np.asarray(mass_map.uncertainty.array, dtype=float) * float(u.Unit(mass_map.unit).to(TARGET_UNIT))
        var = np.where(np.isfinite(err), err**2, 0.0)
    return np.where(good, data, 0.0), np.where(good, var, 0.0), good


def _radius_grid(mass_map):
    yy, xx = np.indices(mass_map.data.shape, dtype=float)
    cx, cy = mass_map.center_pixel()
    return np.hypot(xx - cx, yy - cy)


def map_mass(mass_map, weights, area_pix, kind, *, errors=None, radius_pix=None, what="aperture"):
    """Mass inside pixel ``weights`` (exact overlaps) of a `~massrecon.MassMap`, with both error terms.

    Parameters
    ----------
    mass_map : `~massrecon.MassMap`
    weights : `~numpy.ndarray`
        Overlap fraction of every pixel with the aperture.
    area_pix : float
        Area of the whole aperture in pixels (to detect apertures beyond the map).
    kind : str
        ``"circle"`` (centred on the cluster, radius ``radius_pix``), ``"annulus"`` or ``"region"``.
    errors : `ModelErrors` or None
        Model errors (None: pixel term only).
    radius_pix : float, optional
        The outer radius of a circle or annulus, in pixels.
    what : str
        How the aperture is named in warnings.

    Returns
    -------
    measurement : `MassMeasurement`
    """
    data, var, good = _pixels(mass_map)
    area = mass_map.pixel_area.to_value(u.kpc**2)
    w = np.asarray(weights, dtype=float)
    coverage = float(np.sum(w * good) / area_pix) if area_pix > 0 else 0.0
    if coverage < _COMPLETE:
        warnings.warn(f"the {what} covers only {coverage:.1%} of its area on unmasked pixels of the map: the "
                      "mass counts the pixels inside and is a lower limit", ApertureWarning)
    mass = float(np.sum(w * data)) * area
    pixel_err = float(np.sqrt(np.sum(w**2 * var))) * area
    model_err = 0.0
    if errors is not None:
        model_err = _model_error(mass_map, errors, w * data * area, kind, radius_pix, mass)
    total = float(np.hypot(pixel_err, model_err))
    radius = None if radius_pix is None else radius_pix * mass_map.pixel_kpc
    return MassMeasurement(mass=mass * u.Msun, error=total * u.Msun, pixel_error=pixel_err * u.Msun,
                           model_error=model_err * u.Msun, kind=kind, coverage=coverage, radius=radius)


def _r200_kpc(mass_map):
    r200 = mass_map.meta.get("R200C")
    if r200 is None:
        raise ValueError("the model error needs the map's R200C (meta): give error_model=False to skip it")
    return float(r200)


def _model_error(mass_map, errors, mass_per_pixel, kind, radius_pix, mass):
    r200 = _r200_kpc(mass_map)
    pix = mass_map.pixel_kpc.to_value(u.kpc)
    if kind == "circle":
        r500 = float(mass_map.meta.get("R500C", 0.65 * r200))
        return abs(mass) * errors.aperture_fraction(radius_pix * pix / r200, r500 / r200)
    # Sum the correlated profile errors over the logarithmic bins the aperture covers.
    r = _radius_grid(mass_map) * pix / r200
    lr = np.log(np.maximum(r, 1e-3))
    bins = np.linspace(lr.min(), lr.max() + 1e-9, 25)
    idx = np.clip(np.digitize(lr, bins) - 1, 0, bins.size - 2)
    m_bin = np.bincount(idx.ravel(), weights=mass_per_pixel.ravel(), minlength=bins.size - 1)
    centres = np.exp(0.5 * (bins[:-1] + bins[1:]))
    s = errors.profile_fraction(centres) * m_bin
    return float(np.sqrt(max(s @ errors.correlation(centres) @ s, 0.0) + (errors.mass_scale * mass) ** 2))


def map_profile(mass_map, edges_pix, errors=None):
    """`ProfileMeasurement` of a `~massrecon.MassMap` in annuli of ``edges_pix`` pixels.

    The annulus means come from `photutils.profiles.RadialProfile` (exact overlap, masked and
    non-finite pixels excluded); the pixel errors from its ``profile_error`` (independent pixels).
    """
    from photutils.profiles import RadialProfile

    data, var, good = _pixels(mass_map)
    err = np.sqrt(var) if mass_map.uncertainty is not None else None
    rp = RadialProfile(data, mass_map.center_pixel(), edges_pix, error=err, mask=~good)
    pix = mass_map.pixel_kpc.to_value(u.kpc)
    radius = np.asarray(rp.radius, dtype=float) * pix
    sigma = np.asarray(rp.profile, dtype=float)
    pix_err = np.asarray(rp.profile_error, dtype=float) if err is not None else np.zeros_like(sigma)
    cov = np.diag(pix_err**2)
    model_err = np.zeros_like(sigma)
    if errors is not None:
        r = radius / _r200_kpc(mass_map)
        correlated = errors.profile_fraction(r) * np.abs(sigma)
        scale = errors.mass_scale * sigma  # the mass scale: fully correlated
        cov = cov + errors.correlation(r) * np.outer(correlated, correlated) + np.outer(scale, scale)
        model_err = np.hypot(correlated, scale)
    return ProfileMeasurement(edges=np.asarray(edges_pix) * pix * u.kpc, radius=radius * u.kpc,
                              sigma=sigma * TARGET_UNIT, pixel_error=pix_err * TARGET_UNIT,
                              model_error=model_err * TARGET_UNIT, error=np.sqrt(np.diag(cov)) * TARGET_UNIT,
                              covariance=cov * TARGET_UNIT**2)
