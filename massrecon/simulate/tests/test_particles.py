"""Tests of the particle projection against analytic profiles, and of the GADGET reader."""

import astropy.constants as const
import astropy.units as u
import numpy as np
import pytest
from scipy.integrate import quad

from massrecon.simulate.emission import MU_E, NE_OVER_NH, cooling_function_bolometric, cooling_function_soft
from massrecon.simulate.particles import (
    HYDROGEN_MASS_FRACTION,
    ParticleSet,
    project_particles,
    read_gadget_hdf5,
    sph_kernel,
    sph_kernel_projected,
)
from massrecon.simulate.projection import MAP_NAMES, MAP_UNITS

h5py = pytest.importorskip("h5py")

R200 = 1000.0  # kpc
NPIX = 80
PIX = 2 * R200 / NPIX


def _isotropic(rng, r):
    v = rng.normal(size=(r.size, 3))
    return v / np.linalg.norm(v, axis=1)[:, None] * r[:, None]


def _sample_radii(rng, n, cdf, rmax):
    """Inverse-CDF sampling of radii in [0, rmax] from an enclosed-mass function."""
    grid = np.concatenate([[0.0], np.geomspace(1e-5 * rmax, rmax, 20000)])
    m = cdf(grid)
    return np.interp(rng.uniform(0, m[-1], n), m, grid)


def _pixel_average(func, npix=NPIX, pix=PIX, sub=4):
    c = (np.arange(npix) - (npix - 1) / 2.0) * pix
    off = (np.arange(sub) - (sub - 1) / 2.0) * pix / sub
    cs = (c[:, None] + off[None, :]).ravel()
    rr = np.hypot(cs[None, :], cs[:, None])
    return func(rr).reshape(npix, sub, npix, sub).mean(axis=(1, 3))


def _radial_bins(img, lo=0.1, hi=0.8, nbins=7):
    c = (np.arange(NPIX) - (NPIX - 1) / 2.0) * PIX
    rr = np.hypot(c[None, :], c[:, None]) / R200
    edges = np.linspace(lo, hi, nbins + 1)
    return np.array([img[(rr >= a) & (rr < b)].mean() for a, b in zip(edges[:-1], edges[1:], strict=True)])


# --- the kernel -------------------------------------------------------------------------------
def test_kernel_normalisation():
    r = np.linspace(0, 1, 20001)
    assert np.trapezoid(4 * np.pi * r**2 * sph_kernel(r), r) == pytest.approx(1.0, abs=1e-6)
    assert np.trapezoid(2 * np.pi * r * sph_kernel_projected(r), r) == pytest.approx(1.0, abs=1e-5)
    for q in (0.0, 0.3, 0.7):
        direct = 2 * quad(lambda z, q=q: sph_kernel(np.hypot(q, z)), 0, np.sqrt(1 - q**2), points=[0.4])[0]
        assert sph_kernel_projected(q) == pytest.approx(direct, rel=1e-4)
    assert sph_kernel_projected(1.2) == 0


# --- (1) dark matter: NFW against Wright & Brainerd 2000 ----------------------------------------
def _wright_brainerd(x):
    """Projected NFW, Sigma / (2 rho_s r_s) (Wright & Brainerd 2000, ApJ 534, 34, eq. 11)."""
    x = np.asarray(x, dtype=float)
    out = np.full(x.shape, 1.0 / 3.0)
    lo, hi = x < 1 - 1e-6, x > 1 + 1e-6
    xl, xh = x[lo], x[hi]
    out[lo] = (1 - 2 / np.sqrt(1 - xl**2) * np.arctanh(np.sqrt((1 - xl) / (1 + xl)))) / (xl**2 - 1)
    out[hi] = (1 - 2 / np.sqrt(xh**2 - 1) * np.arctan(np.sqrt((xh - 1) / (xh + 1)))) / (xh**2 - 1)
    return out


