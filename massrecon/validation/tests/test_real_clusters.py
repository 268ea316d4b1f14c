"""The real-cluster validation (docs/validation.rst): loading, the table, and agreement with catalogues.

Skipped when ``shared/data`` (next to the repository, never packaged) is absent.  The
catalogue-frame predictions, the relation masses and the self-consistent ones from 0.5x and 2x
run here (~25 s); the command that regenerates the documentation's table runs the same.

The agreement checks are ``xfail(strict=True)`` where the bundled model currently disagrees with
the catalogue beyond `AGREEMENT_SIGMA` combined sigma: the day one starts passing (new weights,
issue 16), the test fails, and this list and docs/validation.rst need updating.
"""

import astropy.units as u
import numpy as np
import pytest

from massrecon.validation.real_clusters import (
    AGREEMENT_SIGMA,
    DATA_DIR,
    _rst,
    agreement,
    load_all,
    predict_view_set,
    validation_table,
)

pytestmark = pytest.mark.skipif(not (DATA_DIR / "realclusters").is_dir(),
                                reason=f"real cluster data not found at {DATA_DIR}")

# (view set label, catalogue): why it currently fails on the catalogue frame, measured with the bundled weights
_A907_MAPS = (
    "Abell 907, a relaxed cool-core cluster, read with its flux right and its background fitted: its "
    "scaling-relation masses agree with PSZ2 and MCXC (6.3-7.4e14 since the gas recalibration of December 2026), "
    "but the network's maps from its XMM images come out at 0.35-0.6 of them ({detail}); the recalibration "
    "did not change that (the earlier weights gave 2.6-3.5e14 on the catalogue frame); its surface brightness "
    "from 0.1 to 0.45 R200 is at the 0-5th percentile of the training clusters of its catalogue mass, and the "
    "network reads the mass there (docs/validation.rst, why the X-ray maps of real clusters come out low)")
_FAILING = {
    ("xray: Chandra 5786+17170", "PSZ2"):
        "ZwCl 2341 is a merging, filamentary system (two subclusters, radio relics) at the X-ray depth of "
        "two short Chandra pointings; the model gives 3.0e14 on the catalogue frame (2.7e14 self-consistent) "
        "against MSZ/0.8 ~ 6.5e14 Msun (pull -2.7)",
    **{(f"xray: XMM {obsid}", "PSZ2"):
       _A907_MAPS.format(detail="catalogue frame 2.4-3.3e14 against MSZ/0.8 6.8e14, pulls -2.7 to -3.7")
       for obsid in ("0201901401", "0201903501", "0404910601")},
    ("xray: XMM 0404910601", "MCXC"):
        _A907_MAPS.format(detail="the shallowest pointing: 2.4e14 on the catalogue frame against MCXC/0.8 6.3e14, "
                                 "pull -2.04"),
}

# (start, view set label, catalogue): why the relation-frame map currently disagrees, measured with the bundled weights
_FAILING_SELF_CONSISTENT = {
    (0.5, "xray: Chandra 5786+17170", "PSZ2"):
        "ZwCl 2341, the merger of two subclusters, from two short Chandra pointings: the map on the relation frame "
        "gives 2.7e14 against MSZ/0.8 ~ 6.5e14 (pull -3.0; -2.1 with the weights before the gas recalibration), "
        "where the relation alone gives 4.2e14 (pull -1.4)",
    (0.5, "xray: XMM 0201903501", "PSZ2"):
        _A907_MAPS.format(detail="self-consistent 3.9e14 against MSZ/0.8 6.8e14, pull -2.02"),
    (0.5, "xray: XMM 0404910601", "PSZ2"):
        _A907_MAPS.format(detail="self-consistent 2.8e14 against MSZ/0.8 6.8e14, pull -3.2"),
}

_CASES = [
    ("xray: XMM 0201901401", "PSZ2"),
    ("xray: XMM 0201901401", "MCXC"),
    ("xray: XMM 0201903501", "PSZ2"),
    ("xray: XMM 0201903501", "MCXC"),
    ("xray: XMM 0404910601", "PSZ2"),
    ("xray: XMM 0404910601", "MCXC"),
    ("xray: Chandra 5786+17170", "PSZ2"),
    ("sz: ACT 150 GHz (filtered)", "MCXC"),
    ("sz: ACT 90 GHz (filtered)", "MCXC"),
    ("sz: Bolocam 140 GHz (filtered)", "MCXC"),
]


