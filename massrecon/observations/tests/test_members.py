"""Member galaxies and stellar-mass images."""

import astropy.units as u
import numpy as np
import pytest
from astropy.coordinates import SkyCoord
from astropy.table import QTable, Table

from massrecon import MassreconWarning
from massrecon.contract import MEMBER_DEFAULT_MASS, MEMBER_MAP_MASS_LIMIT, MEMBER_SMOOTHING_R200, VIEW_UNITS
from massrecon.observations import (
    GalaxyMembers,
    StellarMassImage,
    members_to_map,
)


def test_constants():
    assert MEMBER_SMOOTHING_R200 == 0.05
    assert MEMBER_MAP_MASS_LIMIT == 1e10 * u.Msun
    assert MEMBER_DEFAULT_MASS >= MEMBER_MAP_MASS_LIMIT


@pytest.mark.parametrize("smoothing", [0.0, MEMBER_SMOOTHING_R200, 0.2])
def test_deposit_conserves_mass(rng, smoothing):
    npix, pix = 80, 25.0
    r200 = npix * pix / 2
    # galaxies well inside the frame (the smoothing does not spill over the edges)
    x, y = rng.uniform(-0.5 * r200, 0.5 * r200, (2, 300))
    m = 10 ** rng.uniform(10, 12, 300)
    sig = members_to_map(x, y, m, npix, pix, smoothing_r200=smoothing)
    assert sig.shape == (npix, npix) and sig.dtype == np.float64
    assert sig.sum() * pix**2 == pytest.approx(m.sum(), rel=1e-10)


def test_cloud_in_cell_and_orientation():
    npix, pix = 10, 20.0
    # a galaxy at the centre of pixel [j=6, i=3]: all its mass in that pixel (x along columns)
    x, y = (3 - 4.5) * pix, (6 - 4.5) * pix
    sig = members_to_map([x], [y], [1e11], npix, pix, smoothing_r200=0)
    assert sig[6, 3] * pix**2 == pytest.approx(1e11)
    assert np.count_nonzero(sig) == 1
    # half a pixel to the right: split equally between columns 3 and 4
    sig = members_to_map([x + pix / 2], [y], [1e11], npix, pix, smoothing_r200=0)
    assert sig[6, 3] == pytest.approx(sig[6, 4]) and sig[6, 3] * pix**2 == pytest.approx(5e10)


def test_mass_limit_and_weights():
    npix, pix = 20, 50.0
    sig = members_to_map([0, 0], [0, 0], [5e9, 2e10], npix, pix, smoothing_r200=0)
    assert sig.sum() * pix**2 == pytest.approx(2e10)  # the 5e9 galaxy is below the limit
    sig = members_to_map([0, 0], [0, 0], [5e9, 2e10], npix, pix, smoothing_r200=0, mass_limit=1e9 * u.Msun)
    assert sig.sum() * pix**2 == pytest.approx(2.5e10)
    sig = members_to_map([0, 0], [0, 0], [2e10, 2e10], npix, pix, smoothing_r200=0, weights=[0.5, 0.25])
    assert sig.sum() * pix**2 == pytest.approx(1.5e10)
    with pytest.raises(ValueError, match="weights"):
        members_to_map([0], [0], [2e10], npix, pix, weights=[1.5])
    with pytest.raises(ValueError, match="finite"):
        members_to_map([np.nan], [0], [2e10], npix, pix)
    with pytest.raises(u.UnitsError, match="mass units"):
        members_to_map([0], [0], [2e10] * u.m, npix, pix)


def test_smoothing_width():
    # a single galaxy smoothed with FWHM = 0.2 R200 = 8 pixels: second moment sigma = 8 / 2.3548
    npix, pix = 80, 10.0
    sig = members_to_map([0.5 * pix], [0.5 * pix], [1e11], npix, pix, smoothing_r200=0.2)
    yy, xx = np.mgrid[0:npix, 0:npix]
    w = sig / sig.sum()
    cx = (w * xx).sum()
    var = (w * (xx - cx) ** 2).sum()
    assert np.sqrt(var) == pytest.approx(8 / 2.3548, rel=0.02)


def _frame_members(frame, rng, n=50):
    dra = rng.normal(0, 0.15, n) * frame.theta200
    ddec = rng.normal(0, 0.15, n) * frame.theta200
    coords = frame.center.spherical_offsets_by(dra, ddec)
    mstar = 10 ** rng.uniform(10.2, 11.5, n) * u.Msun
    return coords, mstar


