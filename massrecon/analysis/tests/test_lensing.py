import astropy.constants as const
import astropy.units as u
import numpy as np
import pytest
from astropy.cosmology import FlatLambdaCDM, Planck18
from astropy.wcs import WCS
from scipy import integrate

from massrecon import MassMap
from massrecon.analysis import convergence, reduced_shear, sigma_crit, tangential_shear_profile
from massrecon.analysis.tests.reference import NPIX, ReferenceNFW, Z
from massrecon.exceptions import MassreconWarning

SIGMA_UNIT = u.Msun / u.kpc**2
COSMO = FlatLambdaCDM(H0=70, Om0=0.3)  # no radiation: the distances below are exact for it


def _comoving_mpc(z, h0=70.0, om=0.3):
    """Flat LCDM comoving distance by quadrature of c / H(z), independent of astropy.cosmology."""
    c_kms = const.c.to_value(u.km / u.s)
    return c_kms / h0 * integrate.quad(lambda x: 1 / np.sqrt(om * (1 + x) ** 3 + 1 - om), 0, z, epsabs=0,
                                       epsrel=1e-12)[0]


def _sigma_crit_reference(zl, zs):
    """c^2 D_s / (4 pi G D_l D_ls) in a flat universe, D_ls = (chi_s - chi_l) / (1 + z_s)."""
    chi_l, chi_s = _comoving_mpc(zl), _comoving_mpc(zs)
    d_l, d_s, d_ls = chi_l / (1 + zl), chi_s / (1 + zs), (chi_s - chi_l) / (1 + zs)
    return (const.c**2 / (4 * np.pi * const.G) * d_s / (d_l * d_ls * u.Mpc)).to_value(u.Msun / u.Mpc**2)


def test_sigma_crit_against_independent_calculation():
    value = sigma_crit(0.3, 1.0, COSMO)
    assert value.unit == SIGMA_UNIT
    # docs reference value (physics.md, H0 = 70, Om = 0.3): 2.83e15 Msun / Mpc^2
    assert value.to_value(u.Msun / u.Mpc**2) == pytest.approx(2.83e15, rel=5e-3)
    assert value.to_value(u.Msun / u.Mpc**2) == pytest.approx(_sigma_crit_reference(0.3, 1.0), rel=1e-6)
    # Planck18 (with radiation and neutrinos) differs by ~3%: the cosmology matters
    assert float(sigma_crit(0.3, 1.0) / value) == pytest.approx(0.971, abs=0.005)


def test_sigma_crit_source_distribution():
    zs = np.array([0.1, 0.3, 0.8, 1.2, 2.0])
    w = np.array([1.0, 2.0, 3.0, 2.0, 1.0])
    inverse = [0.0, 0.0] + [1 / _sigma_crit_reference(0.3, z) for z in zs[2:]]
    expected = w.sum() / np.sum(w * np.array(inverse))
    got = sigma_crit(0.3, zs, COSMO, weights=w).to_value(u.Msun / u.Mpc**2)
    assert got == pytest.approx(expected, rel=1e-6)
    # a single source through the array path equals the scalar one
    assert u.allclose(sigma_crit(0.3, [1.0], COSMO), sigma_crit(0.3, 1.0, COSMO))


@pytest.mark.parametrize(("args", "kwargs", "match"), [
    ((0.3, 0.3), {}, "z_source must be larger than z_lens"),
    ((0.3, 0.2), {}, "z_source must be larger than z_lens"),
    ((0.3, [0.1, 0.2]), {}, "behind the lens"),
    ((0.3, [0.1, 1.0]), {"weights": [1.0, 0.0]}, "behind the lens"),
    ((np.nan, 1.0), {}, "z_lens must be finite"),
    ((0.3, [1.0, np.nan]), {}, "z_source must be finite"),
    ((-0.1, 1.0), {}, "z_lens must be > 0"),
    ((0.3, [1.0, 2.0]), {"weights": [1.0]}, "weights must have the shape"),
    ((0.3, [1.0, 2.0]), {"weights": [1.0, -1.0]}, "weights must be finite, non-negative"),
])
def test_sigma_crit_errors(args, kwargs, match):
    with pytest.raises(ValueError, match=match):
        sigma_crit(*args, **kwargs)


def test_convergence_quantity_and_massmap():
    sigma = np.array([[1e8, 2e8], [np.nan, 4e8]]) * SIGMA_UNIT
    crit = sigma_crit(0.3, 1.0, COSMO)
    kappa = convergence(sigma, 0.3, 1.0, COSMO)
    assert kappa.unit == u.dimensionless_unscaled
    np.testing.assert_allclose(kappa.value, (sigma / crit).decompose().value)
    with pytest.raises(u.UnitsError, match="sigma"):
        convergence(sigma.value, 0.3, 1.0)
    with pytest.raises(u.UnitsError, match="sigma_cr"):
        convergence(sigma, sigma_cr=3.0)
    with pytest.raises(ValueError, match="z_source must be larger"):
        convergence(sigma, 0.3, 0.1)
    # a MassMap brings its redshift; masked pixels give NaN
    mass_map = MassMap(sigma.to(u.Msun / u.pc**2), wcs=WCS(naxis=2), meta={"REDSHIFT": 0.3},
                       mask=np.array([[False, True], [False, False]]))
    kappa_map = convergence(mass_map, z_source=1.0, cosmology=COSMO)
    np.testing.assert_allclose(kappa_map.value, [[kappa[0, 0].value, np.nan], [np.nan, kappa[1, 1].value]])
    with pytest.raises(ValueError, match="z_lens must be given"):
        convergence(sigma, z_source=1.0)