def test_nfw_dark_matter_against_wright_brainerd():
    rng = np.random.default_rng(42)
    c, m200, rt = 5.0, 1e15, 10 * R200
    rs = R200 / c

    def m_of(x):
        return np.log1p(x) - x / (1 + x)

    rho_s = m200 / (4 * np.pi * rs**3 * m_of(c))
    n = 200_000
    r = _sample_radii(rng, n, lambda rr: m_of(rr / rs), rt)
    mp = m200 * m_of(rt / rs) / m_of(c) / n
    dm = ParticleSet(_isotropic(rng, r) * u.kpc, mp * u.Msun, kind="dm")
    maps = project_particles(dm=dm, r200=R200 * u.kpc, depth=2 * rt * u.kpc, npix=NPIX, smoothing_r200=0)
    assert set(maps) == set(MAP_NAMES)
    for k, v in maps.items():
        assert v.unit == MAP_UNITS[k] and v.shape == (NPIX, NPIX)
    assert np.all(maps["compton_y"] == 0) and np.all(maps["sigma_gas"] == 0)
    np.testing.assert_array_equal(maps["sigma_total"], maps["sigma_dm"])

    def sigma_model(rr):
        # infinite line of sight minus the part beyond the truncation radius
        out = 2 * rho_s * rs * _wright_brainerd(rr / rs)
        rho = lambda rad: rho_s / (rad / rs * (1 + rad / rs) ** 2)  # noqa: E731
        keys = np.linspace(0, 1.5 * R200, 100)
        tail = [2 * quad(lambda ll, v=v: rho(np.hypot(v, ll)), np.sqrt(rt**2 - v**2), np.inf)[0]
                for v in keys]
        return out - np.interp(rr, keys, tail)

    model = _radial_bins(_pixel_average(sigma_model))
    got = _radial_bins(maps["sigma_dm"].to_value(u.Msun / u.kpc**2))
    np.testing.assert_allclose(got, model, rtol=0.04)


# --- (2) gas: beta model, y and X-ray -----------------------------------------------------------
BETA_RC, BETA_RMAX = 150.0, 2 * R200
KT = 5.0  # keV


def _beta_rho(r, rho0):
    return rho0 / (1 + (r / BETA_RC) ** 2)  # beta = 2/3


@pytest.fixture(scope="module")
def beta_gas():
    rng = np.random.default_rng(7)
    n, mgas = 100_000, 1e14

    def m_of(rr):
        x = rr / BETA_RC
        return x - np.arctan(x)

    rho0 = mgas / (4 * np.pi * BETA_RC**3 * m_of(BETA_RMAX))
    r = _sample_radii(rng, n, m_of, BETA_RMAX)
    gas = ParticleSet(_isotropic(rng, r) * u.kpc, mgas / n * u.Msun, kind="gas",
                      density=_beta_rho(r, rho0) * u.Msun / u.kpc**3, temperature=KT * u.keV)
    maps = project_particles(gas=gas, r200=R200 * u.kpc, depth=BETA_RMAX * u.kpc, smoothing_r200=0)
    return gas, rho0, maps


def _beta_column(rr, rho0, power):
    """int rho^power dl through the truncated beta model, at projected radii rr (kpc)."""
    keys = np.linspace(0, np.sqrt(2) * R200 + PIX, 400)
    vals = [2 * quad(lambda ll, k=k: _beta_rho(np.hypot(k, ll), rho0) ** power, 0,
                     np.sqrt(max(BETA_RMAX**2 - k**2, 0)))[0] for k in keys]
    return np.interp(rr, keys, vals)


def test_beta_model_compton_y(beta_gas):
    gas, rho0, maps = beta_gas
    sigma_t_mec2 = const.sigma_T / (const.m_e * const.c**2)
    # y = sigma_T / (m_e c^2) * kT / (mu_e m_p) * int rho dl
    factor = (sigma_t_mec2 * KT * u.keV / (MU_E * const.m_p) * u.Msun / u.kpc**2).to_value(u.one)
    model = _radial_bins(_pixel_average(lambda rr: factor * _beta_column(rr, rho0, 1)))
    got = _radial_bins(maps["compton_y"].to_value(u.one))
    np.testing.assert_allclose(got, model, rtol=0.03)
    sig_model = _radial_bins(_pixel_average(lambda rr: _beta_column(rr, rho0, 1)))
    np.testing.assert_allclose(_radial_bins(maps["sigma_gas"].value), sig_model, rtol=0.03)


