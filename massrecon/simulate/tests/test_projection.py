"""Projection engine against analytic results computed independently here."""

import dataclasses

import numpy as np
import pytest
from astropy.cosmology import Planck18
from scipy.integrate import quad

from massrecon.simulate import HaloModel, SimulationConfig, project_halo, projection_bases, sample_halo

CFG = SimulationConfig(seed=3)


def _spherical_halo(halo_id=4, **kw):
    h = sample_halo(halo_id, CFG)
    return dataclasses.replace(h, q=1.0, s=1.0, q_gas=1.0, s_gas=1.0, merger=False, **kw)


def _wright_brainerd(r, rs, rho_s):
    """Projected NFW surface density, Wright & Brainerd 2000 (ApJ 534, 34), eq. 11."""
    x = r / rs
    out = np.empty_like(x)
    lo, hi = x < 1, x > 1
    out[lo] = 2 * rs * rho_s / (x[lo] ** 2 - 1) * (
        1 - 2 / np.sqrt(1 - x[lo] ** 2) * np.arctanh(np.sqrt((1 - x[lo]) / (1 + x[lo]))))
    out[hi] = 2 * rs * rho_s / (x[hi] ** 2 - 1) * (
        1 - 2 / np.sqrt(x[hi] ** 2 - 1) * np.arctan(np.sqrt((x[hi] - 1) / (1 + x[hi]))))
    out[~(lo | hi)] = 2 * rs * rho_s / 3
    return out


def _radius_grid(npix, size_r200, r200):
    c = (np.arange(npix) - (npix - 1) / 2) * size_r200 * r200 / npix
    xx, yy = np.meshgrid(c, c)
    return np.hypot(xx, yy)


def test_projected_nfw_matches_wright_brainerd():
    h = _spherical_halo()
    model = HaloModel(h, include={"dm"}, rmax_r200=80.0)
    maps, _ = project_halo(model, projection_bases(1)[0], npix=80, depth_r200=40.0, smoothing_r200=0.0)
    rs = h.r200 / h.c200
    m_of = np.log1p(h.c200) - h.c200 / (1 + h.c200)
    rho_s = h.m200 / (4 * np.pi * rs**3 * m_of)
    r = _radius_grid(80, 2.0, h.r200)
    sel = (r > 0.1 * h.r200) & (r < 0.95 * h.r200)
    expected = _wright_brainerd(r[sel], rs, rho_s)
    ratio = maps["sigma_dm"][sel] / expected
    # the slab ends at 40 R200 while W&B integrate to infinity: a < 0.1% deficit
    assert np.all(np.abs(ratio - 1) < 0.01), (ratio.min(), ratio.max())
    assert np.allclose(maps["sigma_total"], maps["sigma_dm"])


def test_projected_nfw_slab_matches_numerical_integral():
    h = _spherical_halo()
    model = HaloModel(h, include={"dm"})
    maps, _ = project_halo(model, projection_bases(1)[0], npix=40, depth_r200=1.0, smoothing_r200=0.0)
    rs = h.r200 / h.c200
    m_of = np.log1p(h.c200) - h.c200 / (1 + h.c200)
    rho_s = h.m200 / (4 * np.pi * rs**3 * m_of)
    r = _radius_grid(40, 2.0, h.r200)
    for j, i in [(20, 25), (20, 30), (5, 20), (0, 0), (10, 33)]:
        rp = r[j, i]

        def rho(l_, rp=rp):
            x = np.hypot(rp, l_) / rs
            return rho_s / (x * (1 + x) ** 2)

        expected = 2 * quad(rho, 0, h.r200, points=[rp], limit=200)[0]
        assert abs(maps["sigma_dm"][j, i] / expected - 1) < 0.005


def _arnaud_pressure(r, m500, r500, z, cosmo, params):
    """Arnaud et al. 2010 eq. 13 (with eq. 5, 7-9), written out independently of the package."""
    h70 = cosmo.H0.value / 70
    p0, c500, gam, alp, bet = params
    x = r / r500
    px = p0 * h70**-1.5 / ((c500 * x) ** gam * (1 + (c500 * x) ** alp) ** ((bet - gam) / alp))
    p500 = 1.65e-3 * cosmo.efunc(z) ** (8 / 3) * (m500 / 3e14 * h70) ** (2 / 3) * h70**2
    app = 0.10 - 0.22 * (x / 0.5) ** 3 / (1 + (x / 0.5) ** 3)
    return p500 * px * (m500 / 3e14 * h70) ** (0.12 + app)


