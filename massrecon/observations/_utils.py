"""Private helpers shared by the observation classes: validation, cut-outs, rebinning, smoothing."""

import warnings

import astropy.units as u
import numpy as np
from astropy.convolution import Gaussian2DKernel, convolve_fft
from astropy.io import fits
from astropy.stats import gaussian_fwhm_to_sigma
from astropy.wcs import WCS, FITSFixedWarning
from astropy.wcs.utils import proj_plane_pixel_scales

from ..logger import log

__all__ = []


def log_info(msg):
    """Log at INFO level through the massrecon logger."""
    log.info(msg)


def log_debug(msg):
    """Log at DEBUG level through the massrecon logger."""
    log.debug(msg)


# Numerical tolerance when comparing a target beam with the observation's beam.
_BEAM_RTOL = 1e-6


def validate_beam(beam, owner, name="beam"):
    """Return ``beam`` as a finite, non-negative angle Quantity (arcmin), or raise a clear error."""
    if beam is None:
        raise ValueError(
            f"{owner}: {name} is required: give the FWHM of the beam/PSF as an angle Quantity "
            "(e.g. 10 * u.arcmin); use 0 * u.arcmin for a map that is not smoothed"
        )
    if not isinstance(beam, u.Quantity) or not beam.unit.is_equivalent(u.deg):
        raise u.UnitsError(
            f"{owner}: {name} must be a Quantity with angle units (the FWHM, e.g. 10 * u.arcmin), "
            f"got {beam!r}"
        )
    if not beam.isscalar:
        raise ValueError(f"{owner}: {name} must be a scalar FWHM, got shape {beam.shape}")
    if not np.isfinite(beam.value) or beam.value < 0:
        raise ValueError(f"{owner}: {name} must be finite and >= 0, got {beam}")
    return beam.to(u.arcmin)


def angle_or_r200(value, frame, name):
    """An angle Quantity from an angle or a fraction of R200 (float or dimensionless Quantity)."""
    if isinstance(value, u.Quantity):
        if value.unit.is_equivalent(u.deg):
            angle = value.to(u.arcmin)
        elif value.unit.is_equivalent(u.dimensionless_unscaled):
            angle = value.to_value(u.dimensionless_unscaled) * frame.theta200
        else:
            raise u.UnitsError(
                f"{name} must be an angle Quantity or a fraction of R200 (a float), got {value!r}"
            )
    else:
        try:
            angle = float(value) * frame.theta200
        except (TypeError, ValueError):
            raise TypeError(
                f"{name} must be an angle Quantity or a fraction of R200 (a float), got {value!r}"
            ) from None
    if not angle.isscalar or not np.isfinite(angle.value) or angle.value < 0:
        raise ValueError(f"{name} must be a finite scalar >= 0, got {value!r}")
    return angle.to(u.arcmin)


def celestial_wcs(wcs, shape, owner):
    """Validate that ``wcs`` is (or contains) a 2-D celestial WCS and return a copy of it."""
    if wcs is None:
        raise ValueError(f"{owner}: wcs is required: give the celestial astropy WCS of the image")
    if isinstance(wcs, fits.Header):
        wcs = wcs_from_header(wcs)
    if not isinstance(wcs, WCS):
        raise TypeError(f"{owner}: wcs must be an astropy.wcs.WCS or a FITS header, got {type(wcs).__name__}")
    if not wcs.has_celestial:
        raise ValueError(
            f"{owner}: wcs must be a celestial WCS (longitude/latitude axes such as RA/Dec or "
            f"GLON/GLAT), got axis types {list(wcs.wcs.ctype)}"
        )
    cel = wcs.celestial.deepcopy()
    if cel.naxis != 2:
        raise ValueError(f"{owner}: wcs must have exactly two celestial axes, got {cel.naxis}")
    cel.pixel_shape = (shape[1], shape[0])
    return cel


def wcs_from_header(header):
    """WCS from a FITS header, without astropy's notices about fixed, deprecated keywords."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", FITSFixedWarning)
        wcs = WCS(header)
    for w in caught:
        if issubclass(w.category, FITSFixedWarning):
            log_debug(f"WCS header fixed on reading: {w.message}")
        else:
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
    return wcs


def unit_from_header(header, unit, owner):
    """The unit given by the user, else the header's BUNIT, else None."""
    if unit is not None:
        return u.Unit(unit)
    bunit = str(header.get("BUNIT", "")).strip()
    if not bunit:
        return None
    try:
        return u.Unit(bunit, parse_strict="raise")
    except ValueError:
        try:
            return u.Unit(bunit, format="fits", parse_strict="raise")
        except ValueError:
            raise u.UnitsError(
                f"{owner}: cannot parse BUNIT = {bunit!r} from the FITS header; pass unit=... explicitly"
            ) from None


def frame_corner_grid(frame_wcs, shape):
    """World coordinates of all pixel corners of a grid (for footprints and cut-outs)."""
    ny, nx = shape
    yy, xx = np.mgrid[-0.5 : ny + 0.5 : 1.0, -0.5 : nx + 0.5 : 1.0]
    return frame_wcs.pixel_to_world(xx.ravel(), yy.ravel())


