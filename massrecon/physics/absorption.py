"""Galactic photoelectric absorption of X-rays (Morrison & McCammon 1983).

The cross-section per hydrogen atom of the interstellar medium with solar abundances (gas, no
grains) is the piecewise fit of Morrison & McCammon (1983, ApJ 270, 119, Table 2),

.. math::

    \\sigma(E) = (c_0 + c_1 E + c_2 E^2) \\, E^{-3} \\times 10^{-24}\\ \\mathrm{cm^2}
    \\qquad (E \\text{ in keV}),

with one set of coefficients per energy range between absorption edges, 0.03-10 keV.  This is
XSPEC's ``wabs`` model.  More recent cross-sections and abundances (``tbabs``, Wilms, Allen &
McCray 2000, ApJ 542, 914) give ~10-20% less absorption in the soft band for the same
:math:`N_H`; for Galactic columns of a few :math:`10^{20}` cm\\ :sup:`-2` that is below 1-2%
of the band flux.

The transmission of a column :math:`N_H` is :math:`e^{-N_H \\sigma(E)}`.  Over an observed band
:math:`[E_1, E_2]` the *band transmission* is weighted by the source's observed energy spectrum
:math:`S(E)` (`~massrecon.physics.bremsstrahlung.energy_spectrum`, a redshifted bremsstrahlung
continuum),

.. math::

    T_{band} = \\frac{\\int_{E_1}^{E_2} S(E) e^{-N_H \\sigma(E)} dE}{\\int_{E_1}^{E_2} S(E)\\, dE},

and the *absorption correction* is :math:`1 / T_{band}`, the ratio of the unabsorbed to the
absorbed energy flux in the band (the factor ``absorption_correction`` of
``massrecon.observations.rest_frame_emissivity``).  The integrals are split at the absorption
edges, where :math:`\\sigma` jumps.
"""

import astropy.units as u
import numpy as np

from . import _inputs
from ._quadrature import piecewise_integral, subdivide
from .bremsstrahlung import _check_gaunt, _gaunt

__all__ = [
    "MORRISON_MCCAMMON_RANGE",
    "absorption_correction",
    "band_transmission",
    "photoelectric_cross_section",
    "transmission",
]

#: Lower edges (keV) of the energy ranges of Morrison & McCammon (1983, Table 2); the last range
#: ends at 10 keV.
_MM83_EDGES = np.array([0.030, 0.100, 0.284, 0.400, 0.532, 0.707, 0.867, 1.303, 1.840, 2.471,
                        3.210, 4.038, 7.111, 8.331, 10.000])
#: c0, c1, c2 of each range (Morrison & McCammon 1983, Table 2), in 1e-24 cm^2 keV^3, keV^2, keV.
_MM83_COEFFS = np.array([
    [17.3, 608.1, -2150.0],
    [34.6, 267.9, -476.1],
    [78.1, 18.8, 4.3],
    [71.4, 66.8, -51.4],
    [95.5, 145.8, -61.1],
    [308.9, -380.6, 294.0],
    [120.6, 169.3, -47.7],
    [141.3, 146.8, -31.5],
    [202.7, 104.7, -17.0],
    [342.7, 18.7, 0.0],
    [352.2, 18.7, 0.0],
    [433.9, -2.4, 0.75],
    [629.0, 30.9, 0.0],
    [701.2, 25.2, 0.0],
])

#: Energy range of the Morrison & McCammon (1983) fit.
MORRISON_MCCAMMON_RANGE = (_MM83_EDGES[0], _MM83_EDGES[-1]) * u.keV


def _sigma_cm2(e_kev):
    """Cross-section (cm^2 per H) at energies inside the fit range (keV, any shape)."""
    e = np.asarray(e_kev, dtype=np.float64)
    # An energy on an edge belongs to the range above it (the edge's absorption is included).
    idx = np.clip(np.searchsorted(_MM83_EDGES, e, side="right") - 1, 0, len(_MM83_COEFFS) - 1)
    c0, c1, c2 = np.moveaxis(_MM83_COEFFS[idx], -1, 0)
    return (c0 + c1 * e + c2 * e * e) / e**3 * 1e-24


def _check_range(e_kev, name):
    lo, hi = MORRISON_MCCAMMON_RANGE.to_value(u.keV)
    if np.any(e_kev < lo) or np.any(e_kev > hi):
        raise ValueError(f"{name} must lie within the Morrison & McCammon (1983) range "
                         f"{lo}-{hi} keV, got {e_kev} keV")