def test_beta_model_xray(beta_gas):
    gas, rho0, maps = beta_gas
    # n_e n_H Lambda = (rho / (mu_e m_p))^2 / (n_e/n_H) * Lambda
    lambdas = (("xray_soft", cooling_function_soft(KT)), ("xray_bol", cooling_function_bolometric(KT)))
    for name, lam in lambdas:
        factor = ((u.Msun / u.kpc**3 / (MU_E * const.m_p)) ** 2 / NE_OVER_NH * lam * u.erg * u.cm**3 / u.s
                  * u.kpc).to_value(MAP_UNITS[name])
        model = _pixel_average(lambda rr, f=factor: f * _beta_column(rr, rho0, 2))
        model = _radial_bins(model, hi=0.6, nbins=5)
        got = _radial_bins(maps[name].to_value(MAP_UNITS[name]), hi=0.6, nbins=5)
        np.testing.assert_allclose(got, model, rtol=0.05)


def test_gas_mass_conserved_inside_frame(beta_gas):
    gas, _, _ = beta_gas
    pos = gas.positions.to_value(u.kpc)
    hs = gas.smoothing_lengths().to_value(u.kpc)
    inside = np.all(np.abs(pos[:, :2]) + hs[:, None] < R200, axis=1)
    sub = ParticleSet(pos[inside] * u.kpc, gas.masses[inside], kind="gas", density=gas.density[inside],
                      temperature=gas.temperature[inside])
    maps = project_particles(gas=sub, r200=R200 * u.kpc, depth=BETA_RMAX * u.kpc, smoothing_r200=0)
    total = (maps["sigma_gas"].sum() * (PIX * u.kpc) ** 2).to_value(u.Msun)
    assert total == pytest.approx(sub.masses.sum().to_value(u.Msun), rel=1e-4)
    # tiny kernels (a fraction of a pixel) conserve mass as well
    tiny = ParticleSet(pos[inside][:2000] * u.kpc, 1e9 * u.Msun, kind="gas", temperature=1e7 * u.K,
                       smoothing_length=np.linspace(0.01, 3 * PIX, 2000) * u.kpc)
    maps = project_particles(gas=tiny, r200=R200 * u.kpc, depth=BETA_RMAX * u.kpc, smoothing_r200=0)
    assert (maps["sigma_gas"].sum() * PIX**2).value == pytest.approx(2000 * 1e9, rel=1e-4)


def test_single_particle_units_end_to_end():
    """y and X-ray of one particle, recomputed with astropy units throughout."""
    m, rho, kt, xe = 1e9 * u.Msun, 1e6 * u.Msun / u.kpc**3, 3 * u.keV, 1.2
    gas = ParticleSet([[3.0, -2.0, 1.0]] * u.kpc, m, kind="gas", density=rho, temperature=kt,
                      electron_abundance=xe, smoothing_length=[30.0] * u.kpc)
    maps = project_particles(gas=gas, r200=R200 * u.kpc, smoothing_r200=0)
    area = (PIX * u.kpc) ** 2
    vol = m / rho
    n_h = HYDROGEN_MASS_FRACTION * rho / const.m_p
    n_e = xe * n_h
    y_expected = (const.sigma_T / (const.m_e * const.c**2) * n_e * kt * vol).to(u.kpc**2)
    assert (maps["compton_y"].sum() * area).to_value(u.kpc**2) == pytest.approx(y_expected.value, rel=1e-5)
    lambdas = (("xray_soft", cooling_function_soft(3.0)), ("xray_bol", cooling_function_bolometric(3.0)))
    for name, lam in lambdas:
        lum = (n_e * n_h * lam * u.erg * u.cm**3 / u.s * vol).to(u.erg / u.s)
        assert (maps[name].sum() * area).to_value(u.erg / u.s) == pytest.approx(lum.value, rel=1e-5)
    assert (maps["sigma_gas"].sum() * area).to_value(u.Msun) == pytest.approx(m.value, rel=1e-5)