def cutout_slices(wcs_in, shape_in, frame_wcs, shape_out, margin):
    """Slices of the input array covering the output grid with ``margin`` input pixels to spare.

    Returns None when the output grid does not overlap the input array at all.
    """
    sky = frame_corner_grid(frame_wcs, shape_out)
    with np.errstate(invalid="ignore"):
        px, py = wcs_in.world_to_pixel(sky)
    ok = np.isfinite(px) & np.isfinite(py)
    if not np.any(ok):
        return None
    if not np.all(ok):
        # some corners cannot be projected (e.g. behind a zenithal projection): keep everything
        return (slice(0, shape_in[0]), slice(0, shape_in[1]))
    x0 = int(np.floor(px.min())) - margin
    x1 = int(np.ceil(px.max())) + margin + 1
    y0 = int(np.floor(py.min())) - margin
    y1 = int(np.ceil(py.max())) + margin + 1
    x0, y0 = max(x0, 0), max(y0, 0)
    x1, y1 = min(x1, shape_in[1]), min(y1, shape_in[0])
    if x1 <= x0 or y1 <= y0:
        return None
    return (slice(y0, y1), slice(x0, x1))


def native_pixel_scale(wcs):
    """Smallest pixel side of a celestial WCS at its reference point, as an angle Quantity."""
    return float(np.min(proj_plane_pixel_scales(wcs))) * u.deg


def binning_factor(wcs_in, out_pixel_scale):
    """Integer block size that brings the input pixels closest to (not above) the output pixel."""
    ratio = float((out_pixel_scale / native_pixel_scale(wcs_in)).decompose())
    return max(int(np.floor(ratio + 1e-9)), 1)


def block_slices(shape, factor):
    """Slices trimming an array to whole blocks of ``factor`` pixels."""
    ny, nx = (shape[0] // factor) * factor, (shape[1] // factor) * factor
    return (slice(0, ny), slice(0, nx))


def block_sum(array, factor):
    """Sum over ``factor`` x ``factor`` blocks (array already trimmed with `block_slices`)."""
    ny, nx = array.shape
    return array.reshape(ny // factor, factor, nx // factor, factor).sum(axis=(1, 3))


def block_mean(data, std, factor):
    """NaN-aware block mean of ``data`` and the standard deviation of that mean.

    NaN marks masked pixels; a block is NaN only when all its pixels are.
    """
    valid = np.isfinite(data)
    n = block_sum(valid.astype(float), factor)
    total = block_sum(np.where(valid, data, 0.0), factor)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.where(n > 0, total / n, np.nan)
        if std is None:
            out_std = None
        else:
            var = block_sum(np.where(valid, np.nan_to_num(std, nan=0.0) ** 2, 0.0), factor)
            out_std = np.where(n > 0, np.sqrt(var) / n, np.nan)
    return mean, out_std


def rebinned_wcs(wcs, factor):
    """WCS of an image binned by ``factor`` (astropy's strided slicing centres the new pixels)."""
    ny, nx = wcs.pixel_shape[1], wcs.pixel_shape[0]
    new = wcs[0:ny:factor, 0:nx:factor]
    new.pixel_shape = (nx // factor, ny // factor)
    return new


def pixel_solid_angle(wcs, shape):
    """Solid angle of every pixel of an image (sr), from the sky positions of its corners.

    Exact to second order in the pixel size for any projection, including pixels far from the
    projection's reference point (where the projection-plane pixel area is biased).
    """
    sky = frame_corner_grid(wcs, shape)
    ny, nx = shape
    lon = sky.spherical.lon.to_value(u.rad).reshape(ny + 1, nx + 1)
    lat = sky.spherical.lat.to_value(u.rad).reshape(ny + 1, nx + 1)
    vec = np.stack([np.cos(lat) * np.cos(lon), np.cos(lat) * np.sin(lon), np.sin(lat)], axis=-1)
    # quadrilateral area = |d1 x d2| / 2 with the two diagonals d1, d2
    d1 = vec[1:, 1:] - vec[:-1, :-1]
    d2 = vec[1:, :-1] - vec[:-1, 1:]
    return 0.5 * np.linalg.norm(np.cross(d1, d2), axis=-1)


def padded_frame_wcs(frame, pad):
    """The frame's WCS and shape enlarged by ``pad`` pixels on every side."""
    wcs = frame.wcs.deepcopy()
    if pad:
        wcs.wcs.crpix = wcs.wcs.crpix + pad
        wcs.wcs.set()
    ny, nx = frame.array_shape
    shape = (ny + 2 * pad, nx + 2 * pad)
    wcs.pixel_shape = (shape[1], shape[0])
    return wcs, shape


def smoothing_sigma_pixels(target, beam, pixel_scale):
    """Gaussian sigma (output pixels) that turns a beam of FWHM ``beam`` into one of ``target``."""
    fwhm = np.sqrt(max(target.to_value(u.arcmin) ** 2 - beam.to_value(u.arcmin) ** 2, 0.0)) * u.arcmin
    return float((fwhm * gaussian_fwhm_to_sigma / pixel_scale).decompose())


def smooth(data, std, sigma_pix):
    """Gaussian smoothing of a map with NaN holes (kept), and of its per-pixel noise.

    The noise is propagated as for independent pixels: the variance is convolved with the
    square of the normalised kernel.
    """
    kernel = Gaussian2DKernel(sigma_pix, mode="oversample", factor=10)
    kernel.normalize("integral")
    opts = dict(nan_treatment="interpolate", preserve_nan=True, boundary="fill", fill_value=np.nan)
    out = convolve_fft(data, kernel, **opts)
    out_std = None
    if std is not None:
        k2 = kernel.array**2
        # mean of the variance weighted by K^2 over the valid pixels, times sum(K^2): the variance
        # of sum(K x) for independent pixels when all pixels are valid.  K^2 is normalised here
        # because convolve_fft refuses to normalise a kernel whose sum is below 0.01 (sigma > ~3 px).
        var = convolve_fft(std**2, k2 / k2.sum(), normalize_kernel=False, **opts) * k2.sum()
        out_std = np.sqrt(var)
    return out, out_std
