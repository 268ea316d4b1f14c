"""Scaling relations (massrecon.relations) and the relation frame of the reconstructor."""

import astropy.units as u
import numpy as np
import pytest
from astropy.cosmology import Planck18
from scipy import integrate

from massrecon.relations import ScalingRelation, aperture_fraction, combine_log_masses


def test_fit_recovers_a_known_relation():
    rng = np.random.default_rng(1)
    m500 = 10 ** rng.uniform(13.5, 15.2, 300)
    z = rng.uniform(0.05, 0.9, 300)
    # Y E(z)^(-2/3) = 10 kpc^2 (M / 1e14)^(5/3) with 0.05 dex scatter (self-similar, Arnaud et al. 2010)
    y = 10 * (m500 / 1e14) ** (5 / 3) * Planck18.efunc(z) ** (2 / 3) * 10 ** rng.normal(0, 0.05, 300)
    rel = ScalingRelation.fit("sz", y, m500, z)
    a, b, c = rel.coef
    assert b == pytest.approx(0.6, abs=0.02)
    assert c == pytest.approx(-0.4, abs=0.05)
    assert rel.scatter_dex == pytest.approx(0.05 * 0.6, rel=0.15)
    assert rel.m500(10 * u.kpc**2 * Planck18.efunc(0.3) ** (2 / 3), 0.3).to_value(u.Msun) == pytest.approx(1e14,
                                                                                                       rel=0.03)
    assert ScalingRelation.from_dict("sz", rel.to_dict()) == rel


def test_relation_rejects_bad_input():
    with pytest.raises(ValueError, match="view"):
        ScalingRelation("lensing", (1, 1, 0), 0.1)
    with pytest.raises(ValueError, match="scatter_dex"):
        ScalingRelation("sz", (1, 1, 0), 0.0)
    with pytest.raises(ValueError, match="coef"):
        ScalingRelation("sz", (1, np.nan, 0), 0.1)
    rel = ScalingRelation("xray", (-20.0, 0.8, -1.5), 0.1)
    with pytest.raises(u.UnitsError, match="erg / s"):
        rel.m500(3 * u.kpc**2, 0.1)
    with pytest.raises(ValueError, match="at least 4"):
        ScalingRelation.fit("sz", [1.0, -1.0, 2.0], [1e14, 2e14, 3e14], [0.1, 0.1, 0.1])
    assert np.isnan(rel.log10_m500(-1.0, 1.0))


def test_combination_is_inverse_variance():
    m, s = combine_log_masses([14.0, 14.6, np.nan], [0.1, 0.2, 0.05])
    assert m == pytest.approx((14.0 / 0.01 + 14.6 / 0.04) / (1 / 0.01 + 1 / 0.04))
    assert s == pytest.approx((1 / 0.01 + 1 / 0.04) ** -0.5)


def test_aperture_fraction_of_the_nfw_template_against_quadrature():
    # a wide aperture keeps nearly everything; the beam's loss grows with its width
    assert aperture_fraction("stars", 0.65) == pytest.approx(1.0)
    f = [aperture_fraction("stars", 0.65, b) for b in (0.1, 0.3, 0.6, 1.0)]
    assert all(1 > a > b > 0.3 for a, b in zip(f, f[1:]))
    # independent check: to first order a Gaussian beam of variance sigma^2 adds (sigma^2 / 2) times
    # the Laplacian, so the flux inside R changes by (sigma^2 / 2) 2 pi R dSigma/dR (Gauss's theorem);
    # Sigma is the projected NFW profile (Bartelmann 1996, A&A 313, 697, eq. 11), its flux by quadrature
    c = 4.0
    r_ap, fwhm = 0.65, 0.1
    sigma = fwhm / np.sqrt(8 * np.log(2))

    def sigma_nfw(rr):  # projected NFW (untruncated), x = r c
        x = rr * c
        if x < 1:
            f = 1 - 2 / np.sqrt(1 - x**2) * np.arctanh(np.sqrt((1 - x) / (1 + x)))
        else:
            f = 1 - 2 / np.sqrt(x**2 - 1) * np.arctan(np.sqrt((x - 1) / (1 + x)))
        return f / (x**2 - 1)

    inside = integrate.quad(lambda rr: 2 * np.pi * rr * sigma_nfw(rr), 1e-6, r_ap, points=[1 / c], limit=200)[0]
    h = 1e-4
    slope = (sigma_nfw(r_ap + h) - sigma_nfw(r_ap - h)) / (2 * h)
    expected_loss = -(sigma**2 / 2) * 2 * np.pi * r_ap * slope / inside
    measured_loss = 1 - aperture_fraction("stars", r_ap, fwhm, c200=c)
    # the template is truncated at +-3 R200 along the line of sight (1-2% of the loss here)
    assert measured_loss == pytest.approx(expected_loss, rel=0.05)


