"""Validated attributes of the observation classes, and the array checks they share.

The descriptors follow photutils' ``aperture/attributes.py``: a class declares, e.g.,
``beam = BeamFWHM("FWHM of the beam (arcmin).")``, and ``self.beam = value`` in its ``__init__``
validates the value, converts it and stores it.  Observations are immutable, so an attribute
can be set once; a second assignment raises `AttributeError`, as a read-only property does.
Every error names the class, the argument and what was expected.

Arrays whose shape another argument sets (a mask or a noise map of the data's shape) are
checked by the functions at the end, which every constructor calls the same way.
"""

import astropy.units as u
import numpy as np
from astropy.nddata import StdDevUncertainty

from ..logger import log
from ._inputs import validate_beam

__all__ = []


def _prefix(owner):
    return f"{owner}: " if owner else ""


# --- scalar validators (also used by the module-level functions) ------------------------------


def msun_value(value, name, owner=None):
    """``value`` in Msun: a Quantity with mass units, or numbers taken as Msun."""
    if isinstance(value, u.Quantity):
        if not value.unit.is_equivalent(u.Msun):
            raise u.UnitsError(f"{_prefix(owner)}{name} must have mass units (e.g. Msun), got unit '{value.unit}'")
        return value.to_value(u.Msun)
    return np.asarray(value, dtype=np.float64)


def energy(value, name, owner=None):
    """``value`` as a finite, positive energy Quantity (keV); kelvin are converted."""
    if not isinstance(value, u.Quantity):
        raise u.UnitsError(
            f"{_prefix(owner)}{name} must be a Quantity with energy (keV) or temperature (K) units, got {value!r}"
        )
    try:
        out = value.to(u.keV, equivalencies=u.temperature_energy())
    except u.UnitConversionError:
        raise u.UnitsError(
            f"{_prefix(owner)}{name} must have energy (e.g. keV) or temperature (K) units, got unit '{value.unit}'"
        ) from None
    if not np.all(np.isfinite(out.value)) or np.any(out.value <= 0):
        raise ValueError(f"{_prefix(owner)}{name} must be finite and > 0, got {value}")
    return out


def energy_band(value, name="band", owner=None):
    """``value`` as two energies ``(E1, E2)`` with ``E1 < E2`` (keV)."""
    band = energy(value, name, owner)
    if band.shape != (2,) or not band[0] < band[1]:
        raise ValueError(f"{_prefix(owner)}{name} must be two energies (E1, E2) with E1 < E2, got {band}")
    return band


def positive_float(value, name, owner=None):
    """``value`` as a finite float > 0."""
    out = float(value)
    if not np.isfinite(out) or out <= 0:
        raise ValueError(f"{_prefix(owner)}{name} must be finite and > 0, got {value}")
    return out


def column_density(value, name, owner=None):
    """``value`` as a finite, non-negative scalar column density Quantity (cm^-2)."""
    number = quantity_value(value, u.cm**-2, name, owner, "a Quantity in column-density units (e.g. u.cm**-2)")
    if np.ndim(number) != 0 or not np.isfinite(number) or number < 0:
        raise ValueError(f"{_prefix(owner)}{name} must be a finite scalar >= 0, got {value}")
    return float(number) * u.cm**-2


def quantity_value(value, units, name, owner, expected):
    """Values of a Quantity in the first of ``units`` it is equivalent to, or a `UnitsError`.

    ``expected`` completes the message "``name`` must be ``expected``".
    """
    units = units if isinstance(units, tuple) else (units,)
    if isinstance(value, u.Quantity):
        for unit in units:
            if value.unit.is_equivalent(unit):
                return value.to_value(unit)
        got = f"unit '{value.unit}'"
    else:
        got = type(value).__name__
    raise u.UnitsError(f"{_prefix(owner)}{name} must be {expected}, got {got}")


# --- descriptors ---------------------------------------------------------------------------


class ObservationAttribute:
    """Base descriptor: validated and converted on assignment, read-only afterwards.

    Subclasses implement ``validate(value, owner)``, which returns the value to store and raises
    with a message that starts with ``owner`` (the class name) and names the attribute.  An
    ``optional`` attribute stores None as it is.
    """

    def __init__(self, doc="", optional=False):
        self.__doc__ = doc
        self.optional = optional

    def __set_name__(self, owner, name):
        self.name = name

    def __get__(self, instance, owner=None):
        if instance is None:
            return self
        try:
            return instance.__dict__[self.name]
        except KeyError:
            raise AttributeError(f"{type(instance).__name__}.{self.name} has not been set") from None

    def __set__(self, instance, value):
        if self.name in instance.__dict__:
            raise AttributeError(f"{type(instance).__name__}.{self.name} is read-only")
        stored = None if (value is None and self.optional) else self.validate(value, type(instance).__name__)
        instance.__dict__[self.name] = stored

    def __delete__(self, instance):
        raise AttributeError(f"{type(instance).__name__}.{self.name} cannot be deleted")

    def validate(self, value, owner):
        raise NotImplementedError


class BeamFWHM(ObservationAttribute):
    """A required, finite, non-negative scalar angle (the FWHM of a beam), stored in arcmin."""

    def validate(self, value, owner):
        return validate_beam(value, owner, self.name)