def test_cold_and_dense_gas_excluded_from_xray():
    pos = [[0.0, 0, 0], [50.0, 0, 0], [-50.0, 0, 0]] * u.kpc
    nh_dense = (1.0 * u.cm**-3 * const.m_p / HYDROGEN_MASS_FRACTION).to(u.Msun / u.kpc**3)
    rho = u.Quantity([1e5 * u.Msun / u.kpc**3, 1e5 * u.Msun / u.kpc**3, nh_dense])
    temp = [1e7, 1e5, 1e7] * u.K
    gas = ParticleSet(pos, 1e9 * u.Msun, kind="gas", density=rho, temperature=temp,
                      electron_abundance=1.15, smoothing_length=[10.0] * 3 * u.kpc)
    maps = project_particles(gas=gas, r200=R200 * u.kpc, smoothing_r200=0)
    hot = ParticleSet(pos[:1], 1e9 * u.Msun, kind="gas", density=rho[:1], temperature=temp[:1],
                      electron_abundance=1.15, smoothing_length=[10.0] * u.kpc)
    ref = project_particles(gas=hot, r200=R200 * u.kpc, smoothing_r200=0)
    np.testing.assert_allclose(maps["xray_bol"].value, ref["xray_bol"].value)
    assert maps["sigma_gas"].sum().value == pytest.approx(3 * ref["sigma_gas"].sum().value)
    assert ref["xray_bol"].sum().value > 0


def test_internal_energy_to_temperature():
    xe = np.array([0.0, 1.0, 1.158])
    mu = 4 / (1 + 3 * 0.76 + 4 * 0.76 * xe)
    t = np.array([1e4, 1e6, 1e8])
    uu = (const.k_B * t * u.K / ((5 / 3 - 1) * mu * const.m_p)).to(u.km**2 / u.s**2)
    gas = ParticleSet(np.zeros((3, 3)) * u.kpc, 1e8 * u.Msun, kind="gas", internal_energy=uu,
                      electron_abundance=xe)
    np.testing.assert_allclose(gas.temperature.to_value(u.K), t, rtol=1e-10)
    gas = ParticleSet(np.zeros((1, 3)) * u.kpc, 1e8 * u.Msun, kind="gas",
                      internal_energy=[1e4] * u.km**2 / u.s**2)
    expected = (2 / 3 * 0.59 * const.m_p * 1e4 * u.km**2 / u.s**2 / const.k_B).to_value(u.K)
    assert gas.temperature.to_value(u.K)[0] == pytest.approx(expected)


def test_knn_smoothing_and_density():
    # a jittered lattice: glass-like, as SPH particles are (a Poisson sample is biased high by
    # the self-contribution)
    rng = np.random.default_rng(3)
    g = np.arange(-500, 500, 1000 / 27) + 500 / 27
    pos = np.stack(np.meshgrid(g, g, g, indexing="ij"), axis=-1).reshape(-1, 3)
    pos = pos + rng.normal(0, 2.0, pos.shape)
    n = pos.shape[0]
    gas = ParticleSet(pos * u.kpc, 1e8 * u.Msun, kind="gas", temperature=1e7 * u.K)
    rho_true = n * 1e8 / 1e9
    inner = np.all(np.abs(pos) < 300, axis=1)
    rho = gas.densities().to_value(u.Msun / u.kpc**3)[inner]
    assert np.median(rho) == pytest.approx(rho_true, rel=0.05)
    hs = gas.smoothing_lengths().to_value(u.kpc)[inner]
    assert np.median(hs) == pytest.approx((32 / (4 / 3 * np.pi * n / 1e9)) ** (1 / 3), rel=0.05)
    maps = project_particles(gas=gas, r200=R200 * u.kpc, size_r200=0.5, npix=20, smoothing_r200=0)
    assert np.all(maps["xray_bol"].value > 0)