@pytest.fixture(scope="module")
def view_sets():
    return {vs.label: vs for vs in load_all()}


@pytest.fixture(scope="module")
def predictions(view_sets):
    from massrecon import MassReconstructor

    rec = MassReconstructor.pretrained()
    return {label: predict_view_set(rec, vs) for label, vs in view_sets.items()}


def test_every_cluster_loads(view_sets):
    clusters = {vs.cluster.split(" (")[0] for vs in view_sets.values()}
    assert clusters == {"eFEDS main cluster", "Abell 907", "ZwCl 2341.1+0000", "MACS J0025.4-1222"}
    assert {label for label, _ in _CASES} | {"xray: eROSITA 0.6-2.2 keV"} == set(view_sets)
    for vs in view_sets.values():
        view = vs.observations[0].prepare(vs.frame)
        good = ~view.mask
        assert good.mean() > 0.5, vs.label
        assert np.isfinite(view.data[good]).all(), vs.label
        # the cluster is there: the centre is brighter than the outskirts
        r = vs.frame.radius_grid()
        assert np.nanmean(view.data[(r < 0.2) & good]) > np.nanmean(view.data[(r > 0.6) & good]), vs.label


def test_filtered_sz_is_flagged(view_sets):
    # filtered maps carry their transfer function; they are in the domain of weights trained on them
    from massrecon.validation.real_clusters import _weights_take_filtered_sz

    for vs in view_sets.values():
        filtered = vs.label.startswith("sz:")
        assert vs.in_domain == (not filtered or _weights_take_filtered_sz()), vs.label
        if filtered:
            assert vs.observations[0].transfer_function is not None


def test_table_regenerates(view_sets, predictions, monkeypatch):
    import massrecon.validation.real_clusters as rc

    # the table from the cached catalogue-frame predictions: every row has a mass and a flag cell
    monkeypatch.setattr(rc, "predict_view_set", lambda rec, vs, start=None: predictions[vs.label])
    table = validation_table(list(view_sets.values()), rec=object(), self_consistent=False)
    assert len(table) == sum(max(len(vs.references), 1) for vs in view_sets.values())
    assert np.all(np.isfinite(table["m500"])) and np.all(table["m500_err"] > 0)
    rst = _rst(table)
    assert rst.startswith(".. list-table::") and rst.count("   * - ") == len(table) + 1
    from massrecon.validation.real_clusters import _weights_take_filtered_sz

    # filtered SZ rows are flagged unless the weights were trained on filtered y
    assert ("outside domain (filtered SZ)" in rst) == (not _weights_take_filtered_sz())


def test_efeds_prediction_is_finite(predictions):
    # no catalogue mass: only a sanity range around the stated 2e14 Msun guess
    p = predictions["xray: eROSITA 0.6-2.2 keV"]
    assert 3e13 < p["m500"].to_value(u.Msun) < 1e15 and p["error"] > 0


@pytest.mark.parametrize("label, catalog", [
    pytest.param(label, cat, marks=pytest.mark.xfail(strict=True, reason=_FAILING[(label, cat)]))
    if (label, cat) in _FAILING else (label, cat) for label, cat in _CASES])
def test_agrees_with_catalogue(view_sets, predictions, label, catalog):
    vs, p = view_sets[label], predictions[label]
    (ref,) = [r for r in vs.references if r.catalog == catalog]
    pull, ok = agreement(p["m500"], p["error"], ref)
    assert ok, f"{label} vs {catalog}: pull {pull:+.2f} (limit {AGREEMENT_SIGMA})"


@pytest.fixture(scope="module")
def frame_masses(view_sets):
    """The masses from the weights' relations alone and from the default self-consistent method
    (the map on the frame of the relation mass), started at half and twice the catalogue mass."""
    from massrecon import MassReconstructor

    rec = MassReconstructor.pretrained()
    return {(start, label): predict_view_set(rec, vs, start) for label, vs in view_sets.items()
            for start in ("relation", 0.5, 2.0)}


