"""The observation contract (`ObservationBase`) and the validated attributes of the classes."""

import astropy.units as u
import numpy as np
import pytest
from astropy.table import QTable

from massrecon.contract import FRAME_SIZE_R200, VIEW_UNITS, VIEWS
from massrecon.observations import (
    ComptonYMap,
    GalaxyMembers,
    HealpixComptonYMap,
    Observation,
    ObservationBase,
    PreparedView,
    StellarMassImage,
    XrayImage,
    members_to_map,
)

BEAM = 2 * u.arcmin


def _observations(frame):
    wide = frame.with_npix(60, 3.0)
    flat = np.ones(wide.array_shape)
    members = QTable({"ra": [150.0, 150.01] * u.deg, "dec": [2.0, 2.01] * u.deg, "mstar": [2e11, 5e10] * u.Msun})
    return [
        ComptonYMap(1e-5 * flat, wcs=wide.wcs, beam=BEAM),
        HealpixComptonYMap(np.full(12 * 256**2, 1e-5), beam=BEAM, frame="icrs"),
        XrayImage(1e-9 * flat * u.erg / u.s / u.cm**2 / u.sr, wcs=wide.wcs, beam=BEAM, kT=5 * u.keV),
        StellarMassImage(1e6 * flat * u.Msun / u.kpc**2, wcs=wide.wcs, beam=BEAM),
        GalaxyMembers(members, smoothing=BEAM),
    ]


def test_every_observation_implements_the_contract(small_frame):
    for obs in _observations(small_frame):
        label = type(obs).__name__
        assert isinstance(obs, ObservationBase), label
        assert obs.view in VIEWS, label
        assert obs.beam == BEAM, label
        assert obs.beam_r200(small_frame) == pytest.approx(float(BEAM / small_frame.theta200), rel=1e-12), label
        view = obs.prepare(small_frame)
        assert isinstance(view, PreparedView) and view.view == obs.view, label
        assert view.unit == VIEW_UNITS[obs.view] and view.data.shape == small_frame.array_shape, label
        with pytest.raises(TypeError, match="frame must be a massrecon.ClusterFrame"):
            obs.beam_r200("not a frame")


def test_the_contract_is_abstract():
    with pytest.raises(TypeError, match="abstract"):
        ObservationBase()

    class NoPrepare(ObservationBase):
        view = "sz"

    with pytest.raises(TypeError, match="abstract"):
        NoPrepare()
    with pytest.raises(TypeError, match=r"Bad.view must be one of \('sz', 'xray', 'stars'\), got 'radio'"):
        type("Bad", (ObservationBase,), {"view": "radio"})


def test_a_custom_observation(small_frame):
    """Subclassing the base and implementing prepare is all a new kind of data needs."""

    class Flat(ObservationBase):
        view = "xray"

        def __init__(self, value, beam):
            self.value = value
            self.beam = beam

        def prepare(self, frame, target_beam=None):
            data = np.full(frame.array_shape, self.value)
            return PreparedView(self.view, data, VIEW_UNITS[self.view], None, np.zeros(data.shape, bool),
                                self.beam_r200(frame))

    obs = Flat(1e35, 0.1 * small_frame.theta200)
    assert obs.prepare(small_frame).beam_fwhm_r200 == pytest.approx(0.1)
    with pytest.raises(ValueError, match="Flat: beam is required"):
        Flat(1e35, None)
    with pytest.raises(u.UnitsError, match="Flat: beam must be a Quantity with angle units"):
        Flat(1e35, 3.0)


def test_healpix_map_shares_the_beam_and_mask_logic(small_frame):
    """Same beam checks and messages as the images, from the same code."""
    sky = np.full(12 * 64**2, 1e-5)
    with pytest.raises(ValueError, match="HealpixComptonYMap: beam must be finite and >= 0"):
        HealpixComptonYMap(sky, beam=-1 * u.arcmin)
    with pytest.raises(ValueError, match=r"HealpixComptonYMap: mask must have the shape of the map \(49152,\)"):
        HealpixComptonYMap(sky, beam=BEAM, mask=np.zeros(10, bool))
    with pytest.raises(ValueError, match="HealpixComptonYMap: noise .* must be >= 0"):
        HealpixComptonYMap(sky, beam=BEAM, noise=-np.ones(sky.size))
    with pytest.raises(u.UnitsError, match="HealpixComptonYMap: noise has unit 'K'"):
        HealpixComptonYMap(sky, beam=BEAM, noise=np.ones(sky.size) * u.K)
    bad = sky.copy()
    bad[:3] = np.inf
    with pytest.raises(ValueError, match=r"the map \(or noise\) has 3 NaN/inf pixels that are not masked"):
        HealpixComptonYMap(bad, beam=BEAM)
    hp = HealpixComptonYMap(bad, beam=BEAM, mask_invalid=True)
    assert np.isnan(hp._array[:3]).all() and np.isfinite(hp._array[3:]).all()
    coarse = HealpixComptonYMap(sky, beam=2 * small_frame.theta200)
    with pytest.raises(ValueError, match="the model supports beams"):
        coarse.prepare(small_frame)


def test_attributes_are_validated_and_read_only(small_frame):
    ymap = _observations(small_frame)[0]
    with pytest.raises(AttributeError, match="ComptonYMap.beam is read-only"):
        ymap.beam = 3 * u.arcmin
    wide = small_frame.with_npix(20, 3.0)
    sb = np.ones((20, 20)) * u.erg / u.s / u.cm**2 / u.sr
    with pytest.raises(u.UnitsError, match="XrayImage: kT must have energy"):
        XrayImage(sb, wcs=wide.wcs, beam=BEAM, kT=5 * u.m)
    with pytest.raises(ValueError, match="XrayImage: absorption_correction must be finite and > 0"):
        XrayImage(sb, wcs=wide.wcs, beam=BEAM, absorption_correction=0)
    with pytest.raises(ValueError, match=r"XrayImage: band must be two energies \(E1, E2\) with E1 < E2"):
        XrayImage(sb, wcs=wide.wcs, beam=BEAM, band=[2, 0.5] * u.keV)
    members = QTable({"ra": [150.0] * u.deg, "dec": [2.0] * u.deg, "mstar": [4e10] * u.Msun})
    with pytest.raises(ValueError, match="GalaxyMembers: smoothing must be finite and >= 0"):
        GalaxyMembers(members, smoothing=-0.1)
    with pytest.raises(u.UnitsError, match="GalaxyMembers: smoothing must be a fraction of R200"):
        GalaxyMembers(members, smoothing=1 * u.kpc)
    with pytest.raises(u.UnitsError, match="GalaxyMembers: mass_limit must have mass units"):
        GalaxyMembers(members, mass_limit=1 * u.kpc)
    assert GalaxyMembers(members, mass_limit=1e9).mass_limit == 1e9 * u.Msun
    assert GalaxyMembers(members, smoothing=30 * u.arcsec).beam == 0.5 * u.arcmin
    assert isinstance(Observation.beam.__doc__, str) and "FWHM" in Observation.beam.__doc__


def test_member_map_default_r200_is_the_frames():
    """Without r200_kpc the frame is the model's, FRAME_SIZE_R200 across."""
    x, y = [0.0, 120.0], [0.0, -40.0]
    npix, pix = 40, 25.0
    default = members_to_map(x, y, [1e11, 5e10], npix, pix)
    explicit = members_to_map(x, y, [1e11, 5e10], npix, pix, r200_kpc=npix * pix / FRAME_SIZE_R200)
    np.testing.assert_array_equal(default, explicit)
