"""The Observation base class: validation, footprints, masks, beams and noise."""

import astropy.units as u
import numpy as np
import pytest
from astropy.coordinates import SkyCoord
from astropy.nddata import CCDData, NDData, StdDevUncertainty
from astropy.stats import gaussian_fwhm_to_sigma
from astropy.wcs import WCS

from massrecon import ClusterFrame
from massrecon.contract import SUPPORTED_BEAM_R200, VIEW_UNITS
from massrecon.observations import (
    ComptonYMap,
    Observation,
    PreparedView,
    StellarMassImage,
    XrayImage,
)

from .helpers import frame_theta_r200, tan_wcs


def _ymap(frame, n=60, size_r200=3.0, value=1e-5, **kwargs):
    wcs = frame.with_npix(n, size_r200).wcs
    kwargs.setdefault("beam", 1 * u.arcmin)
    return ComptonYMap(np.full((n, n), value), wcs=wcs, **kwargs)


def test_prepared_view_contents(small_frame):
    view = _ymap(small_frame).prepare(small_frame)
    assert isinstance(view, PreparedView)
    assert view.data.shape == small_frame.array_shape and view.data.dtype == np.float64
    assert view.mask.dtype == bool and not view.mask.any()
    assert view.unit == VIEW_UNITS["sz"]
    assert view.beam_fwhm_r200 == pytest.approx(float(1 * u.arcmin / small_frame.theta200))
    assert np.all(view.filled() == view.data)


def test_base_class_cannot_be_used(small_frame):
    with pytest.raises(TypeError, match="base class"):
        Observation(np.ones((4, 4)), wcs=small_frame.wcs, beam=1 * u.arcmin)


# --- WCS -------------------------------------------------------------------------------------
def test_missing_wcs():
    with pytest.raises(ValueError, match="wcs is required"):
        ComptonYMap(np.ones((10, 10)), beam=1 * u.arcmin)


def test_non_celestial_wcs():
    w = WCS(naxis=2)
    w.wcs.ctype = ["FREQ", "STOKES"]
    with pytest.raises(ValueError, match="wcs must be a celestial WCS"):
        ComptonYMap(np.ones((10, 10)), wcs=w, beam=1 * u.arcmin)
    with pytest.raises(TypeError, match="wcs must be an astropy.wcs.WCS"):
        ComptonYMap(np.ones((10, 10)), wcs="RA---TAN", beam=1 * u.arcmin)


def test_celestial_part_of_a_cube_wcs(small_frame):
    w = WCS(naxis=3)
    w.wcs.ctype = ["RA---TAN", "DEC--TAN", "FREQ"]
    cel = small_frame.with_npix(60, 3.0).wcs
    w.wcs.crval = [*cel.wcs.crval, 1e11]
    w.wcs.crpix = [*cel.wcs.crpix, 1]
    w.wcs.cdelt = [*cel.wcs.cdelt, 1e9]
    ymap = ComptonYMap(np.full((60, 60), 2e-6), wcs=w, beam=1 * u.arcmin)
    assert ymap.wcs.naxis == 2
    assert np.nanmean(ymap.prepare(small_frame).data) == pytest.approx(2e-6)


def test_fits_header_as_wcs(small_frame):
    hdr = small_frame.with_npix(60, 3.0).wcs.to_header()
    ymap = ComptonYMap(np.full((60, 60), 2e-6), wcs=hdr, beam=1 * u.arcmin)
    assert np.nanmean(ymap.prepare(small_frame).data) == pytest.approx(2e-6)


# --- footprint and masks ---------------------------------------------------------------------
def test_frame_outside_footprint(small_frame):
    far = ClusterFrame(SkyCoord(10.0, -40.0, unit="deg"), 0.2, m500=5e14 * u.Msun, npix=24)
    ymap = _ymap(far, name="ACT patch")
    msg = "ComptonYMap 'ACT patch': the frame .* outside the observation's footprint"
    with pytest.raises(ValueError, match=msg):
        ymap.prepare(small_frame)


def test_frame_partly_outside_footprint(small_frame):
    # the map covers only the eastern (left) 40% of the frame
    n = 24
    wcs = tan_wcs(small_frame.center.spherical_offsets_by(1.2 * small_frame.theta200, 0 * u.deg),
                  small_frame.pixel_scale.to_value(u.deg), n)
    ymap = ComptonYMap(np.full((n, n), 1e-5), wcs=wcs, beam=1 * u.arcmin, name="edge")
    msg = r"'edge': \d+% of the frame's pixels within R200 are masked or outside"
    with pytest.raises(ValueError, match=msg):
        ymap.prepare(small_frame)


def test_pixels_outside_footprint_are_masked(small_frame):
    # a map covering the frame except its western quarter: those pixels are masked
    n = 24
    pix = small_frame.pixel_scale.to_value(u.deg)
    centre = small_frame.center.spherical_offsets_by(0.25 * small_frame.theta200, 0 * u.deg)
    ymap = ComptonYMap(np.full((n, 20), 1e-5), wcs=tan_wcs(centre, pix, n)[:, 0:20], beam=1 * u.arcmin)
    view = ymap.prepare(small_frame)
    assert view.mask.any() and not view.mask.all()
    assert np.all(np.isnan(view.data[view.mask]))
    assert np.allclose(view.data[~view.mask], 1e-5)


