import astropy.units as u
import numpy as np
import pytest
from astropy.coordinates import SkyCoord
from astropy.nddata import StdDevUncertainty
from photutils.aperture import CircularAperture, aperture_photometry

from massrecon import ClusterFrame, MassMap

FRAME = ClusterFrame(SkyCoord(150, 2, unit="deg"), 0.2, m200=1e15 * u.Msun, npix=40, name="mock")


def _nfw_like(frame):
    r = frame.radius_grid() * frame.r200.value
    return 1e9 / (1 + r / 100.0) ** 2 * u.Msun / u.kpc**2


def test_total_mass_uniform_disc():
    m = MassMap.from_frame(np.full(FRAME.array_shape, 2e7) * u.Msun / u.kpc**2, FRAME)
    expected = 2e7 * u.Msun / u.kpc**2 * np.pi * FRAME.r200**2
    assert u.isclose(m.total_mass(), expected, rtol=1e-3)
    half = m.total_mass(0.5 * FRAME.r200)
    assert u.isclose(half, expected / 4, rtol=2e-3)
    ang = m.total_mass(FRAME.theta200)
    assert u.isclose(ang, m.total_mass(), rtol=1e-6)


def test_fits_round_trip_and_slicing(tmp_path):
    sig = _nfw_like(FRAME)
    m = MassMap.from_frame(sig, FRAME, uncertainty=0.1 * sig, meta={"MODEL": "test"})
    p = tmp_path / "m.fits"
    m.write(p)
    back = MassMap.read(p)
    assert isinstance(back, MassMap)
    assert back.unit == u.Msun / u.kpc**2
    assert np.allclose(back.data, m.data)
    assert np.allclose(back.uncertainty.array, m.uncertainty.array)
    assert back.meta["MODEL"] == "test" and back.meta["OBJECT"] == "mock"
    assert u.isclose(back.pixel_kpc, FRAME.pixel_scale_kpc)
    assert u.isclose(back.total_mass(), m.total_mass())
    cut = m[10:30, 10:30]
    assert cut.wcs.to_header()["CRPIX1"] == pytest.approx(FRAME.wcs.wcs.crpix[0] - 10)


def test_photutils_interoperability():
    sig = _nfw_like(FRAME)
    m = MassMap.from_frame(sig, FRAME, uncertainty=StdDevUncertainty(0.05 * sig.value))
    ap = CircularAperture([FRAME.center_pixel], r=10)
    tab = aperture_photometry(m, ap, method="exact")
    assert tab["aperture_sum"].unit == u.Msun / u.kpc**2
    edges = np.linspace(0, 1, 6) * FRAME.r200
    r, prof, err = m.radial_profile(edges)
    assert r.unit == u.kpc and prof.unit == u.Msun / u.kpc**2 and err is not None
    assert np.all(np.diff(prof.value) < 0)


def test_bad_input():
    with pytest.raises(u.UnitsError, match="surface density"):
        MassMap(np.ones((4, 4)) * u.Msun, wcs=FRAME.wcs)
    with pytest.raises(ValueError, match="frame's shape"):
        MassMap.from_frame(np.ones((3, 3)) * u.Msun / u.kpc**2, FRAME)
    m = MassMap(np.ones((4, 4)) * u.Msun / u.kpc**2, wcs=FRAME.wcs)
    with pytest.raises(ValueError, match="PIXKPC"):
        m.total_mass(1 * u.Mpc)
    with pytest.raises(u.UnitsError, match="pixel_kpc"):
        MassMap(np.ones((4, 4)) * u.Msun / u.kpc**2, wcs=FRAME.wcs, pixel_kpc=3.0)
