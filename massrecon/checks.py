"""Checks of the inputs of a reconstruction, made before the network runs.

A network returns a map for any input, so an input it was not trained for (a y map in
micro-Kelvin, stellar masses in grams, a map whose pixels are larger than the cluster) gives a
plausible-looking but wrong mass.  These checks measure, for each prepared view on the model's
frame:

* its **resolution**, the larger of the beam and the native pixel size, in units of
  :math:`R_{200c}`, against `~massrecon.contract.SUPPORTED_BEAM_R200` (an error);
* the **masked fraction of the core** (within `CORE_RADIUS_R200`; a warning above
  `CORE_MASKED_MAX`): masked pixels are filled from the nearest observed ring, which cannot
  restore a peak;
* the **sign and signal-to-noise** of its integral within :math:`R_{500c}` (an error when the
  signal is zero or significantly negative, a warning when it is not detected);
* its **amplitude**: that integral divided by the self-similar expectation for the frame's
  :math:`M_{500c}` and redshift (`self_similar_scale`), against the range measured on the
  training set and stored in the weights' metadata under ``"input_ranges"`` (a warning);
* for member catalogues, the **stellar mass per galaxy** against the training range.

The ranges come from `massrecon.validation.input_ranges`, which simulates halos with the bundled
recipe's `~massrecon.simulate.SimulationConfig`; docs/checks.rst lists every check and why.
"""

import dataclasses
import warnings

import astropy.units as u
import numpy as np

from .apertures import aperture_weights
from .contract import SUPPORTED_BEAM_R200
from .exceptions import OutOfDistributionWarning
from .logger import log

__all__ = [
    "INPUT_RANGES_KEY",
    "CORE_RADIUS_R200",
    "CORE_MASKED_MAX",
    "DETECTION_SNR",
    "NEGATIVE_SNR",
    "AMPLITUDE_UNITS",
    "ViewStatistics",
    "self_similar_scale",
    "log_amplitude",
    "aperture_integral",
    "native_pixel_r200",
    "view_statistics",
    "check_view",
    "check_member_masses",
]

#: Key of the calibrated input ranges in the weights' metadata.
INPUT_RANGES_KEY = "input_ranges"

#: Radius (in R200) of the core whose masked fraction is checked.
CORE_RADIUS_R200 = 0.1

#: Largest masked fraction of the core before a warning: the filled pixels carry the level of the
#: nearest observed ring, so a hole over the peak flattens it (a 4x4-pixel hole, 6% of the core of
#: an 80-pixel frame, lowers M(<R200) by ~10% with the median fill of earlier versions).
CORE_MASKED_MAX = 0.05

#: Signal-to-noise within R500 below which a view counts as not detected (a warning).
DETECTION_SNR = 3.0

#: Signal-to-noise within R500 below which a view is significantly negative (an error).
NEGATIVE_SNR = -3.0

#: Unit of the integral of each view within R500: Y500 D_A^2 (kpc^2), the 0.5-2 keV luminosity and
#: the stellar mass of the members.
AMPLITUDE_UNITS = {"sz": u.kpc**2, "xray": u.erg / u.s, "stars": u.Msun}

# Self-similar scaling of each integral, (slope in M500, slope in E(z)) (Kaiser 1986, MNRAS 222,
# 323): Y ~ E^(2/3) M^(5/3); the soft-band luminosity, nearly independent of T, L ~ E^2 M; the
# stellar mass ~ M (a constant stellar fraction).
_SELF_SIMILAR = {"sz": (5.0 / 3.0, 2.0 / 3.0), "xray": (1.0, 2.0), "stars": (1.0, 0.0)}
_PIVOT_M500 = 3e14  # Msun


@dataclasses.dataclass
class ViewStatistics:
    """What the checks measured on one prepared view.

    Attributes
    ----------
    view : str
    resolution_r200 : float
        The larger of the beam FWHM and the native pixel size, in R200.
    core_masked_fraction : float
        Fraction of the pixels within `CORE_RADIUS_R200` that are masked.
    integral : `~astropy.units.Quantity`
        Integral within R500 in `AMPLITUDE_UNITS` (masked pixels count at the mean of the rest).
    signal_to_noise : float or None
        ``integral`` over its noise, None without a noise map.
    log10_amplitude : float
        log10 of ``integral`` over `self_similar_scale` (NaN when ``integral <= 0``).
    """

    view: str
    resolution_r200: float
    core_masked_fraction: float
    integral: u.Quantity
    signal_to_noise: float | None
    log10_amplitude: float


def self_similar_scale(view, m500, z, cosmology):
    """``E(z)^b (M500 / 3e14 Msun)^a``: the self-similar scaling of a view's integral within R500.

    Examples
    --------
    >>> import astropy.units as u
    >>> from astropy.cosmology import Planck18
    >>> from massrecon.checks import self_similar_scale
    >>> round(self_similar_scale("sz", 6e14 * u.Msun, 0.0, Planck18), 3)
    3.175
    """
    a, b = _SELF_SIMILAR[view]
    m = u.Quantity(m500, u.Msun).to_value(u.Msun)
    return float(cosmology.efunc(z) ** b * (m / _PIVOT_M500) ** a)


