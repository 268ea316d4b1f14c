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
#: eFEDS ARF (PSF loss removed), 0.5-2 keV, kT = 5 keV, z = 0.33, N_H = 3.5e20 cm-2, absorbed flux:
#: the value quoted in XrayImage.from_counts, checked against the ARF in test_ecf_constant_from_arf.
ECF = 0.642e12 * u.ct * u.cm**2 / u.erg
EFEDS_NH = 3.5e20 * u.cm**-2  # Galactic column of the eFEDS example field (mbproj2d's eFEDS example)


# --- conversions -----------------------------------------------------------------------------
KEV_ERG = 1.602176634e-9

#: Morrison & McCammon (1983, ApJ 270, 119) Table 2: lower edges (keV) and c0, c1, c2, typed anew.
MM83 = [(0.030, 17.3, 608.1, -2150.0), (0.100, 34.6, 267.9, -476.1), (0.284, 78.1, 18.8, 4.3),
        (0.400, 71.4, 66.8, -51.4), (0.532, 95.5, 145.8, -61.1), (0.707, 308.9, -380.6, 294.0),
        (0.867, 120.6, 169.3, -47.7), (1.303, 141.3, 146.8, -31.5), (1.840, 202.7, 104.7, -17.0),
        (2.471, 342.7, 18.7, 0.0), (3.210, 352.2, 18.7, 0.0), (4.038, 433.9, -2.4, 0.75),
        (7.111, 629.0, 30.9, 0.0), (8.331, 701.2, 25.2, 0.0)]


def born_band_energy(a, b, kt):
    """Energy a Born-Gaunt bremsstrahlung spectrum emits in [a, b] keV (arbitrary units).

    Rybicki & Lightman (1979) eqs. 5.14a and 5.15: g(E) exp(-E/kT) with g = (sqrt 3/pi) e^x K0(x),
    x = E / 2kT, i.e. (sqrt 3/pi) K0(x) e^-x, integrated with scipy's adaptive quadrature.
    """
    from scipy.integrate import quad
    from scipy.special import kv

    return quad(lambda e: kv(0, e / (2 * kt)) * np.exp(-e / (2 * kt)), a, b, epsabs=0, epsrel=1e-10)[0]


def mm83_sigma(e):
    row = [r for r in MM83 if r[0] <= e][-1]
    return (row[1] + row[2] * e + row[3] * e**2) / e**3 * 1e-24


# Issue 16 audit: K from observed 0.5-2 keV to rest 0.5-2 keV.
@pytest.mark.parametrize(("z", "kt", "audit"), [(0.33, 3.0, 0.938), (0.33, 5.0, 0.888), (0.8, 5.0, 0.808)])
def test_band_factor_born_gaunt(z, kt, audit):
    independent = born_band_energy(0.5, 2.0, kt) / born_band_energy(0.5 * (1 + z), 2.0 * (1 + z), kt)
    assert independent == pytest.approx(audit, rel=1e-3)
    k = band_conversion_factor(0.5 * u.keV, 2 * u.keV, z, kt * u.keV)
    assert k == pytest.approx(independent, rel=1e-6)
    assert k == pytest.approx(audit, rel=0.01)
    # through the public conversion: dL/dA = 4 pi (1+z)^4 S_X K
    sx = 1e-15 * SB
    out = rest_frame_emissivity(sx, z, [0.5, 2] * u.keV, kt * u.keV)
    assert out.value / (4 * np.pi * (1 + z) ** 4 * 1e-15 * KPC_CM**2) == pytest.approx(audit, rel=0.01)


