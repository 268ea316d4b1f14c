import astropy.units as u
import numpy as np
import pytest
from astropy.modeling.fitting import TRFLSQFitter
from photutils.profiles import RadialProfile
from scipy import integrate

from massrecon.analysis import ProjectedEinasto, ProjectedNFW, fit_nfw, fit_profile
from massrecon.analysis.tests.reference import C200, M200, NPIX, ReferenceNFW, Z
from massrecon.exceptions import MassreconWarning

SIGMA_UNIT = u.Msun / u.kpc**2


@pytest.fixture(scope="module")
def reference_nfw():
    return ReferenceNFW()


def _los_integral(rho, r, depth=np.inf):
    """2 int_0^depth rho(sqrt(R^2 + l^2)) dl by adaptive quadrature (scipy)."""
    return np.array([2 * integrate.quad(lambda los, ri=ri: rho(np.hypot(ri, los)), 0, depth, limit=400,
                                        epsrel=1e-10)[0] for ri in r])


def _map_profile(sigma_map, pix):
    """Azimuthal profile of a map in 1-px annuli from 1 px to R200 (photutils)."""
    centre = ((NPIX - 1) / 2, (NPIX - 1) / 2)
    edges = np.arange(1.0, NPIX / 2 + 0.5, 1.0)
    rp = RadialProfile(sigma_map, centre, edges)
    return rp.radius * pix * u.kpc, rp.profile * SIGMA_UNIT


# --- the models against independent calculations ------------------------------------------------

def test_projected_nfw_matches_los_integral(reference_nfw):
    ref = reference_nfw
    r = np.linspace(0.1, 1.0, 10) * ref.r200
    model = ProjectedNFW(log_m200=np.log10(M200), c200=C200, redshift=Z)
    assert model.r200.to_value(u.kpc) == pytest.approx(ref.r200, rel=1e-10)
    np.testing.assert_allclose(model(r * u.kpc).to_value(SIGMA_UNIT), _los_integral(ref.rho, r), rtol=1e-2)
    # the closed form is in fact exact: hold it to much better than the 1% asked for
    np.testing.assert_allclose(model.evaluate(r, np.log10(M200), C200), ref.sigma(r), rtol=1e-9)


@pytest.mark.parametrize("depth", [1.0, 0.5 * u.Mpc])
def test_projected_nfw_slab_matches_los_integral(reference_nfw, depth):
    ref = reference_nfw
    depth_kpc = depth.to_value(u.kpc) if isinstance(depth, u.Quantity) else depth * ref.r200
    r = np.geomspace(0.01, 1.4, 15) * ref.r200
    model = ProjectedNFW(log_m200=np.log10(M200), c200=C200, redshift=Z, depth=depth)
    np.testing.assert_allclose(model.evaluate(r, np.log10(M200), C200), _los_integral(ref.rho, r, depth_kpc),
                               rtol=1e-6)


def test_nfw_near_x_equal_one_is_continuous(reference_nfw):
    ref = reference_nfw
    r = ref.rs * (1 + np.array([-2e-3, -1e-3, -1e-6, 0.0, 1e-6, 1e-3, 2e-3]))
    model = ProjectedNFW(log_m200=np.log10(M200), c200=C200, redshift=Z)
    expected = _los_integral(ref.rho, r)
    np.testing.assert_allclose(model.evaluate(r, np.log10(M200), C200), expected, rtol=1e-8)


@pytest.mark.parametrize("alpha", [0.12, 0.18, 0.3])
@pytest.mark.parametrize("depth", [None, 1.0])
def test_projected_einasto_matches_los_integral(alpha, depth):
    model = ProjectedEinasto(log_m200=15.0, c200=4.0, alpha=alpha, redshift=Z, depth=depth)
    r200 = model.r200.to_value(u.kpc)
    rs = r200 / 4.0
    # normalisation: the mass inside R200 is M200 (independent quadrature of 4 pi r^2 rho)
    shape = lambda r: np.exp(-2 / alpha * ((r / rs) ** alpha - 1))  # noqa: E731
    norm = 1e15 / integrate.quad(lambda r: 4 * np.pi * r**2 * shape(r), 0, r200, epsrel=1e-12)[0]
    r = np.geomspace(0.01, 1.4, 12) * r200
    expected = _los_integral(lambda s: norm * shape(s), r, np.inf if depth is None else depth * r200)
    np.testing.assert_allclose(model(r * u.kpc).to_value(SIGMA_UNIT), expected, rtol=1e-5)


