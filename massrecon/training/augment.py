"""Augmentations that turn an idealised mock projection into a realistic training sample.

One sample is made from the maps of one projection stored over a frame wider than the model's
(2.6 R200 across by default), in this order:

1. a random element of the dihedral group (flips and 90-degree rotations), the same for all maps;
2. a Gaussian beam per view, FWHM log-uniform in ``beam_fwhm_r200`` (in R200 units; applied by
   FFT on the reflect-padded map), with probability ``beam_probability`` (otherwise the
   simulation's native smoothing);
3. frame jitter: the frame is resampled (bilinear, `torch.nn.functional.grid_sample`) to
   ``npix`` pixels over ``2 f`` R200 and a centre offset uniform within ``center_jitter_r200``;
   the target is resampled identically, and the pixel scale given to the network is
   ``2 f R200 / npix`` (the network is told the frame it is given, not the true R200, as it will
   be at inference with an estimated R200).  With probability ``r200_known_probability`` the
   frame is exact (``f = 1``) and the conditioning says so (``r200_error = 0``); otherwise an
   error bound ``w`` is drawn uniformly in ``r200_error``, ``f`` uniformly in ``1 +- w``
   (within ``frame_jitter``), and the network is told ``r200_error = w``.  The network thus
   learns to use the assumed R200 as a prior of the stated precision: a lensing or simulation
   R200 pins the amplitude, a scaling-relation guess only starts the self-consistent iteration.
   With probability ``relation_frame_probability`` (of the frames with an error) the frame is
   instead the one ``predict(..., self_consistent=True)`` would choose: the fixed point of the
   weights' scaling relations on the sample's own observed maps
   (`~massrecon.training.relation_frames.RelationFrameSolver`), with the precision the
   reconstructor states for it;
4. per-view noise with probability ``noise_probability``: Gaussian for Compton-y, smoothed by
   the view's beam as instrument noise in a y map is (per-pixel rms log-uniform in
   ``noise_sz``), white Gaussian for stellar mass (``noise_stars``, Msun/kpc^2), and a
   Poisson-like Gaussian for X-ray, whose variance is proportional to the signal plus a
   background (``noise_xray`` is the rms at the reference level ``1e35`` erg/s/kpc^2, the
   feature of `~massrecon.models.transforms.xray_reference_noise`; the background is drawn
   log-uniformly in ``xray_background`` times the reference level: a survey image such as
   eROSITA's is background-dominated outside the core, 10^2-10^4 times the reference level);
5. view dropout: each view is removed with probability ``view_dropout``, keeping at least one;
6. (drawn after the frame, applied to the stored y map before it is cut) a ground-based
   instrument's filtering of the y map with probability ``sz_highpass_probability``: a Gaussian
   high-pass (`high_pass`, the `~massrecon.observations.TransferFunction.high_pass` of real maps)
   of dispersion log-uniform in ``sz_highpass_r200`` (R200); the network is told its dispersion
   in frame R200 (``sz_highpass`` conditioning feature), as `~massrecon.ClusterReconstructor`
   tells it that of a user's transfer function
   (`~massrecon.observations.TransferFunction.equivalent_high_pass`).

All draws come from a `numpy.random.Generator` seeded per sample, so samples do not depend on
the number of data-loader workers and a resumed run sees exactly the same data.
"""

import dataclasses
import math
from typing import NamedTuple

import numpy as np
import torch
from scipy import ndimage
from torch.nn import functional as F

from ..contract import FRAME_NPIX, FRAME_SIZE_R200, R200_ERROR_MAX, SUPPORTED_BEAM_R200
from ..models.transforms import (
    TargetTransform,
    ViewTransform,
    encode_conditioning,
    xray_noise_variance,
)

__all__ = ["AugmentConfig", "make_sample", "gaussian_beam", "high_pass", "resample_frame"]

_FWHM_TO_SIGMA = 1.0 / (2.0 * math.sqrt(2.0 * math.log(2.0)))


