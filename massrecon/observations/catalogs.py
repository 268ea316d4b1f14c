"""Cluster frames from published cluster catalogues (Planck PSZ2, MCXC, SPT) and look-up by position.

The catalogues are not bundled with massrecon: download them (the Planck Legacy Archive for the
PSZ2 union catalogue ``HFI_PCCS_SZ-union_R2.08.fits``, Planck 2015 results XXVII, A&A 594, A27;
VizieR J/A+A/534/A109 for MCXC, Piffaretti et al. 2011) and give the path.

Both catalogues quote :math:`M_{500c}`: PSZ2's ``MSZ`` comes from the Y-M scaling relation
calibrated on hydrostatic X-ray masses (so it carries the hydrostatic bias, :math:`(1-b) \\approx
0.8`; pass ``bias=0.2`` to `frame_from_psz2` to correct it), MCXC's ``M500`` from the
:math:`L_X`-M relation of Arnaud et al. (2010).  Both assume a flat
:math:`\\Lambda`\\ CDM cosmology with :math:`h = 0.7, \\Omega_m = 0.3`; the frame uses the
cosmology you pass (Planck18 by default) without rescaling the masses.
"""

import os

import astropy.units as u
import numpy as np
from astropy.coordinates import SkyCoord
from astropy.io import fits
from astropy.table import QTable, Row, Table

from ..frame import ClusterFrame

__all__ = ["find_clusters", "frame_from_mcxc", "frame_from_psz2", "frame_from_spt", "read_catalog", "read_mcxc",
           "read_psz2", "read_spt"]

# column -> (unit, scale from the file's value to that unit)
_PSZ2_UNITS = {
    "GLON": (u.deg, 1.0),
    "GLAT": (u.deg, 1.0),
    "RA": (u.deg, 1.0),
    "DEC": (u.deg, 1.0),
    "POS_ERR": (u.arcmin, 1.0),
    "Y5R500": (u.arcmin**2, 1e-3),
    "Y5R500_ERR": (u.arcmin**2, 1e-3),
    "MSZ": (u.Msun, 1e14),
    "MSZ_ERR_UP": (u.Msun, 1e14),
    "MSZ_ERR_LOW": (u.Msun, 1e14),
}

_MCXC_UNITS = {
    "RAh": (u.hourangle, 1.0),
    "RAm": (u.arcmin, 1.0),
    "RAs": (u.arcsec, 1.0),
    "DEd": (u.deg, 1.0),
    "DEm": (u.arcmin, 1.0),
    "DEs": (u.arcsec, 1.0),
    "RAdeg": (u.deg, 1.0),
    "DEdeg": (u.deg, 1.0),
    "GLON": (u.deg, 1.0),
    "GLAT": (u.deg, 1.0),
    "Scale": (u.kpc / u.arcsec, 1.0),
    "L500": (u.erg / u.s, 1e44),
    "M500": (u.Msun, 1e14),
    "R500": (u.Mpc, 1.0),
}


# SPT-SZ 2500d (Bocquet et al. 2019) and SPTpol-ECS (Bleem et al. 2020) quote M500c and M200c in
# 1e14 h70^-1 Msun; the reader gives them in Msun for h70 = 1 (H0 = 70 km/s/Mpc), as published.
_SPT_UNITS = {
    "RA": (u.deg, 1.0),
    "DEC": (u.deg, 1.0),
    "THETA_CORE": (u.arcmin, 1.0),
    **{c: (u.Msun, 1e14) for c in ("M500", "M500_uerr", "M500_lerr", "M500_UERR", "M500_LERR", "M200",
                                    "M200_uerr", "M200_lerr")},
}


def _open_fits(path, what):
    try:
        return fits.open(path, memmap=False)
    except FileNotFoundError:
        raise FileNotFoundError(f"the {what} catalogue file {os.fspath(path)!r} does not exist") from None
    except (OSError, ValueError, TypeError) as exc:
        raise OSError(f"cannot read the {what} catalogue {os.fspath(path)!r}: {exc}") from exc


