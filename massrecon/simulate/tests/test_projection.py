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


_ARNAUD_PARAMS = {True: (3.249, 1.128, 0.7736, 1.2223, 5.4905),  # Arnaud+10 cool cores
                  False: (3.202, 1.083, 0.3798, 1.4063, 5.4905)}  # and morphologically disturbed
_SIGMA_T_OVER_MEC2 = 6.6524587e-25 / 510.99895  # cm^2 / keV
_KPC_CM = 3.0856776e21


@pytest.mark.parametrize("column", ["slab", "whole"])
@pytest.mark.parametrize("cool_core", [False, True])
def test_compton_y_of_spherical_arnaud_cluster(cool_core, column):
    h = _spherical_halo(cool_core=cool_core, pressure_factor=1.0)
    model = HaloModel(h, include={"gas"})
    obs_depth = 1.0 if column == "slab" else None
    maps, _ = project_halo(model, projection_bases(1)[0], npix=40, depth_r200=1.0, observable_depth_r200=obs_depth,
                           smoothing_r200=0.0)
    r = _radius_grid(40, 2.0, h.r200)
    for j, i in [(20, 22), (20, 28), (10, 30), (2, 5), (0, 20)]:
        rp = r[j, i]
        # the slab |l| <= R200, or the whole column through the model's gas, which ends at 6 R200
        lmax = h.r200 if column == "slab" else np.sqrt((6 * h.r200) ** 2 - rp**2)
        integral = 2 * quad(lambda l_, rp=rp: _arnaud_pressure(np.hypot(rp, l_), h.m500, h.r500, h.z,
                                                              Planck18, _ARNAUD_PARAMS[cool_core]),
                            0, lmax, points=[rp], limit=200)[0]
        y_expected = _SIGMA_T_OVER_MEC2 * integral * _KPC_CM
        assert abs(maps["compton_y"][j, i] / y_expected - 1) < 0.005


def test_cylindrical_y500_holds_the_whole_column():
    """Y_cyl(R500) = sigma_T/(m_e c^2) times the pressure integrated over the cylinder R < R500
    through the whole halo (spherical, ending at 6 R200):
    int_0^rmax 4 pi r^2 P(r) w(r) dr with w = 1 inside R500 and 1 - sqrt(1 - R500^2/r^2) outside."""
    from massrecon.apertures import aperture_weights

    h = _spherical_halo(cool_core=False, pressure_factor=1.0)
    model = HaloModel(h, include={"gas"})
    npix, size = 80, 2.0
    maps, _ = project_halo(model, projection_bases(1)[0], npix=npix, size_r200=size, smoothing_r200=0.0)
    pix = size * h.r200 / npix
    y_map = float(np.sum(maps["compton_y"] * aperture_weights(npix, h.r500 / pix))) * pix**2  # kpc^2

    def shell(r):
        w = 1.0 if r <= h.r500 else 1.0 - np.sqrt(1.0 - (h.r500 / r) ** 2)
        return 4 * np.pi * r**2 * w * _arnaud_pressure(r, h.m500, h.r500, h.z, Planck18, _ARNAUD_PARAMS[False])

    rmax = 6 * h.r200
    pressure_volume = sum(quad(shell, a, b, limit=400)[0] for a, b in [(0, h.r500), (h.r500, 2 * h.r500),
                                                                        (2 * h.r500, rmax)])
    y_expected = _SIGMA_T_OVER_MEC2 * pressure_volume * _KPC_CM  # kpc^2
    assert abs(y_map / y_expected - 1) < 0.01
    # the slab |l| <= R200 misses a few per cent of it (the matter beyond R200 along the sight line)
    slab, _ = project_halo(model, projection_bases(1)[0], npix=npix, size_r200=size, observable_depth_r200=1.0,
                           smoothing_r200=0.0)
    y_slab = float(np.sum(slab["compton_y"] * aperture_weights(npix, h.r500 / pix))) * pix**2
    assert 0.01 < 1 - y_slab / y_expected < 0.08


def _merger_with_satellites(cfg=CFG):
    hid = next(i for i in range(100) if sample_halo(i, cfg).merger and sample_halo(i, cfg).sub_mass.size > 50)
    return sample_halo(hid, cfg)


def test_target_is_the_slab_whatever_the_observables_column():
    h = _merger_with_satellites()
    model = HaloModel(h)
    basis = projection_bases(5)[2]
    whole, members = project_halo(model, basis, npix=32)
    slab, members_slab = project_halo(model, basis, npix=32, observable_depth_r200=1.0)
    deeper, _ = project_halo(model, basis, npix=32, observable_depth_r200=10.0)
    for k in ("sigma_total", "sigma_dm", "sigma_gas", "sigma_stars"):
        assert np.array_equal(whole[k], slab[k]), k
        assert np.array_equal(whole[k], deeper[k]), k
    for k in ("compton_y", "xray_soft", "xray_bol"):
        assert np.all(whole[k] > slab[k]), k
        # the model ends at 6 R200: a deeper column adds nothing but quadrature noise
        np.testing.assert_allclose(deeper[k], whole[k], rtol=2e-3, err_msg=k)
    # members: every satellite of the model along the sight line (a velocity-selected catalogue)
    pos = h.sub_pos @ np.asarray(basis).T
    beyond = np.abs(pos[:, 2]) > h.r200
    assert len(members["x"]) >= len(members_slab["x"])
    in_frame = np.all(np.abs(pos[:, :2]) <= h.r200, axis=1) & (h.sub_mstar >= CFG.catalogue_mass_limit)
    assert len(members["x"]) - len(members_slab["x"]) == np.count_nonzero(beyond & in_frame)
    with pytest.raises(ValueError, match="observable_depth_r200"):
        project_halo(model, basis, npix=16, depth_r200=2.0, observable_depth_r200=1.0)


def test_config_stored_before_observable_depth_keeps_the_slab():
    """A data-set configuration stored without ``observable_depth_r200`` made its observables
    over the slab: it is read so, and makes those maps again (its neighbours over 3 R200)."""
    import json

    from massrecon.simulate.config import canonical_config_json
    from massrecon.simulate.dataset import simulate_halo

    new = SimulationConfig(seed=3, projections=1, npix=24, los_neighbours=1.5)
    assert new.observable_depth_r200 == 6.0
    stored = json.loads(new.to_json())
    del stored["observable_depth_r200"]
    old = SimulationConfig.from_json(json.dumps(stored))
    assert old.observable_depth_r200 == old.depth_r200 == 1.0
    assert canonical_config_json(json.dumps(stored)) == old.to_json() != new.to_json()
    h = _merger_with_satellites(old)
    m_old, _, mem_old = simulate_halo(h.halo_id, old)
    m_new, _, mem_new = simulate_halo(h.halo_id, new)
    assert np.array_equal(m_old["sigma_total"], m_new["sigma_total"])
    assert np.all(m_new["compton_y"] > m_old["compton_y"])
    slab, members = project_halo(HaloModel(h), projection_bases(1)[0], npix=24, observable_depth_r200=1.0)
    assert np.array_equal(m_old["sigma_members"][0], slab["sigma_members"].astype(np.float32))
    assert np.array_equal(mem_old[0]["x"], members["x"])
    # a hand-written table (training's simulate table) without the field takes the default
    from massrecon.simulate.config import upgrade_stored_config

    assert "observable_depth_r200" not in upgrade_stored_config(stored)
    with pytest.raises(ValueError, match="observable_depth_r200"):
        SimulationConfig(depth_r200=2.0, observable_depth_r200=1.5)


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
