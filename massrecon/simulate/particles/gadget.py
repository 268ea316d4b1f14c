"""Reading GADGET-3 / GADGET-X / GIZMO-style HDF5 snapshots into `ParticleSet` objects.

The reader goes in steps: check the code units, read the particle groups of every file, take the
scale factor and Hubble parameter from the header, convert code units to physical ones, and cut
the region around a centre (wrapped periodically in the box).
"""

from pathlib import Path
from typing import NamedTuple

import astropy.units as u
import numpy as np

from ._checks import as_quantity, check_values
from .particle_set import DENSITY_UNIT, ENERGY_UNIT, KINDS, ParticleSet

__all__ = ["read_gadget_hdf5"]

_PART_TYPES = {"gas": 0, "dm": 1, "stars": 4}
_DEFAULT_UNITS = dict(length=u.kpc, mass=1e10 * u.Msun, velocity=u.km / u.s)


def _unit_scale(value, name, physical):
    q = value if isinstance(value, u.Quantity) else (1.0 * value if isinstance(value, u.UnitBase) else None)
    if q is None or q.unit.physical_type != physical:
        raise ValueError(f"units[{name!r}] must be an astropy unit or Quantity of {physical}, got {value!r}")
    return q


class _CodeUnits(NamedTuple):
    """Code units without the factors of h and of the scale factor."""

    length: u.Quantity
    mass: u.Quantity
    velocity: u.Quantity


def _code_units(units):
    units = dict(_DEFAULT_UNITS, **(units or {}))
    unknown = set(units) - set(_DEFAULT_UNITS)
    if unknown:
        raise ValueError(f"units has unknown keys {sorted(unknown)}; use length, mass, velocity")
    return _CodeUnits(_unit_scale(units["length"], "length", "length"),
                      _unit_scale(units["mass"], "mass", "mass"),
                      _unit_scale(units["velocity"], "velocity", "speed"))


def _snapshot_paths(path):
    paths = [path] if isinstance(path, (str, Path)) else list(path)
    if not paths:
        raise ValueError("path: no files given")
    for p in paths:
        if not Path(p).is_file():
            raise FileNotFoundError(str(p))
    return paths


def _read_files(paths, kinds):
    """The first file's header attributes and, per kind, the columns of all files (lists)."""
    import h5py

    raw = {k: {} for k in kinds}
    header = None
    for p in paths:
        with h5py.File(p, "r") as f:
            if "Header" not in f:
                raise ValueError(f"{p}: no Header group; not a GADGET-style HDF5 snapshot")
            attrs = dict(f["Header"].attrs)
            if header is None:
                header = attrs
            mtab = np.atleast_1d(np.asarray(attrs.get("MassTable", np.zeros(6)), dtype=float))
            for kind in kinds:
                t = _PART_TYPES[kind]
                grp_name = f"PartType{t}"
                if grp_name not in f:
                    continue
                fields = _read_group(f[grp_name], kind, grp_name, mtab[t] if t < mtab.size else 0.0)
                for key, val in fields.items():
                    raw[kind].setdefault(key, []).append(val)
    return header, raw


class _SnapshotTime(NamedTuple):
    """Redshift, scale factor and Hubble parameter of a snapshot."""

    redshift: float
    a: float
    h: float


def _snapshot_time(header, a, h):
    """Redshift from the header; ``a`` and ``h`` as given, else from the header, checked."""
    redshift = float(np.asarray(header.get("Redshift", np.nan)))
    if a is None:
        if "Time" in header:
            a = float(np.asarray(header["Time"]))
        elif np.isfinite(redshift):
            a = 1.0 / (1.0 + redshift)
        else:
            raise ValueError("a is not given and the header has neither Time nor Redshift")
    if h is None:
        if "HubbleParam" not in header:
            raise ValueError("h is not given and the header has no HubbleParam")
        h = float(np.asarray(header["HubbleParam"]))
    a, h = float(a), float(h)
    if not (np.isfinite(a) and a > 0):
        raise ValueError(f"a must be finite and > 0, got {a}")
    if not (np.isfinite(h) and h > 0):
        raise ValueError(f"h must be finite and > 0, got {h}")
    return _SnapshotTime(redshift, a, h)


