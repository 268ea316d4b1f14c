"""SDSS K-corrections and stellar masses against hand calculations."""

import astropy.units as u
import numpy as np
import pytest
from astropy.cosmology import FlatLambdaCDM, Planck18

from massrecon.observations.members import stellar_mass_from_magnitude
from massrecon.physics import kcorrection_gr, rest_frame_gr, stellar_mass_from_gr

# Chilingarian & Zolotukhin 2012 coefficients a[x][y] of z^x (g-r)^y (K-corrections calculator)
R_GR = [[0, 0, 0, 0], [1.83285, -2.71446, 4.97336, -3.66864], [-19.7595, 10.5033, 18.8196, 6.07785],
        [33.6059, -120.713, -49.299, 0], [144.371, 216.453, 0, 0], [-295.39, 0, 0, 0]]
G_GR = [[0, 0, 0, 0], [-2.45204, 4.10188, 10.5258, -13.5889], [56.7969, -140.913, 144.572, 57.2155],
        [-466.949, 222.789, -917.46, -78.0591], [2906.77, 1500.8, 1689.97, 30.889],
        [-10453.7, -4419.56, -1011.01, 0], [17568, 3236.68, 0, 0], [-10820.7, 0, 0, 0]]


def kcor(table, z, c):
    return sum(a * z**x * c**y for x, row in enumerate(table) for y, a in enumerate(row))


def test_kcorrections_by_hand_and_published_example():
    for z, c in [(0.05, 0.6), (0.1, 0.8), (0.3, 1.4), (0.5, 1.8)]:
        assert kcorrection_gr("r", z, c) == pytest.approx(kcor(R_GR, z, c), abs=1e-12)
        assert kcorrection_gr("g", z, c) == pytest.approx(kcor(G_GR, z, c), abs=1e-9)
        assert rest_frame_gr(z, c) == pytest.approx(c - kcor(G_GR, z, c) + kcor(R_GR, z, c), abs=1e-9)
    # STILTS documentation: kCorr(KCF_g, 0.16, KCC_gr, -0.8) = 3.593
    assert kcorrection_gr("g", 0.16, -0.8) == pytest.approx(3.593, abs=1e-3)
    assert kcorrection_gr("r", 0.0, 0.7) == 0.0
    assert np.shape(kcorrection_gr("r", np.array([0.1, 0.2]), 0.8 * u.mag)) == (2,)


def test_member_mass_audit_value():
    # Issue 16 audit: r = 17, z = 0.1, observed g - r = 0.8 -> 6.0e10 Msun (Planck18, Chabrier offset)
    z, r, gr = 0.1, 17.0, 0.8
    k_r, k_g = kcor(R_GR, z, gr), kcor(G_GR, z, gr)
    absolute_r = r - Planck18.distmod(z).value - k_r
    expected = 10 ** (-0.306 + 1.097 * (gr - k_g + k_r) - 0.093 - 0.4 * (absolute_r - 4.65))
    got = stellar_mass_from_gr(r, gr, z)
    assert got.unit == u.Msun
    assert got.value == pytest.approx(expected, rel=1e-9)
    assert got.value == pytest.approx(6.0e10, rel=0.10)


def test_members_module_uses_it():
    cosmo = FlatLambdaCDM(H0=70, Om0=0.3)
    members = stellar_mass_from_magnitude(17.0, 0.1, color_gr=0.8, cosmology=cosmo)
    new = stellar_mass_from_gr(17.0, 0.8, 0.1, cosmology=cosmo)
    assert new.value == pytest.approx(members.value, rel=1e-12)
    # the K-corrections lower this red galaxy's mass by 23% (before issue 16 they were left out)
    uncorrected = stellar_mass_from_gr(17.0, 0.8, 0.1, cosmology=cosmo, kcorrect=False)
    assert (new / uncorrected).value == pytest.approx(0.77, abs=0.01)
    # the Kroupa offset lowers the mass by 0.15 dex relative to diet Salpeter
    salpeter = stellar_mass_from_gr(17.0, 0.8, 0.1, imf_offset=0.0)
    kroupa = stellar_mass_from_gr(17.0, 0.8, 0.1, imf_offset=-0.15)
    assert (kroupa / salpeter).value == pytest.approx(10**-0.15)


@pytest.mark.parametrize(("call", "match"), [
    (lambda: kcorrection_gr("i", 0.1, 0.8), "band must be one of"),
    (lambda: kcorrection_gr("r", 0.7, 0.8), "z must be <= 0.5"),
    (lambda: kcorrection_gr("r", 0.1, 0.8 * u.Jy), "gr_observed must be an AB magnitude"),
    (lambda: stellar_mass_from_gr(17.0, 0.8, 0.0), "z must be > 0"),
    (lambda: stellar_mass_from_gr(np.nan, 0.8, 0.1), "r_mag must be finite"),
])
def test_input_errors(call, match):
    with pytest.raises((ValueError, u.UnitsError), match=match):
        call()