@pytest.mark.parametrize("label", sorted({label for label, _ in _CASES} | {"xray: eROSITA 0.6-2.2 keV"}))
def test_self_consistent_starts_agree(frame_masses, label):
    # issue 15 item 4: one answer from starts at 0.5x and 2x the catalogue mass, within 5%.  The
    # frame is fixed only to pixel-level steps, and on the XMM image 0201901401 a single frame's map
    # jumped by 7.2% between the two starts' frames, 0.24% apart (the two-stage weights of 8,000
    # steps); the frame ensemble averages it out (1.9% with the bundled weights)
    lo, hi = frame_masses[(0.5, label)]["m500"], frame_masses[(2.0, label)]["m500"]
    assert abs(np.log((lo / hi).to_value(u.one))) < 0.05, f"{label}: M500 {lo:.4g} from 0.5x, {hi:.4g} from 2x"


@pytest.mark.parametrize("start, label, catalog", [
    pytest.param(start, label, cat, marks=pytest.mark.xfail(strict=True, reason=_FAILING_SELF_CONSISTENT[key]))
    if (key := (start, label, cat)) in _FAILING_SELF_CONSISTENT else (start, label, cat)
    for start in ("relation", 0.5) for label, cat in _CASES])
def test_relation_and_self_consistent_masses_agree_with_catalogue(view_sets, frame_masses, start, label, catalog):
    # the weights' relations are the simulator's, at their own R500 (filtered y maps corrected for
    # the Y500 their transfer function removes); the catalogues' masses are relation masses too.
    # Every real view set agrees within AGREEMENT_SIGMA alone, and as the network's map on that frame
    # but for the cases of _FAILING_SELF_CONSISTENT
    vs, p = view_sets[label], frame_masses[(start, label)]
    (ref,) = [r for r in vs.references if r.catalog == catalog]
    pull, ok = agreement(p["m500"], p["error"], ref)
    assert ok, f"{label} vs {catalog} ({start}): M500 {p['m500']:.3g}, pull {pull:+.2f} (limit {AGREEMENT_SIGMA})"


def test_a907_ecf_reads_the_camera_cards_and_refuses_bad_input():
    from astropy.io import fits

    from massrecon.validation.real_clusters import a907_ecf

    h = fits.Header({"EMSCI001": "EPN", "EMSCE001": 1000.0, "EMSCI002": "EMOS1", "EMSCE002": 2000.0})
    # (1000 s x 7e11 + 2000 s x 2e11) / 5000 (the map's maximum) = 2.2e11
    assert np.isclose(a907_ecf(h, np.array([5000.0, 10.0])).to_value(u.ct * u.cm**2 / u.erg), 2.2e11)
    with pytest.raises(ValueError, match="expmap"):
        a907_ecf(h, np.zeros(3))
    with pytest.raises(ValueError, match="camera 'ACIS'"):
        a907_ecf(fits.Header({"EMSCI001": "ACIS", "EMSCE001": 1.0}), np.ones(3))
    with pytest.raises(ValueError, match="EMSCE001"):
        a907_ecf(fits.Header({"EMSCI001": "EPN"}), np.ones(3))
    with pytest.raises(ValueError, match="no camera exposures"):
        a907_ecf(fits.Header(), np.ones(3))


