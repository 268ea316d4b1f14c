"""Putting images on frames: the WCS-to-WCS pixel mapping and the cut-outs."""

import numpy as np
import pytest
from astropy.wcs import WCS
from astropy.wcs.utils import pixel_to_pixel as astropy_pixel_to_pixel

from massrecon.observations._regrid import cutout_slices, pixel_to_pixel


def _wcs(ctype, crval, cdelt=(-0.01, 0.01), crpix=(50, 50), shape=(100, 100)):
    w = WCS(naxis=2)
    w.wcs.ctype = list(ctype)
    w.wcs.crval = list(crval)
    w.wcs.cdelt = list(cdelt)
    w.wcs.crpix = list(crpix)
    w.wcs.set()
    w.pixel_shape = shape
    return w


@pytest.mark.parametrize("other", [
    _wcs(["RA---CAR", "DEC--CAR"], [150.2, 2.1], cdelt=(-0.007, 0.007), crpix=(70, 20)),  # same frame: wcslib
    _wcs(["DEC--TAN", "RA---TAN"], [2.1, 150.2], cdelt=(0.012, -0.012)),  # latitude first
    _wcs(["GLON-TAN", "GLAT-TAN"], [236.5, 42.0], cdelt=(-0.01, 0.01)),  # another sky frame: SkyCoord
])
def test_pixel_to_pixel_matches_astropy(other):
    frame = _wcs(["RA---TAN", "DEC--TAN"], [150.0, 2.0])
    rng = np.random.default_rng(1)
    x, y = rng.uniform(-0.5, 99.5, (2, 500))
    expected = astropy_pixel_to_pixel(frame, other, x, y)
    got = pixel_to_pixel(frame, other, x, y)
    np.testing.assert_allclose(got[0], expected[0], atol=1e-7)
    np.testing.assert_allclose(got[1], expected[1], atol=1e-7)


def test_pixel_to_pixel_unprojectable_is_nan():
    """Positions on the far side of the sky cannot be projected on a TAN image: NaN, no error."""
    near = _wcs(["RA---TAN", "DEC--TAN"], [150.0, 2.0])
    opposite = _wcs(["RA---CAR", "DEC--CAR"], [330.0, -2.0], cdelt=(-0.1, 0.1))
    px, py = pixel_to_pixel(opposite, near, np.array([50.0, 10.0]), np.array([50.0, 10.0]))
    assert np.all(np.isnan(px)) and np.all(np.isnan(py))


def test_cutout_slices_cover_the_frame():
    image = _wcs(["RA---TAN", "DEC--TAN"], [150.0, 2.0], cdelt=(-0.002, 0.002), crpix=(500, 500),
                 shape=(1000, 1000))
    frame = _wcs(["RA---TAN", "DEC--TAN"], [150.1, 2.05], cdelt=(-0.004, 0.004), crpix=(10.5, 10.5),
                 shape=(20, 20))
    (sy, sx), local = cutout_slices(image, (1000, 1000), frame, (20, 20), margin=2)
    assert local
    # the frame spans 0.08 deg = 40 image pixels, centred 50 / 25 image pixels off the image centre
    assert sx.stop - sx.start == pytest.approx(40 + 2 * 2 + 1, abs=2)
    assert (sx.start + sx.stop) / 2 == pytest.approx(499 - 50 * np.cos(np.radians(2.0)), abs=1.5)
    assert (sy.start + sy.stop) / 2 == pytest.approx(499 + 25, abs=1.5)
    far = _wcs(["RA---TAN", "DEC--TAN"], [160.0, 2.0], cdelt=(-0.004, 0.004), shape=(20, 20))
    assert cutout_slices(image, (1000, 1000), far, (20, 20), margin=2) is None