@dataclasses.dataclass
class AugmentConfig:
    """Ranges of the augmentations (see the module docstring).

    Examples
    --------
    >>> from massrecon.training.augment import AugmentConfig
    >>> AugmentConfig().frame_jitter
    (0.7, 1.3)
    """

    flips: bool = True
    frame_jitter: tuple = (0.7, 1.3)
    center_jitter_r200: float = 0.02
    beam_probability: float = 0.8
    beam_fwhm_r200: tuple = (0.01, SUPPORTED_BEAM_R200[1])
    noise_probability: float = 0.7
    noise_sz: tuple = (1e-8, 3e-6)
    noise_xray: tuple = (1e33, 3e35)
    noise_stars: tuple = (1e3, 1e5)
    xray_background: tuple = (0.1, 0.1)
    view_dropout: float = 0.3
    r200_known_probability: float = 0.0
    r200_error: tuple = (R200_ERROR_MAX, R200_ERROR_MAX)
    sz_highpass_probability: float = 0.0
    sz_highpass_r200: tuple = (0.1, 2.0)
    relation_frame_probability: float = 0.0

    def __post_init__(self):
        """Check the ranges and probabilities, naming the one at fault."""
        for name in ("frame_jitter", "beam_fwhm_r200", "noise_sz", "noise_xray", "noise_stars", "xray_background",
                     "r200_error", "sz_highpass_r200"):
            val = getattr(self, name)
            try:
                lo, hi = (float(v) for v in val)
            except (TypeError, ValueError):
                raise TypeError(f"{name} must be a pair (min, max), got {val!r}") from None
            if not (math.isfinite(lo) and math.isfinite(hi) and 0 < lo <= hi):
                raise ValueError(f"{name} must satisfy 0 < min <= max, got {val!r}")
            setattr(self, name, (lo, hi))
        if self.r200_error[1] > R200_ERROR_MAX + 1e-9:
            raise ValueError(f"r200_error must not exceed {R200_ERROR_MAX}, got {self.r200_error!r}")
        for name in ("beam_probability", "noise_probability", "view_dropout", "r200_known_probability",
                     "sz_highpass_probability", "relation_frame_probability"):
            val = float(getattr(self, name))
            if not 0 <= val <= 1:
                raise ValueError(f"{name} must lie in [0, 1], got {val}")
            setattr(self, name, val)
        if not (math.isfinite(self.center_jitter_r200) and self.center_jitter_r200 >= 0):
            raise ValueError(f"center_jitter_r200 must be finite and >= 0, got {self.center_jitter_r200}")
        self.flips = bool(self.flips)

    def to_dict(self):
        """Plain-data copy (lists for pairs)."""
        return {k: (list(v) if isinstance(v, tuple) else v) for k, v in dataclasses.asdict(self).items()}


def gaussian_beam(img, fwhm_px):
    """Convolve a 2D map with a circular Gaussian of FWHM ``fwhm_px`` pixels.

    The map is reflect-padded by 3 sigma (at most its size minus one) and convolved by FFT with
    the analytic transfer function, which conserves the total.

    Examples
    --------
    >>> import numpy as np
    >>> from massrecon.training.augment import gaussian_beam
    >>> img = np.zeros((33, 33)); img[16, 16] = 1.0
    >>> out = gaussian_beam(img, 4.0)
    >>> round(float(out.sum()), 6), bool(out[16, 16] < 0.1)
    (1.0, True)
    """
    img = np.asarray(img, dtype=np.float64)
    sigma = fwhm_px * _FWHM_TO_SIGMA
    if sigma < 0.05:
        return img.copy()
    n0, n1 = img.shape
    pad = int(min(math.ceil(3 * sigma) + 1, min(n0, n1) - 1))
    work = np.pad(img, pad, mode="reflect")
    m0, m1 = work.shape
    k0 = np.fft.fftfreq(m0)[:, None]
    k1 = np.fft.rfftfreq(m1)[None, :]
    transfer = np.exp(-2.0 * math.pi**2 * sigma**2 * (k0**2 + k1**2))
    out = np.fft.irfft2(np.fft.rfft2(work) * transfer, s=work.shape)
    return out[pad:pad + n0, pad:pad + n1]


