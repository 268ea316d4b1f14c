"""Scaling relations from a view's integral within :math:`R_{500c}` to :math:`M_{500c}`.

An observer's first mass of a cluster comes from an integrated observable through a power-law
scaling relation, with the aperture :math:`R_{500}` following the mass to its fixed point
(Arnaud et al. 2010, A&A 517, A92, section 6; Planck 2013 results XX, A&A 571, A20, section 3.2):

.. math::

    \\log_{10} M_{500} = a + b \\log_{10} S(<R_{500}) + c \\log_{10} E(z),

with :math:`S` the Compton :math:`Y_{500} D_A^2` (kpc^2), the soft-band luminosity (erg/s) or the
members' stellar mass (Msun) inside :math:`R_{500}`, the units of
`massrecon.checks.AMPLITUDE_UNITS`.  Self-similar values are :math:`b = 3/5` for Y (Arnaud et
al. 2010, eq. 22), about 0.6-0.75 for the soft-band luminosity (Pratt et al. 2009, A&A 498, 361,
Table 2) and about 1 for the stellar mass.

The bundled weights carry one relation per view, fitted on their training halos (ideal maps,
true :math:`R_{500}`; metadata key ``"scaling_relations"``, written by
`massrecon.validation.scaling_relations`), so the relations describe the same simulator as the
network.  `~massrecon.MassReconstructor` uses them to place the frame of a self-consistent
reconstruction (``self_consistent=True``): the relation mass iterated to its own
:math:`R_{500}` is unique and independent of the starting frame, and it follows the inputs'
amplitude as the relations do; the network then predicts the map on that frame, inside the
range of frame errors it was trained on.

A beam, and the high-pass filter of a ground-based SZ map, move signal out of the aperture.
`aperture_fraction` measures that loss on a template of the view's profile (projected
Arnaud et al. 2010 pressure, Vikhlinin et al. 2006 emission, NFW for the members) and the
integral is divided by it.
"""

import dataclasses
import functools
import math

import astropy.units as u
import numpy as np
from scipy import integrate

__all__ = [
    "RELATIONS_KEY",
    "ScalingRelation",
    "relation_coefficients",
    "combine_log_masses",
    "aperture_fraction",
]

#: Key of the calibrated relations in the weights' metadata.
RELATIONS_KEY = "scaling_relations"

_VIEWS = ("sz", "xray", "stars")