class _Conversion(NamedTuple):
    """Factors from code units to physical kpc, Msun, Msun kpc^-3 and km^2 s^-2."""

    length: float
    mass: float
    density: float
    energy: float

    @classmethod
    def make(cls, units, a, h):
        len_kpc = units.length.to_value(u.kpc) * a / h  # code length -> physical kpc
        mass_msun = units.mass.to_value(u.Msun) / h
        return cls(len_kpc, mass_msun, mass_msun / len_kpc**3, units.velocity.to_value(u.km / u.s) ** 2)


def _code_length(value, name, shape, len_kpc):
    """A length in code units: a Quantity is physical, plain numbers are code units already."""
    if isinstance(value, u.Quantity):
        q = as_quantity(value, name, u.kpc, shape=shape, positive=False)
        return q.value / len_kpc
    arr = np.array(value, dtype=float)
    check_values(arr, name, None, shape, False, False)
    return arr


def _region(center, radius, len_kpc):
    """Centre and radius of the region to keep, in code units (None where not given)."""
    c_code = None if center is None else _code_length(center, "center", (3,), len_kpc)
    r_code = None if radius is None else _code_length(radius, "radius", (), len_kpc)
    if r_code is not None and c_code is None:
        raise ValueError("radius needs a center")
    if r_code is not None and r_code <= 0:
        raise ValueError(f"radius must be > 0, got {radius}")
    return c_code, r_code


def _cut_region(cols, c_code, r_code, box):
    """Columns and positions (code units) of the particles in the region, wrapped to the
    nearest periodic image of the centre."""
    pos = cols["Coordinates"]
    if c_code is None:
        return cols, pos
    dx = pos - c_code
    if box > 0:
        dx = (dx + 0.5 * box) % box - 0.5 * box
    pos = c_code + dx
    if r_code is not None:
        sel = np.einsum("ij,ij->i", dx, dx) <= r_code**2
        cols = {k: v[sel] for k, v in cols.items()}
        pos = pos[sel]
    return cols, pos


def _particle_set(kind, cols, pos, conv):
    """A `ParticleSet` in physical units from columns in code units."""
    kw = dict(kind=kind)
    if kind == "gas":
        kw["density"] = cols["Density"] * conv.density * DENSITY_UNIT
        kw["internal_energy"] = cols["InternalEnergy"] * conv.energy * ENERGY_UNIT
        if "ElectronAbundance" in cols:
            kw["electron_abundance"] = cols["ElectronAbundance"]
        if "Metallicity" in cols:
            kw["metallicity"] = cols["Metallicity"]
        if "SmoothingLength" in cols:
            kw["smoothing_length"] = cols["SmoothingLength"] * conv.length * u.kpc
    return ParticleSet(pos * conv.length * u.kpc, cols["Masses"] * conv.mass * u.Msun, **kw)