def log_amplitude(view, integral, m500, z, cosmology):
    """log10 of the integral within R500 (in `AMPLITUDE_UNITS`) over `self_similar_scale`; NaN if <= 0."""
    value = float(u.Quantity(integral, AMPLITUDE_UNITS[view]).to_value(AMPLITUDE_UNITS[view]))
    if not value > 0:
        return float("nan")
    return float(np.log10(value / self_similar_scale(view, m500, z, cosmology)))


def aperture_integral(data, mask, pixel_kpc, radius_pix, noise=None):
    """Integral of a map (per kpc^2) within a centred circle, and its noise.

    Masked pixels count at the mean of the observed ones.  The noise of the sum treats the pixels
    as independent (true of counts images; a map whose noise is correlated over a beam larger than
    the pixels gets an optimistic S/N, so the detection check only flags clear non-detections).

    Returns
    -------
    integral, noise : float, float or None
        In the map's unit times kpc^2.
    """
    w = aperture_weights(data.shape, radius_pix)
    good = ~mask & np.isfinite(data) & (w > 0)
    if not good.any():
        return float("nan"), None
    area = w.sum()
    wg = w[good]
    integral = float(np.sum(wg * data[good]) / wg.sum() * area * pixel_kpc**2)
    if noise is None:
        return integral, None
    var = np.sum((wg * np.where(np.isfinite(noise[good]), noise[good], 0.0)) ** 2) * (area / wg.sum()) ** 2
    return integral, float(np.sqrt(var) * pixel_kpc**2)


def native_pixel_r200(obs, frame):
    """Native pixel size of an observation in units of the frame's R200 (0 for catalogues)."""
    size = getattr(obs, "pixel_size", None)  # HEALPix maps
    if size is None:
        wcs = getattr(obs, "wcs", None)
        if wcs is None:
            return 0.0
        from astropy.wcs.utils import proj_plane_pixel_area

        size = np.sqrt(abs(proj_plane_pixel_area(wcs))) * u.deg
    return float((u.Quantity(size, u.arcmin) / frame.theta200).decompose())


def view_statistics(pv, frame, pixel_r200=0.0):
    """Measure a `~massrecon.observations.PreparedView` on its (model) frame: `ViewStatistics`.

    Examples
    --------
    >>> import numpy as np, astropy.units as u
    >>> from astropy.coordinates import SkyCoord
    >>> from massrecon import ClusterFrame
    >>> from massrecon.checks import view_statistics
    >>> from massrecon.observations import PreparedView
    >>> frame = ClusterFrame(SkyCoord(150, 2, unit="deg"), 0.2, m500=5e14 * u.Msun)
    >>> r = frame.radius_grid()
    >>> pv = PreparedView("sz", 1e-4 / (1 + (r / 0.1) ** 2), u.one, None, np.zeros(r.shape, bool), 0.1)
    >>> stats = view_statistics(pv, frame)
    >>> stats.core_masked_fraction, stats.signal_to_noise, round(stats.log10_amplitude, 2)
    (0.0, None, 1.17)
    """
    r = frame.radius_grid()
    core = r <= CORE_RADIUS_R200
    core_masked = float(pv.mask[core].mean()) if core.any() else 0.0
    pix_r200 = frame.size_r200 / frame.npix
    radius_pix = float((frame.r500 / frame.r200).decompose()) / pix_r200
    value, noise = aperture_integral(pv.data, pv.mask, frame.pixel_scale_kpc.to_value(u.kpc), radius_pix,
                                     noise=pv.noise)
    unit = pv.unit * u.kpc**2
    integral = (value * unit).to(AMPLITUDE_UNITS[pv.view])
    snr = None if not noise else float(value / noise)
    return ViewStatistics(pv.view, max(pv.beam_fwhm_r200, float(pixel_r200)), core_masked, integral, snr,
                          log_amplitude(pv.view, integral, frame.m500, frame.z, frame.cosmology))


def _check_resolution(stats, pixel_r200, beam_range):
    lo, hi = beam_range
    if stats.resolution_r200 > hi * (1 + 1e-6):
        which = "pixel size" if pixel_r200 > 0 and stats.resolution_r200 == pixel_r200 else "beam"
        raise ValueError(
            f"the {stats.view} view's resolution, max(beam, pixel size) = {stats.resolution_r200:.3g} R200 "
            f"(set by its {which}), is coarser than the model supports (up to {hi:g} R200): options: a larger "
            "frame (higher mass guess), a finer map, or leave this view out")


