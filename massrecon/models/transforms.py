"""Fixed transforms between physical maps and the values the network sees.

Inputs ("views") go through ``asinh(x / scale)`` with one fixed, physical scale per view: linear
(and symmetric, so noise with negative pixels is fine) below the scale, logarithmic above it.  A
map is never normalised by its own maximum or mean: the absolute amplitude of the SZ, X-ray and
stellar signal carries the mass.  The target, the projected total mass density, is learnt as
``log10(Sigma / 1e8 Msun kpc^-2)``.

The scales were chosen from the mock maps (``massrecon.simulate``) at 2.6 R200 across:

==========  ======================  ==========================================  ===============
view        map (`MAP_NAMES`)       range over 10^13.5-10^15.5 Msun              scale
==========  ======================  ==========================================  ===============
``sz``      ``compton_y``           1e-8 (outskirts) .. 3e-5 (core)              1e-6
``xray``    ``xray_soft``           1e33 .. 1e39 erg s^-1 kpc^-2                 1e35
``stars``   ``sigma_members``       0 .. 1e8 Msun kpc^-2 (members > 1e10 Msun)   1e5
==========  ======================  ==========================================  ===============

The Compton-y scale is close to the per-pixel noise of Planck/ACT maps, so noise stays in the
linear part of the transform; X-ray and stellar scales sit near the R200 level of a 10^14 Msun
cluster.  All constants are plain data (`TRANSFORM_CONSTANTS`) and are written into the weights'
metadata, so a model is always used with the transforms it was trained with.
"""

import math

import numpy as np
import torch

# the contract owns these; they are re-exported here for the transforms' users
from ..contract import (
    CONDITIONING_FEATURES,
    OPTIONAL_CONDITIONING,
    R200_ERROR_MAX,
    TARGET_MAP,
    TARGET_REFERENCE,
    TARGET_UNIT,
    VIEW_MAPS,
    VIEW_SCALES,
    VIEWS,
)
from ..contract import VIEW_UNITS as _VIEW_UNITS

__all__ = [
    "VIEWS",
    "VIEW_MAPS",
    "VIEW_UNITS",
    "VIEW_SCALES",
    "TARGET_MAP",
    "TARGET_REFERENCE",
    "TRANSFORM_CONSTANTS",
    "CONDITIONING_FEATURES",
    "R200_ERROR_MAX",
    "xray_reference_noise",
    "xray_noise_variance",
    "ViewTransform",
    "TargetTransform",
    "validate_views",
    "n_conditioning",
    "conditioning_names",
    "encode_conditioning",
    "select_conditioning",
]

#: Unit of each view as an astropy unit string (the form stored in the weights' metadata).
VIEW_UNITS = {v: unit.to_string() for v, unit in _VIEW_UNITS.items()}

#: Everything needed to reproduce the transforms (stored with the weights).
TRANSFORM_CONSTANTS = {
    "views": list(VIEWS),
    "view_maps": dict(VIEW_MAPS),
    "view_units": dict(VIEW_UNITS),
    "view_transform": "asinh(x / scale)",
    "view_scales": dict(VIEW_SCALES),
    "target_map": TARGET_MAP,
    "target_unit": TARGET_UNIT.to_string(),
    "target_transform": "log10(Sigma / reference)",
    "target_reference": TARGET_REFERENCE,
    "conditioning": {k: (list(v) if isinstance(v, tuple) else v) for k, v in CONDITIONING_FEATURES.items()},
}


def validate_views(views):
    """Check a sequence of view names and return it as a tuple in canonical order.

    Parameters
    ----------
    views : sequence of str
        Non-empty subset of `VIEWS`, without repetitions.

    Returns
    -------
    tuple of str

    Examples
    --------
    >>> from massrecon.models.transforms import validate_views
    >>> validate_views(["stars", "sz"])
    ('sz', 'stars')
    """
    if isinstance(views, str):
        views = (views,)
    try:
        views = tuple(views)
    except TypeError:
        raise TypeError(f"views must be a sequence of view names from {VIEWS}, got {views!r}") from None
    if not views:
        raise ValueError(f"views must name at least one of {VIEWS}, got an empty sequence")
    for v in views:
        if v not in VIEWS:
            raise ValueError(f"unknown view {v!r}; views must be among {VIEWS}")
    if len(set(views)) != len(views):
        raise ValueError(f"views must not repeat a name, got {views}")
    return tuple(v for v in VIEWS if v in views)


