"""Compton-y maps: reprojection accuracy (TAN, CAR, HEALPix), reading, and bad input."""

import astropy.units as u
import numpy as np
import pytest
from astropy.coordinates import SkyCoord
from astropy.io import fits
from astropy.wcs import WCS
from astropy_healpix import HEALPix

from massrecon import ClusterFrame
from massrecon.observations import PLANCK_Y_BEAM, ComptonYMap, HealpixComptonYMap, PreparedView

from .helpers import beta_y, frame_theta_r200, tan_wcs

# pixels compared: within R200, away from the centre
_R_MIN, _R_MAX = 0.1, 1.0


def _analytic_on_grid(wcs, shape, frame):
    ny, nx = shape
    yy, xx = np.mgrid[0:ny, 0:nx]
    sky = wcs.pixel_to_world(xx, yy)
    return beta_y((sky.separation(frame.center) / frame.theta200).decompose().value)


def _check_accuracy(view, frame, rtol=0.01):
    assert isinstance(view, PreparedView)
    assert view.view == "sz" and view.unit == u.one
    assert view.data.dtype == np.float64 and view.data.shape == frame.array_shape
    r = frame_theta_r200(frame)
    truth = beta_y(r)
    sel = (r >= _R_MIN) & (r <= _R_MAX)
    assert not view.mask[sel].any()
    rel = np.abs(view.data[sel] / truth[sel] - 1)
    assert rel.max() < rtol, rel.max()


def test_rotated_tan_grid(frame):
    # finer pixels than the frame's (0.7x), rotated by 30 degrees, centre offset by a few pixels
    pix = 0.7 * frame.pixel_scale.to_value(u.deg)
    center = frame.center.spherical_offsets_by(0.1 * frame.theta200, -0.05 * frame.theta200)
    wcs = tan_wcs(center, pix, 170, rotation_deg=30.0)
    ymap = ComptonYMap(_analytic_on_grid(wcs, (170, 170), frame), wcs=wcs, beam=0 * u.arcmin)
    view = ymap.prepare(frame)
    _check_accuracy(view, frame)
    assert view.beam_fwhm_r200 == 0.0
    assert view.noise is None


def test_galactic_car_grid_with_block_averaging(frame):
    # a Galactic plate-carree map whose pixels are 4x finer than the frame's: block-averaged first
    gal = frame.center.galactic
    pix = frame.pixel_scale.to_value(u.deg) / 4
    nlat = int(2.4 * frame.theta200.to_value(u.deg) / pix)
    nlon = int(nlat / np.cos(gal.b.rad))
    w = WCS(naxis=2)
    w.wcs.ctype = ["GLON-CAR", "GLAT-CAR"]
    w.wcs.crval = [gal.l.deg, 0.0]
    w.wcs.cdelt = [-pix, pix]
    w.wcs.crpix = [(nlon + 1) / 2, (nlat + 1) / 2 - gal.b.deg / pix]
    w.wcs.set()
    ymap = ComptonYMap(_analytic_on_grid(w, (nlat, nlon), frame), wcs=w, beam=0 * u.arcmin, name="car")
    _check_accuracy(ymap.prepare(frame), frame)


def test_healpix_map():
    # a nearby cluster (theta200 ~ 2.7 deg) on a 12-pixel frame; Nside 512 pixels (6.9') are ~4x
    # smaller than the frame's (26.6'); the analytic profile is evaluated at the HEALPix centres
    frame = ClusterFrame(SkyCoord(194.95, 27.98, unit="deg"), 0.01, m500=6e14 * u.Msun, npix=12)
    hp = HEALPix(nside=512, order="ring", frame="galactic")
    ratio = (frame.pixel_scale / hp.pixel_resolution).decompose()
    assert 3.5 < ratio < 4.5
    values = np.full(hp.npix, -1.6375e30, dtype=np.float32)  # UNSEEN outside the patch
    idx = hp.cone_search_skycoord(frame.center, 2.5 * frame.theta200)
    sep = hp.healpix_to_skycoord(idx).separation(frame.center)
    values[idx] = beta_y((sep / frame.theta200).decompose().value)
    ymap = HealpixComptonYMap(values, beam=PLANCK_Y_BEAM, frame="galactic", nested=False)
    view = ymap.prepare(frame)
    _check_accuracy(view, frame)
    assert not view.mask.any()
    assert view.beam_fwhm_r200 == pytest.approx(float(PLANCK_Y_BEAM / frame.theta200))


@pytest.fixture
def healpix_file(tmp_path):
    nside = 64
    hp = HEALPix(nside=nside, order="nested", frame="galactic")
    lon, lat = hp.healpix_to_lonlat(np.arange(hp.npix))
    values = (1e-6 * (1 + 0.1 * np.sin(lon.rad) * np.cos(lat.rad))).astype(np.float32)
    col = fits.Column(name="Y", format="1024E", array=values.reshape(-1, 1024))
    hdu = fits.BinTableHDU.from_columns([col])
    hdu.header.update(PIXTYPE="HEALPIX", ORDERING="NESTED", COORDSYS="G", NSIDE=nside, INDXSCHM="IMPLICIT")
    path = tmp_path / "y_healpix.fits"
    fits.HDUList([fits.PrimaryHDU(), hdu]).writeto(path)
    return path, values


