"""Frames from the PSZ2 and MCXC catalogues: in-memory rows and the real catalogue files."""

import astropy.units as u
import numpy as np
import pytest
from astropy.table import QTable, Table

from massrecon import ClusterFrame
from massrecon.observations import frame_from_mcxc, frame_from_psz2, read_mcxc, read_psz2

from .helpers import shared_file


def _psz2_table():
    return QTable({
        "NAME": ["PSZ2 G000.00+00.00", "PSZ2 G001.00+01.00", "PSZ2 G002.00+02.00"],
        "RA": [10.0, 20.0, 30.0] * u.deg,
        "DEC": [-5.0, 5.0, 15.0] * u.deg,
        "REDSHIFT": [0.1, -1.0, 0.3],
        "MSZ": [5e14, 0.0, 0.0] * u.Msun,
    })


def test_psz2_rows_in_memory():
    t = _psz2_table()
    f = frame_from_psz2(t[0], npix=40)
    assert isinstance(f, ClusterFrame) and f.name == "PSZ2 G000.00+00.00" and f.npix == 40
    assert f.m500.to_value(u.Msun) == pytest.approx(5e14)
    assert f.center.ra.deg == pytest.approx(10.0) and f.z == pytest.approx(0.1)
    # by name, with or without the prefix, and with a hydrostatic-bias correction
    assert frame_from_psz2("g000.00+00.00", table=t).name == "PSZ2 G000.00+00.00"
    assert frame_from_psz2(t[0], bias=0.2).m500.to_value(u.Msun) == pytest.approx(5e14 / 0.8)
    with pytest.raises(ValueError, match=r"'PSZ2 G001.00\+01.00' has no redshift \(REDSHIFT = -1\)"):
        frame_from_psz2(t[1])
    with pytest.raises(ValueError, match=r"'PSZ2 G002.00\+02.00' has no SZ mass \(MSZ = 0 Msun\)"):
        frame_from_psz2(t[2])
    with pytest.raises(ValueError, match="give table="):
        frame_from_psz2("PSZ2 G000.00+00.00")
    with pytest.raises(ValueError, match="no cluster named 'nope'"):
        frame_from_psz2("nope", table=t)
    with pytest.raises(ValueError, match="bias"):
        frame_from_psz2(t[0], bias=1.0)


def test_psz2_plain_table_in_catalogue_units():
    # a plain Table straight from the FITS file: MSZ in units of 1e14 Msun, without astropy units
    t = Table({"NAME": ["PSZ2 X"], "RA": [10.0], "DEC": [5.0], "REDSHIFT": [0.2], "MSZ": [6.0]})
    assert frame_from_psz2(t[0]).m500.to_value(u.Msun) == pytest.approx(6e14)


def test_mcxc_rows_in_memory():
    t = QTable({"MCXC": ["J1259.7+2756"], "OName": ["RXC J1259.7+2756"], "AName": ["Coma"],
                "RAdeg": [194.953] * u.deg, "DEdeg": [27.981] * u.deg, "z": [0.0231],
                "M500": [5.2e14] * u.Msun})
    f = frame_from_mcxc("coma", table=t)
    assert f.name == "Coma" and f.m500.to_value(u.Msun) == pytest.approx(5.2e14)
    assert frame_from_mcxc("RXC J1259.7+2756", table=t).name == "Coma"
    assert frame_from_mcxc("J1259.7+2756", table=t).z == pytest.approx(0.0231)
    bad = t.copy()
    bad["M500"] = [0.0] * u.Msun
    with pytest.raises(ValueError, match="no valid M500"):
        frame_from_mcxc(bad[0])


def test_real_psz2_catalogue():
    path = shared_file("catalogs", "HFI_PCCS_SZ-union_R2.08.fits")
    t = read_psz2(path)
    assert len(t) == 1653
    assert t["RA"].unit == u.deg and t["MSZ"].unit == u.Msun and t["Y5R500"].unit == u.arcmin**2
    with_z = np.flatnonzero((t["REDSHIFT"] > 0) & (t["MSZ"] > 0 * u.Msun))
    row = t[with_z[0]]
    f = frame_from_psz2(row)
    assert f.name == row["NAME"]
    assert f.m500 == row["MSZ"].to(u.Msun)
    assert f.center.separation(frame_from_psz2(row["NAME"], table=path).center) < 1 * u.arcsec
    without_z = t[np.flatnonzero(t["REDSHIFT"] < 0)[0]]
    with pytest.raises(ValueError, match="has no redshift"):
        frame_from_psz2(without_z)


def test_real_mcxc_catalogue():
    path = shared_file("catalogs", "mcxc.fits")
    t = read_mcxc(path)
    assert len(t) == 1743
    assert t["M500"].unit == u.Msun and t["RAdeg"].unit == u.deg and t["L500"].unit == u.erg / u.s
    coma = frame_from_mcxc("Coma", table=t)
    assert coma.z == pytest.approx(0.0231)
    assert 1e14 < coma.m500.to_value(u.Msun) < 1e15
    assert abs(coma.center.ra.deg - 194.95) < 0.05 and abs(coma.center.dec.deg - 27.98) < 0.05
    a1835 = frame_from_mcxc("A1835", table=path, npix=32)
    assert a1835.npix == 32 and a1835.name == "A1835"