def _is_torch(x):
    return isinstance(x, torch.Tensor)


class ViewTransform:
    """``asinh(x / scale)`` for one view, defined for all real values, and its exact inverse.

    Parameters
    ----------
    view : str
        One of `VIEWS`.
    scale : float, optional
        Overrides the default scale of `VIEW_SCALES` (must be finite and > 0).

    Examples
    --------
    >>> import numpy as np
    >>> from massrecon.models.transforms import ViewTransform
    >>> t = ViewTransform("sz")
    >>> y = np.array([-1e-6, 0.0, 1e-6, 1e-4])
    >>> np.round(t.forward(y), 3)
    array([-0.881,  0.   ,  0.881,  5.298])
    >>> bool(np.allclose(t.inverse(t.forward(y)), y, rtol=1e-12, atol=0))
    True
    """

    def __init__(self, view, scale=None):
        if view not in VIEWS:
            raise ValueError(f"unknown view {view!r}; view must be one of {VIEWS}")
        self.view = view
        scale = VIEW_SCALES[view] if scale is None else float(scale)
        if not (math.isfinite(scale) and scale > 0):
            raise ValueError(f"scale must be finite and > 0, got {scale}")
        self.scale = scale

    def forward(self, x):
        """Physical values (numpy array, tensor or scalar) to network values."""
        if _is_torch(x):
            return torch.asinh(x / self.scale)
        return np.arcsinh(np.asarray(x) / self.scale)

    def inverse(self, v):
        """Network values back to physical values."""
        if _is_torch(v):
            return torch.sinh(v) * self.scale
        return np.sinh(np.asarray(v)) * self.scale

    def to_dict(self):
        """The constants of this transform."""
        return {"view": self.view, "function": "asinh(x / scale)", "scale": self.scale}

    def __repr__(self):
        return f"<ViewTransform {self.view}: asinh(x / {self.scale:g})>"


class TargetTransform:
    """``log10(Sigma / reference)`` for the projected total mass density (Sigma > 0).

    Parameters
    ----------
    reference : float, optional
        Reference surface density in Msun/kpc^2 (default `TARGET_REFERENCE`).

    Examples
    --------
    >>> from massrecon.models.transforms import TargetTransform
    >>> t = TargetTransform()
    >>> float(t.forward(1e9))
    1.0
    >>> float(t.inverse(-1.0))
    10000000.0
    """

    def __init__(self, reference=None):
        reference = TARGET_REFERENCE if reference is None else float(reference)
        if not (math.isfinite(reference) and reference > 0):
            raise ValueError(f"reference must be finite and > 0, got {reference}")
        self.reference = reference

    def forward(self, sigma):
        """Surface density (Msun/kpc^2, all > 0) to network values."""
        if _is_torch(sigma):
            if not bool(torch.all(sigma > 0)):
                raise ValueError("sigma must be > 0 everywhere for log10(Sigma / reference)")
            return torch.log10(sigma / self.reference)
        sigma = np.asarray(sigma)
        if not np.all(sigma > 0):
            raise ValueError("sigma must be > 0 everywhere for log10(Sigma / reference)")
        return np.log10(sigma / self.reference)

    def inverse(self, t):
        """Network values to surface density (Msun/kpc^2)."""
        if _is_torch(t):
            return torch.pow(10.0, t) * self.reference
        return 10.0 ** np.asarray(t) * self.reference

    def to_dict(self):
        """The constants of this transform."""
        return {"function": "log10(Sigma / reference)", "reference": self.reference}

    def __repr__(self):
        return f"<TargetTransform log10(Sigma / {self.reference:g} Msun/kpc2)>"


def n_conditioning(views):
    """Number of conditioning features for a set of views: 2 per view + 4 global.

    Examples
    --------
    >>> from massrecon.models.transforms import n_conditioning
    >>> n_conditioning(["sz"]), n_conditioning(["sz", "xray", "stars"])
    (6, 10)
    """
    return len(CONDITIONING_FEATURES["per_view"]) * len(validate_views(views)) + len(
        CONDITIONING_FEATURES["global"]
    )