def resample_frame(maps, src_size_r200, npix, half_width_r200, offset_r200=(0.0, 0.0)):
    """Bilinearly resample square maps onto ``npix`` pixels over ``2 half_width_r200`` R200.

    Parameters
    ----------
    maps : array of shape (k, n, n)
        Maps centred on the cluster over ``src_size_r200`` R200.
    src_size_r200 : float
    npix : int
    half_width_r200 : float
        Half width of the output frame (R200); the frame must lie within the source.
    offset_r200 : pair of float
        Centre of the output frame relative to the source centre (x, y), R200.

    Returns
    -------
    `~numpy.ndarray` of shape (k, npix, npix), float64

    Examples
    --------
    >>> import numpy as np
    >>> from massrecon.training.augment import resample_frame
    >>> src = np.ones((1, 26, 26))
    >>> resample_frame(src, 2.6, 8, 1.0).shape
    (1, 8, 8)
    """
    maps = torch.as_tensor(np.asarray(maps, dtype=np.float64))  # X-ray values exceed float32
    half = src_size_r200 / 2.0
    pos = (torch.arange(npix, dtype=torch.float64) - (npix - 1) / 2.0) * (2.0 * half_width_r200 / npix)
    gx = (pos + offset_r200[0]) / half
    gy = (pos + offset_r200[1]) / half
    grid = torch.stack(torch.meshgrid(gx, gy, indexing="xy"), dim=-1)[None]
    out = F.grid_sample(maps[None], grid, mode="bilinear", padding_mode="border", align_corners=False)
    return out[0].numpy()


def _log_uniform(rng, lo, hi):
    """A draw log-uniform in ``[lo, hi]``."""
    return float(math.exp(rng.uniform(math.log(lo), math.log(hi))))


class _Frame(NamedTuple):
    """The model frame cut from the stored maps: ``scale`` times the nominal width
    (`~massrecon.contract.FRAME_SIZE_R200` R200), the R200 error bound the network is told, and the
    centre offset (x, y) in R200."""

    scale: float
    r200_error: float
    offset: tuple

    @property
    def width_r200(self):
        """Width of the frame in units of the true R200."""
        return FRAME_SIZE_R200 * self.scale


#: Scales (frame R200 over true R200) a relation frame is clipped to: the validation's range
#: (`massrecon.validation.self_consistent`), within ``frame_jitter``'s upper end (the stored maps).
_RELATION_FRAME_LIMITS = (0.5, 1.3)

#: The frame without augmentation: nominal width, R200 exact, centred.
_NOMINAL_FRAME = _Frame(1.0, 0.0, (0.0, 0.0))


def _random_dihedral(stack, rng):
    """The maps turned by one random element of the dihedral group, the same for all."""
    k = int(rng.integers(4))
    flip = bool(rng.integers(2))
    stack = [np.rot90(m, k) for m in stack]
    if flip:
        stack = [m[:, ::-1] for m in stack]
    return stack


def _apply_beams(stack, views, beams, augment, rng, src_pix_r200, native_fwhm_r200):
    """Smooth each view (in place in ``stack``) by a random beam with ``beam_probability``,
    recording the total FWHM in ``beams``."""
    for i, v in enumerate(views):
        if rng.uniform() < augment.beam_probability:
            fwhm = _log_uniform(rng, *augment.beam_fwhm_r200)
            stack[i] = gaussian_beam(stack[i], fwhm / src_pix_r200)
            beams[v] = math.hypot(fwhm, native_fwhm_r200)