def test_band_factor_hand_values():
    assert band_conversion_factor(0.5 * u.keV, 2 * u.keV, 0.0, 3 * u.keV) == pytest.approx(1.0)
    # rest band of [0.25, 1] keV at z = 1 is exactly 0.5-2 keV
    assert band_conversion_factor(0.25 * u.keV, 1 * u.keV, 1.0, 7 * u.keV) == pytest.approx(1.0)
    # 0.1-2.4 keV (ROSAT) at z = 0.2, kT = 4 keV
    hand = born_band_energy(0.5, 2.0, 4.0) / born_band_energy(0.12, 2.88, 4.0)
    assert band_conversion_factor(0.1 * u.keV, 2.4 * u.keV, 0.2, 4 * u.keV) == pytest.approx(hand, rel=1e-6)
    # the constant-Gaunt option is the pure exponential of massrecon before issue 16
    hand = (np.exp(-0.1) - np.exp(-0.4)) / (np.exp(-0.15) - np.exp(-0.6))
    assert band_conversion_factor(0.5 * u.keV, 2 * u.keV, 0.5, 5 * u.keV, gaunt="constant") == pytest.approx(
        hand, rel=1e-12)
    # temperature in kelvin
    kelvin = (5 * u.keV).to(u.K, equivalencies=u.temperature_energy())
    assert band_conversion_factor(0.5 * u.keV, 2 * u.keV, 0.5, kelvin) == pytest.approx(
        band_conversion_factor(0.5 * u.keV, 2 * u.keV, 0.5, 5 * u.keV))


def test_absorption_from_nh():
    # Issue 16 audit: N_H = 3e20 cm-2 removes 8% of the 0.5-2 keV flux (kT = 5 keV, z = 0.33).
    # Independent: energy-weighted transmission on a fine grid with MM83 typed above.
    z, kt, nh = 0.33, 5.0, 3e20
    from scipy.special import kv

    e = np.linspace(0.5, 2.0, 200_001)
    spec = kv(0, e * (1 + z) / (2 * kt)) * np.exp(-e * (1 + z) / (2 * kt))
    trans = np.exp(-nh * np.array([mm83_sigma(x) for x in e]))
    lost = 1 - np.trapezoid(spec * trans, e) / np.trapezoid(spec, e)
    assert lost == pytest.approx(0.08, abs=0.005)
    band = [0.5, 2] * u.keV
    sx = 1e-15 * SB
    plain = rest_frame_emissivity(sx, z, band, kt * u.keV)
    corrected = rest_frame_emissivity(sx, z, band, kt * u.keV, nh=nh * u.cm**-2)
    assert (corrected / plain).decompose().value == pytest.approx(1 / (1 - lost), rel=1e-4)
    assert rest_frame_emissivity(sx, z, band, kt * u.keV, nh=0 * u.cm**-2) == plain
    with pytest.raises(ValueError, match="either nh or absorption_correction, not both"):
        rest_frame_emissivity(sx, z, band, kt * u.keV, 1.1, nh=nh * u.cm**-2)
    with pytest.raises(ValueError, match="Morrison & McCammon"):
        rest_frame_emissivity(sx, 0.0, [0.01, 2] * u.keV, kt * u.keV, nh=nh * u.cm**-2)
    with pytest.raises(u.UnitsError, match="nh must be a Quantity in column-density units"):
        rest_frame_emissivity(sx, 0.0, band, kt * u.keV, nh=3e20)