def read_gadget_hdf5(path, *, center=None, radius=None, h=None, a=None, units=None, kinds=KINDS):
    """Read a GADGET-3 / GADGET-X / GIZMO-style HDF5 snapshot into `ParticleSet` objects.

    Groups ``PartType0`` (gas: ``Coordinates``, ``Masses``, ``Density``, ``InternalEnergy``,
    optional ``ElectronAbundance``, ``Metallicity`` and ``SmoothingLength``), ``PartType1``
    (dark matter) and ``PartType4`` (stars) are read; masses come from the header's
    ``MassTable`` where a group has no ``Masses``.  A 2D ``Metallicity`` (GIZMO: total first)
    contributes its first column.

    Code units are comoving ``length``/h, ``mass``/h and ``velocity`` (GADGET: kpc/h,
    1e10 Msun/h, km/s; the internal energy is in velocity^2); they are converted to physical
    units with the scale factor ``a`` and ``h``: positions and smoothing lengths times a/h,
    masses times 1/h, densities times h^2/a^3.

    Parameters
    ----------
    path : str, `~pathlib.Path` or list of them
        Snapshot file(s); the particles of several files (a multi-file snapshot) are
        concatenated.
    center : array_like or `~astropy.units.Quantity`, shape (3,), optional
        Centre of the region to keep: a Quantity is physical, plain numbers are in code units
        (comoving length/h, as in halo catalogues).  With a ``BoxSize`` in the header,
        positions are wrapped periodically to the nearest image of the centre.
    radius : array_like or `~astropy.units.Quantity`, optional
        Keep particles within this distance of ``center`` (same unit rules as ``center``).
    h, a : float, optional
        Hubble parameter and scale factor; default the header's ``HubbleParam`` and ``Time``
        (or ``1 / (1 + Redshift)``).
    units : dict, optional
        Code units, keys ``length``, ``mass``, ``velocity`` (astropy units or Quantities),
        without the factors of h; defaults as in GADGET.
    kinds : sequence of str
        Kinds to read, among ``"dm"``, ``"gas"``, ``"stars"``.

    Returns
    -------
    particles : dict
        Kind -> `ParticleSet` for each kind present in the snapshot, physical units.  The
        dict also holds ``"header"``: ``redshift``, ``a``, ``h``, ``box_size`` and ``center``
        (physical kpc; the centre to pass to `project_particles`, None without one).

    Raises
    ------
    ValueError
        For a missing dataset (named as ``PartType0/Density``), mismatched lengths, or bad
        ``center``, ``radius`` or ``units``.

    Examples
    --------
    >>> from massrecon.simulate.particles import read_gadget_hdf5
    >>> read_gadget_hdf5("missing.hdf5")  # doctest: +IGNORE_EXCEPTION_DETAIL
    Traceback (most recent call last):
    FileNotFoundError: missing.hdf5
    """
    units = _code_units(units)
    for k in kinds:
        if k not in KINDS:
            raise ValueError(f"kinds must be among {KINDS}, got {k!r}")
    header, raw = _read_files(_snapshot_paths(path), kinds)
    time = _snapshot_time(header, a, h)
    box = float(np.asarray(header.get("BoxSize", 0.0)))
    conv = _Conversion.make(units, time.a, time.h)
    c_code, r_code = _region(center, radius, conv.length)
    out = {}
    for kind in kinds:
        if not raw[kind]:
            continue
        cols, pos = _cut_region({k: np.concatenate(v) for k, v in raw[kind].items()}, c_code, r_code, box)
        out[kind] = _particle_set(kind, cols, pos, conv)
    out["header"] = dict(redshift=time.redshift, a=time.a, h=time.h, box_size=box * conv.length * u.kpc,
                         center=None if c_code is None else c_code * conv.length * u.kpc)
    return out


def _read_group(g, kind, grp_name, table_mass):
    def need(name):
        if name not in g:
            raise ValueError(f"{grp_name}/{name} is missing from the snapshot")
        return np.asarray(g[name][...], dtype=float)

    pos = need("Coordinates")
    if pos.ndim != 2 or pos.shape[1] != 3:
        raise ValueError(f"{grp_name}/Coordinates must have shape (N, 3), got {pos.shape}")
    n = pos.shape[0]
    fields = {"Coordinates": pos}
    if "Masses" in g:
        fields["Masses"] = need("Masses")
    elif table_mass > 0:
        fields["Masses"] = np.full(n, table_mass)
    else:
        raise ValueError(f"{grp_name}/Masses is missing and the header MassTable entry is 0")
    if kind == "gas":
        fields["Density"] = need("Density")
        fields["InternalEnergy"] = need("InternalEnergy")
        for name in ("ElectronAbundance", "Metallicity"):
            if name in g:
                fields[name] = need(name)
        for name in ("SmoothingLength", "Hsml"):
            if name in g:
                fields["SmoothingLength"] = need(name)
                break
        if "Metallicity" in fields and fields["Metallicity"].ndim == 2:
            fields["Metallicity"] = fields["Metallicity"][:, 0]
    for name, val in fields.items():
        if val.shape[0] != n:
            raise ValueError(f"{grp_name}/{name} has {val.shape[0]} entries but "
                             f"{grp_name}/Coordinates has {n}")
    return fields