def test_aperture_fraction_of_a_high_pass():
    # a filter of large scale barely touches R500; a small one removes most of it; more filtering, less kept
    kept = [aperture_fraction("sz", 0.65, 0.05, h) for h in (0.1, 0.3, 1.0, 3.0)]
    assert all(a < b for a, b in zip(kept, kept[1:]))
    assert kept[0] < 0.1 and kept[-1] > 0.9
    with pytest.raises(ValueError, match="highpass_r200"):
        aperture_fraction("sz", 0.65, 0.05, -1.0)
    with pytest.raises(ValueError, match="beam_fwhm_r200"):
        aperture_fraction("sz", 0.65, np.nan)
    with pytest.raises(ValueError, match="view"):
        aperture_fraction("lensing", 0.65)


# --- the relation frame of the reconstructor ----------------------------------------------------
def _reconstructor(model=None, relations=None):
    from massrecon import MassReconstructor
    from massrecon.tests.test_reconstruct import META, ConstantSigma

    meta = dict(META)
    if relations is not None:
        meta["scaling_relations"] = {v: r.to_dict() for v, r in relations.items()}
    return MassReconstructor(model or ConstantSigma(0.0), meta)


def _exponential_y(frame, amplitude, rs_kpc):
    from massrecon.observations import ComptonYMap

    r_kpc = frame.radius_grid() * frame.r200.to_value(u.kpc)
    return ComptonYMap(amplitude * np.exp(-r_kpc / rs_kpc), wcs=frame.wcs, beam=0.1 * u.arcmin)


def _fixed_point(rel, amplitude, rs_kpc, z):
    """The relation's M500 at its own R500 for an exponential y disc, solved independently."""
    from scipy.optimize import brentq

    rho_c = Planck18.critical_density(z).to_value(u.Msun / u.kpc**3)
    a, b, _ = rel.coef

    def g(log_m):
        r500 = (3 * 10**log_m / (4 * np.pi * 500 * rho_c)) ** (1 / 3)
        x = r500 / rs_kpc
        s = 2 * np.pi * amplitude * rs_kpc**2 * (1 - (1 + x) * np.exp(-x))  # Y(<R500) in kpc^2
        return a + b * np.log10(s) - log_m

    return 10 ** brentq(g, 12.0, 16.5)


@pytest.mark.parametrize("start", [0.5, 2.0])
def test_relation_frame_against_an_independent_fixed_point(start):
    from massrecon.tests.test_reconstruct import FRAME

    rel = ScalingRelation("sz", (13.7, 0.57, 0.0), 0.04)
    rec = _reconstructor(relations={"sz": rel})
    sky = FRAME.with_npix(480, size_r200=8.0)  # fine pixels over every frame of the iteration
    y = _exponential_y(sky, 2e-5, 250.0)
    expected = _fixed_point(rel, 2e-5, 250.0, FRAME.z)
    rm = rec.relation_mass([y], FRAME.with_mass(m500=start * FRAME.m500))
    assert rm.converged
    assert rm.m500.to_value(u.Msun) == pytest.approx(expected, rel=0.03)
    assert rm.frame.m500.to_value(u.Msun) == pytest.approx(rm.m500.to_value(u.Msun), rel=3e-3)
    # predict(self_consistent=True) puts the map on that frame and says so in its header
    m = rec.predict([y], FRAME.with_mass(m500=start * FRAME.m500), self_consistent=True)
    assert m.meta["SCMETHOD"] == "relation" and m.meta["SCFLAG"] == "ok"
    assert m.meta["RELM500"] == pytest.approx(expected, rel=0.03)
    assert m.meta["M500C"] == pytest.approx(m.meta["RELM500"], rel=3e-3)