class AngleOrR200Fraction(ObservationAttribute):
    """A finite scalar >= 0: an angle (stored in arcmin) or a fraction of R200 (stored as float)."""

    def validate(self, value, owner):
        if isinstance(value, u.Quantity) and value.unit.is_equivalent(u.deg):
            out, number = value.to(u.arcmin), value.value
        else:
            try:
                out = number = float(u.Quantity(value).to_value(u.one))
            except (u.UnitsError, TypeError, ValueError):
                raise u.UnitsError(f"{owner}: {self.name} must be a fraction of R200 (a float) or an angle "
                                   f"Quantity, got {value!r}") from None
        if np.ndim(number) != 0 or not np.isfinite(number) or number < 0:
            raise ValueError(f"{owner}: {self.name} must be finite and >= 0, got {value}")
        return out


class MassQuantity(ObservationAttribute):
    """A mass (a Quantity, or numbers taken as Msun), stored as a Quantity in Msun."""

    def validate(self, value, owner):
        return msun_value(value, self.name, owner) * u.Msun


class EnergyQuantity(ObservationAttribute):
    """A positive energy or temperature, stored in keV; None when ``optional``."""

    def validate(self, value, owner):
        return energy(value, self.name, owner)


class EnergyBand(ObservationAttribute):
    """Two energies ``(E1, E2)`` with ``E1 < E2``, stored in keV."""

    def validate(self, value, owner):
        return energy_band(value, self.name, owner)


class PositiveFloat(ObservationAttribute):
    """A finite float > 0; None when ``optional``."""

    def validate(self, value, owner):
        return positive_float(value, self.name, owner)


class ColumnDensity(ObservationAttribute):
    """A hydrogen column density (finite, >= 0), stored in cm^-2; None when ``optional``."""

    def validate(self, value, owner):
        return column_density(value, self.name, owner)


# --- arrays shaped like the data ---------------------------------------------------------------


def real_array(values, owner, name="data", ndim=2):
    """``values`` as a real array of ``ndim`` dimensions (integers become float64)."""
    values = np.asarray(values)
    if values.ndim != ndim:
        what = "a 2-D image" if ndim == 2 else f"{ndim}-D"
        raise ValueError(f"{owner}: {name} must be {what}, got shape {values.shape}")
    if not np.issubdtype(values.dtype, np.floating):
        if not np.issubdtype(values.dtype, np.number) or np.iscomplexobj(values):
            raise TypeError(f"{owner}: {name} must be real numbers, got dtype {values.dtype}")
        values = values.astype(np.float64)
    return values


def bool_mask(mask, shape, owner, like="data"):
    """A new boolean mask of ``shape`` (all False for None); ``like`` names what sets the shape."""
    if mask is None:
        return np.zeros(shape, dtype=bool)
    mask = np.array(mask, dtype=bool)
    if mask.shape != tuple(shape):
        raise ValueError(f"{owner}: mask must have the shape of {like} {tuple(shape)}, got {mask.shape}")
    return mask


def std_array(noise, unit, shape, owner, like="data"):
    """Per-pixel standard deviation (float64 array of ``shape``, in ``unit``), or None.

    ``noise`` is a `~astropy.nddata.StdDevUncertainty`, a Quantity or numbers in ``unit``; a
    scalar applies to every pixel.
    """
    if noise is None:
        return None
    if isinstance(noise, StdDevUncertainty):
        noise = noise.array if noise.unit is None else u.Quantity(noise.array, noise.unit)
    elif hasattr(noise, "uncertainty_type"):
        raise TypeError(f"{owner}: noise must be a standard deviation (StdDevUncertainty), "
                        f"got {type(noise).__name__}")
    if isinstance(noise, u.Quantity):
        try:
            std = noise.to_value(unit)
        except u.UnitConversionError:
            raise u.UnitsError(
                f"{owner}: noise has unit '{noise.unit}', expected the unit of {like} '{unit}'"
            ) from None
    else:
        std = np.asarray(noise, dtype=np.float64)
    std = np.array(np.broadcast_to(std, shape) if std.ndim == 0 else std, dtype=np.float64)
    if std.shape != tuple(shape):
        raise ValueError(f"{owner}: noise must have the shape of {like} {tuple(shape)}, got {std.shape}")
    if np.any(std < 0):
        raise ValueError(f"{owner}: noise (a standard deviation) must be >= 0")
    return std


def mask_invalid_pixels(values, std, mask, mask_invalid, owner, what="data (or noise)"):
    """``mask`` with the unmasked NaN/inf pixels of ``values`` or ``std`` added, if ``mask_invalid``.

    Without ``mask_invalid`` such pixels raise a `ValueError` that says how many there are.
    """
    bad = ~np.isfinite(values)
    if std is not None:
        bad |= ~np.isfinite(std)
    bad &= ~mask
    nbad = int(bad.sum())
    if not nbad:
        return mask
    if not mask_invalid:
        raise ValueError(
            f"{owner}: {what} has {nbad} NaN/inf pixels that are not masked; mask them (mask=...) or pass "
            "mask_invalid=True"
        )
    log.debug(f"{owner}: masking {nbad} NaN/inf pixels")
    return mask | bad
