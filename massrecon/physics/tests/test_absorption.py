"""Morrison & McCammon absorption against hand-evaluated coefficients and independent quadrature."""

import astropy.units as u
import numpy as np
import pytest
from scipy.integrate import quad
from scipy.special import kv

from massrecon.physics import (
    absorption_correction,
    band_transmission,
    photoelectric_cross_section,
    transmission,
)

# Morrison & McCammon 1983, Table 2 (range lower edge in keV, c0, c1, c2), typed again for the test.
TABLE = [(0.030, 17.3, 608.1, -2150.0), (0.100, 34.6, 267.9, -476.1), (0.284, 78.1, 18.8, 4.3),
         (0.400, 71.4, 66.8, -51.4), (0.532, 95.5, 145.8, -61.1), (0.707, 308.9, -380.6, 294.0),
         (0.867, 120.6, 169.3, -47.7), (1.303, 141.3, 146.8, -31.5), (1.840, 202.7, 104.7, -17.0),
         (2.471, 342.7, 18.7, 0.0), (3.210, 352.2, 18.7, 0.0), (4.038, 433.9, -2.4, 0.75),
         (7.111, 629.0, 30.9, 0.0), (8.331, 701.2, 25.2, 0.0)]
EDGES = [row[0] for row in TABLE] + [10.0]


def sigma(e):
    for lo, c0, c1, c2 in reversed(TABLE):
        if e >= lo:
            return (c0 + c1 * e + c2 * e**2) / e**3 * 1e-24
    raise ValueError(e)


def spectrum(e, kt, z):
    x = e * (1 + z) / (2 * kt)
    return np.exp(x) * kv(0, x) * np.exp(-e * (1 + z) / kt)


def independent_transmission(e1, e2, nh, kt, z):
    points = [p for p in EDGES if e1 < p < e2]
    num = quad(lambda e: spectrum(e, kt, z) * np.exp(-nh * sigma(e)), e1, e2, points=points, epsrel=1e-10)[0]
    return num / quad(spectrum, e1, e2, args=(kt, z), epsrel=1e-10)[0]


def test_cross_section_hand_values():
    # 1 keV lies in the 0.867-1.303 keV range: (120.6 + 169.3 - 47.7) 1e-24 cm^2
    assert photoelectric_cross_section(1 * u.keV).to_value(u.cm**2) == pytest.approx(242.2e-24)
    e = np.array([0.05, 0.3, 0.6, 1.5, 2.0, 3.0, 5.0, 9.0])
    got = photoelectric_cross_section(e * u.keV).to_value(u.cm**2)
    assert np.allclose(got, [sigma(x) for x in e], rtol=1e-12)
    assert transmission(1 * u.keV, 1e21 * u.cm**-2) == pytest.approx(np.exp(-0.2422))


# Issue 16 audit: 8% of the 0.5-2 keV flux (6% of 0.6-2.2 keV) is lost at NH = 3e20 cm^-2.
@pytest.mark.parametrize(("band", "lost"), [((0.5, 2.0), 0.08), ((0.6, 2.2), 0.06)])
@pytest.mark.parametrize(("kt", "z"), [(5.0, 0.33), (3.0, 0.33), (5.0, 0.0)])
def test_band_transmission_audit(band, lost, kt, z):
    nh = 3e20
    got = band_transmission(band * u.keV, nh * u.cm**-2, kt * u.keV, z=z)
    assert got == pytest.approx(independent_transmission(*band, nh, kt, z), rel=1e-7)
    assert got == pytest.approx(1 - lost, rel=0.01)
    assert absorption_correction(band * u.keV, nh * u.cm**-2, kt * u.keV, z=z) == pytest.approx(1 / got)


def test_band_transmission_arrays_and_limits():
    nh = np.array([0.0, 1e20, 1e22]) * u.cm**-2
    got = band_transmission([0.5, 2] * u.keV, nh, 4 * u.keV)
    assert got.shape == (3,)
    assert got[0] == 1.0
    assert got[2] == pytest.approx(independent_transmission(0.5, 2.0, 1e22, 4.0, 0.0), rel=1e-6)


@pytest.mark.parametrize(("call", "match"), [
    (lambda: photoelectric_cross_section(0.01 * u.keV), "Morrison & McCammon"),
    (lambda: band_transmission([0.5, 20] * u.keV, 1e20 * u.cm**-2, 5 * u.keV), "band must lie"),
    (lambda: band_transmission([0.5, 2] * u.keV, 1e20, 5 * u.keV), "nh must be a Quantity"),
    (lambda: band_transmission([0.5, 2] * u.keV, -1e20 * u.cm**-2, 5 * u.keV), "nh must be finite"),
    (lambda: band_transmission([0.5, 2] * u.keV, 1e20 * u.cm**-2, [3, 5] * u.keV), "kT must be a scalar"),
])
def test_input_errors(call, match):
    with pytest.raises((ValueError, u.UnitsError), match=match):
        call()