def photoelectric_cross_section(energy):
    """Photoelectric absorption cross-section per hydrogen atom (Morrison & McCammon 1983, Table 2).

    Parameters
    ----------
    energy : `~astropy.units.Quantity`
        Photon energy (observed frame, where the Galactic gas absorbs), 0.03-10 keV.

    Returns
    -------
    sigma : `~astropy.units.Quantity`
        In cm\\ :sup:`2`.

    Examples
    --------
    >>> import astropy.units as u
    >>> from massrecon.physics import photoelectric_cross_section
    >>> print(f"{photoelectric_cross_section(1 * u.keV):.3g}")
    2.42e-22 cm2
    """
    e = _inputs.energy(energy, "energy").to_value(u.keV)
    _check_range(e, "energy")
    return _sigma_cm2(e) * u.cm**2


def transmission(energy, nh):
    """Transmission :math:`e^{-N_H \\sigma(E)}` of a column of Galactic gas.

    Parameters
    ----------
    energy : `~astropy.units.Quantity`
        Photon energy, 0.03-10 keV.
    nh : `~astropy.units.Quantity`
        Hydrogen column density (e.g. ``3e20 * u.cm**-2``); broadcasts with ``energy``.

    Returns
    -------
    transmission : float or `~numpy.ndarray`

    Examples
    --------
    >>> import astropy.units as u
    >>> from massrecon.physics import transmission
    >>> round(transmission(1 * u.keV, 3e20 * u.cm**-2), 3)
    0.93
    """
    sigma = photoelectric_cross_section(energy).to_value(u.cm**2)
    out = np.exp(-_inputs.column_density(nh) * sigma)
    return float(out) if np.ndim(out) == 0 else out


def band_transmission(band, nh, kT, z=0.0, gaunt="born"):
    """Fraction of a bremsstrahlung spectrum's energy flux in an observed band that is transmitted.

    See the module documentation for the weighting.

    Parameters
    ----------
    band : `~astropy.units.Quantity`
        Observed band ``(E1, E2)`` within 0.03-10 keV.
    nh : `~astropy.units.Quantity`
        Hydrogen column density; scalar or array.
    kT : `~astropy.units.Quantity`
        Source temperature (energy, or kelvin), scalar.
    z : float, optional
        Source redshift (default 0).
    gaunt : {"born", "constant"}, optional
        Gaunt factor of the bremsstrahlung spectrum.

    Returns
    -------
    transmission : float or `~numpy.ndarray`
        Absorbed over unabsorbed band energy flux, in (0, 1].

    Examples
    --------
    >>> import astropy.units as u
    >>> from massrecon.physics import band_transmission
    >>> round(band_transmission([0.5, 2] * u.keV, 3e20 * u.cm**-2, 5 * u.keV, z=0.33), 3)
    0.921
    """
    _check_gaunt(gaunt)
    e1, e2 = _inputs.band(band).to_value(u.keV)
    _check_range(np.array([e1, e2]), "band")
    nh_cm2 = _inputs.column_density(nh)
    kt = _inputs.energy(kT, "kT").to_value(u.keV)
    if np.ndim(kt) != 0:
        raise ValueError(f"kT must be a scalar, got {kT}")
    zp1 = 1.0 + float(_inputs.redshift(z))
    edges = subdivide(e1, e2, _MM83_EDGES)
    # Flux weights are normalised at the band's lower edge so that cold spectra cannot underflow.
    def spectrum(e):
        return _gaunt(e * zp1, kt, gaunt) * np.exp(-(e - e1) * zp1 / kt)

    unabsorbed = piecewise_integral(spectrum, edges).sum()
    flat = nh_cm2.ravel()
    absorbed = np.array([piecewise_integral(lambda e, n=n: spectrum(e) * np.exp(-n * _sigma_cm2(e)),
                                            edges).sum() for n in flat])
    out = (absorbed / unabsorbed).reshape(np.shape(nh_cm2))
    return float(out) if out.ndim == 0 else out


def absorption_correction(band, nh, kT, z=0.0, gaunt="born"):
    """Absorption correction: unabsorbed over absorbed energy flux in an observed band.

    :math:`1 /` `band_transmission`; multiply an observed (absorbed) band flux by it.

    Parameters
    ----------
    band, nh, kT, z, gaunt
        As `band_transmission`.

    Returns
    -------
    correction : float or `~numpy.ndarray`
        >= 1.

    Examples
    --------
    >>> import astropy.units as u
    >>> from massrecon.physics import absorption_correction
    >>> round(absorption_correction([0.5, 2] * u.keV, 3e20 * u.cm**-2, 5 * u.keV, z=0.33), 3)
    1.086
    """
    return 1.0 / band_transmission(band, nh, kT, z=z, gaunt=gaunt)
