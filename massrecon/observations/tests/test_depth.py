"""Member catalogues of different depths give the same stars view (issue 15 item 2)."""

import astropy.units as u
import numpy as np
import pytest
from astropy.coordinates import SkyCoord
from scipy.integrate import quad

from massrecon import ClusterFrame, MassreconWarning, OutOfDistributionWarning
from massrecon.contract import MEMBER_DEFAULT_MASS, MEMBER_MAP_MASS_LIMIT
from massrecon.observations import GalaxyMembers, stellar_mass_from_magnitude
from massrecon.observations.members import DEPTH_FACTOR_MAX
from massrecon.physics import (
    CLUSTER_SMF_ALPHA,
    CLUSTER_SMF_LOG_MSTAR,
    schechter_depth_factor,
    schechter_mass_above,
    schechter_number_above,
)

MAP_LIMIT = MEMBER_MAP_MASS_LIMIT.to_value(u.Msun)


@pytest.mark.parametrize("alpha", [-1.5, -1.2, -1.0, -0.5, 0.3])
@pytest.mark.parametrize("limit", [1e8, 1e10, 3e11])
def test_schechter_integrals_against_quadrature(alpha, limit):
    # closed forms (incomplete gamma functions and their recurrence) against a direct quadrature in ln M
    ls = CLUSTER_SMF_LOG_MSTAR
    mstar = 10.0**ls

    def phi_dlnm(lnm, power):
        x = np.exp(lnm) / mstar
        return x ** (alpha + 1.0 + power) * np.exp(-x)

    lo, hi = np.log(limit), np.log(mstar) + np.log(60.0)
    n = quad(phi_dlnm, lo, hi, args=(0,), limit=200, epsabs=0)[0]
    rho = quad(phi_dlnm, lo, hi, args=(1,), limit=200, epsabs=0)[0] * mstar
    assert schechter_number_above(limit, ls, alpha) == pytest.approx(n, rel=1e-7)
    assert schechter_mass_above(limit * u.Msun, ls, alpha) == pytest.approx(rho, rel=1e-7)


def test_depth_factor():
    f, df = schechter_depth_factor(MAP_LIMIT, MAP_LIMIT)
    assert f == pytest.approx(1.0) and df == pytest.approx(0.0, abs=1e-12)
    f_deep, _ = schechter_depth_factor(1e9, MAP_LIMIT)
    f_shallow, df_shallow = schechter_depth_factor(1e11, MAP_LIMIT)
    assert f_deep < 1 < f_shallow and df_shallow > 0
    # the mean mass above the map's limit of this function is the default mass of a positions-only galaxy
    mean = schechter_mass_above(MAP_LIMIT) / schechter_number_above(MAP_LIMIT)
    assert mean == pytest.approx(MEMBER_DEFAULT_MASS.to_value(u.Msun), rel=0.1)
    with pytest.raises(ValueError, match="alpha"):
        schechter_number_above(1e10, alpha=-2.5)
    with pytest.raises(u.UnitsError):
        schechter_mass_above(1e10 * u.m)


def _draw_cluster(frame, rng, n_above_1e9=2000, lowest=1e9):
    """A seeded mock cluster: satellites drawn from the cluster SMF above ``lowest`` (inverse
    transform of its cumulative number) on a projected NFW-like profile, and a 10^12 Msun BCG
    at the centre.  Returns coordinates and stellar masses (Msun)."""
    grid = np.geomspace(lowest, 1e13, 2000)
    n_above = np.array([schechter_number_above(m) for m in grid])
    m = np.exp(np.interp(rng.uniform(0, n_above[0], n_above_1e9), n_above[::-1], np.log(grid[::-1])))
    # radii within 1.5 R200, concentrated towards the centre (the profile does not matter here)
    r = 1.5 * rng.uniform(0, 1, m.size) ** 1.5 * frame.theta200
    pa = rng.uniform(0, 2 * np.pi, m.size)
    coords = frame.center.directional_offset_by(pa * u.rad, r)
    bcg = frame.center.directional_offset_by(0 * u.deg, 0.01 * frame.theta200)
    return SkyCoord([bcg.ra, *coords.ra], [bcg.dec, *coords.dec]), np.concatenate([[1e12], m])