def test_einasto_masses_are_consistent():
    model = ProjectedEinasto(log_m200=15.0, c200=4.0, alpha=0.18, redshift=Z)
    h = model.halo_masses()
    rho_c = model.cosmology.critical_density(Z).to(u.Msun / u.kpc**3)
    assert u.allclose(h["m500"], 4 / 3 * np.pi * 500 * rho_c * h["r500"] ** 3, rtol=1e-8)
    assert u.allclose(h["r200"], model.r200, rtol=1e-10)
    # an Einasto halo with alpha ~ 0.18 is close to an NFW of the same concentration
    nfw = ProjectedNFW(log_m200=15.0, c200=4.0, redshift=Z).halo_masses()
    assert u.allclose(h["m500"], nfw["m500"], rtol=0.03)


# --- fits ------------------------------------------------------------------------------------------

def test_fit_nfw_recovers_mass_and_concentration_from_map(reference_nfw):
    sigma_map, pix = reference_nfw.sigma_map()
    radius, profile = _map_profile(sigma_map, pix)
    fit = fit_nfw(radius, profile, 0.05 * profile, redshift=Z)
    assert fit.success
    assert fit.m200.to_value(u.Msun) == pytest.approx(M200, rel=0.02)
    assert fit.c200 == pytest.approx(C200, rel=0.05)
    assert fit.r200.to_value(u.kpc) == pytest.approx(reference_nfw.r200, rel=0.01)
    assert fit.m500 < fit.m200
    assert fit.m200_err.unit == u.Msun and fit.m200_err > 0 and fit.m500_err > 0 and fit.c200_err > 0
    # M200 error follows from the log-mass error exactly
    assert float(fit.m200_err / fit.m200) == pytest.approx(np.log(10) * fit.errors["log_m200"], rel=1e-3)


def test_fit_slab_model_recovers_parameters():
    truth = ProjectedNFW(log_m200=14.6, c200=6.0, redshift=0.4, depth=1)
    r = np.geomspace(50, 1500, 20) * u.kpc
    fit = fit_nfw(r, truth(r), 0.03 * truth(r), redshift=0.4, depth=1)
    assert fit.parameters["log_m200"] == pytest.approx(14.6, abs=1e-6)
    assert fit.c200 == pytest.approx(6.0, rel=1e-5)
    assert fit.chi2 < 1e-8 and fit.dof == 18


def test_fit_einasto_with_alpha_fixed():
    truth = ProjectedEinasto(log_m200=14.8, c200=5.0, alpha=0.2, redshift=0.3)
    r = np.geomspace(50, 2000, 15) * u.kpc
    start = ProjectedEinasto(log_m200=14.5, c200=4.0, alpha=0.2, redshift=0.3, fixed={"alpha": True})
    fit = fit_profile(r, truth(r), 0.05 * truth(r), start)
    assert fit.free_parameters == ("log_m200", "c200")
    assert fit.errors["alpha"] == 0
    assert fit.parameters["log_m200"] == pytest.approx(14.8, abs=1e-5)
    assert fit.c200 == pytest.approx(5.0, rel=1e-4)
    assert start.log_m200.value == 14.5  # the starting model is not modified
    free = fit_profile(r, truth(r), 0.05 * truth(r),
                       ProjectedEinasto(log_m200=14.5, c200=4.0, alpha=0.3, redshift=0.3))
    assert free.parameters["alpha"] == pytest.approx(0.2, rel=1e-3)
    assert free.covariance.shape == (3, 3)


def _correlated_covariance(r, err, scale=0.7):
    lnr = np.log(r.to_value(u.kpc))
    corr = np.exp(-np.abs(lnr[:, None] - lnr[None, :]) / scale)
    return corr * err[:, None] * err[None, :]