@pytest.mark.parametrize("cool_core", [False, True])
def test_compton_y_of_spherical_arnaud_cluster(cool_core):
    h = _spherical_halo(cool_core=cool_core, pressure_factor=1.0)
    model = HaloModel(h, include={"gas"})
    maps, _ = project_halo(model, projection_bases(1)[0], npix=40, depth_r200=1.0, smoothing_r200=0.0)
    params = (3.249, 1.128, 0.7736, 1.2223, 5.4905) if cool_core else (3.202, 1.083, 0.3798, 1.4063, 5.4905)
    sigma_t_over_mec2 = 6.6524587e-25 / 510.99895  # cm^2 / keV
    kpc = 3.0856776e21
    r = _radius_grid(40, 2.0, h.r200)
    for j, i in [(20, 22), (20, 28), (10, 30), (2, 5)]:
        rp = r[j, i]
        integral = 2 * quad(lambda l_, rp=rp: _arnaud_pressure(np.hypot(rp, l_), h.m500, h.r500, h.z,
                                                              Planck18, params),
                            0, h.r200, points=[rp], limit=200)[0]
        y_expected = sigma_t_over_mec2 * integral * kpc
        assert abs(maps["compton_y"][j, i] / y_expected - 1) < 0.005


def test_mass_budget_and_components():
    h = sample_halo(11, CFG)
    model = HaloModel(h)
    maps, members = project_halo(model, projection_bases(3)[1], npix=80, size_r200=4.0, depth_r200=1.0)
    total = maps["sigma_dm"] + maps["sigma_gas"] + maps["sigma_stars"]
    assert np.allclose(maps["sigma_total"], total, rtol=1e-6)
    for k, v in maps.items():
        assert np.all(np.isfinite(v)), k
        if k != "sigma_dm":
            assert np.all(v >= 0), k
    pix_area = (4.0 * h.r200 / 80) ** 2
    # the cylinder of radius R200 and depth 2 R200 holds more than M200 (sphere) and less than the
    # mass of the R200-cube around it
    r = _radius_grid(80, 4.0, h.r200)
    m_cyl = maps["sigma_total"][r < h.r200].sum() * pix_area
    assert 1.0 < m_cyl / h.m200 < 1.4
    assert len(members["x"]) >= 1
    assert np.all(members["mstar"] > 0)


def test_point_symmetry_and_orientation_dependence():
    h = sample_halo(5, CFG)
    h = dataclasses.replace(h, merger=False)
    model = HaloModel(h, include={"dm", "gas"})
    b = projection_bases(29)
    m0, _ = project_halo(model, b[0], npix=40, smoothing_r200=0.0)
    m1, _ = project_halo(model, b[7], npix=40, smoothing_r200=0.0)
    # smooth ellipsoidal components are point-symmetric about the centre
    assert np.allclose(m0["sigma_dm"], m0["sigma_dm"][::-1, ::-1], rtol=1e-5)
    # a triaxial halo looks different along different lines of sight
    assert not np.allclose(m0["sigma_dm"], m1["sigma_dm"], rtol=1e-3)


def test_los_neighbours_add_to_observables_only():
    from massrecon.simulate.dataset import simulate_halo

    base = SimulationConfig(seed=4, projections=2, npix=32)
    with_nb = SimulationConfig(seed=4, projections=2, npix=32, los_neighbours=3.0)
    m0, _, _ = simulate_halo(2, base)
    m1, _, _ = simulate_halo(2, with_nb)
    assert np.array_equal(m0["sigma_total"], m1["sigma_total"])
    assert np.all(m1["compton_y"] >= m0["compton_y"])
    assert np.any(m1["compton_y"] > m0["compton_y"] * 1.01)
    assert np.all(m1["xray_soft"] >= m0["xray_soft"])
    with pytest.raises(ValueError, match="los_neighbours"):
        SimulationConfig(los_neighbours=-1.0)