@dataclasses.dataclass(frozen=True)
class ScalingRelation:
    """:math:`\\log_{10} M_{500} = a + b \\log_{10} S + c \\log_{10} E(z)` for one view.

    Parameters
    ----------
    view : {"sz", "xray", "stars"}
    coef : tuple of float
        ``(a, b, c)``; ``S`` in `massrecon.checks.AMPLITUDE_UNITS` of the view.
    scatter_dex : float
        Standard deviation of :math:`\\log_{10}(M_{500}/M_{relation})` on the calibration halos.
    n : int
        Number of calibration maps.

    Examples
    --------
    A relation :math:`M_{500} = 10^{14} (Y / 10\\,{\\rm kpc^2})^{0.6}` at z = 0:

    >>> import astropy.units as u
    >>> from massrecon.relations import ScalingRelation
    >>> rel = ScalingRelation("sz", (14.0 - 0.6, 0.6, 0.0), 0.04)
    >>> rel.m500(10 * u.kpc**2, 0.0)
    <Quantity 1.e+14 solMass>
    >>> ScalingRelation.from_dict("sz", rel.to_dict()) == rel
    True
    """

    view: str
    coef: tuple
    scatter_dex: float
    n: int = 0

    def __post_init__(self):
        if self.view not in _VIEWS:
            raise ValueError(f"view must be one of {_VIEWS}, got {self.view!r}")
        coef = tuple(float(c) for c in self.coef)
        if len(coef) != 3 or not all(math.isfinite(c) for c in coef):
            raise ValueError(f"coef must be three finite numbers (a, b, c), got {self.coef!r}")
        if not (math.isfinite(self.scatter_dex) and self.scatter_dex > 0):
            raise ValueError(f"scatter_dex must be positive, got {self.scatter_dex}")
        object.__setattr__(self, "coef", coef)
        object.__setattr__(self, "scatter_dex", float(self.scatter_dex))

    @property
    def unit(self):
        """Unit of the integral ``S``."""
        from .checks import AMPLITUDE_UNITS

        return AMPLITUDE_UNITS[self.view]

    def log10_m500(self, integral, efunc):
        """:math:`\\log_{10}(M_{500}/M_\\odot)` of plain integrals (in `unit`) and :math:`E(z)`; NaN if ``S <= 0``."""
        s = np.asarray(integral, dtype=float)
        with np.errstate(divide="ignore", invalid="ignore"):
            logs = np.where(s > 0, np.log10(np.where(s > 0, s, 1.0)), np.nan)
        a, b, c = self.coef
        return a + b * logs + c * np.log10(np.asarray(efunc, dtype=float))

    def m500(self, integral, z, cosmology=None):
        """:math:`M_{500c}` of an integral within :math:`R_{500}` (a Quantity in `unit`) at redshift ``z``.

        ``cosmology`` (default Planck18, as in the calibration) gives :math:`E(z)`.
        """
        from astropy.cosmology import Planck18

        cosmology = cosmology or Planck18
        try:
            s = u.Quantity(integral).to_value(self.unit)
        except u.UnitConversionError:
            raise u.UnitsError(f"integral of the {self.view} view must be in {self.unit} or equivalent, got "
                               f"{u.Quantity(integral).unit}") from None
        return 10 ** self.log10_m500(s, cosmology.efunc(z)) * u.Msun

    @classmethod
    def fit(cls, view, integral, m500, z, cosmology=None):
        """Least-squares fit of the relation (in log space) to calibration halos.

        Parameters
        ----------
        view : str
        integral : array
            The integrals within the true :math:`R_{500}`, in the view's unit (positive).
        m500 : array
            True :math:`M_{500c}` in Msun.
        z : array
        cosmology : `~astropy.cosmology.FLRW`, optional
            Default Planck18.
        """
        # four at least: three coefficients and a scatter
        coef, resid = relation_coefficients(integral, m500, z, cosmology, what=f"a positive {view} integral",
                                            minimum=4)
        return cls(view, tuple(coef), float(np.std(resid, ddof=3)), int(resid.size))

    def to_dict(self):
        """A JSON-ready dict (the weights' metadata entry of the view)."""
        return {"coef": list(self.coef), "scatter_dex": self.scatter_dex, "n": self.n,
                "form": "log10 M500 = a + b log10 S + c log10 E(z)", "unit": self.unit.to_string()}

    @classmethod
    def from_dict(cls, view, entry):
        """The relation of ``view`` from its `to_dict` entry."""
        return cls(view, tuple(entry["coef"]), float(entry["scatter_dex"]), int(entry.get("n", 0)))