def test_line_of_sight_basis_and_slab():
    # a particle at world z = +500 kpc seen along x: image y axis = world z (projection_bases rule)
    dm = ParticleSet([[0.0, 0.0, 500.0], [2000.0, 0.0, 0.0]] * u.kpc, 1e10 * u.Msun, kind="dm")
    maps = project_particles(dm=dm, r200=R200 * u.kpc, los=[1, 0, 0], smoothing_r200=0)
    img = maps["sigma_dm"].value
    iy, ix = np.unravel_index(np.argmax(img), img.shape)
    assert ix in (39, 40) and (iy - 39.5) * PIX == pytest.approx(500, abs=PIX)
    # the second particle is at l = 2000 kpc > depth = R200: left out
    assert (img.sum() * PIX**2) == pytest.approx(1e10)
    # centre shifts; sph deposit for collisionless
    maps = project_particles(dm=dm, r200=R200 * u.kpc, los=[1, 0, 0], center=[0, 0, 500] * u.kpc,
                             collisionless="sph", smoothing_r200=0.02)
    img = maps["sigma_dm"].value
    iy, ix = np.unravel_index(np.argmax(img), img.shape)
    assert {iy, ix} <= {39, 40}


def test_frame_input():
    from astropy.coordinates import SkyCoord

    from massrecon import ClusterFrame

    frame = ClusterFrame(SkyCoord(10, 10, unit="deg"), 0.1, r200=R200 * u.kpc, npix=24)
    stars = ParticleSet(np.zeros((4, 3)) * u.kpc, 1e10 * u.Msun, kind="stars")
    maps = project_particles(frame, stars=stars, smoothing_r200=0)
    assert maps["sigma_stars"].shape == (24, 24)
    assert (maps["sigma_stars"].sum() * frame.pixel_area).to_value(u.Msun) == pytest.approx(4e10)
    with pytest.raises(ValueError, match="r200"):
        project_particles(frame, stars=stars, r200=R200 * u.kpc)


# --- (3) GADGET reader -------------------------------------------------------------------------
def _write_snapshot(path, *, drop=None, mismatch=False):
    rng = np.random.default_rng(5)
    h, z, box = 0.7, 0.5, 10_000.0
    with h5py.File(path, "w") as f:
        hd = f.create_group("Header")
        hd.attrs["MassTable"] = np.array([0.0, 0.05, 0.0, 0.0, 0.0, 0.0])
        hd.attrs["Redshift"] = z
        hd.attrs["Time"] = 1 / (1 + z)
        hd.attrs["HubbleParam"] = h
        hd.attrs["BoxSize"] = box
        g = f.create_group("PartType0")
        # gas straddling the periodic boundary around x = 0
        pos = np.column_stack([rng.uniform(-200, 200, 50) % box, rng.uniform(4800, 5200, 50),
                               rng.uniform(4800, 5200, 50)])
        fields = dict(Coordinates=pos, Masses=np.full(50, 0.01), Density=np.full(50, 1e-5),
                      InternalEnergy=np.full(50, 1e5), ElectronAbundance=np.full(50, 1.1),
                      Metallicity=np.tile([0.02] + [0.001] * 10, (50, 1)), SmoothingLength=np.full(50, 20.0))
        if mismatch:
            fields["Density"] = fields["Density"][:-1]
        for k, v in fields.items():
            if k != drop:
                g[k] = v
        g1 = f.create_group("PartType1")
        g1["Coordinates"] = np.array([[10.0, 5000.0, 5000.0], [9990.0, 5000.0, 5000.0], [3000.0, 5000, 5000]])
        g4 = f.create_group("PartType4")
        g4["Coordinates"] = np.array([[0.0, 5000.0, 5000.0]])
        g4["Masses"] = np.array([0.002])
    return h, z