def high_pass(img, theta_px):
    """The map minus its Gaussian smoothing of dispersion ``theta_px`` pixels, zero outside.

    This is `~massrecon.observations.TransferFunction.high_pass`,
    :math:`T(k) = 1 - \\exp(-(2\\pi k\\theta)^2/2)`, on a map of a cluster whose signal beyond the
    stored frame is taken as 0 (the y of the outskirts at 1.3 R200 is ~1% of the centre's; a
    reflected border would add signal on the scales the filter removes).

    Examples
    --------
    >>> import numpy as np
    >>> from massrecon.training.augment import high_pass
    >>> img = np.zeros((65, 65)); img[32, 32] = 1.0
    >>> out = high_pass(img, 5.0)
    >>> round(float(out.sum()), 6), round(float(out[32, 32]), 4)
    (0.0, 0.9936)
    """
    img = np.asarray(img, dtype=np.float64)
    return img - ndimage.gaussian_filter(img, theta_px, mode="constant", cval=0.0, truncate=5.0)


def _apply_highpass(stack, views, augment, rng, src_pix_r200):
    """High-pass the y map (in place in ``stack``) with ``sz_highpass_probability``, as a ground-based
    instrument's transfer function does; return the dispersion in true R200 (None: unfiltered)."""
    if "sz" not in views or augment.sz_highpass_probability <= 0:
        return None  # draw nothing, so configurations without filtering keep their random stream
    if rng.uniform() >= augment.sz_highpass_probability:
        return None
    theta = _log_uniform(rng, *augment.sz_highpass_r200)
    i = views.index("sz")
    stack[i] = high_pass(stack[i], theta / src_pix_r200)
    return theta


def _centre_room(src_size_r200, scale):
    """How far (R200) the centre of a frame ``scale`` times the nominal width may move within the stored maps."""
    return max(src_size_r200 / 2.0 - FRAME_SIZE_R200 * scale / 2.0, 0.0)


def _draw_frame(augment, rng, src_size_r200):
    """The jittered frame: exact with ``r200_known_probability``, else scaled within a drawn R200
    error bound (and ``frame_jitter``); the centre moves within ``center_jitter_r200`` and the
    stored maps."""
    f, r200_error = 1.0, 0.0
    if rng.uniform() >= augment.r200_known_probability:
        r200_error = float(rng.uniform(*augment.r200_error))
        lo = max(1.0 - r200_error, augment.frame_jitter[0])
        hi = min(1.0 + r200_error, augment.frame_jitter[1])
        f = float(rng.uniform(lo, hi))
    cj = min(augment.center_jitter_r200, _centre_room(src_size_r200, f))
    offset = (float(rng.uniform(-cj, cj)), float(rng.uniform(-cj, cj))) if cj > 0 else (0.0, 0.0)
    return _Frame(f, r200_error, offset)


def _add_noise(obs, views, beams, augment, rng, npix, frame, variance=None):
    """Add each view's noise (in place in ``obs``) with ``noise_probability``; return the rms of
    each view (0: none).  ``variance``, a dict, receives each view's per-pixel noise variance."""
    noise = {v: 0.0 for v in views}
    if variance is not None:
        variance.update({v: np.zeros_like(obs[i]) for i, v in enumerate(views)})
    for i, v in enumerate(views):
        if rng.uniform() >= augment.noise_probability:
            continue
        if v == "sz":
            # Instrument noise in a y map is smoothed by the beam like the signal (Planck,
            # ACT and SPT maps are beam-convolved): correlated noise of per-pixel rms `rms`.
            rms = _log_uniform(rng, *augment.noise_sz)
            white = rng.normal(0.0, 1.0, obs[i].shape)
            fwhm_px = beams[v] * npix / frame.width_r200
            if fwhm_px > 1.0:
                white = gaussian_beam(white, fwhm_px)
                white /= max(float(white.std()), 1e-30)
            obs[i] = obs[i] + rms * white
            var = np.full(obs[i].shape, rms**2)
        elif v == "stars":
            rms = _log_uniform(rng, *augment.noise_stars)
            obs[i] = obs[i] + rng.normal(0.0, rms, obs[i].shape)
            var = np.full(obs[i].shape, rms**2)
        else:  # Poisson-like: variance proportional to signal + background
            rms = _log_uniform(rng, *augment.noise_xray)
            lo_b, hi_b = augment.xray_background
            # a fixed background draws nothing, so older configurations keep their random stream
            bkg = lo_b if lo_b == hi_b else _log_uniform(rng, lo_b, hi_b)
            var = xray_noise_variance(obs[i], rms, bkg)
            obs[i] = obs[i] + rng.normal(0.0, 1.0, obs[i].shape) * np.sqrt(var)
        noise[v] = rms
        if variance is not None:
            variance[v] = var
    return noise