def test_more_than_half_masked(small_frame):
    mask = np.zeros((60, 60), bool)
    mask[:, :36] = True  # everything left of the frame's centre, and more
    ymap = _ymap(small_frame, n=60, mask=mask, name="masked")
    with pytest.raises(ValueError, match="'masked': .* within R200 are masked"):
        ymap.prepare(small_frame)


def test_small_mask_is_carried(small_frame):
    mask = np.zeros((60, 60), bool)
    mask[30, 30] = True
    view = _ymap(small_frame, mask=mask).prepare(small_frame)
    assert 1 <= view.mask.sum() <= 9
    assert view.mask[frame_theta_r200(small_frame) < 0.1].any()


# --- data validation -------------------------------------------------------------------------
@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_non_finite_data(small_frame, bad):
    data = np.full((60, 60), 1e-5)
    data[10, 12] = bad
    wcs = small_frame.with_npix(60, 3.0).wcs
    with pytest.raises(ValueError, match="1 NaN/inf pixels that are not masked"):
        ComptonYMap(data, wcs=wcs, beam=1 * u.arcmin)
    ymap = ComptonYMap(data, wcs=wcs, beam=1 * u.arcmin, mask_invalid=True)
    assert ymap.mask[10, 12] and ymap.mask.sum() == 1
    # a NaN that is already masked is fine
    mask = np.zeros((60, 60), bool)
    mask[10, 12] = True
    ComptonYMap(data, wcs=wcs, beam=1 * u.arcmin, mask=mask).prepare(small_frame)


def test_non_finite_noise(small_frame):
    noise = np.full((60, 60), 1e-6)
    noise[0, 0] = np.nan
    with pytest.raises(ValueError, match="NaN/inf"):
        _ymap(small_frame, noise=noise)


def test_shape_and_type_errors(small_frame):
    wcs = small_frame.with_npix(60, 3.0).wcs
    with pytest.raises(ValueError, match="2-D image"):
        ComptonYMap(np.ones(60), wcs=wcs, beam=1 * u.arcmin)
    with pytest.raises(ValueError, match="mask must have the shape"):
        ComptonYMap(np.ones((60, 60)), wcs=wcs, beam=1 * u.arcmin, mask=np.zeros((5, 5), bool))
    with pytest.raises(ValueError, match="noise must have the shape"):
        ComptonYMap(np.ones((60, 60)), wcs=wcs, beam=1 * u.arcmin, noise=np.ones((5, 5)))
    with pytest.raises(ValueError, match="noise .* must be >= 0"):
        ComptonYMap(np.ones((60, 60)), wcs=wcs, beam=1 * u.arcmin, noise=-np.ones((60, 60)))
    with pytest.raises(TypeError, match="frame must be a massrecon.ClusterFrame"):
        _ymap(small_frame).prepare("frame")


@pytest.mark.parametrize(
    ("cls", "unit", "expected"),
    [
        (ComptonYMap, u.K, "dimensionless Compton-y"),
        (XrayImage, u.Jy, "X-ray surface brightness"),
        (XrayImage, u.erg / u.s / u.cm**2, "X-ray surface brightness"),
        (StellarMassImage, u.Msun, "stellar-mass surface density"),
        (StellarMassImage, u.Msun / u.kpc**3, "stellar-mass surface density"),
    ],
)
def test_wrong_units_for_each_view(small_frame, cls, unit, expected):
    wcs = small_frame.with_npix(60, 3.0).wcs
    with pytest.raises(u.UnitsError, match=f"{cls.__name__}: data has unit .*expected an? {expected}"):
        cls(np.ones((60, 60)) * unit, wcs=wcs, beam=1 * u.arcmin)


def test_plain_array_without_unit(small_frame):
    wcs = small_frame.with_npix(60, 3.0).wcs
    with pytest.raises(u.UnitsError, match="XrayImage: data has no unit"):
        XrayImage(np.ones((60, 60)), wcs=wcs, beam=1 * u.arcmin)


def test_noise_units(small_frame):
    wcs = small_frame.with_npix(60, 3.0).wcs
    unit = u.Msun / u.kpc**2
    with pytest.raises(u.UnitsError, match="noise has unit"):
        StellarMassImage(np.ones((60, 60)) * unit, wcs=wcs, beam=1 * u.arcmin, noise=np.ones((60, 60)) * u.K)
    img = StellarMassImage(np.ones((60, 60)) * unit, wcs=wcs, beam=1 * u.arcmin,
                           noise=np.full((60, 60), 1e3) * u.Msun / u.pc**2)
    assert img.noise.unit == unit and img.noise[0, 0].value == pytest.approx(1e9)