def test_gadget_reader_round_trip(tmp_path):
    path = tmp_path / "snap_000.hdf5"
    h, z = _write_snapshot(path)
    a = 1 / (1 + z)
    centre = np.array([0.0, 5000.0, 5000.0])
    out = read_gadget_hdf5(path, center=centre, radius=500.0)
    gas, dm, stars = out["gas"], out["dm"], out["stars"]
    np.testing.assert_allclose(out["header"]["center"].to_value(u.kpc), centre * a / h)
    assert out["header"]["h"] == h and out["header"]["a"] == pytest.approx(a)
    assert out["header"]["box_size"].to_value(u.kpc) == pytest.approx(10_000 * a / h)
    assert len(gas) == 50 and len(dm) == 2 and len(stars) == 1  # third DM particle is outside the radius
    # periodic wrapping: every gas particle within 200 kpc/h (comoving) in x of the centre
    x = gas.positions[:, 0].to_value(u.kpc)
    assert np.all(np.abs(x) <= 200 * a / h + 1e-9)
    np.testing.assert_allclose(dm.positions[:, 0].to_value(u.kpc), [10 * a / h, -10 * a / h])
    np.testing.assert_allclose(dm.masses.to_value(u.Msun), 0.05e10 / h)
    np.testing.assert_allclose(gas.masses.to_value(u.Msun), 0.01e10 / h)
    np.testing.assert_allclose(stars.masses.to_value(u.Msun), 0.002e10 / h)
    np.testing.assert_allclose(gas.density.to_value(u.Msun / u.kpc**3), 1e-5 * 1e10 * h**2 / a**3)
    np.testing.assert_allclose(gas.smoothing_length.to_value(u.kpc), 20 * a / h)
    np.testing.assert_allclose(gas.metallicity, 0.02)
    mu = 4 / (1 + 3 * 0.76 + 4 * 0.76 * 1.1)
    t_expected = (2 / 3 * mu * const.m_p * 1e5 * (u.km / u.s) ** 2 / const.k_B).to_value(u.K)
    np.testing.assert_allclose(gas.temperature.to_value(u.K), t_expected)
    # a physical (Quantity) centre and radius; other code units, h and a scale the positions
    out2 = read_gadget_hdf5([path], center=centre * 1000 * u.kpc, radius=500 * 1000 * u.kpc,
                            units=dict(length=u.Mpc), h=1.0, a=1.0, kinds=("dm",))
    assert set(out2) == {"dm", "header"}
    np.testing.assert_allclose(out2["dm"].positions[:, 0].to_value(u.kpc), [1e4, -1e4])
    # the result projects
    maps = project_particles(gas=gas, dm=dm, stars=stars, r200=500 * u.kpc,
                             center=centre * a / h * u.kpc, depth=1000 * u.kpc)
    assert float(np.sum(maps["sigma_total"].value)) > 0


@pytest.mark.parametrize(("kw", "match"), [
    (dict(drop="Density"), "PartType0/Density"),
    (dict(drop="InternalEnergy"), "PartType0/InternalEnergy"),
    (dict(mismatch=True), "PartType0/Density"),
])
def test_gadget_reader_bad_snapshots(tmp_path, kw, match):
    path = tmp_path / "bad.hdf5"
    _write_snapshot(path, **kw)
    with pytest.raises(ValueError, match=match):
        read_gadget_hdf5(path)


def test_gadget_reader_missing_masses(tmp_path):
    path = tmp_path / "nomass.hdf5"
    _write_snapshot(path)
    with h5py.File(path, "a") as f:
        f["Header"].attrs["MassTable"] = np.zeros(6)
    with pytest.raises(ValueError, match="PartType1/Masses"):
        read_gadget_hdf5(path)
    with pytest.raises(ValueError, match="units"):
        read_gadget_hdf5(path, units=dict(length=u.Msun))
    with pytest.raises(FileNotFoundError):
        read_gadget_hdf5(tmp_path / "nope.hdf5")


