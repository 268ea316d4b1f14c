"""Tests of ClusterFrame against independent calculations."""

import astropy.constants as const
import astropy.units as u
import numpy as np
import pytest
from astropy.coordinates import SkyCoord
from astropy.cosmology import WMAP9, FlatLambdaCDM, Planck18
from astropy.wcs.utils import proj_plane_pixel_scales
from scipy.optimize import brentq

from massrecon import ClusterFrame
from massrecon.halo import concentration_200c

CENTER = SkyCoord(150.0, 2.0, unit="deg")


def _rho_crit_independent(z, cosmo):
    # rho_c = 3 H(z)^2 / (8 pi G), computed from H(z) rather than astropy's critical_density.
    hz = cosmo.H(z)
    return (3 * hz**2 / (8 * np.pi * const.G)).to(u.Msun / u.kpc**3)


@pytest.mark.parametrize("z", [0.05, 0.3, 1.0])
@pytest.mark.parametrize("cosmo", [Planck18, WMAP9])
def test_r200_from_m200(z, cosmo):
    m200 = 3e14 * u.Msun
    frame = ClusterFrame(CENTER, z, m200=m200, cosmology=cosmo)
    r = frame.r200
    m_back = 200 * _rho_crit_independent(z, cosmo) * 4 / 3 * np.pi * r**3
    assert abs((m_back / m200).decompose().value - 1) < 1e-6


def test_theta200_is_r200_over_da():
    frame = ClusterFrame(CENTER, 0.15, m200=1e15 * u.Msun)
    # D_A = D_C / (1 + z) for a flat universe, from comoving distance independently
    da = Planck18.comoving_distance(0.15) / 1.15
    expected = (frame.r200 / da).decompose().value * u.rad
    assert u.allclose(frame.theta200, expected, rtol=1e-9)


def test_wcs_scale_and_center():
    frame = ClusterFrame(SkyCoord(10.0, -30.0, unit="deg", frame="galactic"), 0.2,
                         m500=4e14 * u.Msun, npix=64, size_r200=3.0)
    w = frame.wcs
    scale = proj_plane_pixel_scales(w) * u.deg
    expected = (3.0 * frame.r200 / 64 / frame.angular_diameter_distance).to(
        u.deg, u.dimensionless_angles())
    assert u.allclose(scale, expected, rtol=1e-12)
    cx, cy = frame.center_pixel
    sky = w.pixel_to_world(cx, cy)
    gal = SkyCoord(10.0, -30.0, unit="deg", frame="galactic")
    assert sky.separation(gal) < 1e-6 * u.arcsec
    assert frame.array_shape == (64, 64)
    assert w.wcs.ctype[0] == "RA---TAN"
    assert u.isclose(frame.pixel_scale_kpc * 64, 3.0 * frame.r200)
    assert u.isclose(frame.pixel_area, frame.pixel_scale_kpc**2)
    assert u.isclose(frame.pixel_solid_angle, (expected.to(u.rad)) ** 2, rtol=1e-9)


def _nfw_m(x):
    return np.log(1 + x) - x / (1 + x)


@pytest.mark.parametrize("relation", ["diemer19", "duffy08", "dutton14"])
@pytest.mark.parametrize("m200", [10**13.5, 1e14, 1e15, 10**15.5])
def test_m500_over_m200_matches_nfw(m200, relation):
    z = 0.3
    frame = ClusterFrame(CENTER, z, m200=m200 * u.Msun, cm_relation=relation)
    c = concentration_200c(m200 * u.Msun, z, relation=relation)
    assert np.isclose(frame.c200, c)
    # Independent root: mean density inside x500*rs is 500 rho_c, inside c*rs it is 200 rho_c.
    x500 = brentq(lambda x: _nfw_m(x) / x**3 - 2.5 * _nfw_m(c) / c**3, 1e-3, c)
    expected_ratio = _nfw_m(x500) / _nfw_m(c)
    # colossus' NFW radius table is accurate to ~1e-7 in x (3e-7 in mass, at most)
    assert np.isclose((frame.m500 / frame.m200).value, expected_ratio, rtol=3e-7)
    assert np.isclose((frame.r500 / frame.r200).value, x500 / c, rtol=1e-7)
    assert 0.6 < expected_ratio < 0.8


@pytest.mark.parametrize("m500", [2e13, 3e14, 2e15])
def test_m500_m200_round_trip(m500):
    f1 = ClusterFrame(CENTER, 0.5, m500=m500 * u.Msun)
    f2 = ClusterFrame(CENTER, 0.5, m200=f1.m200)
    assert np.isclose((f2.m500 / (m500 * u.Msun)).value, 1.0, rtol=3e-7)  # twice colossus' NFW table


def test_colossus_reference_values():
    # physics.md section 6 [V]: 1e15 Msun/h at z~0 with diemer19: c200 = 3.73,
    # M500 = 6.82e14 Msun/h, R200 = 1626 kpc/h.
    h = Planck18.h
    f = ClusterFrame(CENTER, 1e-6, m200=1e15 * u.Msun / h)
    assert abs(f.c200 - 3.73) < 0.01
    assert abs(f.m500.value * h / 6.82e14 - 1) < 0.002
    assert abs(f.r200.value * h / 1626 - 1) < 0.001