def test_interpolate_onto_equals_reproject():
    """The fast path gives what reproject_interp gives, holes, edges and partial overlap included."""
    from reproject import reproject_interp

    from massrecon.observations._regrid import interpolate_onto

    rng = np.random.default_rng(3)
    image = _wcs(["RA---TAN", "DEC--TAN"], [150.0, 2.0], cdelt=(-0.003, 0.003), crpix=(30.3, 25.7), shape=(60, 50))
    data = rng.normal(size=(2, 50, 60))
    data[0, 20:23, 30:31] = np.nan  # a masked hole
    # a rotated, finer frame hanging over the image's edge
    frame = _wcs(["RA---TAN", "DEC--TAN"], [150.06, 2.02], cdelt=(-0.002, 0.002), crpix=(20.5, 20.5), shape=(40, 40))
    frame.wcs.pc = [[np.cos(0.3), -np.sin(0.3)], [np.sin(0.3), np.cos(0.3)]]
    frame.wcs.set()
    expected = reproject_interp((data, image), frame, shape_out=(40, 40), order="bilinear",
                                roundtrip_coords=False, return_footprint=False)
    got = interpolate_onto(data, image, frame, (40, 40))
    assert np.isnan(expected).any() and np.isfinite(expected).any()
    np.testing.assert_array_equal(np.isnan(got), np.isnan(expected))
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-12)


@pytest.mark.parametrize("coordsys", ["galactic", "icrs", "fk5", "barycentrictrueecliptic"])
@pytest.mark.parametrize("nested", [False, True])
def test_healpix_onto_equals_reproject(coordsys, nested):
    """The rotation-matrix path (and the fallback for other sky frames) gives what
    reproject_from_healpix gives, masked pixels included."""
    from reproject import reproject_from_healpix

    from massrecon.observations._regrid import healpix_onto

    nside = 64
    rng = np.random.default_rng(4)
    sky = rng.normal(size=12 * nside**2)
    sky[rng.integers(0, sky.size, 2000)] = np.nan
    # and the pixel under the frame's centre, so that the frame has a hole
    from astropy.coordinates import SkyCoord
    from astropy_healpix import HEALPix

    hp = HEALPix(nside, order="nested" if nested else "ring", frame=coordsys)
    sky[hp.skycoord_to_healpix(SkyCoord(150.0, 2.0, unit="deg"))] = np.nan
    noise = rng.uniform(1, 2, sky.size)
    frame = _wcs(["RA---TAN", "DEC--TAN"], [150.0, 2.0], cdelt=(-0.1, 0.1), crpix=(15.5, 15.5), shape=(30, 30))
    got = healpix_onto([sky, noise], coordsys, nested, frame, (30, 30))
    for g, m in zip(got, (sky, noise)):
        expected = reproject_from_healpix((m, coordsys), frame, shape_out=(30, 30), nested=nested)[0]
        np.testing.assert_array_equal(np.isnan(g), np.isnan(expected))
        np.testing.assert_allclose(g, expected, rtol=1e-9, atol=1e-12)
    assert np.isnan(got[0]).any() and np.isfinite(got[0]).any()


def test_cutout_keeps_the_pole_of_a_cylindrical_map():
    """A frame around a celestial pole of a CAR map reaches input rows its border never reaches:
    the cut-out must still hold them (the prepared map equals reproject's)."""
    import astropy.units as u
    from astropy.coordinates import SkyCoord
    from reproject import reproject_interp

    from massrecon import ClusterFrame
    from massrecon.observations import ComptonYMap

    nx, ny = 3600, 500  # all RA, Dec 80-90 deg
    car = _wcs(["RA---CAR", "DEC--CAR"], [180.0, 0.0], cdelt=(-0.1, 0.02), crpix=(nx / 2 + 0.5, 1 - 80 / 0.02),
               shape=(nx, ny))
    frame = ClusterFrame(SkyCoord(10, 89.95, unit="deg"), 0.1, m200=5e14 * u.Msun, npix=40)
    y = np.fromfunction(lambda j, i: 1e-5 * (1 + j / ny), (ny, nx))
    prepared = ComptonYMap(y, wcs=car, beam=0.5 * u.arcmin).prepare(frame)
    expected = reproject_interp((y, car), frame.wcs, shape_out=frame.array_shape, order="bilinear")[0]
    np.testing.assert_array_equal(prepared.mask, np.isnan(expected))
    np.testing.assert_allclose(prepared.data[~prepared.mask], expected[~prepared.mask], rtol=1e-12)