def _drop_views(views, augment, rng):
    """Which views are present after view dropout (at least one)."""
    if augment.view_dropout > 0 and len(views) > 1:
        keep = rng.uniform(size=len(views)) >= augment.view_dropout
        if not keep.any():
            keep[int(rng.integers(len(views)))] = True
        return {v: bool(k) for v, k in zip(views, keep, strict=True)}
    return {v: True for v in views}


def _encode_sample(views, obs, sig, beams, noise, present, frame, r200_kpc, z, npix, highpass=None):
    """The network's tensors from the maps on the frame and the observing conditions."""
    x = np.stack([ViewTransform(v).forward(obs[i]) for i, v in enumerate(views)])
    mask = np.array([present[v] for v in views], dtype=np.float32)
    x = x * mask[:, None, None]
    pixel_kpc = frame.width_r200 * r200_kpc / npix
    # The network is told the beam in units of the frame's R200 (f R200), as `prepare` states it
    # for real data from the assumed R200; in true-R200 units the visible blur would reveal f.
    beams_frame = {v: b / frame.scale for v, b in beams.items()}
    hp_frame = None if highpass is None or not present.get("sz", False) else highpass / frame.scale
    cond = encode_conditioning(views, beams_frame, noise, pixel_kpc, z, present=present,
                               r200_error=frame.r200_error, sz_highpass_r200=hp_frame)
    t = TargetTransform().forward(np.maximum(sig, 1e-30))
    return {
        "x": torch.from_numpy(x.astype(np.float32)),
        "mask": torch.from_numpy(mask),
        "cond": torch.from_numpy(cond),
        "t": torch.from_numpy(t.astype(np.float32)[None]),
        "r200_px": torch.tensor(npix / frame.width_r200, dtype=torch.float32),
    }


def _relation_frame(stack, views, beams, highpass, frame, augment, rng, solver, *, src_size_r200, npix, r200_kpc, z,
                    m200):
    """The frame of the relation mass of the sample's own observed maps (step 3 with
    ``relation_frame_probability``), or ``frame`` where no view gives a mass.

    The maps are cut on the true frame, given the noise and view dropout that the sample will
    have (the same draws: the generator is rewound afterwards), and the relations' fixed point
    (`~massrecon.training.relation_frames.RelationFrameSolver`) sets the frame's scale; the
    network is told the precision the reconstructor would state.
    """
    if solver is None or m200 is None:
        raise ValueError("relation_frame_probability > 0 needs relation_frames (a RelationFrameSolver) and m200")
    # the true frame, centred where the sample will be (within the stored maps)
    room = _centre_room(src_size_r200, 1.0)
    centre = tuple(float(np.clip(o, -room, room)) for o in frame.offset)
    out = resample_frame(np.stack(stack), src_size_r200, npix, FRAME_SIZE_R200 / 2.0, centre)
    obs = out[:-1]
    state = rng.bit_generator.state
    variance = {}
    _add_noise(obs, views, beams, augment, rng, npix, _Frame(1.0, 0.0, centre), variance=variance)
    present = _drop_views(views, augment, rng)
    rng.bit_generator.state = state  # the sample draws its noise and dropout again, identically
    _, scatter, scale = solver.solve({v: obs[i] for i, v in enumerate(views)}, variance,
                                     [v for v in views if present[v]], beams, highpass, m200=m200,
                                     r200_kpc=r200_kpc, z=z)
    if not math.isfinite(scale):
        return frame
    lo, hi = _RELATION_FRAME_LIMITS[0], min(_RELATION_FRAME_LIMITS[1], augment.frame_jitter[1])
    scale = float(np.clip(scale, lo, hi))
    room = _centre_room(src_size_r200, scale)
    offset = tuple(float(np.clip(o, -room, room)) for o in frame.offset)
    return _Frame(scale, solver.frame_error(scatter), offset)


