"""X-ray images: unit conversions against hand calculations, counts images, real eFEDS data."""

import astropy.units as u
import numpy as np
import pytest
from astropy.coordinates import SkyCoord
from astropy.cosmology import Planck18
from astropy.io import fits

from massrecon import ClusterFrame
from massrecon.contract import VIEW_UNITS
from massrecon.observations import (
    XrayImage,
    band_conversion_factor,
    rest_frame_emissivity,
    temperature_from_m500,
)

from .helpers import shared_file, tan_wcs

KPC_CM = 3.0856775814913673e21
SR_ARCSEC2 = (180 / np.pi * 3600) ** 2
SB = u.erg / u.s / u.cm**2 / u.sr
ECF = 1e12 * u.ct * u.cm**2 / u.erg


# --- conversions -----------------------------------------------------------------------------
def test_band_factor_hand_values():
    assert band_conversion_factor(0.5 * u.keV, 2 * u.keV, 0.0, 3 * u.keV) == pytest.approx(1.0)
    # rest band of [0.25, 1] keV at z = 1 is exactly 0.5-2 keV
    assert band_conversion_factor(0.25 * u.keV, 1 * u.keV, 1.0, 7 * u.keV) == pytest.approx(1.0)
    hand = (np.exp(-0.1) - np.exp(-0.4)) / (np.exp(-0.15) - np.exp(-0.6))
    assert band_conversion_factor(0.5 * u.keV, 2 * u.keV, 0.5, 5 * u.keV) == pytest.approx(hand, rel=1e-12)
    # 0.1-2.4 keV (ROSAT) at z = 0.2, kT = 4 keV
    hand = (np.exp(-0.5 / 4) - np.exp(-2 / 4)) / (np.exp(-0.12 / 4) - np.exp(-2.88 / 4))
    assert band_conversion_factor(0.1 * u.keV, 2.4 * u.keV, 0.2, 4 * u.keV) == pytest.approx(hand, rel=1e-12)
    # temperature in kelvin
    kelvin = (5 * u.keV).to(u.K, equivalencies=u.temperature_energy())
    assert band_conversion_factor(0.5 * u.keV, 2 * u.keV, 0.5, kelvin) == pytest.approx(
        band_conversion_factor(0.5 * u.keV, 2 * u.keV, 0.5, 5 * u.keV))


def test_band_factor_errors():
    with pytest.raises(u.UnitsError, match="kT"):
        band_conversion_factor(0.5 * u.keV, 2 * u.keV, 0.1, 5.0)
    with pytest.raises(ValueError, match="e1 must be below e2"):
        band_conversion_factor(2 * u.keV, 0.5 * u.keV, 0.1, 5 * u.keV)
    with pytest.raises(ValueError, match="z must be finite"):
        band_conversion_factor(0.5 * u.keV, 2 * u.keV, -1, 5 * u.keV)


def test_dimming_hand_value():
    # z = 1, observed 0.25-1 keV (= rest 0.5-2 keV, K = 1): dL/dA = 4 pi 16 S_X
    sx = 1e-15 * SB
    out = rest_frame_emissivity(sx, 1.0, [0.25, 1.0] * u.keV, 6 * u.keV)
    assert out.unit == VIEW_UNITS["xray"]
    assert out.value == pytest.approx(4 * np.pi * 16 * 1e-15 * KPC_CM**2, rel=1e-10)
    # per arcsec^2 and an absorption correction
    out2 = rest_frame_emissivity(1e-15 / SR_ARCSEC2 * u.erg / u.s / u.cm**2 / u.arcsec**2, 1.0,
                                 [0.25, 1.0] * u.keV, 6 * u.keV, absorption_correction=1.2)
    assert out2.value == pytest.approx(1.2 * out.value, rel=1e-10)