def _read_fits_table(path, required, units, what):
    with _open_fits(path, what) as hdul:
        hdu = None
        for h in hdul[1:]:
            is_table = isinstance(h, (fits.BinTableHDU, fits.TableHDU))
            if is_table and all(c in h.columns.names for c in required):
                hdu = h
                break
        if hdu is None:
            raise ValueError(
                f"{path} does not look like the {what} catalogue: no table with columns {required}"
            )
        table = QTable()
        for col in hdu.columns:
            arr = np.asarray(hdu.data[col.name])
            if arr.dtype.kind in "SU":
                arr = np.char.strip(arr.astype(str))
            if col.name in units:
                unit, scale = units[col.name]
                table[col.name] = arr.astype(np.float64) * scale * unit
            else:
                table[col.name] = arr
        table.meta["catalog"] = what
        table.meta["filename"] = os.fspath(path)
        return table


def read_psz2(path):
    """Read the Planck PSZ2 union catalogue into a `~astropy.table.QTable` with units.

    Columns keep the catalogue's names; ``RA``, ``DEC``, ``GLON``, ``GLAT`` are in degrees,
    ``MSZ`` and its errors in Msun (:math:`M_{500c}`, 0 where the redshift is unknown),
    ``Y5R500`` in arcmin^2; ``REDSHIFT`` is -1 where unknown.

    Parameters
    ----------
    path : str or path-like
        ``HFI_PCCS_SZ-union_R2.08.fits`` (Planck Legacy Archive).

    Returns
    -------
    table : `~astropy.table.QTable`
    """
    return _read_fits_table(path, ("NAME", "REDSHIFT", "MSZ"), _PSZ2_UNITS, "PSZ2")


def read_mcxc(path):
    """Read the MCXC meta-catalogue of X-ray clusters into a `~astropy.table.QTable` with units.

    Columns keep the catalogue's names: ``MCXC`` (JHHMM.m+DDMM), ``OName``, ``AName``,
    ``RAdeg``, ``DEdeg`` (deg), ``z``, ``L500`` (0.1-2.4 keV, erg/s), ``M500`` (Msun),
    ``R500`` (Mpc), ...

    Parameters
    ----------
    path : str or path-like
        The MCXC FITS table (VizieR J/A+A/534/A109).

    Returns
    -------
    table : `~astropy.table.QTable`
    """
    return _read_fits_table(path, ("MCXC", "RAdeg", "DEdeg", "z", "M500"), _MCXC_UNITS, "MCXC")


def read_spt(path):
    r"""Read an SPT cluster catalogue (SPT-SZ 2500d or SPTpol-ECS) into a `~astropy.table.QTable`.

    ``RA``, ``DEC`` in degrees; ``M500`` (and ``M200`` where present) with their errors in Msun,
    converted from the published :math:`10^{14} h_{70}^{-1} M_\odot` with :math:`h_{70} = 1`
    (Bocquet et al. 2019, ApJ 878, 55; Bleem et al. 2020, ApJS 247, 25).  These are
    :math:`M_{500c}` from the SZ significance calibrated with weak lensing and X-ray data: no
    hydrostatic bias to correct.  ``REDSHIFT`` is 0 where unknown.

    Parameters
    ----------
    path : str or path-like
        ``SPT-SZ.fits`` or ``SPT-ECS.fits``.

    Returns
    -------
    table : `~astropy.table.QTable`
    """
    return _read_fits_table(path, ("SPT_ID", "RA", "DEC", "REDSHIFT", "M500"), _SPT_UNITS, "SPT")


def read_catalog(path):
    """Read a PSZ2, MCXC or SPT catalogue, recognising it by its columns.

    Parameters
    ----------
    path : str or path-like

    Returns
    -------
    table : `~astropy.table.QTable`
        With ``meta["catalog"]`` one of ``"PSZ2"``, ``"MCXC"``, ``"SPT"``.
    """
    if not os.path.isfile(path):
        raise FileNotFoundError(f"the catalogue file {os.fspath(path)!r} does not exist")
    for reader in (read_psz2, read_mcxc, read_spt):
        try:
            return reader(path)
        except ValueError:
            continue
    raise ValueError(f"{os.fspath(path)!r} is not a PSZ2, MCXC or SPT catalogue (no table with their columns)")


