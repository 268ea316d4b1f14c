"""Argument checks shared by the analysis modules: each error names the argument."""

import astropy.units as u
import numpy as np

__all__ = []


def as_quantity(value, unit, name, *, positive=False, nonnegative=False, finite=True, ndim=None):
    """``value`` as a float array in ``unit``, after checking its unit and values.

    Raises `~astropy.units.UnitsError` for a missing or wrong unit and `ValueError` for NaN,
    infinite, negative or non-positive values or a wrong number of dimensions.
    """
    if not isinstance(value, u.Quantity):
        raise u.UnitsError(f"{name} must be an astropy Quantity with units of {u.Unit(unit).physical_type} "
                           f"(e.g. {u.Unit(unit).to_string()}), got {value!r}")
    if not value.unit.is_equivalent(unit):
        raise u.UnitsError(f"{name} must have units of {u.Unit(unit).physical_type} "
                           f"(e.g. {u.Unit(unit).to_string()}), got unit '{value.unit}'")
    out = np.asarray(value.to_value(unit), dtype=float)
    if ndim is not None and out.ndim != ndim:
        raise ValueError(f"{name} must be {ndim}-dimensional, got shape {out.shape}")
    if finite and not np.all(np.isfinite(out)):
        raise ValueError(f"{name} must be finite (no NaN or inf), got {value}")
    if positive and np.any(out <= 0):
        raise ValueError(f"{name} must be positive, got {value}")
    if nonnegative and np.any(out < 0):
        raise ValueError(f"{name} must not be negative, got {value}")
    return out


def redshift(z, name, *, allow_zero=False, array=False):
    """A finite redshift (> 0, or >= 0 with ``allow_zero``) as a float or float array."""
    if isinstance(z, u.Quantity):
        if z.unit not in (u.dimensionless_unscaled, u.redshift):
            raise u.UnitsError(f"{name} must be a dimensionless redshift, got unit '{z.unit}'")
        z = z.value
    try:
        out = np.asarray(z, dtype=float)
    except (TypeError, ValueError):
        raise TypeError(f"{name} must be a number, got {z!r}") from None
    if not array and out.ndim:
        raise ValueError(f"{name} must be a scalar redshift, got shape {out.shape}")
    if out.size == 0:
        raise ValueError(f"{name} must not be empty")
    if not np.all(np.isfinite(out)):
        raise ValueError(f"{name} must be finite (no NaN or inf), got {z}")
    if np.any(out < 0) or (not allow_zero and np.any(out == 0)):
        raise ValueError(f"{name} must be {'>= 0' if allow_zero else '> 0'}, got {z}")
    return out if array else float(out)