def test_rest_frame_emissivity_errors():
    with pytest.raises(u.UnitsError, match="sx must be a surface brightness"):
        rest_frame_emissivity(1e-15 * u.erg / u.s / u.cm**2, 0.1, [0.5, 2] * u.keV, 5 * u.keV)
    with pytest.raises(ValueError, match="band must be two energies"):
        rest_frame_emissivity(1e-15 * SB, 0.1, [0.5, 2, 3] * u.keV, 5 * u.keV)
    with pytest.raises(ValueError, match="absorption_correction"):
        rest_frame_emissivity(1e-15 * SB, 0.1, [0.5, 2] * u.keV, 5 * u.keV, absorption_correction=0)


def test_mt_relation():
    kt = temperature_from_m500(5e14 * u.Msun, 0.3, Planck18)
    m = 3.02e14 / Planck18.h * (kt.to_value(u.keV) / 5) ** 1.53 / Planck18.efunc(0.3)
    assert m == pytest.approx(5e14, rel=1e-10)
    with pytest.raises(u.UnitsError, match="m500"):
        temperature_from_m500(5e14, 0.3)


# --- surface-brightness images ---------------------------------------------------------------
def test_surface_brightness_image(small_frame):
    wcs = small_frame.with_npix(60, 3.0).wcs
    sb = np.full((60, 60), 2e-16) * u.erg / u.s / u.cm**2 / u.arcsec**2
    img = XrayImage(sb, wcs=wcs, beam=0.3 * u.arcmin, band=[0.5, 2] * u.keV, kT=4 * u.keV)
    view = img.prepare(small_frame)
    assert view.view == "xray" and view.unit == VIEW_UNITS["xray"]
    expected = rest_frame_emissivity(sb[0, 0], small_frame.z, img.band, 4 * u.keV).value
    assert np.allclose(view.data, expected, rtol=1e-10)
    # kT given to prepare wins; without kT, the M-T relation of the frame's M500
    view2 = img.prepare(small_frame, kT=8 * u.keV)
    assert not np.allclose(view2.data, view.data)
    img_no_kt = XrayImage(sb, wcs=wcs, beam=0.3 * u.arcmin)
    kt = temperature_from_m500(small_frame.m500, small_frame.z, small_frame.cosmology)
    assert np.allclose(img_no_kt.prepare(small_frame).data, img_no_kt.prepare(small_frame, kT=kt).data)


# --- counts images ---------------------------------------------------------------------------
def _counts_wcs(frame, n, pix_arcsec=4.0):
    return tan_wcs(frame.center, pix_arcsec / 3600, n)