# catalogue -> (name column, RA, Dec, redshift, M500 column, what its mass is)
_CATALOG_COLUMNS = {
    "PSZ2": ("NAME", "RA", "DEC", "REDSHIFT", "MSZ", "M500c from the Y-M relation (hydrostatic, (1-b) ~ 0.8)"),
    "MCXC": ("MCXC", "RAdeg", "DEdeg", "z", "M500", "M500c from the L-M relation (Arnaud+10, hydrostatic)"),
    "SPT": ("SPT_ID", "RA", "DEC", "REDSHIFT", "M500", "M500c from the SZ significance (lensing-calibrated), h70 = 1"),
}


def find_clusters(position, catalogs, radius=5 * u.arcmin):
    """Catalogue entries near a sky position, nearest first, from PSZ2, MCXC and SPT tables.

    Parameters
    ----------
    position : `~astropy.coordinates.SkyCoord`
        Scalar sky position.
    catalogs : sequence of `~astropy.table.Table` or path
        Tables from `read_psz2`, `read_mcxc`, `read_spt` (or `read_catalog`), or their paths.
    radius : `~astropy.units.Quantity`
        Search radius (angle).

    Returns
    -------
    matches : `~astropy.table.QTable`
        Columns ``catalog``, ``name``, ``separation`` (arcmin), ``z`` (NaN where unknown),
        ``m500`` (Msun, NaN where unknown) and ``mass_definition``; empty when nothing is near.

    Examples
    --------
    >>> import astropy.units as u
    >>> from astropy.coordinates import SkyCoord
    >>> from astropy.table import QTable
    >>> from massrecon.observations import find_clusters
    >>> t = QTable({"MCXC": ["J0000.0+0000"], "RAdeg": [0.01] * u.deg, "DEdeg": [0.0] * u.deg,
    ...             "z": [0.1], "M500": [3e14] * u.Msun}, meta={"catalog": "MCXC"})
    >>> m = find_clusters(SkyCoord(0, 0, unit="deg"), [t])
    >>> str(m["name"][0]), round(float(m["separation"][0].value), 2)
    ('J0000.0+0000', 0.6)
    """
    if not isinstance(position, SkyCoord) or not position.isscalar:
        raise TypeError(f"position must be a scalar SkyCoord, got {position!r}")
    if not isinstance(radius, u.Quantity) or not radius.unit.is_equivalent(u.deg):
        raise u.UnitsError(f"radius must be an angle Quantity (e.g. 5 * u.arcmin), got {radius!r}")
    if not (np.isfinite(radius.value) and radius.value > 0):
        raise ValueError(f"radius must be finite and positive, got {radius}")
    if isinstance(catalogs, (Table, str, os.PathLike)):
        catalogs = [catalogs]
    rows = []
    for cat in catalogs:
        table = read_catalog(cat) if isinstance(cat, (str, os.PathLike)) else cat
        what = table.meta.get("catalog") or next(
            (k for k, cols in _CATALOG_COLUMNS.items() if all(c in table.colnames for c in cols[:5])), None)
        if what not in _CATALOG_COLUMNS:
            raise ValueError("catalogs: a table must come from read_psz2/read_mcxc/read_spt or have the "
                             f"columns of one of them ({ {k: v[:5] for k, v in _CATALOG_COLUMNS.items()} })")
        name, ra, dec, zcol, mcol, definition = _CATALOG_COLUMNS[what]
        coords = SkyCoord(u.Quantity(table[ra], u.deg), u.Quantity(table[dec], u.deg))
        sep = coords.separation(position).to(u.arcmin)
        z = np.asarray(u.Quantity(table[zcol]).value, dtype=float)
        m = u.Quantity(table[mcol]).to_value(u.Msun) if isinstance(table[mcol], u.Quantity) else \
            np.asarray(table[mcol], dtype=float) * 1e14
        for i in np.nonzero(sep <= radius)[0]:
            rows.append((what, str(table[name][i]).strip(), sep[i].value, z[i] if z[i] > 0 else np.nan,
                         m[i] if m[i] > 0 else np.nan, definition))
    rows.sort(key=lambda r: r[2])
    out = QTable(rows=rows or None, names=("catalog", "name", "separation", "z", "m500", "mass_definition"),
                 dtype=(str, str, float, float, float, str))
    out["separation"].unit = u.arcmin
    out["m500"].unit = u.Msun
    out["separation"] = u.Quantity(out["separation"])
    out["m500"] = u.Quantity(out["m500"])
    return out