def test_radius_inputs_and_derived_frames():
    f = ClusterFrame(CENTER, 0.1, m200=5e14 * u.Msun)
    g = ClusterFrame(CENTER, 0.1, r200=f.r200.to(u.Mpc))
    assert u.isclose(g.m200, f.m200, rtol=1e-10)
    h = ClusterFrame(CENTER, 0.1, r500=f.r500)
    assert u.isclose(h.m500, f.m500, rtol=1e-10)
    k = f.with_r200(1.3 * f.r200)
    assert u.isclose(k.r200, 1.3 * f.r200)
    assert u.isclose(k.m200, 1.3**3 * f.m200)
    assert k.npix == f.npix and k.center == f.center
    m = f.with_mass(m500=f.m500 * 2)
    assert u.isclose(m.m500, 2 * f.m500)
    n = f.with_npix(40)
    assert n.array_shape == (40, 40) and u.isclose(n.pixel_scale_kpc, 2 * f.pixel_scale_kpc)
    assert "ClusterFrame" in repr(f)
    hdr = f.to_header()
    assert np.isclose(hdr["R200C"], f.r200.value)


def test_custom_cosmology_is_used():
    cosmo = FlatLambdaCDM(H0=70, Om0=0.3, Ob0=0.045)
    f = ClusterFrame(CENTER, 0.4, m200=1e14 * u.Msun, cosmology=cosmo)
    rho = _rho_crit_independent(0.4, cosmo)
    expected = np.cbrt(3 * 1e14 * u.Msun / (4 * np.pi * 200 * rho)).to(u.kpc)
    assert u.isclose(f.r200, expected, rtol=1e-8)


def test_radius_grid():
    f = ClusterFrame(CENTER, 0.1, m200=1e14 * u.Msun, npix=10)
    r = f.radius_grid()
    assert r.shape == (10, 10)
    assert np.isclose(r.min(), np.hypot(0.5, 0.5) * 2 / 10)


@pytest.mark.parametrize(
    ("kwargs", "exc", "match"),
    [
        (dict(z=0.0, m200=1e14 * u.Msun), ValueError, "z must be finite and > 0"),
        (dict(z=-0.1, m200=1e14 * u.Msun), ValueError, "z must be"),
        (dict(z=np.nan, m200=1e14 * u.Msun), ValueError, "z must be"),
        (dict(z=np.inf, m200=1e14 * u.Msun), ValueError, "z must be"),
        (dict(z=0.1, m200=1e14), u.UnitsError, "m200 must be an astropy Quantity"),
        (dict(z=0.1, m500=1e14 * u.kpc), u.UnitsError, "m500 must have mass units"),
        (dict(z=0.1, m200=-1e14 * u.Msun), ValueError, "m200 must be finite and positive"),
        (dict(z=0.1, m200=0 * u.Msun), ValueError, "m200 must be finite and positive"),
        (dict(z=0.1, m200=np.nan * u.Msun), ValueError, "m200 must be finite"),
        (dict(z=0.1, r200=1000.0), u.UnitsError, "r200 must be a Quantity with length units"),
        (dict(z=0.1, r500=1 * u.Msun), u.UnitsError, "r500 must be a Quantity with length"),
        (dict(z=0.1, r200=-1 * u.Mpc), ValueError, "r200 must be finite and positive"),
        (dict(z=0.1, m200=1e14 * u.Msun, m500=1e14 * u.Msun), ValueError, "exactly one"),
        (dict(z=0.1), ValueError, "got none"),
        (dict(z=0.1, m200=1e14 * u.Msun, npix=7), ValueError, "npix must be at least 8"),
        (dict(z=0.1, m200=1e14 * u.Msun, npix=8.5), TypeError, "npix must be an integer"),
        (dict(z=0.1, m200=1e14 * u.Msun, size_r200=0), ValueError, "size_r200"),
        (dict(z=0.1, m200=1e14 * u.Msun, cm_relation="foo"), ValueError, "cm_relation"),
        (dict(z=0.1, m200=1e14 * u.Msun, cosmology="Planck18"), TypeError, "cosmology"),
        (dict(z=0.1, m200=[1e14, 2e14] * u.Msun), ValueError, "scalar"),
    ],
)
def test_bad_input(kwargs, exc, match):
    with pytest.raises(exc, match=match):
        ClusterFrame(CENTER, **kwargs)


def test_bad_center():
    with pytest.raises(TypeError, match="center must be an astropy SkyCoord"):
        ClusterFrame((150.0, 2.0), 0.1, m200=1e14 * u.Msun)
    with pytest.raises(ValueError, match="scalar SkyCoord"):
        ClusterFrame(SkyCoord([1, 2], [3, 4], unit="deg"), 0.1, m200=1e14 * u.Msun)


@pytest.mark.parametrize("z, error", [
    ("abc", TypeError), ([0.1, 0.2], ValueError), (None, TypeError), (True, TypeError),
    (-1, ValueError), (float("nan"), ValueError), (0.1 * u.km, u.UnitsError),
])
def test_bad_redshift_names_the_argument(z, error):
    with pytest.raises(error, match=r"^z must"):
        ClusterFrame(SkyCoord(1, 2, unit="deg"), z, m200=1e15 * u.Msun)


def test_redshift_quantity_accepted():
    import astropy.cosmology.units as cu

    assert ClusterFrame(SkyCoord(1, 2, unit="deg"), 0.1 * cu.redshift, m200=1e15 * u.Msun).z == 0.1