def test_nddata_input(small_frame):
    wcs = small_frame.with_npix(60, 3.0).wcs
    nd = CCDData(np.full((60, 60), 4e-6), unit=u.one, wcs=wcs,
                 uncertainty=StdDevUncertainty(np.full((60, 60), 1e-6)))
    ymap = ComptonYMap(nd, beam=2 * u.arcmin)
    assert isinstance(ymap, NDData)
    view = ymap.prepare(small_frame)
    assert np.nanmean(view.data) == pytest.approx(4e-6)
    # same pixel size, shifted by half a pixel: the interpolation averages neighbouring pixels
    assert np.all((view.noise >= 0.5e-6 - 1e-15) & (view.noise <= 1e-6 + 1e-15))


# --- beams -----------------------------------------------------------------------------------
def test_beam_missing_or_not_an_angle(small_frame):
    wcs = small_frame.with_npix(60, 3.0).wcs
    with pytest.raises(ValueError, match="ComptonYMap: beam is required"):
        ComptonYMap(np.ones((60, 60)), wcs=wcs)
    with pytest.raises(u.UnitsError, match="beam must be a Quantity with angle units"):
        ComptonYMap(np.ones((60, 60)), wcs=wcs, beam=100 * u.kpc)
    with pytest.raises(u.UnitsError, match="beam must be a Quantity with angle units"):
        ComptonYMap(np.ones((60, 60)), wcs=wcs, beam=1.0)
    with pytest.raises(ValueError, match="beam must be finite and >= 0"):
        ComptonYMap(np.ones((60, 60)), wcs=wcs, beam=-1 * u.arcmin)


def test_beam_too_coarse(small_frame):
    beam = 1.6 * small_frame.theta200
    ymap = _ymap(small_frame, beam=beam, name="coarse")
    msg = r"'coarse': beam FWHM .* is 1.6 R200 .*supports beams of 0 to 1.5 R200"
    with pytest.raises(ValueError, match=msg):
        ymap.prepare(small_frame)
    assert SUPPORTED_BEAM_R200 == (0.0, 1.5)


def test_target_beam_finer_than_beam(small_frame):
    ymap = _ymap(small_frame, beam=2 * u.arcmin)
    msg = "target_beam 1 arcmin .* is finer than the observation's beam 2 arcmin"
    with pytest.raises(ValueError, match=msg):
        ymap.prepare(small_frame, target_beam=1 * u.arcmin)
    with pytest.raises(u.UnitsError, match="target_beam"):
        ymap.prepare(small_frame, target_beam=1 * u.kpc)


def test_target_beam_matching(frame):
    """A Gaussian source of FWHM b smoothed to FWHM t is a Gaussian of FWHM t with the same flux."""
    b, t = 0.1 * frame.theta200, 0.25 * frame.theta200
    n, size = 160, 4.0
    big = frame.with_npix(n, size)
    r_deg = frame_theta_r200(big) * frame.theta200.to_value(u.deg)

    def gauss(fwhm, r):
        s = (fwhm * gaussian_fwhm_to_sigma).to_value(u.deg)
        return np.exp(-0.5 * (r / s) ** 2) / (2 * np.pi * s**2)

    ymap = ComptonYMap(gauss(b, r_deg), wcs=big.wcs, beam=b)
    view = ymap.prepare(frame, target_beam=0.25)  # a fraction of R200
    assert view.beam_fwhm_r200 == pytest.approx(0.25)
    expected = gauss(t, frame_theta_r200(frame) * frame.theta200.to_value(u.deg))
    peak = expected.max()
    assert np.max(np.abs(view.data - expected)) < 0.01 * peak
    # the same with an angle, and "no smoothing" when the target equals the beam
    view2 = ymap.prepare(frame, target_beam=t)
    assert np.allclose(view2.data, view.data)
    view3 = ymap.prepare(frame, target_beam=b)
    assert view3.beam_fwhm_r200 == pytest.approx(0.1)


# --- noise -----------------------------------------------------------------------------------
def test_noise_through_reprojection_and_binning(small_frame):
    # same pixel size as the frame: the noise level is kept
    ymap = _ymap(small_frame, n=36, size_r200=3.0, noise=np.full((36, 36), 2e-6))
    view = ymap.prepare(small_frame)
    assert np.allclose(view.noise, 2e-6)
    # 3x finer pixels: block-averaged 3x3 before reprojection, noise / 3
    ymap = _ymap(small_frame, n=108, size_r200=3.0, noise=np.full((108, 108), 2e-6))
    view = ymap.prepare(small_frame)
    assert np.allclose(view.noise, 2e-6 / 3)


def test_noise_after_smoothing(small_frame, rng):
    # white noise smoothed by a Gaussian: the propagated std matches the empirical one
    n = 36
    sigma = 1e-6
    data = rng.normal(0, sigma, (n * 8, n * 8)) + 1e-5
    wcs = small_frame.with_npix(n * 8, 24.0).wcs  # same pixels as the frame, 8x wider
    ymap = ComptonYMap(data, wcs=wcs, beam=0 * u.arcmin, noise=np.full(data.shape, sigma))
    big = small_frame.with_npix(n * 4, 12.0)
    view = ymap.prepare(big, target_beam=4 * big.pixel_scale)
    assert view.noise[70, 70] == pytest.approx(np.nanstd(view.data[20:-20, 20:-20]), rel=0.15)