# --- (4) bad inputs ----------------------------------------------------------------------------
def test_bad_particle_inputs():
    pos = np.zeros((3, 3)) * u.kpc
    with pytest.raises(ValueError, match="masses"):
        ParticleSet(pos, [1.0, 2.0] * u.Msun)
    with pytest.raises(ValueError, match="density"):
        ParticleSet(pos, 1 * u.Msun, kind="gas", temperature=1e7 * u.K,
                    density=[1.0, 2.0] * u.Msun / u.kpc**3)
    with pytest.raises(ValueError, match="positions"):
        ParticleSet(np.zeros((3, 2)) * u.kpc, 1 * u.Msun)
    with pytest.raises(ValueError, match="positions"):
        ParticleSet(np.array([[0.0, np.nan, 0.0]]) * u.kpc, 1 * u.Msun)
    with pytest.raises(ValueError, match="masses"):
        ParticleSet(pos, [1.0, -1.0, 1.0] * u.Msun)
    with pytest.raises(ValueError, match="temperature"):
        ParticleSet(pos, 1 * u.Msun, kind="gas")
    with pytest.raises(ValueError, match="temperature"):
        ParticleSet(pos, 1 * u.Msun, kind="gas", temperature=[1e7, np.inf, 1e7] * u.K)
    with pytest.raises(ValueError, match="kind"):
        ParticleSet(pos, 1 * u.Msun, kind="bh")
    with pytest.raises(ValueError, match="electron_abundance"):
        ParticleSet(pos, 1 * u.Msun, kind="gas", temperature=1e7 * u.K, electron_abundance=[1.0, 1.0])
    with pytest.raises(u.UnitsError, match="positions"):
        ParticleSet(np.zeros((3, 3)), 1 * u.Msun)
    with pytest.raises(u.UnitsError, match="masses"):
        ParticleSet(pos, 1 * u.kpc)
    with pytest.raises(u.UnitsError, match="temperature"):
        ParticleSet(pos, 1 * u.Msun, kind="gas", temperature=1 * u.s)
    with pytest.raises(u.UnitsError, match="smoothing_length"):
        ParticleSet(pos, 1 * u.Msun, smoothing_length=1 * u.Msun)


def test_bad_projection_inputs():
    dm = ParticleSet(np.zeros((3, 3)) * u.kpc, 1 * u.Msun)
    gas = ParticleSet(np.zeros((3, 3)) * u.kpc, 1 * u.Msun, kind="gas", temperature=1e7 * u.K)
    with pytest.raises(ValueError, match="r200"):
        project_particles(dm=dm)
    with pytest.raises(ValueError, match="at least one"):
        project_particles(r200=R200 * u.kpc)
    with pytest.raises(ValueError, match="gas"):
        project_particles(gas=dm, r200=R200 * u.kpc)
    with pytest.raises(ValueError, match="dm"):
        project_particles(dm=gas, r200=R200 * u.kpc)
    with pytest.raises(ValueError, match="los"):
        project_particles(dm=dm, r200=R200 * u.kpc, los=[0, 0, 0])
    with pytest.raises(ValueError, match="center"):
        project_particles(dm=dm, r200=R200 * u.kpc, center=[0, 0] * u.kpc)
    with pytest.raises(u.UnitsError, match="depth"):
        project_particles(dm=dm, r200=R200 * u.kpc, depth=3.0)
    with pytest.raises(ValueError, match="npix"):
        project_particles(dm=dm, r200=R200 * u.kpc, npix=0)
    with pytest.raises(ValueError, match="collisionless"):
        project_particles(dm=dm, r200=R200 * u.kpc, collisionless="ngp")


def test_members_map():
    members = ParticleSet([[0.0, 0.0, 0.0], [100.0, 0.0, 0.0], [0.0, 0.0, 5000.0]] * u.kpc,
                          [5e10, 1e9, 5e10] * u.Msun, kind="stars")
    dm = ParticleSet(np.zeros((1, 3)) * u.kpc, 1e10 * u.Msun)
    maps = project_particles(dm=dm, members=members, r200=R200 * u.kpc)
    # only the first galaxy: above the mass limit and inside the slab
    total = (maps["sigma_members"].sum() * (PIX * u.kpc) ** 2).to_value(u.Msun)
    assert total == pytest.approx(5e10, rel=1e-3)
    assert np.all(project_particles(dm=dm, r200=R200 * u.kpc)["sigma_members"] == 0)


def test_kernels_at_and_beyond_the_edge():
    half = R200  # half-width of the default frame
    pos = [[0.0, 0.0, 0.0], [half, 0.0, 0.0], [3 * half, 0.0, 0.0]] * u.kpc
    gas = ParticleSet(pos, 1e9 * u.Msun, kind="gas", temperature=1e7 * u.K,
                      density=[1e5] * 3 * u.Msun / u.kpc**3, smoothing_length=[100.0, 100.0, 500.0] * u.kpc)
    maps = project_particles(gas=gas, r200=R200 * u.kpc, smoothing_r200=0)
    total = float(maps["sigma_gas"].sum().value * PIX**2)
    # the first whole, half of the second (on the edge), nothing of the third
    assert total == pytest.approx(1.5e9, rel=1e-3)
