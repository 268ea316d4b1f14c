"""Validation of what users pass to the observation classes: beams, angles, WCS, units."""

import warnings

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