def test_members_prepare_skycoord_column(frame, rng):
    coords, mstar = _frame_members(frame, rng)
    members = GalaxyMembers(QTable({"pos": coords, "mstar": mstar}), name="mock")
    view = members.prepare(frame)
    assert view.view == "stars" and view.unit == VIEW_UNITS["stars"]
    assert view.noise is None and not view.mask.any()
    assert view.beam_fwhm_r200 == pytest.approx(MEMBER_SMOOTHING_R200)
    # the same map as members_to_map on the pixel offsets: one code path
    x, y = members.pixel_offsets(frame)
    direct = members_to_map(x, y, mstar.value, frame.npix, frame.pixel_scale_kpc.value,
                            r200_kpc=frame.r200.value)
    assert np.allclose(view.data, direct)
    inside = (np.abs(x) < 0.8 * frame.r200.value) & (np.abs(y) < 0.8 * frame.r200.value)
    total = (view.quantity.sum() * frame.pixel_area).to_value(u.Msun)
    assert total == pytest.approx(mstar.value[inside].sum(), rel=0.02)


def test_members_orientation(frame):
    # a galaxy to the east (larger RA) appears at smaller column index (east is left)
    east = frame.center.spherical_offsets_by(0.5 * frame.theta200, 0 * u.deg)
    north = frame.center.spherical_offsets_by(0 * u.deg, 0.5 * frame.theta200)
    members = GalaxyMembers.from_arrays(SkyCoord([east, north]), mstar=[1e11, 1e11] * u.Msun)
    x, y = members.pixel_offsets(frame)
    assert x[0] < 0 and abs(y[0]) < 1 and y[1] > 0 and abs(x[1]) < 1
    view = members.prepare(frame, target_beam=0.0)
    j, i = np.unravel_index(np.argmax(view.data), view.data.shape)
    assert i < frame.npix / 2


def test_members_ra_dec_columns_and_variants(frame, rng):
    coords, mstar = _frame_members(frame, rng, 10)
    t = Table({"RAJ2000": coords.ra.deg, "DEJ2000": coords.dec.deg})
    t["logM"] = np.log10(mstar.value) * u.dex(u.Msun)
    t["P"] = np.full(10, 0.5)
    members = GalaxyMembers(t, mass_column="logM", probability_column="P")
    assert np.allclose(members.mstar.value, mstar.value)
    view = members.prepare(frame)
    full = GalaxyMembers(QTable({"ra": coords.ra, "dec": coords.dec, "mstar": mstar})).prepare(frame)
    assert np.allclose(view.data, 0.5 * full.data)


def test_positions_only_get_default_mass(frame, rng):
    from massrecon import OutOfDistributionWarning

    coords, _ = _frame_members(frame, rng, 20)
    # a catalogue of positions only cannot know its amplitude: it warns, naming the view
    with pytest.warns(OutOfDistributionWarning, match=r"^stars: .* scales with how deep the catalogue goes"):
        members = GalaxyMembers(QTable({"ra": coords.ra, "dec": coords.dec}))
    assert np.all(members.mstar == MEMBER_DEFAULT_MASS)
    # a mass per galaxy without the depth it belongs to is taken as complete above the map's limit, and says so
    with pytest.warns(MassreconWarning, match=r"^stars: .* no stated depth: default_mass is taken to mean"):
        members = GalaxyMembers(QTable({"ra": coords.ra, "dec": coords.dec}), default_mass=MEMBER_DEFAULT_MASS)
    assert np.all(members.mstar == MEMBER_DEFAULT_MASS)
    # stating the depth as well is the user's full statement: no warning
    members = GalaxyMembers(QTable({"ra": coords.ra, "dec": coords.dec}), default_mass=MEMBER_DEFAULT_MASS,
                            completeness_limit=MEMBER_MAP_MASS_LIMIT)
    assert members.depth_correction().status == "counts"