def _normalise(name):
    return " ".join(str(name).upper().split())


def _find_row(name, table, reader, name_columns, what):
    if table is None:
        raise ValueError(
            f"give table=... (a {what} table from read_{what.lower()} or the catalogue's path) to look up "
            f"{name!r}: the catalogue is not bundled with massrecon"
        )
    if isinstance(table, (str, os.PathLike)):
        table = reader(table)
    if not isinstance(table, Table):
        raise TypeError(f"table must be a {what} QTable or a path, got {type(table).__name__}")
    key = _normalise(name)
    key_short = key.removeprefix("PSZ2 ").removeprefix("MCXC ")
    for col in name_columns:
        if col not in table.colnames:
            continue
        values = [_normalise(v) for v in np.asarray(table[col]).astype(str)]
        for i, v in enumerate(values):
            parts = [p.strip() for p in v.split(",")] if col == "AName" else [v]
            for p in parts:
                if p and (p == key or p.removeprefix("PSZ2 ").removeprefix("RXC ") in (key, key_short)):
                    return table[i]
    raise ValueError(
        f"no cluster named {name!r} in the {what} catalogue (searched columns {list(name_columns)})"
    )


def _get(row, col, unit, scale, what):
    if col not in row.colnames:
        raise ValueError(f"the {what} row has no column {col!r}")
    value = row[col]
    if isinstance(value, u.Quantity):
        return float(value.to_value(unit))
    return float(value) * scale


def _row_name(row, col):
    return str(row[col]).strip() if col in row.colnames else None


def _resolve_row(row_or_name, table, reader, name_columns, what):
    if isinstance(row_or_name, str):
        return _find_row(row_or_name, table, reader, name_columns, what)
    if isinstance(row_or_name, Row):
        return row_or_name
    raise TypeError(f"row_or_name must be a table Row or a cluster name, got {type(row_or_name).__name__}")


def _frame_m500(row, what, name, columns, frame_kwargs):
    """The frame of a catalogue row with an M500: ``columns`` = (RA, Dec, redshift, M500) names."""
    ra, dec, zcol, mcol = columns
    z = _get(row, zcol, u.one, 1.0, what)
    if not np.isfinite(z) or z <= 0:
        raise ValueError(f"{what} cluster {name!r} has no valid redshift ({zcol} = {z:g}): cannot build its frame")
    m500 = _get(row, mcol, u.Msun, 1e14, what)
    if not np.isfinite(m500) or m500 <= 0:
        raise ValueError(f"{what} cluster {name!r} has no valid M500 ({m500:g} Msun): cannot build its frame")
    center = SkyCoord(_get(row, ra, u.deg, 1.0, what), _get(row, dec, u.deg, 1.0, what), unit="deg", frame="icrs")
    frame_kwargs.setdefault("name", name)
    return ClusterFrame(center, z, m500=m500 * u.Msun, **frame_kwargs)