def _check_signal(stats):
    """Sign and signal-to-noise of the integral within R500: errors and warnings."""
    view, value = stats.view, stats.integral.value
    if not np.isfinite(value):
        raise ValueError(f"the {view} view has no observed pixel within R500")
    if stats.signal_to_noise is None:
        if value <= 0:
            what = "zero" if value == 0 else "negative"
            raise ValueError(
                f"the {view} view is {what} within R500 (integral {stats.integral:.3g}); it must be a positive "
                f"{'Compton-y' if view == 'sz' else 'surface brightness' if view == 'xray' else 'stellar mass'} "
                "signal: check the sign and the unit of the map, or leave this view out")
        return
    if stats.signal_to_noise < NEGATIVE_SNR:
        raise ValueError(
            f"the {view} view is significantly negative within R500 (S/N = {stats.signal_to_noise:.3g}, allowed "
            f">= {NEGATIVE_SNR:g}): check the sign and the unit of the map (e.g. a temperature decrement "
            "passed as y), or leave this view out")
    if stats.signal_to_noise < DETECTION_SNR:
        warnings.warn(
            f"the {view} view is not detected within R500 (S/N = {stats.signal_to_noise:.3g}, expected >= "
            f"{DETECTION_SNR:g}): the prediction rests on the frame and the other views",
            OutOfDistributionWarning)


def _check_amplitude(stats, ranges, filtered=False):
    rng = (ranges or {}).get(stats.view, {}).get("log10_amplitude")
    if rng is None or not np.isfinite(stats.log10_amplitude):
        return
    lo, hi = rng
    val = stats.log10_amplitude
    undetected = stats.signal_to_noise is not None and stats.signal_to_noise < DETECTION_SNR
    # the ranges are calibrated on unfiltered maps: a high-pass filtered y map (a stated transfer
    # function) has lost part of its integral, so only its upper bound applies
    if val > hi or (val < lo and not undetected and not filtered):
        unit = AMPLITUDE_UNITS[stats.view]
        warnings.warn(
            f"the {stats.view} view's integral within R500 over its self-similar expectation for the frame's "
            f"M500 and z is 10^{val:.2f} {unit}, outside the training range 10^{lo:.2f} to 10^{hi:.2f}: check "
            "the map's unit and the frame's mass; the prediction is out of distribution",
            OutOfDistributionWarning)


def check_view(pv, frame, ranges=None, pixel_r200=0.0, beam_range=SUPPORTED_BEAM_R200):
    """Check a prepared view before the network runs; return its `ViewStatistics`.

    Parameters
    ----------
    pv : `~massrecon.observations.PreparedView`
        The view on the model's frame, in the model's unit.
    frame : `~massrecon.ClusterFrame`
        The model's frame.
    ranges : dict, optional
        The weights' ``metadata["input_ranges"]``; without it the amplitude is not checked.
    pixel_r200 : float
        Native pixel size of the observation in R200 (`native_pixel_r200`).
    beam_range : pair of float
        Supported resolution in R200.

    Raises
    ------
    ValueError
        A resolution coarser than supported, a zero or significantly negative signal.

    Warns
    -----
    `~massrecon.exceptions.OutOfDistributionWarning`
        A masked core, an undetected signal, an amplitude outside the training range.
    """
    stats = view_statistics(pv, frame, pixel_r200)
    _check_resolution(stats, pixel_r200, beam_range)
    if stats.core_masked_fraction > CORE_MASKED_MAX:
        warnings.warn(
            f"the {pv.view} view has {stats.core_masked_fraction:.0%} of its core (r < {CORE_RADIUS_R200:g} R200) "
            f"masked (allowed up to {CORE_MASKED_MAX:.0%}): masked pixels are filled from the nearest observed "
            "ring, which flattens the peak; the mass is likely underestimated", OutOfDistributionWarning)
    _check_signal(stats)
    _check_amplitude(stats, ranges, filtered=getattr(pv, "highpass_r200", None) is not None)
    log.debug(f"{pv.view}: {stats}")
    return stats


def check_member_masses(obs, frame, ranges):
    """Warn when a galaxy of a member catalogue in the frame is more massive than any in training.

    ``obs`` is a `~massrecon.observations.GalaxyMembers`; ``ranges`` the weights' input ranges.
    """
    rng = (ranges or {}).get("stars", {}).get("log10_galaxy_mass")
    mstar = getattr(obs, "_mstar", None)
    if rng is None or mstar is None or not len(mstar):
        return
    heavy = np.nonzero(mstar > 10 ** rng[1])[0]
    if not heavy.size:
        return
    x, y = obs._offsets(frame, heavy)
    half = frame.width_kpc.to_value(u.kpc) / 2
    inside = np.isfinite(x) & np.isfinite(y) & (np.abs(x) <= half) & (np.abs(y) <= half)
    if inside.any():
        top = float(np.log10(mstar[heavy][inside].max()))
        warnings.warn(
            f"the stars view: {int(inside.sum())} member galaxies in the frame have stellar masses above the "
            f"training range (largest 10^{top:.2f} Msun, allowed up to 10^{rng[1]:.2f} Msun per galaxy): check "
            "the unit of the stellar masses (Msun, or u.dex(u.Msun) for log10 masses)", OutOfDistributionWarning)