def _mass_within_r200(view, frame):
    npix = frame.npix
    yy, xx = np.mgrid[0:npix, 0:npix] - (npix - 1) / 2
    inside = np.hypot(xx, yy) * frame.pixel_scale_kpc.to_value(u.kpc) <= frame.r200.to_value(u.kpc)
    return float(view.data[inside].sum() * frame.pixel_area.to_value(u.kpc**2))


def _observe(coords, mstar, limit, **kwargs):
    keep = mstar >= limit
    return GalaxyMembers.from_arrays(coords[keep], mstar[keep] * u.Msun, completeness_limit=limit * u.Msun,
                                     **kwargs)


def test_three_depths_with_masses(frame):
    """Catalogues complete above 1e9, 1e10 and 1e11 Msun give the same stellar mass within R200:
    the first two exactly (the galaxies below the map's limit are dropped), the third on average
    over seeded mock clusters (its few satellites above 1e11 Msun, scaled by the SMF's factor,
    carry a shot noise)."""
    ratios = []
    for seed in range(40):
        coords, mstar = _draw_cluster(frame, np.random.default_rng(seed))
        views = {}
        for limit in (1e9, 1e10):
            views[limit] = _observe(coords, mstar, limit).prepare(frame)
        with pytest.warns(MassreconWarning, match="scaled by 3.82"):
            views[1e11] = _observe(coords, mstar, 1e11).prepare(frame)
        np.testing.assert_array_equal(views[1e9].data, views[1e10].data)
        ref = _mass_within_r200(views[1e10], frame)
        ratios.append(_mass_within_r200(views[1e11], frame) / ref)
        if seed == 0:
            assert views[1e10].meta["STDEPTH"] == "complete" and views[1e9].meta["STDFACT"] == 1.0
            assert views[1e11].meta["STDEPTH"] == "corrected"
            assert views[1e11].meta["STDFACT"] == pytest.approx(3.822, abs=1e-3)
            assert views[1e11].meta["STDFERR"] > 0 and views[1e11].meta["STCOMPL"] == 1e11
    ratios = np.array(ratios)
    # measured: mean 1.00, scatter 0.14 per cluster (~640 galaxies above 1e10 Msun, ~40 above 1e11 Msun)
    assert np.mean(ratios) == pytest.approx(1.0, abs=0.05)
    assert np.median(np.abs(ratios - 1)) < 0.15


def test_central_galaxy_is_not_scaled(frame):
    coords, mstar = _draw_cluster(frame, np.random.default_rng(3), n_above_1e9=0)
    with pytest.warns(MassreconWarning, match="scaled"):
        view = _observe(coords, mstar, 1e11).prepare(frame)
    assert view.data.sum() * frame.pixel_area.value == pytest.approx(1e12, rel=1e-3)


def test_probabilities_still_weight(frame):
    coords, mstar = _draw_cluster(frame, np.random.default_rng(4), n_above_1e9=500)
    with pytest.warns(MassreconWarning, match="scaled"):
        full = _observe(coords, mstar, 1e11).prepare(frame)
    with pytest.warns(MassreconWarning, match="scaled"):
        half = _observe(coords, mstar, 1e11, probability=0.5).prepare(frame)
    np.testing.assert_allclose(half.data, 0.5 * full.data, rtol=1e-12, atol=1e-300)


def test_too_shallow_is_refused(frame):
    coords, mstar = _draw_cluster(frame, np.random.default_rng(5), n_above_1e9=300)
    members = _observe(coords, mstar, 2e11)
    assert members.depth_correction().factor > DEPTH_FACTOR_MAX
    with pytest.raises(ValueError, match="complete only above 2e\\+11 solMass"):
        members.prepare(frame)
    # a modest correction is silent
    members = _observe(coords, mstar, 2e10)
    assert 1 < members.depth_correction().factor < 2
    members.prepare(frame)