def frame_from_psz2(row_or_name, table=None, *, bias=0.0, **frame_kwargs):
    """The `~massrecon.ClusterFrame` of a Planck PSZ2 cluster.

    Parameters
    ----------
    row_or_name : `~astropy.table.Row` or str
        A row of the PSZ2 union catalogue (from `read_psz2`, or a plain astropy table of the
        FITS file), or a cluster name (``"PSZ2 G057.92+27.64"``, case- and space-insensitive,
        the ``PSZ2`` prefix optional).
    table : `~astropy.table.Table` or path, optional
        The catalogue (or its path) in which to look up a name.
    bias : float, optional
        Hydrostatic mass bias :math:`b`: the frame's :math:`M_{500c} = M_{SZ} / (1 - b)`.
        Default 0 (use ``MSZ`` as it is).
    **frame_kwargs
        Passed on to `~massrecon.ClusterFrame` (``npix``, ``cosmology``, ...).

    Raises
    ------
    ValueError
        A cluster without redshift (``REDSHIFT`` = -1) or with ``MSZ`` <= 0, or a name not in
        the table.
    """
    row = _resolve_row(row_or_name, table, read_psz2, ("NAME",), "PSZ2")
    name = _row_name(row, "NAME")
    z = _get(row, "REDSHIFT", u.one, 1.0, "PSZ2")
    if not np.isfinite(z) or z <= 0:
        raise ValueError(f"PSZ2 cluster {name!r} has no redshift (REDSHIFT = {z:g}): cannot build its frame")
    msz = _get(row, "MSZ", u.Msun, 1e14, "PSZ2")
    if not np.isfinite(msz) or msz <= 0:
        raise ValueError(f"PSZ2 cluster {name!r} has no SZ mass (MSZ = {msz:g} Msun): cannot build its frame")
    bias = float(bias)
    if not 0 <= bias < 1:
        raise ValueError(f"bias must lie in [0, 1), got {bias}")
    if "RA" in row.colnames and "DEC" in row.colnames:
        center = SkyCoord(_get(row, "RA", u.deg, 1.0, "PSZ2"), _get(row, "DEC", u.deg, 1.0, "PSZ2"),
                          unit="deg", frame="icrs")
    else:
        center = SkyCoord(_get(row, "GLON", u.deg, 1.0, "PSZ2"), _get(row, "GLAT", u.deg, 1.0, "PSZ2"),
                          unit="deg", frame="galactic")
    frame_kwargs.setdefault("name", name)
    return ClusterFrame(center, z, m500=msz / (1.0 - bias) * u.Msun, **frame_kwargs)


def frame_from_mcxc(row_or_name, table=None, **frame_kwargs):
    """The `~massrecon.ClusterFrame` of an MCXC cluster.

    Parameters
    ----------
    row_or_name : `~astropy.table.Row` or str
        A row of the MCXC catalogue, or a name matched against the ``MCXC`` identifier
        (``"J1259.7+2756"``), ``OName`` (``"RXC J1259.7+2756"``) and ``AName`` (``"Coma"``,
        ``"A1835"``) columns, case-insensitive.
    table : `~astropy.table.Table` or path, optional
        The catalogue (or its path) in which to look up a name.
    **frame_kwargs
        Passed on to `~massrecon.ClusterFrame`.

    Raises
    ------
    ValueError
        A row without a positive redshift or M500, or a name not in the table.
    """
    row = _resolve_row(row_or_name, table, read_mcxc, ("MCXC", "OName", "AName"), "MCXC")
    name = _row_name(row, "AName") or _row_name(row, "OName") or _row_name(row, "MCXC")
    return _frame_m500(row, "MCXC", name, ("RAdeg", "DEdeg", "z", "M500"), frame_kwargs)


def frame_from_spt(row_or_name, table=None, **frame_kwargs):
    """The `~massrecon.ClusterFrame` of an SPT cluster (SPT-SZ 2500d or SPTpol-ECS).

    Parameters
    ----------
    row_or_name : `~astropy.table.Row` or str
        A row of `read_spt`'s table, or an ``SPT_ID`` (``"SPT-CLJ0000-5748"``).
    table : `~astropy.table.Table` or path, optional
        The catalogue (or its path) in which to look up a name.
    **frame_kwargs
        Passed on to `~massrecon.ClusterFrame`.

    Raises
    ------
    ValueError
        A row without a positive redshift or M500, or a name not in the table.
    """
    row = _resolve_row(row_or_name, table, read_spt, ("SPT_ID",), "SPT")
    return _frame_m500(row, "SPT", _row_name(row, "SPT_ID"), ("RA", "DEC", "REDSHIFT", "M500"), frame_kwargs)