def test_members_bad_input(frame):
    with pytest.raises(ValueError, match=r"no SkyCoord column and no coordinate column\(s\) \['ra', 'dec'\]"):
        GalaxyMembers(QTable({"x": [1.0], "mstar": [1e11] * u.Msun}))
    with pytest.raises(ValueError, match=r"coordinate column\(s\) \['dec'\]"):
        GalaxyMembers(QTable({"ra": [1.0] * u.deg, "mstar": [1e11] * u.Msun}))
    with pytest.raises(u.UnitsError, match="stellar-mass column 'mstar' must have mass units"):
        GalaxyMembers(QTable({"ra": [1.0] * u.deg, "dec": [1.0] * u.deg, "mstar": [1e11] * u.km}))
    with pytest.raises(u.UnitsError, match="stellar-mass column 'mstar' has no unit"):
        GalaxyMembers(Table({"ra": [1.0], "dec": [1.0], "mstar": [1e11]}))
    with pytest.raises(u.UnitsError, match="coordinate column 'ra' must have angle units"):
        GalaxyMembers(QTable({"ra": [1.0] * u.m, "dec": [1.0] * u.deg}))
    with pytest.raises(ValueError, match="mass_column 'mass' is not in the table"):
        GalaxyMembers(QTable({"ra": [1.0] * u.deg, "dec": [1.0] * u.deg}), mass_column="mass")
    with pytest.raises(ValueError, match=r"membership probabilities \('p'\) must lie in \[0, 1\]"):
        GalaxyMembers(QTable({"ra": [1.0] * u.deg, "dec": [1.0] * u.deg, "p": [2.0]}), probability_column="p")
    with pytest.raises(TypeError, match="astropy Table"):
        GalaxyMembers({"ra": [1.0]})


def test_no_members_in_frame_warns(frame):
    far = GalaxyMembers.from_arrays(SkyCoord([10.0], [-30.0], unit="deg"), mstar=[1e11] * u.Msun)
    with pytest.warns(MassreconWarning, match="no galaxy above .* lies in the frame"):
        view = far.prepare(frame)
    assert np.all(view.data == 0)


def test_stellar_mass_image_units(frame):
    wcs = frame.with_npix(120, 3.0).wcs
    sigma = 2e6 * u.Msun / u.kpc**2
    per_arcsec2 = (sigma * (frame.angular_diameter_distance**2 / u.sr)).to(u.Msun / u.arcsec**2)
    data = np.full((120, 120), per_arcsec2.value) * per_arcsec2.unit
    img = StellarMassImage(data, wcs=wcs, beam=1 * u.arcsec)
    view = img.prepare(frame)
    # smoothed by default to the member maps' resolution
    assert view.beam_fwhm_r200 == pytest.approx(MEMBER_SMOOTHING_R200)
    assert np.allclose(view.data, 2e6, rtol=1e-6)
    # a coarser beam is kept as it is
    coarse = StellarMassImage(np.full((120, 120), 2.0) * u.Msun / u.pc**2, wcs=wcs, beam=0.1 * frame.theta200)
    view = coarse.prepare(frame)
    assert view.beam_fwhm_r200 == pytest.approx(0.1)
    assert np.allclose(view.data, 2e6)


