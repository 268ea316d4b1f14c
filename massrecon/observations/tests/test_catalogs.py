"""Frames from the PSZ2 and MCXC catalogues: in-memory rows and the real catalogue files."""

import astropy.units as u
import numpy as np
import pytest
from astropy.coordinates import SkyCoord
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


def _all_catalogs():
    from massrecon.observations import read_catalog

    names = ("HFI_PCCS_SZ-union_R2.08.fits", "mcxc.fits", "SPT-SZ.fits", "SPT-ECS.fits")
    return [read_catalog(shared_file("catalogs", n)) for n in names]


def test_read_catalog_recognises_each_catalogue():
    kinds = [t.meta["catalog"] for t in _all_catalogs()]
    assert kinds == ["PSZ2", "MCXC", "SPT", "SPT"]


def test_find_clusters_abell_907():
    # Abell 907 = MCXC J0958.3-1103 = PSZ2 G249.38+33.26 (realclusters/README.txt), z = 0.1669
    from massrecon.observations import find_clusters

    m = find_clusters(SkyCoord("09h58m22s", "-11d03m50s"), _all_catalogs(), radius=3 * u.arcmin)
    assert list(m["catalog"]) == ["MCXC", "PSZ2"]
    assert m["name"][1] == "PSZ2 G249.38+33.26"
    assert np.all(np.diff(m["separation"].value) >= 0)
    np.testing.assert_allclose(m["z"], 0.1669, atol=1e-4)
    assert m["m500"][1].to_value(u.Msun) == pytest.approx(5.41e14, rel=0.01)


def test_frame_from_spt_units():
    from massrecon.observations import frame_from_spt

    spt = _all_catalogs()[2]
    row = spt[spt["SPT_ID"] == "SPT-CLJ0000-5748"][0]
    frame = frame_from_spt("SPT-CLJ0000-5748", spt)
    # published M500 is in 1e14 h70^-1 Msun: 4.88 -> 4.88e14 Msun for h70 = 1
    assert frame.m500.to_value(u.Msun) == pytest.approx(4.88087064e14, rel=1e-6)
    assert frame.z == pytest.approx(float(row["REDSHIFT"]))


def test_find_clusters_bad_arguments(tmp_path):
    from massrecon.observations import find_clusters

    with pytest.raises(u.UnitsError, match="radius"):
        find_clusters(SkyCoord(0, 0, unit="deg"), [], radius=5)
    with pytest.raises(TypeError, match="position"):
        find_clusters((0, 0), [])
    with pytest.raises(FileNotFoundError, match="nothing.fits"):
        find_clusters(SkyCoord(0, 0, unit="deg"), [tmp_path / "nothing.fits"])
