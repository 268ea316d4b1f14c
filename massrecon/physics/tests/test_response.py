"""Energy conversion factors from the eFEDS ARF, against an independent fine-grid integral."""

from pathlib import Path

import astropy.units as u
import numpy as np
import pytest
from astropy.io import fits
from scipy.special import kv

import massrecon
from massrecon.physics import AncillaryResponse, energy_conversion_factor, read_arf

#: Real data for tests live next to the repository, never inside it (as the observation tests).
ARF_FILE = Path(massrecon.__file__).parents[2] / "shared" / "data" / "efeds" / "spec_020_ARF_00001.fits"
KEV_ERG = 1.602176634e-9


def arf_file():
    if not ARF_FILE.exists():
        pytest.skip(f"real test data not available: {ARF_FILE}")
    return ARF_FILE


def independent_ecf(path, e1, e2, kt, z, nh, absorbed_flux=False, psf=False):
    """Trapezoid on a 1e5-point grid; ARF bins looked up directly; wabs typed from MM83 Table 2."""
    data = fits.getdata(path, "SPECRESP")
    lo, hi, area = (np.asarray(data[c], dtype=float) for c in ("ENERG_LO", "ENERG_HI", "SPECRESP"))
    if psf:
        area = area / np.asarray(data["CORRPSF"], dtype=float)
    e = np.linspace(e1, e2, 100_001)
    a = area[np.searchsorted(hi, e)]
    edges = [0.03, 0.1, 0.284, 0.4, 0.532, 0.707, 0.867, 1.303, 1.84, 2.471, 3.21, 4.038, 7.111, 8.331]
    coeffs = [(17.3, 608.1, -2150.0), (34.6, 267.9, -476.1), (78.1, 18.8, 4.3), (71.4, 66.8, -51.4),
              (95.5, 145.8, -61.1), (308.9, -380.6, 294.0), (120.6, 169.3, -47.7), (141.3, 146.8, -31.5),
              (202.7, 104.7, -17.0), (342.7, 18.7, 0.0), (352.2, 18.7, 0.0), (433.9, -2.4, 0.75),
              (629.0, 30.9, 0.0), (701.2, 25.2, 0.0)]
    c = np.array(coeffs)[np.searchsorted(edges, e, side="right") - 1]
    sigma = (c[:, 0] + c[:, 1] * e + c[:, 2] * e**2) / e**3 * 1e-24
    x = e * (1 + z) / (2 * kt)
    energy_spec = kv(0, x) * np.exp(-x)
    trans = np.exp(-nh * sigma)
    rate = np.trapezoid(energy_spec / e * trans * a, e)
    flux = np.trapezoid(energy_spec * (trans if absorbed_flux else 1.0), e) * KEV_ERG
    return rate / flux


# Issue 16 audit: 0.565-0.578e12 ct cm2 / erg for kT 5-3 keV in 0.6-2.2 keV, unabsorbed flux.  The
# audit does not state z and NH; z = 0.33 (the cluster) with NH = 2e20 cm^-2 reproduces both to 0.2%.
@pytest.mark.parametrize(("kt", "reference"), [(3.0, 0.578e12), (5.0, 0.565e12)])
def test_efeds_ecf_audit(kt, reference):
    path = arf_file()
    ecf = energy_conversion_factor(path, [0.6, 2.2] * u.keV, kt * u.keV, z=0.33, nh=2e20 * u.cm**-2)
    assert ecf.unit.is_equivalent(u.ct * u.cm**2 / u.erg)
    value = ecf.to_value(u.ct * u.cm**2 / u.erg)
    assert value == pytest.approx(independent_ecf(path, 0.6, 2.2, kt, 0.33, 2e20), rel=2e-3)
    assert value == pytest.approx(reference, rel=0.02)


def test_efeds_ecf_options():
    path = arf_file()
    arf = read_arf(path)
    assert arf.meta["exposure"] == pytest.approx(2698.62, rel=1e-5)
    band, kt = [0.5, 2.0] * u.keV, 4 * u.keV
    absorbed = energy_conversion_factor(arf, band, kt, z=0.5, nh=5e20 * u.cm**-2, flux="absorbed")
    expected = independent_ecf(path, 0.5, 2.0, 4.0, 0.5, 5e20, absorbed_flux=True)
    assert absorbed.to_value(u.ct * u.cm**2 / u.erg) == pytest.approx(expected, rel=2e-3)
    no_psf = energy_conversion_factor(read_arf(path, remove_psf_loss=True), band, kt)
    expected = independent_ecf(path, 0.5, 2.0, 4.0, 0.0, 0.0, psf=True)
    assert no_psf.to_value(u.ct * u.cm**2 / u.erg) == pytest.approx(expected, rel=2e-3)


def test_flat_arf_analytic():
    # a flat 1000 cm2 area and a constant Gaunt factor: rate/flux = A int e^{-E/kT}/E / int e^{-E/kT}
    from scipy.special import exp1
    arf = AncillaryResponse([0.1] * u.keV, [10] * u.keV, [1000] * u.cm**2)
    kt = 5.0
    ecf = energy_conversion_factor(arf, [0.5, 2] * u.keV, kt * u.keV, gaunt="constant")
    expected = 1000 * (exp1(0.5 / kt) - exp1(2 / kt)) / (kt * (np.exp(-0.5 / kt) - np.exp(-2 / kt))) / KEV_ERG
    assert ecf.to_value(u.ct * u.cm**2 / u.erg) == pytest.approx(expected, rel=1e-9)


def test_arf_file_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="nowhere.arf"):
        read_arf(tmp_path / "nowhere.arf")
    text = tmp_path / "text.arf"
    text.write_text("not a FITS file")
    with pytest.raises(OSError, match="text.arf"):
        read_arf(text)
    image = tmp_path / "image.fits"
    fits.PrimaryHDU(np.zeros((2, 2))).writeto(image)
    with pytest.raises(ValueError, match="image.fits: no SPECRESP"):
        read_arf(image)
    cols = [fits.Column(name="ENERG_LO", format="E", array=[0.1]),
            fits.Column(name="ENERG_HI", format="E", array=[1.0])]
    partial = tmp_path / "partial.arf"
    fits.HDUList([fits.PrimaryHDU(), fits.BinTableHDU.from_columns(cols, name="SPECRESP")]).writeto(partial)
    with pytest.raises(ValueError, match=r"partial.arf: .*SPECRESP"):
        read_arf(partial)
    with pytest.raises(ValueError, match="partial.arf"):
        read_arf(partial, remove_psf_loss=True)


def test_input_errors():
    arf = AncillaryResponse([0.1] * u.keV, [10] * u.keV, [1000] * u.cm**2)
    with pytest.raises(ValueError, match="flux must be one of"):
        energy_conversion_factor(arf, [0.5, 2] * u.keV, 5 * u.keV, flux="both")
    with pytest.raises(ValueError, match="beyond the ARF"):
        energy_conversion_factor(arf, [0.5, 12] * u.keV, 5 * u.keV)
    with pytest.raises(u.UnitsError, match="nh must be a Quantity"):
        energy_conversion_factor(arf, [0.5, 2] * u.keV, 5 * u.keV, nh=1e20)
    with pytest.raises(u.UnitsError, match="area must be a Quantity"):
        AncillaryResponse([0.1] * u.keV, [10] * u.keV, [1000])