def test_relation_frame_follows_the_amplitude_as_the_relation_says():
    from massrecon.tests.test_reconstruct import FRAME

    rel = ScalingRelation("sz", (13.7, 0.57, 0.0), 0.04)
    rec = _reconstructor(relations={"sz": rel})
    sky = FRAME.with_npix(480, size_r200=8.0)
    m1, m4 = (rec.relation_mass([_exponential_y(sky, a, 250.0)], FRAME).m500.to_value(u.Msun) for a in (1e-5, 4e-5))
    e1, e4 = (_fixed_point(rel, a, 250.0, FRAME.z) for a in (1e-5, 4e-5))
    assert np.log(m4 / m1) / np.log(4) == pytest.approx(np.log(e4 / e1) / np.log(4), abs=0.02)


def test_relation_method_options_and_errors():
    from massrecon.tests.test_reconstruct import FRAME, _y_map

    rel = ScalingRelation("sz", (13.7, 0.57, 0.0), 0.04)
    with_rel, without = _reconstructor(relations={"sz": rel}), _reconstructor()
    y = _y_map(FRAME.with_npix(96, size_r200=8.0))
    assert without.predict([y], FRAME, self_consistent=True).meta["SCMETHOD"] == "roots"
    assert with_rel.predict([y], FRAME, self_consistent="roots").meta["SCMETHOD"] == "roots"
    with pytest.raises(ValueError, match="has none|have none"):
        without.predict([y], FRAME, self_consistent="relation")
    with pytest.raises(ValueError, match="carry no scaling relations"):
        without.relation_mass([y], FRAME)
    with pytest.raises(ValueError, match="self_consistent must be"):
        with_rel.predict([y], FRAME, self_consistent="lensing")
    with pytest.raises(TypeError, match="ClusterFrame"):
        with_rel.relation_mass([y], "A2029")
    # a map without signal gives no relation mass: a clear error, not a frame at the edge
    from massrecon.observations import ComptonYMap

    empty = ComptonYMap(np.zeros((96, 96)), wcs=FRAME.with_npix(96, size_r200=8.0).wcs, beam=1 * u.arcmin)
    with pytest.raises(ValueError, match="no view gives a scaling-relation mass.*not positive"):
        with_rel.predict([empty], FRAME, self_consistent=True)
    # weights whose relations do not cover the views given
    xray_only = _reconstructor(relations={"xray": ScalingRelation("xray", (-19.0, 0.76, -1.45), 0.1)})
    with pytest.raises(ValueError, match="no view gives a scaling-relation mass.*sz: no relation in the weights"):
        xray_only.predict([y], FRAME, self_consistent=True)


def test_filtered_y_map_gives_the_unfiltered_relation_mass():
    # a beta-model y map (not the template's Arnaud et al. profile), high-passed at 4 arcmin as a
    # ground-based map: its relation mass, corrected by aperture_fraction, is the unfiltered map's
    from massrecon.observations import ComptonYMap, TransferFunction
    from massrecon.tests.test_reconstruct import FRAME

    rel = ScalingRelation("sz", (13.7, 0.57, 0.0), 0.04)
    rec = _reconstructor(relations={"sz": rel})
    sky = FRAME.with_npix(480, size_r200=8.0)
    r_kpc = sky.radius_grid() * sky.r200.to_value(u.kpc)
    rc = 0.12 * FRAME.r200.to_value(u.kpc)
    y = 3e-5 * (1 + (r_kpc / rc) ** 2) ** -1.0  # beta = 2/3 (Cavaliere & Fusco-Femiano 1976)
    tf = TransferFunction.high_pass(4 * u.arcmin)
    filtered = tf.apply(y, sky.pixel_scale)
    plain = rec.relation_mass([ComptonYMap(y, wcs=sky.wcs, beam=0.1 * u.arcmin)], FRAME)
    # (the input checks, e.g. that these stand-in weights never saw a filtered map, are for predict)
    corrected = rec.relation_mass([ComptonYMap(filtered, wcs=sky.wcs, beam=0.1 * u.arcmin, transfer_function=tf)],
                                  FRAME)
    frac = corrected.aperture_fraction["sz"]
    assert 0.3 < frac < 0.8  # the filter removes a good part of Y500 ...
    # ... which the correction restores to the template's accuracy (the shapes differ)
    assert corrected.m500.to_value(u.Msun) == pytest.approx(plain.m500.to_value(u.Msun), rel=0.12)
    uncorrected = 10 ** rel.log10_m500(frac, 1.0) / 10 ** rel.log10_m500(1.0, 1.0)  # what dropping it would do
    assert uncorrected < 0.85
    # the correction's uncertainty widens the relation's scatter
    assert corrected.scatter_dex > plain.scatter_dex