def relation_coefficients(integral, m500, z, cosmology=None, what="a positive integral", minimum=3):
    """Least-squares ``(a, b, c)`` of :math:`\\log_{10} M_{500} = a + b \\log_{10} S + c \\log_{10} E(z)`.

    Halos with a non-positive or non-finite integral or mass are left out; at least ``minimum``
    must remain.  Shared by
    `ScalingRelation.fit` and the scaling-relation baseline of the validation
    (`massrecon.validation.baselines.ScalingRelationBaseline`).

    Returns
    -------
    coef : `~numpy.ndarray`
        ``(a, b, c)``.
    residuals : `~numpy.ndarray`
        :math:`\\log_{10} M_{500}` minus the fit, for the halos used.

    Examples
    --------
    >>> import numpy as np
    >>> from massrecon.relations import relation_coefficients
    >>> coef, res = relation_coefficients([1.0, 10.0, 100.0, 1000.0], [1e13, 1e14, 1e15, 1e16], [0.0] * 4)
    >>> np.round(coef[:2], 6), bool(np.allclose(res, 0))
    (array([13.,  1.]), True)
    """
    from astropy.cosmology import Planck18

    cosmology = cosmology or Planck18
    s = np.asarray(integral, dtype=float)
    m = np.asarray(m500, dtype=float)
    z = np.asarray(z, dtype=float)
    good = (s > 0) & (m > 0) & np.isfinite(s) & np.isfinite(m) & np.isfinite(z)
    if good.sum() < minimum:
        raise ValueError(f"fitting a relation needs at least {minimum} halos with {what}, got {int(good.sum())}")
    a = np.vstack([np.ones(good.sum()), np.log10(s[good]), np.log10(cosmology.efunc(z[good]))]).T
    coef = np.linalg.lstsq(a, np.log10(m[good]), rcond=None)[0]
    return coef, np.log10(m[good]) - a @ coef


def combine_log_masses(log_masses, scatters):
    """Inverse-variance mean of several relations' :math:`\\log_{10} M` and its scatter.

    The relations' scatters are treated as independent (on the simulator's halos they are
    partly correlated, so the combined scatter is a lower bound).

    Examples
    --------
    >>> from massrecon.relations import combine_log_masses
    >>> m, s = combine_log_masses([14.0, 14.3], [0.1, 0.1])
    >>> round(m, 3), round(s, 4)
    (14.15, 0.0707)
    """
    lm = np.asarray(log_masses, dtype=float)
    w = np.asarray(scatters, dtype=float) ** -2.0
    good = np.isfinite(lm)
    if not good.any():
        return float("nan"), float("nan")
    return float(np.sum(w[good] * lm[good]) / w[good].sum()), float(w[good].sum() ** -0.5)


# --- the aperture loss of a beam and a high-pass filter -------------------------------------------
_TEMPLATE_FIELD_R200 = 4.0  # the template spans +-2 R200: the beam's and the filter's reach
_TEMPLATE_NPIX = 161


@functools.lru_cache(maxsize=64)
def _projected_template(view, c200):
    """Projected radial profile (shape only) of the view: radii and values.

    Radii in :math:`R_{500}` for ``"sz"`` and ``"xray"`` (profiles defined in :math:`r/R_{500}`),
    in :math:`R_{200}` for ``"stars"``; the line of sight runs to 5 :math:`R_{500}` (3 :math:`R_{200}`).
    """
    from .physics.profiles import PRESSURE_PARAMETERS, gnfw_shape, vikhlinin_shape

    if view == "sz":  # Arnaud et al. 2010 universal pressure (eq. 11-12)
        def rho(x):
            return gnfw_shape(x, PRESSURE_PARAMETERS["arnaud10"])
        depth = 5.0
    elif view == "xray":  # Vikhlinin et al. 2006 eq. 3, emission ~ n_p n_e (non-cool-core shape)
        def rho(x):
            return vikhlinin_shape(x, "non_cool_core") ** 2
        depth = 5.0
    else:  # members trace the NFW mass (Navarro, Frenk & White 1997)
        def rho(x):
            cx = np.maximum(x * c200, 1e-4)
            return 1.0 / (cx * (1 + cx) ** 2)
        depth = 3.0
    radii = np.geomspace(1e-3, 2 * _TEMPLATE_FIELD_R200, 200)
    los = np.concatenate([[0.0], np.geomspace(1e-4, depth, 600)])
    prof = integrate.trapezoid(rho(np.hypot(radii[:, None], los[None, :])), los, axis=1)
    return radii, prof