def conditioning_names(views):
    """Names of the conditioning features, in order.

    Examples
    --------
    >>> from massrecon.models.transforms import conditioning_names
    >>> conditioning_names(["sz"])
    ['sz.log10_beam_fwhm_r200', 'sz.noise_asinh', 'log10_pixel_kpc', 'redshift', 'r200_error', 'sz_highpass']
    """
    views = validate_views(views)
    names = [f"{v}.{f}" for v in views for f in CONDITIONING_FEATURES["per_view"]]
    return names + list(CONDITIONING_FEATURES["global"])


def xray_noise_variance(signal, rms_ref, background_ref, reference=None):
    """Per-pixel variance of Poisson-like X-ray noise, :math:`g\\,(S + B)`.

    ``rms_ref`` is the rms at the reference level `VIEW_SCALES` ``["xray"]`` and
    ``background_ref`` the background in units of that level, so
    :math:`g = rms_{ref}^2 / (S_{ref} + B)`; negative (noisy) signal counts as 0.  The inverse of
    `xray_reference_noise`.

    Examples
    --------
    >>> from massrecon.models.transforms import xray_noise_variance
    >>> round(float(xray_noise_variance(1e35, 2e34, 0.1)) / 4e68, 12)
    1.0
    """
    ref = VIEW_SCALES["xray"] if reference is None else float(reference)
    bkg = background_ref * ref
    return rms_ref**2 * (np.maximum(signal, 0.0) + bkg) / (ref + bkg)


def xray_reference_noise(data, noise, radius_r200, reference=None):
    r"""The X-ray noise feature: the per-pixel noise rms at the reference level of a Poisson map.

    The noise of an X-ray image made from counts has the variance
    :math:`\sigma^2(S) = g\,(S + B)`: Poisson noise of the source (``g`` converts counts to
    emissivity) and of a background ``B``.  The network is told :math:`\sigma(S_{ref})`, the
    rms at the view's reference level `VIEW_SCALES` ``["xray"]`` (1e35 erg/s/kpc^2), which fixes
    the noise at every level once ``B`` is known.  Within R200, ``g`` comes from a least-squares fit of
    :math:`\sigma^2 = g\,S + gB` to the pixels detected at more than 3 sigma (with relative
    residuals), and :math:`gB` is the median of :math:`\sigma^2 - gS` over all pixels (unbiased
    for noisy faint pixels); a map without detected pixels is background-dominated, and
    :math:`\sigma(S_{ref})^2 = gB` then.

    Parameters
    ----------
    data, noise : `~numpy.ndarray`
        Emissivity and its per-pixel rms on the model frame (NaN where masked).
    radius_r200 : `~numpy.ndarray`
        Distance of each pixel from the centre in units of R200.
    reference : float, optional
        The reference level (default `VIEW_SCALES` ``["xray"]``).

    Returns
    -------
    float

    Examples
    --------
    >>> import numpy as np
    >>> from massrecon.models.transforms import xray_reference_noise
    >>> s = np.geomspace(1e33, 1e38, 400).reshape(20, 20)
    >>> sig = np.sqrt(1e33 * (s + 1e36))  # g = 1e33, B = 1e36
    >>> r = np.zeros((20, 20))
    >>> round(xray_reference_noise(s, sig, r) / float(np.sqrt(1e33 * (1e35 + 1e36))), 1)
    1.0
    """
    ref = VIEW_SCALES["xray"] if reference is None else float(reference)
    data = np.asarray(data, dtype=float)
    var = np.asarray(noise, dtype=float) ** 2
    if data.shape != var.shape or data.shape != np.shape(radius_r200):
        raise ValueError(f"data, noise and radius_r200 must have one shape, got {data.shape}, {var.shape} "
                         f"and {np.shape(radius_r200)}")
    ok = (np.asarray(radius_r200) < 1.0) & np.isfinite(data) & np.isfinite(var)
    if not ok.any():
        return 0.0
    d, v = data[ok], var[ok]
    bright = d > 3.0 * np.sqrt(v)
    g = 0.0
    if bright.sum() >= 5:
        # least squares of v = g d + c on the detected pixels, with relative residuals
        a = np.stack([d[bright], np.ones(bright.sum())], axis=1) / v[bright, None]
        g = max(float(np.linalg.lstsq(a, np.ones(bright.sum()), rcond=None)[0][0]), 0.0)
    v_bkg = max(float(np.median(v - g * d)), 0.0)  # E[v - g d] = g B, also for noisy faint pixels
    return float(np.sqrt(g * ref + v_bkg))