def make_sample(views, maps, target, *, src_size_r200, r200_kpc, z, npix=FRAME_NPIX, native_fwhm_r200=0.01,
                augment=None, rng=None, relation_frames=None, m200=None):
    """Turn stored maps of one projection into a network sample.

    The steps are those of the module docstring, drawn in that order from ``rng``.

    Parameters
    ----------
    views : tuple of str
        Views of the model, in canonical order.
    maps : dict
        Physical map per view (2D arrays over ``src_size_r200`` R200).
    target : 2D array
        ``sigma_total`` on the same grid (Msun/kpc^2, > 0).
    src_size_r200 : float
        Width of the stored maps in R200 (>= `~massrecon.contract.FRAME_SIZE_R200`).
    r200_kpc, z : float
        The halo's R200 (kpc) and redshift.
    npix : int
        Pixels of the model frame.
    native_fwhm_r200 : float
        Smoothing FWHM already in the maps (R200).
    augment : `AugmentConfig` or None
        None gives the nominal sample: frame `~massrecon.contract.FRAME_SIZE_R200` R200 across,
        native resolution, no noise, all views.
    rng : `numpy.random.Generator`, optional
        Needed when ``augment`` is given.
    relation_frames : `~massrecon.training.relation_frames.RelationFrameSolver`, optional
        Needed when ``augment.relation_frame_probability > 0``.
    m200 : float, optional
        The halo's M200 (Msun), needed with ``relation_frames``.

    Returns
    -------
    dict
        ``x`` (V, npix, npix), ``mask`` (V,), ``cond`` (n_cond,), ``t`` (1, npix, npix) float32
        tensors and ``r200_px`` (radius of the true R200 in output pixels, float32 tensor).

    Examples
    --------
    >>> import numpy as np
    >>> from massrecon.training.augment import make_sample
    >>> s = make_sample(("sz",), {"sz": np.full((26, 26), 1e-6)}, np.full((26, 26), 1e8),
    ...                 src_size_r200=2.6, r200_kpc=1000.0, z=0.1, npix=8)
    >>> tuple(s["x"].shape), abs(float(s["t"].mean())) < 1e-9, float(s["r200_px"])
    ((1, 8, 8), True, 4.0)
    """
    stack = [np.asarray(maps[v], dtype=np.float64) for v in views] + [np.asarray(target, dtype=np.float64)]
    beams = {v: native_fwhm_r200 for v in views}
    noise = {v: 0.0 for v in views}
    present = {v: True for v in views}
    frame = _NOMINAL_FRAME
    highpass = None
    if augment is not None:
        if rng is None:
            raise ValueError("rng is needed with augment")
        if augment.flips:
            stack = _random_dihedral(stack, rng)
        _apply_beams(stack, views, beams, augment, rng, src_size_r200 / target.shape[-1], native_fwhm_r200)
        frame = _draw_frame(augment, rng, src_size_r200)
        highpass = _apply_highpass(stack, views, augment, rng, src_size_r200 / target.shape[-1])
        if augment.relation_frame_probability > 0 and frame.r200_error > 0 \
                and rng.uniform() < augment.relation_frame_probability:
            frame = _relation_frame(stack, views, beams, highpass, frame, augment, rng, relation_frames,
                                    src_size_r200=src_size_r200, npix=npix, r200_kpc=r200_kpc, z=z, m200=m200)
    half_width = frame.width_r200 / 2.0
    if src_size_r200 / 2.0 < half_width - 1e-9:
        raise ValueError(f"stored maps span {src_size_r200} R200, too small for a frame of {frame.width_r200:.3g} R200")
    out = resample_frame(np.stack(stack), src_size_r200, npix, half_width, frame.offset)
    obs, sig = out[:-1], out[-1]
    if augment is not None:
        noise = _add_noise(obs, views, beams, augment, rng, npix, frame)
        present = _drop_views(views, augment, rng)
    return _encode_sample(views, obs, sig, beams, noise, present, frame, r200_kpc, z, npix, highpass)