def test_positions_only_five_times_too_deep(frame):
    """A positions-only catalogue five times deeper in numbers than one complete above the map's
    limit: without its depth it warns and the view (and prediction) is flagged; with it, it gives
    the map of the shallow catalogue."""
    coords, mstar = _draw_cluster(frame, np.random.default_rng(6), n_above_1e9=6000, lowest=1e8)
    deep_limit = 10**8.415  # N(> deep_limit) = 5 N(> 1e10) for the cluster SMF
    assert schechter_number_above(deep_limit) / schechter_number_above(MAP_LIMIT) == pytest.approx(5, rel=0.02)
    shallow, deep = mstar >= MAP_LIMIT, mstar >= deep_limit
    assert deep.sum() / shallow.sum() == pytest.approx(5, rel=0.1)

    complete = GalaxyMembers.from_arrays(coords[shallow], completeness_limit=MEMBER_MAP_MASS_LIMIT)
    ref = complete.prepare(frame)
    assert ref.meta["STDEPTH"] == "counts" and complete.depth_correction().factor == pytest.approx(1.0)
    # no silent five-fold mass: a warning naming the problem, and the flag in the view's meta
    with pytest.warns(OutOfDistributionWarning, match="5 times more faint galaxies reads as a cluster 5 times"):
        unknown = GalaxyMembers.from_arrays(coords[deep])
    flagged = unknown.prepare(frame)
    assert flagged.meta["STDEPTH"] == "unknown"
    assert _mass_within_r200(flagged, frame) / _mass_within_r200(ref, frame) == pytest.approx(5, rel=0.15)
    # told its depth, the deep catalogue gives the shallow one's stellar mass
    told = GalaxyMembers.from_arrays(coords[deep], completeness_limit=deep_limit * u.Msun).prepare(frame)
    assert told.meta["STDEPTH"] == "counts" and told.meta["STDFACT"] < 1
    assert _mass_within_r200(told, frame) / _mass_within_r200(ref, frame) == pytest.approx(1, abs=0.1)


def test_magnitude_limit_route():
    frame = ClusterFrame(SkyCoord(150.0, 2.0, unit="deg"), 0.1, m500=5e14 * u.Msun, npix=24)
    coords = SkyCoord([150.0, 150.01], [2.0, 2.0], unit="deg")
    members = GalaxyMembers.from_arrays(coords, [2e11, 6e10] * u.Msun, magnitude_limit=17.77)
    limit = stellar_mass_from_magnitude(17.77, 0.1)
    assert members.completeness_limit(frame) == limit
    dc = members.depth_correction(frame)
    assert dc.status == "corrected" and dc.factor == pytest.approx(schechter_depth_factor(limit, MAP_LIMIT)[0])
    assert members.prepare(frame).meta["STCOMPL"] == pytest.approx(limit.value, rel=1e-4)
    with pytest.raises(ValueError, match="needs the frame"):
        members.depth_correction()
    far = ClusterFrame(SkyCoord(150.0, 2.0, unit="deg"), 0.7, m500=5e14 * u.Msun, npix=24)
    with pytest.raises(ValueError, match="z must be <= 0.5"):
        members.prepare(far)
    with pytest.raises(ValueError, match="not both"):
        GalaxyMembers.from_arrays(coords, [2e11, 6e10] * u.Msun, magnitude_limit=17.77,
                                  completeness_limit=1e10 * u.Msun)
    with pytest.raises(u.UnitsError, match="completeness_limit"):
        GalaxyMembers.from_arrays(coords, [2e11, 6e10] * u.Msun, completeness_limit=1e10)


def test_reference_parameters():
    assert (CLUSTER_SMF_LOG_MSTAR, CLUSTER_SMF_ALPHA) == (10.9, -1.2)