def test_image_nh_and_override(small_frame):
    wcs = small_frame.with_npix(60, 3.0).wcs
    sb = np.full((60, 60), 2e-16) * u.erg / u.s / u.cm**2 / u.arcsec**2
    kwargs = dict(wcs=wcs, beam=0.3 * u.arcmin, kT=4 * u.keV)
    plain = XrayImage(sb, **kwargs).prepare(small_frame)
    absorbed = XrayImage(sb, nh=3e20 * u.cm**-2, **kwargs)
    assert absorbed.nh == 3e20 * u.cm**-2 and absorbed.absorption_correction is None
    factor = rest_frame_emissivity(sb[0, 0], small_frame.z, absorbed.band, 4 * u.keV, nh=absorbed.nh) / \
        rest_frame_emissivity(sb[0, 0], small_frame.z, absorbed.band, 4 * u.keV)
    assert 1.07 < factor < 1.10
    assert np.allclose(absorbed.prepare(small_frame).data, factor * plain.data, rtol=1e-10)
    override = XrayImage(sb, absorption_correction=1.2, **kwargs).prepare(small_frame)
    assert np.allclose(override.data, 1.2 * plain.data, rtol=1e-10)
    with pytest.raises(ValueError, match=r"XrayImage: give either nh or absorption_correction, not both"):
        XrayImage(sb, nh=3e20 * u.cm**-2, absorption_correction=1.1, **kwargs)
    with pytest.raises(ValueError, match="XrayImage: nh needs a band within"):
        XrayImage(sb, nh=3e20 * u.cm**-2, band=[0.01, 2] * u.keV, **kwargs)
    with pytest.raises(ValueError, match="XrayImage: nh must be a finite scalar >= 0"):
        XrayImage(sb, nh=-1 * u.cm**-2, **kwargs)


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
    sx = 5.0 / (1000.0 * omega * 0.642e12)
    assert img.data[n // 2, n // 2] == pytest.approx(sx, rel=1e-6)
    assert img.unit == SB
    assert img.noise[0, 0].value == pytest.approx(3.0 / (1000.0 * omega * 0.642e12), rel=1e-4)

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
def efeds_ecf(band, kt, flux="absorbed"):
    """ECF of the eFEDS ARF for the main cluster (z = 0.33) and the field's N_H, PSF loss removed."""
    from massrecon.physics import energy_conversion_factor, read_arf

    arf = read_arf(shared_file("efeds", "spec_020_ARF_00001.fits"), remove_psf_loss=True)
    return energy_conversion_factor(arf, band, kt, z=0.33, nh=EFEDS_NH, flux=flux)


def test_ecf_constant_from_arf():
    # the ECF quoted in the from_counts docstring and used above; the unabsorbed one for comparison
    ecf = efeds_ecf([0.5, 2] * u.keV, 5 * u.keV)
    assert ecf.to_value(ECF.unit) == pytest.approx(ECF.value, rel=2e-3)
    unabsorbed = efeds_ecf([0.5, 2] * u.keV, 5 * u.keV, flux="unabsorbed")
    assert unabsorbed.to_value(ECF.unit) == pytest.approx(0.583e12, rel=2e-3)


def test_efeds_counts_to_prepared_view():
    img_file = shared_file("efeds", "img_0600_1100.fits.gz")
    exp_file = shared_file("efeds", "expmap_norm_0600_1100.fits.gz")
    mask_file = shared_file("efeds", "mask.fits.gz")
    # the main cluster of the eFEDS example field (no reference mass: an assumed M500)
    frame = ClusterFrame(SkyCoord(140.3384, 3.2906, unit="deg"), 0.33, m500=2e14 * u.Msun, npix=40,
                         name="eFEDS example")
    # eROSITA 0.6-1.1 keV: the ECF of the absorbed flux from the ARF (0.778e12; the exposure maps are
    # normalised to that ARF), the field's N_H corrected at prepare; an illustrative PSF FWHM
    band = [0.6, 1.1] * u.keV
    ecf = efeds_ecf(band, 3 * u.keV)
    assert ecf.to_value(ECF.unit) == pytest.approx(0.778e12, rel=2e-3)
    img = XrayImage.read_counts(img_file, exp_file, mask_file=mask_file, band=band, ecf=ecf, nh=EFEDS_NH,
                                beam=0.3 * u.arcmin, kT=3 * u.keV)
    # the same as an unabsorbed-flux ECF without nh
    unabsorbed = XrayImage.read_counts(img_file, exp_file, mask_file=mask_file, band=band,
                                       ecf=efeds_ecf(band, 3 * u.keV, flux="unabsorbed"), beam=0.3 * u.arcmin,
                                       kT=3 * u.keV)
    assert np.allclose(unabsorbed.prepare(frame).data, img.prepare(frame).data, rtol=1e-6, equal_nan=True)
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


def test_simulated_map_round_trip():
    # A simulated rest-frame 0.5-2 keV map, observed at the halo's redshift in an observed band
    # through the inverse of the conversion (K from the quadrature above, Galactic absorption from
    # the fine-grid MM83 transmission), comes back from XrayImage.prepare unchanged: the simulator's
    # xray_soft and the observations' view are the same quantity.
    from scipy.special import kv

    from massrecon.simulate import HaloModel, SimulationConfig, project_halo, projection_bases, sample_halo

    cfg = SimulationConfig(seed=7, npix=40)
    halo = sample_halo(0, cfg)
    maps, _ = project_halo(HaloModel(halo, cfg.physics), projection_bases(cfg.projections)[0], npix=40,
                           size_r200=2.0)
    truth = maps["xray_soft"]  # erg s-1 kpc-2
    frame = ClusterFrame(SkyCoord(150.0, 2.0, unit="deg"), halo.z, m200=halo.m200 * u.Msun, npix=40, size_r200=2.0)
    assert frame.r200.to_value(u.kpc) == pytest.approx(halo.r200, rel=1e-6)
    kt, nh, (e1, e2) = 4.0, 3e20, (0.6, 2.3)
    k = born_band_energy(0.5, 2.0, kt) / born_band_energy(e1 * (1 + halo.z), e2 * (1 + halo.z), kt)
    e = np.linspace(e1, e2, 100_001)
    spec = kv(0, e * (1 + halo.z) / (2 * kt)) * np.exp(-e * (1 + halo.z) / (2 * kt))
    transmitted = np.trapezoid(spec * np.exp(-nh * np.array([mm83_sigma(x) for x in e])), e) / np.trapezoid(spec, e)
    sx = truth * KPC_CM**-2 / (4 * np.pi * (1 + halo.z) ** 4 * k) * transmitted  # erg s-1 cm-2 sr-1
    img = XrayImage(sx * SB, wcs=frame.wcs, beam=0.01 * u.arcmin, band=[e1, e2] * u.keV, kT=kt * u.keV,
                    nh=nh * u.cm**-2)
    view = img.prepare(frame)
    good = np.isfinite(view.data)
    assert good.mean() > 0.9
    assert np.allclose(view.data[good], truth[good], rtol=1e-3)


def test_background_scaled_copy_and_background_error(small_frame):
    # (C - k B) / (t Omega ECF): C = 9, B = 4 -> net 5; k = 0.5 -> net 7, k = 1.5 -> net 3
    n = 60
    wcs = _counts_wcs(small_frame, n)
    counts, bkg = np.full((n, n), 9.0), np.full((n, n), 4.0)
    mask = np.zeros((n, n), bool)
    mask[:5] = True
    img = XrayImage.from_counts(counts, np.full((n, n), 1000.0) * u.s, wcs=wcs, ecf=ECF, background=bkg,
                                mask=mask, beam=0.4 * u.arcmin, kT=5 * u.keV, nh=2e20 * u.cm**-2, name="A",
                                background_error=0.1)
    assert img.background_error == 0.1
    for k, net in ((0.5, 7.0), (1.5, 3.0), (0.0, 9.0)):
        other = img.with_background_scaled(k)
        assert np.allclose(other.data[10:], img.data[10:] * net / 5.0, rtol=1e-12)
        assert np.array_equal(other.mask, img.mask) and np.allclose(other.noise[10:], img.noise[10:])
        assert (other.kT, other.nh, other.name, other.background_error) == (img.kT, img.nh, "A", 0.1)
    assert img.data[20, 20] == pytest.approx(img.with_background_scaled(1.0).data[20, 20], rel=1e-12)
    for bad, err in ((-0.1, ValueError), (1.0, ValueError), (np.nan, ValueError), ("x", TypeError)):
        with pytest.raises(err, match="background_error"):
            XrayImage.from_counts(counts, np.full((n, n), 1000.0) * u.s, wcs=wcs, ecf=ECF, background=bkg,
                                  beam=0.4 * u.arcmin, background_error=bad)
    with pytest.raises(ValueError, match="background_error=0.1 given without a background"):
        XrayImage.from_counts(counts, np.full((n, n), 1000.0) * u.s, wcs=wcs, ecf=ECF, beam=0.4 * u.arcmin,
                              background_error=0.1)
    with pytest.raises(ValueError, match="factor must be a finite number >= 0"):
        img.with_background_scaled(-1)
    plain = XrayImage(img.quantity, wcs=img.wcs, beam=0.4 * u.arcmin, mask=img.mask)
    assert plain.background_error is None
    with pytest.raises(ValueError, match="needs an image made by XrayImage.from_counts"):
        plain.with_background_scaled(0.9)
    with pytest.raises(ValueError, match="background_error needs an image made by XrayImage.from_counts"):
        plain.background_error = 0.1
    with pytest.raises(ValueError, match="background_error must lie in"):
        img.background_error = 1.5
    img.background_error = 0.2  # a validated attribute
    assert img.background_error == 0.2