def test_stellar_mass_from_magnitude_hand_calculation():
    import warnings

    import astropy.units as u
    import numpy as np
    import pytest
    from astropy.coordinates import SkyCoord
    from astropy.cosmology import Planck18

    from massrecon.exceptions import MassreconWarning
    from massrecon.observations import GalaxyMembers, stellar_mass_from_magnitude

    # Issue 16 audit: r = 17, z = 0.1, observed g - r = 0.8 -> 6.0e10 Msun (Chabrier).  K-corrections
    # of Chilingarian & Zolotukhin (2012, kcor.sai.msu.ru) K = sum a_xy z^x (g-r)^y, the published
    # coefficients a_xy (x = 1..5 rows, y = 0..3 columns) typed here for z = 0.1, g - r = 0.8.
    z, mag, gr = 0.1, 17.0, 0.8
    a_r = [[1.83285, -2.71446, 4.97336, -3.66864], [-19.7595, 10.5033, 18.8196, 6.07785],
           [33.6059, -120.713, -49.299, 0], [144.371, 216.453, 0, 0], [-295.39, 0, 0, 0]]
    a_g = [[-2.45204, 4.10188, 10.5258, -13.5889], [56.7969, -140.913, 144.572, 57.2155],
           [-466.949, 222.789, -917.46, -78.0591], [2906.77, 1500.8, 1689.97, 30.889],
           [-10453.7, -4419.56, -1011.01, 0], [17568, 3236.68, 0, 0], [-10820.7, 0, 0, 0]]
    k_r = sum(a * z ** (x + 1) * gr**y for x, row in enumerate(a_r) for y, a in enumerate(row))
    k_g = sum(a * z ** (x + 1) * gr**y for x, row in enumerate(a_g) for y, a in enumerate(row))
    assert k_r == pytest.approx(0.069, abs=1e-3)  # K_r ~ 0.07 mag at z = 0.1 for a red galaxy
    dl_pc = ((1 + z) * Planck18.comoving_distance(z)).to_value(u.pc)
    absmag = mag - 5 * np.log10(dl_pc / 10) - k_r
    log_ml = -0.306 + 1.097 * (gr - k_g + k_r) - 0.093  # Bell+03 table 7 (r, g-r), Chabrier
    expected = 10 ** (log_ml - 0.4 * (absmag - 4.65))
    got = stellar_mass_from_magnitude(mag, z, band="r", color_gr=gr)
    assert got.to_value(u.Msun) == pytest.approx(expected, rel=1e-9)
    assert got.to_value(u.Msun) == pytest.approx(6.0e10, rel=0.10)
    m = GalaxyMembers.from_magnitudes(SkyCoord([10.0], [5.0], unit="deg"), [mag], z, color_gr=[gr])
    assert m.mstar[0].to_value(u.Msun) == pytest.approx(expected, rel=1e-9)
    # IMF: diet Salpeter (0) and Kroupa (-0.15 dex, Bell+03 sec. 2.4) instead of Chabrier
    salpeter = stellar_mass_from_magnitude(mag, z, color_gr=gr, imf_offset=0.0)
    assert (got / salpeter).value == pytest.approx(10**-0.093)
    # g band: the g K-correction and the Bell+03 g-band M/L of the same rest-frame colour
    g = stellar_mass_from_magnitude(mag + gr, z, band="g", color_gr=gr)
    absmag_g = mag + gr - 5 * np.log10(dl_pc / 10) - k_g
    expected_g = 10 ** (-0.499 + 1.519 * (gr - k_g + k_r) - 0.093 - 0.4 * (absmag_g - 5.11))
    assert g.to_value(u.Msun) == pytest.approx(expected_g, rel=1e-9)
    # without a colour: the observed colour of the rest-frame red sequence (g - r = 0.75)
    from massrecon.physics import rest_frame_gr

    default = stellar_mass_from_magnitude([mag, mag], [0.05, 0.4])
    for zz, mass in zip([0.05, 0.4], default):
        lo, hi = 0.3, 2.2
        for _ in range(60):
            mid = 0.5 * (lo + hi)
            lo, hi = (mid, hi) if rest_frame_gr(zz, mid) < 0.75 else (lo, mid)
        assert mass.value == pytest.approx(stellar_mass_from_magnitude(mag, zz, color_gr=mid).value, rel=1e-9)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        stellar_mass_from_magnitude(16.0, 0.1, band="i", color_gr=gr)
    assert any(issubclass(w.category, MassreconWarning) and "no K-correction of i" in str(w.message)
               for w in caught)
    with pytest.raises(ValueError, match="band"):
        stellar_mass_from_magnitude(16.0, 0.1, band="u")
    with pytest.raises(ValueError, match="mag must be finite"):
        stellar_mass_from_magnitude(np.nan, 0.1)
    with pytest.raises(ValueError, match="z must be <= 0.5"):
        stellar_mass_from_magnitude(16.0, 0.6)