def test_correlated_errors_are_larger_and_match_the_scatter():
    """Positively correlated errors carry less information than independent ones of the same size.

    The error reported with the full covariance must (a) exceed the one from its diagonal by a
    margin and (b) agree with the scatter of fits to noise drawn from that covariance, which the
    diagonal-only error underestimates.
    """
    truth = ProjectedNFW(log_m200=15.0, c200=4.0, redshift=Z, depth=1)
    r = np.geomspace(60, 1900, 16) * u.kpc
    model = truth(r)
    err = 0.1 * model
    cov = _correlated_covariance(r, err.to_value(SIGMA_UNIT)) * SIGMA_UNIT**2
    full = fit_profile(r, model, cov, truth)
    diag = fit_profile(r, model, err, truth)
    diag2d = fit_profile(r, model, np.diag(err.to_value(SIGMA_UNIT) ** 2) * SIGMA_UNIT**2, truth)
    assert diag2d.errors["log_m200"] == pytest.approx(diag.errors["log_m200"], rel=1e-5)
    assert full.errors["log_m200"] > 1.5 * diag.errors["log_m200"]
    assert full.m200_err > 1.5 * diag.m200_err

    rng = np.random.default_rng(42)
    chol = np.linalg.cholesky(cov.to_value(SIGMA_UNIT**2))
    fitted = []
    for _ in range(150):
        noisy = model + (chol @ rng.standard_normal(r.size)) * SIGMA_UNIT
        fitted.append(fit_profile(r, noisy, cov, truth).parameters["log_m200"])
    scatter = np.std(fitted, ddof=1)
    assert scatter == pytest.approx(full.errors["log_m200"], rel=0.2)
    assert diag.errors["log_m200"] < 0.75 * scatter


def test_nfw_model_works_with_astropy_fitter():
    truth = ProjectedNFW(log_m200=14.9, c200=5.0, redshift=Z)
    r = np.geomspace(100, 2000, 12) * u.kpc
    fitted = TRFLSQFitter()(ProjectedNFW(log_m200=14.5, c200=4.0, redshift=Z), r, truth(r),
                            weights=1 / (0.05 * truth(r).value))
    assert fitted.log_m200.value == pytest.approx(14.9, abs=1e-4)
    assert fitted.redshift == Z


# --- argument checks -------------------------------------------------------------------------------

def test_fit_profile_argument_errors():
    model = ProjectedNFW(redshift=Z)
    r = np.geomspace(100, 2000, 5) * u.kpc
    s = model(r)
    with pytest.raises(u.UnitsError, match="radii"):
        fit_profile(r.value, s, 0.1 * s, model)
    with pytest.raises(ValueError, match="radii must be positive"):
        fit_profile(-r, s, 0.1 * s, model)
    with pytest.raises(ValueError, match="radii must be finite"):
        fit_profile(np.append(r[:-1], np.nan * u.kpc), s, 0.1 * s, model)
    with pytest.raises(u.UnitsError, match="sigma"):
        fit_profile(r, s.value * u.kpc, 0.1 * s, model)
    with pytest.raises(ValueError, match="sigma must be finite"):
        fit_profile(r, np.append(s[:-1], np.nan * s.unit), 0.1 * s, model)
    with pytest.raises(u.UnitsError, match="covariance_or_errors"):
        fit_profile(r, s, (0.1 * s).value, model)
    with pytest.raises(u.UnitsError, match="covariance_or_errors"):
        fit_profile(r, s, np.eye(5) * s.unit, model)
    with pytest.raises(ValueError, match="positive definite"):
        fit_profile(r, s, -np.eye(5) * s.unit**2, model)
    with pytest.raises(ValueError, match="symmetric"):
        fit_profile(r, s, (np.eye(5) + np.triu(np.ones((5, 5)), 1)) * s.unit**2, model)
    with pytest.raises(ValueError, match="shape"):
        fit_profile(r, s, 0.1 * s[:3], model)
    with pytest.raises(ValueError, match="redshift"):
        ProjectedNFW(redshift=np.nan)
    with pytest.raises(u.UnitsError, match="depth"):
        ProjectedNFW(redshift=Z, depth=1 * u.s)
    with pytest.raises(ValueError, match="depth"):
        ProjectedNFW(redshift=Z, depth=-1)
    with pytest.raises(u.UnitsError, match="m200"):
        fit_nfw(r, s, 0.1 * s, redshift=Z, m200=1e15)


def test_fit_on_a_bound_warns():
    truth = ProjectedNFW(log_m200=15.0, c200=45.0, redshift=Z, bounds={"c200": (0.5, 50)})
    r = np.geomspace(100, 2000, 8) * u.kpc
    with pytest.warns(MassreconWarning, match="bound"):
        fit_profile(r, truth(r), 0.05 * truth(r), ProjectedNFW(redshift=Z, bounds={"c200": (1, 20)}))