def test_reduced_shear():
    np.testing.assert_allclose(reduced_shear(np.array([0.1, 0.05]), np.array([0.5, 0.0])), [0.2, 0.05])
    assert reduced_shear(0.1 * u.one, 0.2 * u.one) == pytest.approx(0.125)
    with pytest.warns(MassreconWarning, match="strong lensing"):
        g = reduced_shear([0.1, 0.1], [0.2, 1.5])
    assert np.isnan(g[1]) and g[0] == pytest.approx(0.125)
    with pytest.raises(u.UnitsError, match="kappa"):
        reduced_shear(0.1, 0.2 * u.kpc)


def test_tangential_shear_of_nfw_map_matches_wright_brainerd():
    ref = ReferenceNFW()
    sigma_map, pix = ref.sigma_map()
    centre = ((NPIX - 1) / 2, (NPIX - 1) / 2)
    edges = np.arange(4, NPIX / 2 + 0.5, 2.0) * pix * u.kpc  # outside the central pixels
    prof = tangential_shear_profile(sigma_map * SIGMA_UNIT, pix * u.kpc, centre, edges, z_lens=Z, z_source=1.0)
    crit = sigma_crit(Z, 1.0).to_value(SIGMA_UNIT)
    r = prof.radius.to_value(u.kpc)
    expected = (ref.mean_sigma_inside(r) - ref.sigma(r)) / crit
    np.testing.assert_allclose(prof.gamma_t, expected, rtol=0.02)  # 0.7% at worst
    np.testing.assert_allclose(prof.kappa, ref.sigma(r) / crit, rtol=0.01)
    np.testing.assert_allclose(prof.g_t, prof.gamma_t / (1 - prof.kappa))
    assert prof.delta_sigma.unit == SIGMA_UNIT
    assert u.allclose(prof.sigma_cr, crit * SIGMA_UNIT)


def test_tangential_shear_ignores_masked_and_nan_pixels():
    ref = ReferenceNFW()
    sigma_map, pix = ref.sigma_map()
    centre = ((NPIX - 1) / 2, (NPIX - 1) / 2)
    edges = np.arange(4, 36, 4.0) * pix * u.kpc
    kwargs = {"z_lens": Z, "z_source": 1.0}
    clean = tangential_shear_profile(sigma_map * SIGMA_UNIT, pix * u.kpc, centre, edges, **kwargs)
    holed = sigma_map.copy()
    holed[60:63, 20:23] = np.nan  # a hole in an annulus: the azimuthal mean of the rest is the same
    mask = np.zeros(holed.shape, bool)
    mask[10:12, 40:42] = True
    holed[10:12, 40:42] = 1e20  # masked garbage
    prof = tangential_shear_profile(holed * SIGMA_UNIT, pix * u.kpc, centre, edges, mask=mask, **kwargs)
    np.testing.assert_allclose(prof.gamma_t, clean.gamma_t, rtol=0.01)


def test_tangential_shear_argument_errors():
    sigma = np.ones((20, 20)) * SIGMA_UNIT
    edges = [1, 2, 3] * u.kpc
    kw = {"z_lens": 0.3, "z_source": 1.0}
    with pytest.raises(ValueError, match="beyond the map"):
        tangential_shear_profile(sigma, 1 * u.kpc, (9.5, 9.5), [1, 20] * u.kpc, **kw)
    with pytest.raises(ValueError, match="edges must not be negative"):
        tangential_shear_profile(sigma, 1 * u.kpc, (9.5, 9.5), [-1, 2] * u.kpc, **kw)
    with pytest.raises(ValueError, match="strictly increasing"):
        tangential_shear_profile(sigma, 1 * u.kpc, (9.5, 9.5), [3, 2] * u.kpc, **kw)
    with pytest.raises(u.UnitsError, match="pixel_kpc"):
        tangential_shear_profile(sigma, 1.0, (9.5, 9.5), edges, **kw)
    with pytest.raises(u.UnitsError, match="edges"):
        tangential_shear_profile(sigma, 1 * u.kpc, (9.5, 9.5), [1, 2, 3], **kw)
    with pytest.raises(ValueError, match="2-D"):
        tangential_shear_profile(np.ones(5) * SIGMA_UNIT, 1 * u.kpc, (2, 2), edges, **kw)
    with pytest.raises(ValueError, match="centre_pixel"):
        tangential_shear_profile(sigma, 1 * u.kpc, (np.nan, 2), edges, **kw)
    with pytest.raises(ValueError, match="z_source"):
        tangential_shear_profile(sigma, 1 * u.kpc, (9.5, 9.5), edges)
    with pytest.raises(ValueError, match="either sigma_cr or z_source"):
        tangential_shear_profile(sigma, 1 * u.kpc, (9.5, 9.5), edges, sigma_cr=1 * SIGMA_UNIT, z_source=1.0)


def test_tangential_shear_of_massmap_uses_its_geometry():
    ref = ReferenceNFW()
    sigma_map, pix = ref.sigma_map()
    wcs = WCS(naxis=2)
    wcs.wcs.crpix = [(NPIX + 1) / 2, (NPIX + 1) / 2]  # one-based: the centre of the map
    mass_map = MassMap(sigma_map * SIGMA_UNIT, wcs=wcs, pixel_kpc=pix * u.kpc, meta={"REDSHIFT": Z})
    edges = np.arange(4, 36, 4.0) * pix * u.kpc
    prof = tangential_shear_profile(mass_map, edges=edges, z_source=1.0, cosmology=Planck18)
    direct = tangential_shear_profile(sigma_map * SIGMA_UNIT, pix * u.kpc, ((NPIX - 1) / 2,) * 2, edges,
                                      z_lens=Z, z_source=1.0)
    np.testing.assert_allclose(prof.gamma_t, direct.gamma_t, rtol=1e-12)
