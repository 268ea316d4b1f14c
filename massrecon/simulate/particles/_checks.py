"""Checks of the particle inputs: Quantities of the right physical type, shape and range.

Every message names the field, so that a bad column of a snapshot is found at once.
"""

import astropy.units as u
import numpy as np

__all__ = ["as_quantity", "as_dimensionless", "check_values", "positive_length"]


def as_quantity(value, name, unit, n=None, shape=None, positive=True, allow_zero=False, equivalencies=()):
    if not isinstance(value, u.Quantity):
        raise u.UnitsError(f"{name} must be an astropy Quantity with units of {unit.physical_type} "
                           f"(e.g. {unit}), got {type(value).__name__}")
    try:
        out = value.to(unit, equivalencies=list(equivalencies))
    except u.UnitConversionError as exc:
        raise u.UnitsError(f"{name} must have units of {unit.physical_type} (e.g. {unit}), "
                           f"got {value.unit}") from exc
    out = np.array(out.value, dtype=float) * unit
    if n is not None and out.ndim == 0:
        out = np.full(n, out.value) * unit
    check_values(out.value, name, n, shape, positive, allow_zero)
    return out


def check_values(arr, name, n, shape, positive, allow_zero):
    if shape is not None and arr.shape != shape:
        raise ValueError(f"{name} must have shape {shape}, got {arr.shape}")
    if shape is None and n is not None and arr.shape != (n,):
        raise ValueError(f"{name} must have length {n} (one value per particle), got shape {arr.shape}")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} must be finite; {int(np.sum(~np.isfinite(arr)))} values are not")
    if positive:
        bad = arr < 0 if allow_zero else arr <= 0
        if np.any(bad):
            raise ValueError(f"{name} must be {'>= 0' if allow_zero else '> 0'}; "
                             f"{int(np.sum(bad))} values are not")


def as_dimensionless(value, name, n):
    if isinstance(value, u.Quantity):
        try:
            value = value.to_value(u.dimensionless_unscaled)
        except u.UnitConversionError as exc:
            raise u.UnitsError(f"{name} must be dimensionless, got {value.unit}") from exc
    arr = np.array(value, dtype=float)
    if arr.ndim == 0:
        arr = np.full(n, float(arr))
    check_values(arr, name, n, None, True, True)
    return arr


def positive_length(value, name):
    q = as_quantity(value, name, u.kpc)
    if q.ndim != 0:
        raise ValueError(f"{name} must be a scalar Quantity, got shape {q.shape}")
    return float(q.value)