def _old_block_mean(data, std, factor):
    """The hand-written block mean that `block_mean` replaced (reshape and sum)."""
    ny, nx = (data.shape[0] // factor) * factor, (data.shape[1] // factor) * factor
    data, std = data[:ny, :nx], std[:ny, :nx]

    def bsum(a):
        return a.reshape(ny // factor, factor, nx // factor, factor).sum(axis=(1, 3))

    valid = np.isfinite(data)
    n = bsum(valid.astype(float))
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.where(n > 0, bsum(np.where(valid, data, 0.0)) / n, np.nan)
        var = bsum(np.where(valid, np.nan_to_num(std, nan=0.0) ** 2, 0.0))
        return mean, np.where(n > 0, np.sqrt(var) / n, np.nan)


@pytest.mark.parametrize("factor", [2, 3, 5])
def test_block_mean_equals_block_reduce_and_the_old_loop(factor):
    """Block means go through astropy's block_reduce: equal to its nanmean and to the old reshape-sum."""
    from astropy.nddata import block_reduce

    from massrecon.observations._regrid import block_mean

    rng = np.random.default_rng(5)
    data = rng.normal(size=(47, 53))  # partial blocks at the far edges are dropped
    data[rng.random(data.shape) < 0.2] = np.nan
    data[:factor, :factor] = np.nan  # one block entirely masked
    std = rng.uniform(0.5, 2.0, data.shape)
    mean, out_std = block_mean(data, std, factor)
    old_mean, old_std = _old_block_mean(data, std, factor)
    with np.errstate(invalid="ignore"), pytest.warns(RuntimeWarning, match="Mean of empty slice"):
        nanmean = block_reduce(data, factor, func=np.nanmean)
    assert mean.shape == (47 // factor, 53 // factor) and np.isnan(mean[0, 0])
    np.testing.assert_allclose(mean, nanmean, rtol=1e-13)
    np.testing.assert_allclose(mean, old_mean, rtol=1e-13)
    np.testing.assert_allclose(out_std, old_std, rtol=1e-13)
    assert block_mean(data, None, factor)[1] is None


def test_unit_vectors_equal_skycoord_cartesian_and_the_old_formula():
    import astropy.units as u
    from astropy.coordinates import SkyCoord, UnitSphericalRepresentation

    from massrecon.observations._regrid import unit_vectors

    rng = np.random.default_rng(6)
    lon, lat = rng.uniform(0, 2 * np.pi, 1000), np.arcsin(rng.uniform(-1, 1, 1000))
    coord = SkyCoord(lon * u.rad, lat * u.rad, distance=rng.uniform(1, 5, 1000) * u.kpc)  # distances ignored
    old = np.stack([np.cos(lat) * np.cos(lon), np.cos(lat) * np.sin(lon), np.sin(lat)])
    unit = SkyCoord(lon * u.rad, lat * u.rad).cartesian.xyz.value
    np.testing.assert_allclose(unit_vectors(coord), unit, rtol=0, atol=1e-15)
    np.testing.assert_allclose(unit_vectors(coord), old, rtol=0, atol=1e-15)
    rep = UnitSphericalRepresentation(np.degrees(lon) * u.deg, np.degrees(lat) * u.deg)
    np.testing.assert_allclose(unit_vectors(rep), old, rtol=0, atol=1e-15)


def test_smoothing_sigma_uses_the_gaussian_fwhm():
    """FWHM -> sigma is astropy's gaussian_fwhm_to_sigma, 1 / sqrt(8 ln 2)."""
    import astropy.units as u
    from astropy.stats import gaussian_fwhm_to_sigma

    from massrecon.observations._regrid import smoothing_sigma_pixels

    sigma = smoothing_sigma_pixels(5 * u.arcmin, 3 * u.arcmin, 0.5 * u.arcmin)  # kernel FWHM 4 arcmin
    assert sigma == pytest.approx(8 * gaussian_fwhm_to_sigma, rel=1e-15)
    assert sigma == pytest.approx(8 / np.sqrt(8 * np.log(2)), rel=1e-15)