def test_relation_mass_beyond_the_supported_range_is_clipped_with_a_warning():
    from massrecon import NotConvergedWarning
    from massrecon.tests.test_reconstruct import FRAME

    # a relation that makes any y map a 1e17 Msun cluster
    rel = ScalingRelation("sz", (17.0, 0.0, 0.0), 0.04)
    rec = _reconstructor(relations={"sz": rel})
    sky = FRAME.with_npix(160, size_r200=12.0)
    rm = rec.relation_mass([_exponential_y(sky, 2e-5, 250.0)], FRAME)
    assert rm.clipped and not rm.converged
    lm200 = np.log10(rm.frame.m200.to_value(u.Msun) * FRAME.cosmology.h)
    assert lm200 == pytest.approx(15.55, abs=0.01)  # the supported range's end with its 0.05 dex margin
    with pytest.warns(NotConvergedWarning, match="beyond the weights' supported mass range"):
        m = rec.predict([_exponential_y(sky, 2e-5, 250.0)], FRAME, self_consistent=True)
    assert m.meta["SCFLAG"] == "none"


def test_relation_frame_beyond_the_image_says_where():
    from massrecon.tests.test_reconstruct import FRAME

    # a small image and a relation that wants a cluster far larger than it
    rel = ScalingRelation("sz", (15.4, 0.0, 0.0), 0.04)
    rec = _reconstructor(relations={"sz": rel})
    small = FRAME.with_npix(64, size_r200=2.2)
    with pytest.raises(ValueError, match="scaling-relation iteration reached a frame of M500"):
        rec.relation_mass([_exponential_y(small, 2e-5, 250.0)], FRAME)


def test_a_view_the_filter_empties_is_dropped_and_the_others_decide():
    # y map high-passed at 0.3 arcmin keeps a few per cent of Y500: it is left out at the fixed
    # point, and the answer is that of the member catalogue alone
    from massrecon.observations import ComptonYMap, GalaxyMembers, TransferFunction
    from massrecon.tests.test_reconstruct import FRAME

    rels = {"sz": ScalingRelation("sz", (13.7, 0.57, 0.0), 0.04),
            "stars": ScalingRelation("stars", (2.0, 1.0, 0.0), 0.19)}
    rec = _reconstructor(relations=rels)
    sky = FRAME.with_npix(240, size_r200=6.0)
    tf = TransferFunction.high_pass(0.3 * u.arcmin)
    y = ComptonYMap(tf.apply(_exponential_y(sky, 2e-5, 250.0).data, sky.pixel_scale), wcs=sky.wcs,
                    beam=0.1 * u.arcmin, transfer_function=tf)
    rng = np.random.default_rng(3)
    r = 0.3 * FRAME.theta200 * np.sqrt(rng.uniform(0, 1, 400))
    phi = rng.uniform(0, 2 * np.pi, 400)
    pos = FRAME.center.directional_offset_by(phi * u.rad, r)
    members = GalaxyMembers.from_arrays(pos, mstar=np.full(400, 5e10) * u.Msun)
    both = rec.relation_mass([y, members], FRAME)
    alone = rec.relation_mass([members], FRAME)
    assert "sz" in both.skipped and "beam and filter keep" in both.skipped["sz"]
    assert both.aperture_fraction["sz"] < 0.3 and set(both.per_view) == {"stars"}
    assert both.m500.to_value(u.Msun) == pytest.approx(alone.m500.to_value(u.Msun), rel=3e-3)
    # the y map on its own cannot give a mass: a clear error naming why
    with pytest.raises(ValueError, match="sz: its beam and filter keep"):
        rec.relation_mass([y], FRAME)