def _highpass_feature(theta_r200):
    """``reference / theta`` of the y map's high-pass filter; 0 for None, 0 or inf (unfiltered)."""
    if theta_r200 is None:
        return np.zeros(())
    th = np.asarray(theta_r200, dtype=float)
    if np.any(np.isnan(th)) or np.any(th < 0):
        raise ValueError(f"sz_highpass_r200 must be >= 0 (0 or inf: unfiltered), got {theta_r200}")
    ref = CONDITIONING_FEATURES["sz_highpass_reference_r200"]
    with np.errstate(divide="ignore"):
        return np.where((th == 0) | np.isinf(th), 0.0, ref / np.where(th == 0, 1.0, th))


def select_conditioning(cond, views, names):
    """The columns of a full conditioning vector that weights expecting ``names`` take, in that order.

    Weights written before a feature of `~massrecon.contract.OPTIONAL_CONDITIONING` existed
    lack it (their ``conditioning`` metadata does not list it); they get the other features.

    Parameters
    ----------
    cond : array-like
        Output of `encode_conditioning` for ``views``, shape ``(..., n_conditioning(views))``.
    views : sequence of str
    names : sequence of str or None
        The weights' conditioning names (None: all of `conditioning_names`).

    Examples
    --------
    >>> import numpy as np
    >>> from massrecon.models.transforms import conditioning_names, select_conditioning
    >>> full = np.arange(6.0)
    >>> select_conditioning(full, ["sz"], conditioning_names(["sz"])[:-1])
    array([0., 1., 2., 3., 4.])
    """
    everything = conditioning_names(views)
    if names is None or list(names) == everything:
        return np.asarray(cond)
    missing = [n for n in everything if n not in names]
    unknown = [n for n in names if n not in everything]
    required = [n for n in missing if n not in OPTIONAL_CONDITIONING]
    if unknown or required:
        raise ValueError(f"conditioning features {list(names)} cannot be made from {everything} "
                         f"(unknown {unknown}, required but missing {required})")
    return np.asarray(cond)[..., [everything.index(n) for n in names]]