def test_a907_flux_agrees_with_rosat():
    # The flux of the XMM images within R500 (counts less the fitted background, over the merged
    # exposure map and a907_ecf) against the ROSAT luminosity of the MCXC catalogue (Piffaretti et
    # al. 2011: L500 in 0.1-2.4 keV, h = 0.7), moved to 0.5-2 keV for a 6 keV free-free spectrum
    # (x 1/1.64).  Within 35%: the camera ECFs are assumed (20%), the pointings cover R500
    # unevenly, the chip gaps are left out, the ECF is for the absorbed flux (ROSAT's is
    # unabsorbed, ~ -8%) and no K-correction is made (~ +8%).  Measured 1.07, 0.97, 0.82; the
    # merged exposure maps read as summed seconds, without a background, gave about 0.3.
    from astropy.coordinates import SkyCoord
    from astropy.cosmology import FlatLambdaCDM
    from astropy.io import fits
    from astropy.wcs import WCS

    from massrecon.frame import ClusterFrame
    from massrecon.physics import free_free_cooling_function
    from massrecon.validation.real_clusters import A907_OBSIDS, a907_background, a907_ecf

    cosmo = FlatLambdaCDM(70, 0.3)
    z, l500, r500 = 0.1669, 5.30e44 * u.erg / u.s, 1.145 * u.Mpc  # MCXC J0958.3-1103
    band = (free_free_cooling_function(6 * u.keV, [0.5, 2] * u.keV)
            / free_free_cooling_function(6 * u.keV, [0.1, 2.4] * u.keV)).to_value(u.one)
    expected = (l500 * band / (4 * np.pi * cosmo.luminosity_distance(z) ** 2)).to(u.erg / u.s / u.cm**2)
    center = SkyCoord(149.592, -11.060, unit="deg")  # MCXC position
    frame = ClusterFrame(center, z, m500=6.3e14 * u.Msun)  # MCXC M500 / 0.8: the background's R500
    theta = (r500 / cosmo.angular_diameter_distance(z)).to(u.deg, u.dimensionless_angles())
    d = DATA_DIR / "realclusters" / "a907_xmm"
    for obsid in A907_OBSIDS:
        with fits.open(d / f"{obsid}_0.5-2.0keV_merged_img.fits.gz") as h:
            counts, header = np.clip(h[0].data.astype(float), 0, None), h[0].header
        expmap = fits.getdata(d / f"{obsid}_0.5-2.0keV_merged_expmap.fits.gz").astype(float)
        w = WCS(header)
        yy, xx = np.indices(counts.shape)
        sep = w.pixel_to_world(xx, yy).separation(center)
        inside = (sep < theta) & (expmap > 0.2 * expmap.max())  # not the chip gaps and edges
        net = (counts - a907_background(counts, expmap, w, frame))[inside] / expmap[inside]
        flux = np.sum(net) * u.ct / u.s / a907_ecf(header, expmap)
        ratio = (flux / expected).to_value(u.one)
        assert 0.65 < ratio < 1.35, f"{obsid}: XMM flux {flux:.3g} against ROSAT {expected:.3g}"


def test_every_real_view_set_is_inside_the_training_range(predictions, frame_masses):
    # issue 15 item 1: the real images of shared/data (eFEDS, XMM, Chandra, and the ACT and Bolocam
    # maps: per-pixel y noise 1.2-2.4e-5 on the frame, inside the fourth stage's 5e-5) raise no
    # OutOfDistributionWarning, on the catalogue frame or on the self-consistent frames
    flags = {(label, "catalogue frame"): p["flags"] for label, p in predictions.items()}
    flags.update({(label, start): p["flags"] for (start, label), p in frame_masses.items()})
    # A masked core is the data's coverage, not the training range: ZwCl 2341's self-consistent
    # frame (2.7e14) is small enough for its masked pixels to reach the core; that warning is
    # expected there and nowhere else
    masked_core = {key for key, fl in flags.items() if any("of its core" in f for f in fl)}
    assert masked_core <= {("xray: Chandra 5786+17170", 0.5), ("xray: Chandra 5786+17170", 2.0)}, masked_core
    bad = {key: [f for f in fl if f.startswith(("OutOfDistributionWarning", "FAILED")) and "of its core" not in f]
           for key, fl in flags.items()}
    assert not any(bad.values()), {key: fl for key, fl in bad.items() if fl}


def test_map_and_relation_tension_is_flagged(frame_masses):
    # issue 15 item 4, never a silent answer: a self-consistent map whose M500 is further from the
    # relation mass that placed its frame than TENSION_SIGMA times their errors in quadrature carries
    # a MassTensionWarning (Abell 907's shallowest pointing: 2.8e14 against 6.3e14), and no other does
    from massrecon.massmap import TENSION_SIGMA

    flagged = set()
    for (start, label), p in frame_masses.items():
        if start == "relation" or not np.isfinite(p["m500"]):
            continue
        rel = frame_masses[("relation", label)]
        m, rm = p["m500"].to_value(u.Msun), rel["m500"].to_value(u.Msun)
        pull = np.log(m / rm) / np.hypot(p["error"].to_value(u.Msun) / m, rel["error"].to_value(u.Msun) / rm)
        has_flag = any(f.startswith("MassTensionWarning") for f in p["flags"])
        assert has_flag == (abs(pull) > TENSION_SIGMA), (label, start, pull, p["flags"])
        if has_flag:
            flagged.add(label)
    assert flagged == {"xray: XMM 0404910601"}