def test_from_counts_hand_value_and_binning(small_frame):
    n = 500
    wcs = _counts_wcs(small_frame, n)
    counts = np.full((n, n), 9.0)
    bkg = np.full((n, n), 4.0)
    exposure = np.full((n, n), 1000.0) * u.s
    img = XrayImage.from_counts(counts, exposure, wcs=wcs, ecf=ECF, background=bkg, beam=0.4 * u.arcmin,
                                kT=5 * u.keV)
    omega = (4.0 / 3600 * np.pi / 180) ** 2
    sx = 5.0 / (1000.0 * omega * 1e12)
    assert img.data[n // 2, n // 2] == pytest.approx(sx, rel=1e-6)
    assert img.unit == SB
    assert img.noise[0, 0].value == pytest.approx(3.0 / (1000.0 * omega * 1e12), rel=1e-4)

    view = img.prepare(small_frame)
    factor = int(small_frame.pixel_scale.to_value(u.arcsec) // 4.0)
    assert factor >= 5  # the frame pixels are 5x the image's: counts are summed over 5x5 blocks
    expected = rest_frame_emissivity(sx * SB, small_frame.z, img.band, 5 * u.keV).value
    assert np.allclose(view.data, expected, rtol=1e-3)
    # noise of a block: sqrt(sum C) / sum(t Omega ECF) relative to the signal (C - B) = 5 per pixel,
    # reduced by up to 2x by the bilinear interpolation between blocks
    rel_noise = np.sqrt(9.0 * factor**2) / (5.0 * factor**2)
    ratio = view.noise / view.data / rel_noise
    assert np.all((ratio > 0.5 - 1e-9) & (ratio < 1 + 1e-3))


def test_from_counts_poisson_noise(small_frame, rng):
    n = 400
    wcs = _counts_wcs(small_frame, n, pix_arcsec=6.0)
    counts = rng.poisson(20.0, (n, n))
    img = XrayImage.from_counts(counts, np.full((n, n), 500.0) * u.s, wcs=wcs, ecf=ECF, beam=0.4 * u.arcmin,
                                kT=5 * u.keV)
    view = img.prepare(small_frame)
    inner = ~view.mask
    rel_scatter = np.std(view.data[inner]) / np.mean(view.data[inner])
    assert np.nanmedian(view.noise / view.data) == pytest.approx(rel_scatter, rel=0.2)


def test_zero_exposure_is_masked(small_frame):
    n = 120
    wcs = _counts_wcs(small_frame, n, pix_arcsec=small_frame.pixel_scale.to_value(u.arcsec))
    exposure = np.full((n, n), 1000.0)
    exposure[:, :20] = 0.0
    img = XrayImage.from_counts(np.ones((n, n)), exposure * u.s, wcs=wcs, ecf=ECF, beam=0.4 * u.arcmin)
    assert img.mask[:, :20].all() and not img.mask[:, 25:].any()
    with pytest.raises(ValueError, match="exposure map is zero .* everywhere"):
        XrayImage.from_counts(np.ones((n, n)), np.zeros((n, n)) * u.s, wcs=wcs, ecf=ECF, beam=0.4 * u.arcmin)


def test_from_counts_bad_input(small_frame):
    n = 50
    wcs = _counts_wcs(small_frame, n)
    counts, expo = np.ones((n, n)), np.full((n, n), 100.0) * u.s
    with pytest.raises(u.UnitsError, match="exposure must be a Quantity with time units"):
        XrayImage.from_counts(counts, expo.value, wcs=wcs, ecf=ECF, beam=0.4 * u.arcmin)
    with pytest.raises(u.UnitsError, match="exposure must be a Quantity with time units"):
        XrayImage.from_counts(counts, expo.value * u.m, wcs=wcs, ecf=ECF, beam=0.4 * u.arcmin)
    with pytest.raises(ValueError, match="ecf is required"):
        XrayImage.from_counts(counts, expo, wcs=wcs, beam=0.4 * u.arcmin)
    with pytest.raises(u.UnitsError, match="ecf must be a Quantity in count rate per energy flux"):
        XrayImage.from_counts(counts, expo, wcs=wcs, ecf=1e12 * u.erg, beam=0.4 * u.arcmin)
    with pytest.raises(u.UnitsError, match="counts must be dimensionless"):
        XrayImage.from_counts(counts * u.Jy, expo, wcs=wcs, ecf=ECF, beam=0.4 * u.arcmin)
    with pytest.raises(ValueError, match="counts and background must be >= 0"):
        XrayImage.from_counts(-counts, expo, wcs=wcs, ecf=ECF, beam=0.4 * u.arcmin)
    with pytest.raises(ValueError, match="exposure must have the shape of counts"):
        XrayImage.from_counts(counts, expo[:10], wcs=wcs, ecf=ECF, beam=0.4 * u.arcmin)
    with pytest.raises(ValueError, match="beam is required"):
        XrayImage.from_counts(counts, expo, wcs=wcs, ecf=ECF)
    # an ECF without the count unit is accepted
    img = XrayImage.from_counts(counts, expo, wcs=wcs, ecf=1e12 * u.cm**2 / u.erg, beam=0.4 * u.arcmin)
    assert np.isfinite(img.data).all()


def test_read_counts_files(tmp_path, small_frame):
    n = 200
    wcs = _counts_wcs(small_frame, n)
    hdr = wcs.to_header()
    fits.PrimaryHDU(np.full((n, n), 3, dtype=np.int32), header=hdr).writeto(tmp_path / "img.fits")
    fits.PrimaryHDU(np.full((n, n), 2000.0, dtype=np.float32), header=hdr).writeto(tmp_path / "exp.fits")
    keep = np.ones((n, n), dtype=np.int16)
    keep[90:110, 90:110] = 0  # a point source
    fits.PrimaryHDU(keep, header=hdr).writeto(tmp_path / "mask.fits")
    img = XrayImage.read_counts(tmp_path / "img.fits", tmp_path / "exp.fits",
                                mask_file=tmp_path / "mask.fits", band=[0.5, 2] * u.keV, ecf=ECF,
                                beam=0.4 * u.arcmin)
    assert img.mask[100, 100] and not img.mask[10, 10]
    assert img.meta["total_counts"] == pytest.approx(3 * n * n)
    view = img.prepare(small_frame, kT=5 * u.keV)
    assert view.mask[12, 12] or view.mask[11, 11]
    assert np.isfinite(view.data[~view.mask]).all()


# --- real data -------------------------------------------------------------------------------
def test_efeds_counts_to_prepared_view():
    img_file = shared_file("efeds", "img_0600_1100.fits.gz")
    exp_file = shared_file("efeds", "expmap_norm_0600_1100.fits.gz")
    mask_file = shared_file("efeds", "mask.fits.gz")
    # the main cluster of the eFEDS example field (no reference mass: an assumed M500)
    frame = ClusterFrame(SkyCoord(140.3384, 3.2906, unit="deg"), 0.33, m500=2e14 * u.Msun, npix=40,
                         name="eFEDS example")
    # eROSITA 0.6-1.1 keV: an illustrative ECF and PSF FWHM
    img = XrayImage.read_counts(img_file, exp_file, mask_file=mask_file, band=[0.6, 1.1] * u.keV,
                                ecf=0.9e12 * u.ct * u.cm**2 / u.erg, beam=0.3 * u.arcmin, kT=3 * u.keV)
    assert img.data.shape == (512, 512)
    view = img.prepare(frame)
    assert view.view == "xray" and view.data.shape == (40, 40)
    good = ~view.mask
    assert good.mean() > 0.8
    assert np.isfinite(view.data[good]).all() and np.isfinite(view.noise[good]).all()
    # the cluster is there: brighter in the core than in the outskirts
    r = frame.radius_grid()
    core = np.nanmean(view.data[(r < 0.15) & good])
    outskirts = np.nanmean(view.data[(r > 0.6) & (r < 1.0) & good])
    assert core > 3 * outskirts > 0
    assert 1e36 < core < 1e40  # erg s-1 kpc-2: a plausible cluster-core emissivity


def test_solid_angle_of_large_images():
    # large images use a coarse grid and a spline; compare with the exact per-pixel solid angle of
    # an eFEDS-like SIN projection whose reference point lies ~10 deg away from the image
    from astropy.wcs import WCS

    from massrecon.observations._regrid import pixel_solid_angle
    from massrecon.observations.xray import _solid_angle_map

    w = WCS(naxis=2)
    w.wcs.ctype = ["RA---SIN", "DEC--SIN"]
    w.wcs.crval = [129.55, 1.5]
    w.wcs.crpix = [893.975, -1378.025]
    w.wcs.cdelt = [-4 / 3600, 4 / 3600]
    w.wcs.set()
    shape = (1030, 1030)
    exact = pixel_solid_angle(w, shape)
    assert np.allclose(_solid_angle_map(w, shape), exact, rtol=1e-6)
    # the projection-plane pixel area would be off by ~0.1% here
    nominal = (4 / 3600 * np.pi / 180) ** 2
    assert exact.max() / nominal - 1 > 5e-4