def encode_conditioning(views, beam_fwhm_r200, noise, pixel_kpc, z, present=None, r200_error=R200_ERROR_MAX,
                        sz_highpass_r200=None):
    """Conditioning vector(s) of the network from physical observing conditions.

    Parameters
    ----------
    views : sequence of str
        The model's views.
    beam_fwhm_r200 : dict or array-like
        Gaussian beam FWHM of each view in units of R200 (of the assumed frame), > 0; either a
        dict keyed by view or an array of shape ``(..., n_views)``.
    noise : dict or array-like
        Per-pixel noise rms of each view in physical units (0: noiseless); the X-ray value is the
        rms at the view's reference level `VIEW_SCALES` ``["xray"]`` (`xray_reference_noise`).
    pixel_kpc : float or array-like
        Pixel size of the model frame (kpc): carries the assumed R200.
    z : float or array-like
        Redshift.
    present : dict or array-like of bool, optional
        Which views are observed; features of missing views are set to 0.
    r200_error : float or array-like
        How well the frame's R200 is known: the half-width of the range, as a fraction, within
        which the true R200 lies (0: exact, as for a simulated halo or a lensing R200;
        `R200_ERROR_MAX` = 0.3, the default: an estimate from a scaling relation or a catalogue).
        The network treats the assumed R200 as prior information of that precision.
    sz_highpass_r200 : float or array-like, optional
        Dispersion :math:`\\theta` of the Gaussian high-pass filter of the y map (see
        `~massrecon.observations.TransferFunction.high_pass`), in R200 of the frame; None, 0 or inf
        for an unfiltered map (or no y map).

    Returns
    -------
    cond : `~numpy.ndarray`
        Shape ``(..., n_conditioning(views))``, float32, in the order of `conditioning_names`:
        ``log10(fwhm) + 1``, ``asinh(noise / scale)`` per view, then ``log10(pixel_kpc / 20)``
        , ``10 z``, ``r200_error / 0.3`` and ``0.1 / sz_highpass_r200`` (0 if unfiltered).

    Examples
    --------
    >>> from massrecon.models.transforms import encode_conditioning
    >>> encode_conditioning(["sz"], {"sz": 0.1}, {"sz": 0.0}, 20.0, 0.05, r200_error=0.15)
    array([0. , 0. , 0. , 0.5, 0.5, 0. ], dtype=float32)
    """
    views = validate_views(views)

    def per_view(arg, name):
        if isinstance(arg, dict):
            missing = [v for v in views if v not in arg]
            if missing:
                raise ValueError(f"{name} lacks views {missing}")
            return np.stack([np.asarray(arg[v], dtype=float) for v in views], axis=-1)
        arr = np.asarray(arg, dtype=float)
        if arr.shape[-1:] != (len(views),):
            raise ValueError(f"{name} must have a last axis of length {len(views)} (one per view), "
                             f"got shape {arr.shape}")
        return arr

    beam = per_view(beam_fwhm_r200, "beam_fwhm_r200")
    nse = per_view(noise, "noise")
    if present is None:
        pres = np.ones_like(beam, dtype=bool)
    else:
        pres = per_view(present, "present").astype(bool)
    if np.any(~np.isfinite(beam)) or np.any(beam[pres] <= 0):
        raise ValueError("beam_fwhm_r200 must be finite and > 0 for every present view")
    if np.any(~np.isfinite(nse)) or np.any(nse < 0):
        raise ValueError("noise must be finite and >= 0")
    pixel_kpc = np.asarray(pixel_kpc, dtype=float)
    z = np.asarray(z, dtype=float)
    if np.any(~np.isfinite(pixel_kpc)) or np.any(pixel_kpc <= 0):
        raise ValueError(f"pixel_kpc must be finite and > 0, got {pixel_kpc}")
    if np.any(~np.isfinite(z)) or np.any(z < 0):
        raise ValueError(f"z must be finite and >= 0, got {z}")
    r200_error = np.asarray(r200_error, dtype=float)
    if np.any(~np.isfinite(r200_error)) or np.any(r200_error < 0) or np.any(r200_error > R200_ERROR_MAX + 1e-9):
        raise ValueError(f"r200_error must lie in [0, {R200_ERROR_MAX}] (fractional error of the assumed R200), "
                         f"got {r200_error}")
    highpass = _highpass_feature(sz_highpass_r200)
    scales = np.array([VIEW_SCALES[v] for v in views])
    beam_log = np.log10(np.where(pres, beam, 1.0)) + CONDITIONING_FEATURES["beam_offset"]
    beam_feat = np.where(pres, beam_log, 0.0)
    noise_feat = np.where(pres, np.arcsinh(nse / scales), 0.0)
    shape = np.broadcast_shapes(beam.shape[:-1], nse.shape[:-1], pixel_kpc.shape, z.shape, r200_error.shape,
                                highpass.shape)
    per = np.stack([np.broadcast_to(beam_feat, shape + (len(views),)),
                    np.broadcast_to(noise_feat, shape + (len(views),))], axis=-1)
    per = per.reshape(shape + (2 * len(views),))
    glob = np.stack([
        np.broadcast_to(np.log10(pixel_kpc / CONDITIONING_FEATURES["pixel_kpc_reference"]), shape),
        np.broadcast_to(z * CONDITIONING_FEATURES["redshift_scale"], shape),
        np.broadcast_to(r200_error / CONDITIONING_FEATURES["r200_error_scale"], shape),
        np.broadcast_to(highpass, shape),
    ], axis=-1)
    return np.concatenate([per, glob], axis=-1).astype(np.float32)
