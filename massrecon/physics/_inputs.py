"""Private input checks shared by the physics modules: Quantities with the right units, clear errors."""

import astropy.units as u
import numpy as np

__all__ = []


def energy(value, name, *, allow_zero=False):
    """``value`` as a keV Quantity (energy or, through ``temperature_energy``, a temperature)."""
    if not isinstance(value, u.Quantity):
        raise u.UnitsError(f"{name} must be a Quantity with energy (e.g. keV) or temperature (K) units, "
                           f"got {value!r}")
    try:
        out = value.to(u.keV, equivalencies=u.temperature_energy())
    except u.UnitConversionError:
        raise u.UnitsError(f"{name} must have energy (e.g. keV) or temperature (K) units, "
                           f"got unit '{value.unit}'") from None
    bad = out.value < 0 if allow_zero else out.value <= 0
    if not np.all(np.isfinite(out.value)) or np.any(bad):
        limit = ">= 0" if allow_zero else "> 0"
        raise ValueError(f"{name} must be finite and {limit}, got {value}")
    return out


def band(value, name="band"):
    """A band ``(E1, E2)``, ``E1 < E2``, as a keV Quantity of shape (2,)."""
    out = energy(value, name)
    if out.shape != (2,) or not out[0] < out[1]:
        raise ValueError(f"{name} must be two energies (E1, E2) with E1 < E2, got {value}")
    return out


def redshift(value, name="z"):
    """A redshift (float or dimensionless Quantity) as a float array, finite and >= 0."""
    if isinstance(value, u.Quantity):
        if not value.unit.is_equivalent(u.one):
            raise u.UnitsError(f"{name} must be dimensionless, got unit '{value.unit}'")
        value = value.to_value(u.one)
    out = np.asarray(value, dtype=np.float64)
    if not np.all(np.isfinite(out)) or np.any(out < 0):
        raise ValueError(f"{name} must be finite and >= 0, got {value}")
    return out


def column_density(value, name="nh"):
    """A hydrogen column density as a cm^-2 float array, finite and >= 0."""
    if not isinstance(value, u.Quantity) or not value.unit.is_equivalent(u.cm**-2):
        raise u.UnitsError(f"{name} must be a Quantity in column-density units (e.g. u.cm**-2), got {value!r}")
    out = value.to_value(u.cm**-2)
    if not np.all(np.isfinite(out)) or np.any(out < 0):
        raise ValueError(f"{name} must be finite and >= 0, got {value}")
    return out