@pytest.mark.parametrize("tree", [False, True])
def test_cone_search_keeps_every_galaxy_that_reaches_the_frame(frame, rng, tree, monkeypatch):
    """A sky-wide catalogue gives the map of all its galaxies, those whose smoothing kernel
    reaches in from outside the frame included: the per-cluster cone search (a dot product per
    galaxy, or a k-d tree for long catalogues) loses nothing."""
    from massrecon.observations import members as members_module

    monkeypatch.setattr(members_module, "_KDTREE_MIN_GALAXIES", 0 if tree else 10**9)
    theta = frame.theta200.to_value(u.deg)
    n_near, n_far = 400, 5000
    # near: out to 3 R200 (beyond the frame's corners at 1.41 R200, within reach of the wide kernel)
    r = 3.0 * theta * np.sqrt(rng.uniform(0, 1, n_near))
    phi = rng.uniform(0, 2 * np.pi, n_near)
    near = frame.center.directional_offset_by(phi * u.rad, r * u.deg)
    far = SkyCoord(rng.uniform(0, 360, n_far), np.degrees(np.arcsin(rng.uniform(-1, 1, n_far))), unit="deg")
    coords = SkyCoord(np.concatenate([near.ra.deg, far.ra.deg]), np.concatenate([near.dec.deg, far.dec.deg]),
                      unit="deg")
    mstar = 10 ** rng.uniform(10, 11.5, coords.size) * u.Msun
    members = GalaxyMembers.from_arrays(coords, mstar=mstar, smoothing=1.0)
    view = members.prepare(frame)
    # every galaxy, projected with astropy's high-level WCS API (independent of the cone search)
    px, py = frame.wcs.world_to_pixel(coords)
    c, scale = (frame.npix - 1) / 2.0, frame.pixel_scale_kpc.to_value(u.kpc)
    x, y = (px - c) * scale, (py - c) * scale
    front = np.isfinite(x) & (coords.separation(frame.center) < 60 * u.deg)  # TAN: the front hemisphere
    direct = members_to_map(x[front], y[front], mstar.value[front], frame.npix, scale,
                            r200_kpc=frame.r200.to_value(u.kpc), smoothing_r200=1.0)
    assert direct[0, 0] > 0.05 * direct.max()  # the outside galaxies do reach the corners
    np.testing.assert_allclose(view.data, direct, rtol=1e-10, atol=1e-12 * direct.max())
    np.testing.assert_allclose(members.pixel_offsets(frame)[0][front], x[front], rtol=1e-9, atol=1e-6)


@pytest.mark.parametrize(("size_r200", "smoothing"), [(2.0, 1.49), (1.0, 1.49), (1.0, 0.6)])
def test_cone_search_reaches_the_kernels_square_corner(size_r200, smoothing):
    """The smoothing kernel is truncated on a square, so a galaxy nearly 4 sigma beyond the frame
    along both axes still adds to the corner pixel: the cone search must keep it."""
    from astropy.stats import gaussian_fwhm_to_sigma

    from massrecon import ClusterFrame

    f = ClusterFrame(SkyCoord(150, 2, unit="deg"), 0.2, m200=5e14 * u.Msun, npix=40, size_r200=size_r200)
    half = f.width_kpc.to_value(u.kpc) / 2
    sig = smoothing * f.r200.to_value(u.kpc) * gaussian_fwhm_to_sigma
    scale, c = f.pixel_scale_kpc.to_value(u.kpc), (f.npix - 1) / 2
    d = half + 4 * sig - 0.6 * scale
    coords = f.wcs.pixel_to_world([d / scale + c, c], [d / scale + c, c])
    mstar = np.array([1e12, 1e10])
    members = GalaxyMembers.from_arrays(coords, mstar=mstar * u.Msun, smoothing=smoothing)
    x, y = members.pixel_offsets(f)
    full = members_to_map(x, y, mstar, f.npix, scale, r200_kpc=f.r200.to_value(u.kpc), smoothing_r200=smoothing)
    single = members_to_map(x[1:], y[1:], mstar[1:], f.npix, scale, r200_kpc=f.r200.to_value(u.kpc),
                            smoothing_r200=smoothing)
    assert full[-1, -1] > single[-1, -1]  # the far galaxy does reach the corner
    np.testing.assert_allclose(members.prepare(f).data, full, rtol=1e-10, atol=0)


def test_smoothing_at_the_supported_limit_is_accepted(frame):
    members = GalaxyMembers.from_arrays(SkyCoord([150.0], [2.0], unit="deg"), mstar=[1e11] * u.Msun, smoothing=1.5)
    assert members.prepare(frame).beam_fwhm_r200 == pytest.approx(1.5)


def test_depth_corrected_masses_errors_and_central():
    from massrecon.observations.members import depth_corrected_masses

    x, y, m = np.array([0.0, 800.0]), np.zeros(2), np.array([5e11, 2e11])
    out = depth_corrected_masses(x, y, m, 1e11, 2.0, 1500.0)
    assert out[0] == 5e11 and out[1] == 4e11  # the central is not scaled, the satellite is
    with pytest.raises(ValueError, match="factor must be finite and > 0"):
        depth_corrected_masses(x, y, m, 1e11, np.nan, 1500.0)
    with pytest.raises(ValueError, match="one shape"):
        depth_corrected_masses(x[:1], y, m, 1e11, 2.0, 1500.0)