def test_healpix_from_file_reads_once(healpix_file, monkeypatch):
    path, values = healpix_file
    ymap = ComptonYMap.from_healpix(path, beam=PLANCK_Y_BEAM, name="planck-like")
    assert ymap.nside == 64 and ymap.nested and ymap.coordsys == "galactic"
    assert "nside=64" in repr(ymap)

    # cutting frames must not touch the file again
    def no_reading(*args, **kwargs):
        raise AssertionError("the HEALPix file was opened again")

    monkeypatch.setattr(fits, "open", no_reading)
    hp = HEALPix(nside=64, order="nested", frame="galactic")
    for ra in (10.0, 80.0, 200.0):
        frame = ClusterFrame(SkyCoord(ra, 30.0, unit="deg"), 0.01, m500=5e14 * u.Msun, npix=8)
        view = ymap.prepare(frame)
        expected = values[hp.skycoord_to_healpix(frame.center)]
        assert np.nanmean(view.data) == pytest.approx(expected, rel=0.02)


def test_healpix_errors():
    with pytest.raises(ValueError, match="not a HEALPix map"):
        HealpixComptonYMap(np.zeros(100), beam=PLANCK_Y_BEAM)
    with pytest.raises(ValueError, match="beam is required"):
        HealpixComptonYMap(np.zeros(12 * 4**2))
    with pytest.raises(u.UnitsError, match="dimensionless"):
        HealpixComptonYMap(np.zeros(12 * 4**2) * u.K, beam=PLANCK_Y_BEAM)
    nan_map = np.zeros(12 * 4**2)
    nan_map[3] = np.nan
    with pytest.raises(ValueError, match="NaN/inf"):
        HealpixComptonYMap(nan_map, beam=PLANCK_Y_BEAM)
    HealpixComptonYMap(nan_map, beam=PLANCK_Y_BEAM, mask_invalid=True)
    # a map without data around the cluster
    empty = np.full(12 * 16**2, np.nan)
    ymap = HealpixComptonYMap(empty, beam=PLANCK_Y_BEAM, mask_invalid=True, name="empty")
    frame = ClusterFrame(SkyCoord(10.0, 30.0, unit="deg"), 0.01, m500=5e14 * u.Msun, npix=8)
    with pytest.raises(ValueError, match="'empty'.*footprint"):
        ymap.prepare(frame)


def test_read_fits_image(tmp_path, small_frame):
    wcs = small_frame.with_npix(48, 3.0).wcs
    data = np.full((48, 48), 3e-6, dtype=np.float32)
    hdr = wcs.to_header()
    hdr["OBJECT"] = "A mock"
    fits.PrimaryHDU(data, header=hdr).writeto(tmp_path / "y.fits")
    ymap = ComptonYMap.read(tmp_path / "y.fits", beam=1.5 * u.arcmin)
    assert ymap.name == "A mock" and ymap.unit == u.one
    assert np.nanmean(ymap.prepare(small_frame).data) == pytest.approx(3e-6, rel=1e-6)

    hdr["BUNIT"] = "K"
    fits.PrimaryHDU(data, header=hdr).writeto(tmp_path / "t.fits")
    with pytest.raises(u.UnitsError, match="ComptonYMap: data has unit 'K', expected a dimensionless"):
        ComptonYMap.read(tmp_path / "t.fits", beam=1.5 * u.arcmin)


def test_scaled_dimensionless_unit(small_frame):
    wcs = small_frame.with_npix(48, 3.0).wcs
    ymap = ComptonYMap(np.full((48, 48), 5.0), wcs=wcs, beam=1 * u.arcmin, unit=u.Unit(1e-6))
    assert np.nanmean(ymap.prepare(small_frame).data) == pytest.approx(5e-6)


def test_wrong_units_for_y(small_frame):
    wcs = small_frame.with_npix(48, 3.0).wcs
    with pytest.raises(u.UnitsError, match="expected a dimensionless Compton-y map"):
        ComptonYMap(np.ones((48, 48)) * u.uK, wcs=wcs, beam=1 * u.arcmin)


def test_filtered_map_carries_its_equivalent_high_pass():
    # a ground-based map with its transfer function: the prepared view says how it is filtered
    # (dispersion of the equivalent Gaussian high-pass in R200 of the frame), so the model is told
    import warnings as _w

    from massrecon.observations import TransferFunction

    frame = ClusterFrame(SkyCoord(150.0, 2.0, unit="deg"), 0.3, m500=5e14 * u.Msun, npix=32)
    wcs = frame.with_npix(64, 3.0).wcs
    plain = ComptonYMap(np.full((64, 64), 1e-5), wcs=wcs, beam=1 * u.arcmin)
    with _w.catch_warnings():
        _w.simplefilter("error")
        assert plain.prepare(frame).highpass_r200 is None  # unfiltered
    filtered = ComptonYMap(np.full((64, 64), 1e-5), wcs=wcs, beam=1 * u.arcmin,
                           transfer_function=TransferFunction.high_pass(4 * u.arcmin), name="ACT cut-out")
    pv = filtered.prepare(frame)
    expected = float((4 * u.arcmin / frame.theta200).decompose())
    assert pv.highpass_r200 == pytest.approx(expected, rel=1e-3)
    # a 1-D table of the same filter gives the same scale
    k = np.linspace(0, 2, 401) / u.arcmin
    table = TransferFunction.from_table(TransferFunction.high_pass(4 * u.arcmin).evaluate(k), k=k)
    assert table.equivalent_high_pass().to_value(u.arcmin) == pytest.approx(4.0, rel=1e-2)
    with pytest.raises(TypeError, match="transfer_function must be a massrecon.observations.TransferFunction"):
        ComptonYMap(np.full((64, 64), 1e-5), wcs=wcs, beam=1 * u.arcmin, transfer_function="4 arcmin")