@functools.lru_cache(maxsize=512)
def _fraction(view, r500_r200, c200, beam_r200, highpass_r200):
    from scipy import ndimage

    from .apertures import aperture_weights

    radii, prof = _projected_template(view, c200 if view == "stars" else 0.0)
    if view != "stars":
        radii = radii * r500_r200  # to R200
    n = _TEMPLATE_NPIX
    pix = _TEMPLATE_FIELD_R200 / n
    c = (np.arange(n) - (n - 1) / 2) * pix
    r = np.hypot(*np.meshgrid(c, c))
    img = np.interp(np.maximum(r, radii[0]), radii, prof)
    w = aperture_weights(n, r500_r200 / pix)
    before = float((img * w).sum())
    # the template reaches 2 R200: the signal beyond the field is 0 (mode="constant"), as in
    # training's high-pass (`massrecon.training.augment.high_pass`, the same Gaussian filters)
    if beam_r200 > 0:
        img = ndimage.gaussian_filter(img, beam_r200 / pix / math.sqrt(8 * math.log(2)), mode="constant",
                                      truncate=5.0)
    if highpass_r200:
        img = img - ndimage.gaussian_filter(img, highpass_r200 / pix, mode="constant", truncate=5.0)
    return float((img * w).sum()) / before


def aperture_fraction(view, r500_r200, beam_fwhm_r200=0.0, highpass_r200=None, c200=4.0):
    """Fraction of a view's integral within :math:`R_{500}` that a beam and a high-pass filter keep.

    Measured on a template of the view's projected profile: the Arnaud et al. 2010 pressure
    (eq. 11-12, universal parameters) for ``"sz"``, the square of the Vikhlinin et al. 2006
    density (eq. 3, non-cool-core shape) for ``"xray"`` and an NFW profile of concentration
    ``c200`` for ``"stars"``, each projected through :math:`\\pm 3 R_{200}`, convolved with a
    Gaussian beam of FWHM ``beam_fwhm_r200`` and high-passed as
    `massrecon.training.augment.high_pass` (:math:`T(k) = 1 - e^{-(2\\pi k\\theta)^2/2}`, the
    network's model of a filtered SZ map) with dispersion ``highpass_r200``.

    Parameters
    ----------
    view : {"sz", "xray", "stars"}
    r500_r200 : float
        The aperture, in R200.
    beam_fwhm_r200 : float
        Beam FWHM in R200 (0: none).
    highpass_r200 : float or None
        High-pass dispersion in R200 (None: unfiltered).
    c200 : float
        Concentration of the members' NFW template.

    Returns
    -------
    float
        In (0, 1] for a beam alone; a filter can make it much smaller.

    Examples
    --------
    A beam of 0.4 R200 moves a tenth to a third of the flux within R500 outside it; a filter
    that removes scales beyond 0.3 R200 takes most of Y500:

    >>> from massrecon.relations import aperture_fraction
    >>> round(aperture_fraction("sz", 0.65), 3)
    1.0
    >>> 0.6 < aperture_fraction("sz", 0.65, beam_fwhm_r200=0.4) < 0.95
    True
    >>> aperture_fraction("sz", 0.65, highpass_r200=0.3) < 0.5
    True
    """
    if view not in _VIEWS:
        raise ValueError(f"view must be one of {_VIEWS}, got {view!r}")

    def number(name, value, positive):
        try:
            x = float(value)
        except (TypeError, ValueError):
            raise ValueError(f"{name} must be a number, got {value!r}") from None
        if not (np.isfinite(x) and (x > 0 if positive else x >= 0)):
            raise ValueError(f"{name} must be finite and {'positive' if positive else 'non-negative'}, got {value}")
        return x

    r500_r200, c200 = number("r500_r200", r500_r200, True), number("c200", c200, True)
    beam = number("beam_fwhm_r200", beam_fwhm_r200, False)
    highpass = None if highpass_r200 is None else number("highpass_r200", highpass_r200, True)

    def key(x):  # 3 significant digits, so that the cache serves the frames of one solve
        return float(f"{x:.3g}")

    return _fraction(view, key(r500_r200), key(c200), key(beam) if beam > 0 else 0.0,
                     None if highpass is None else key(highpass))
