"""Validation of what users pass to the observation classes: beams, angles, WCS, units."""

import contextlib
import os
import warnings
import zlib

import astropy.units as u
import numpy as np
from astropy.io import fits
from astropy.wcs import WCS, FITSFixedWarning

from ..logger import log

__all__ = []

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
    _check_wcs_numbers(wcs, owner)
    if not wcs.has_celestial:
        raise ValueError(
            f"{owner}: wcs must be a celestial WCS (longitude/latitude axes such as RA/Dec or "
            f"GLON/GLAT), got axis types {list(wcs.wcs.ctype)}"
        )
    cel = wcs.celestial.deepcopy()
    if cel.naxis != 2:
        raise ValueError(f"{owner}: wcs must have exactly two celestial axes, got {cel.naxis}")
    _check_wcs_numbers(cel, owner)
    cel.pixel_shape = (shape[1], shape[0])
    return cel


def _check_wcs_numbers(cel, owner):
    """Raise a ValueError naming the keyword when a celestial WCS cannot map pixels to the sky."""
    w = cel.wcs
    for key, values in (("CRVAL", w.crval), ("CRPIX", w.crpix)):
        if not np.all(np.isfinite(values)):
            raise ValueError(f"{owner}: the WCS has a non-finite {key} {list(np.asarray(values))}: it cannot "
                             "place the image on the sky")
    if w.has_cd():
        name, matrix = "CD", np.asarray(w.cd)
    else:
        cdelt = np.asarray(w.cdelt)
        if not np.all(np.isfinite(cdelt)) or np.any(cdelt == 0):
            raise ValueError(f"{owner}: the WCS has CDELT = {list(cdelt)}: pixel scales must be finite and "
                             "non-zero")
        name, matrix = "PC", np.asarray(w.get_pc())
    det = np.linalg.det(matrix) if np.all(np.isfinite(matrix)) else np.nan
    if not (np.isfinite(det) and det != 0):
        raise ValueError(f"{owner}: the WCS's {name} matrix {matrix.tolist()} is singular or not finite: it "
                         "cannot map pixels to the sky")
    try:
        cel.wcs.set()
    except Exception as exc:  # wcslib's errors (e.g. an unknown projection) name the problem
        raise ValueError(f"{owner}: the WCS is invalid: {exc}") from None


def read_fits_hdus(filename, hdus, owner):
    """The HDUs ``hdus`` (ints or names) of a FITS file, read into memory.

    Errors name the file: a missing HDU (with the file's HDU count), and a file that is empty,
    truncated (in the header, in the data, or a cut ``.gz``) or not FITS, where astropy's own
    messages ("buffer is too small", "Empty or corrupt FITS file") do not say which file.
    """
    is_path = isinstance(filename, (str, os.PathLike))
    label = os.fspath(filename) if is_path else repr(filename)
    try:
        # our own handle, closed here whatever fits.open does with a broken file
        with open(filename, "rb") if is_path else contextlib.nullcontext(filename) as fh, \
                warnings.catch_warnings():
            # astropy only warns when the data are cut short: make it the error it is
            warnings.filterwarnings("error", message="File may have been truncated")
            with fits.open(fh, memmap=False) as hdul:
                out = []
                for hdu in hdus:
                    try:
                        h = hdul[hdu]
                    except (IndexError, KeyError):
                        names = [x.name for x in hdul]
                        raise _MissingHDU(f"{owner}: {label} has {len(hdul)} HDU(s) {names}: there is no "
                                          f"HDU {hdu!r}") from None
                    _ = h.data  # read now, inside the error handling
                    out.append(h)
                return out
    except _MissingHDU as exc:
        raise ValueError(str(exc)) from None
    except FileNotFoundError:
        raise
    except (OSError, TypeError, ValueError, EOFError, zlib.error, UserWarning) as exc:
        raise OSError(f"{owner}: cannot read {label}: it is empty, truncated or not a FITS file ({exc})") from None


class _MissingHDU(Exception):
    """An HDU that the file does not have (kept apart from errors of the file itself)."""


def wcs_from_header(header):
    """WCS from a FITS header, without astropy's notices about fixed, deprecated keywords."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", FITSFixedWarning)
        wcs = WCS(header)
    for w in caught:
        if issubclass(w.category, FITSFixedWarning):
            log.debug(f"WCS header fixed on reading: {w.message}")
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
