"""Thermal bremsstrahlung (free-free) continuum of a hot, fully ionised plasma.

Spectrum
--------
The emissivity per unit volume and frequency of an ion species of charge :math:`Z` is
(Rybicki & Lightman 1979, *Radiative Processes in Astrophysics*, eq. 5.14a)

.. math::

    \\epsilon_\\nu = \\frac{2^5 \\pi e^6}{3 m_e c^3} \\left(\\frac{2\\pi}{3 k m_e}\\right)^{1/2}
    Z^2 n_e n_i T^{-1/2} e^{-h\\nu/kT} \\bar g_{ff}
    = 6.8 \\times 10^{-38} \\, Z^2 n_e n_i T^{-1/2} e^{-h\\nu/kT} \\bar g_{ff}
    \\ \\mathrm{erg\\,s^{-1}\\,cm^{-3}\\,Hz^{-1}},

with the velocity-averaged Gaunt factor :math:`\\bar g_{ff}(E, T)`.  In the Born approximation,
valid for :math:`kT \\gg Z^2 \\times 13.6` eV (all cluster temperatures), it is
(Rybicki & Lightman 1979, eq. 5.15 averaged over the Maxwellian, problem 5.2; e.g. Karzas &
Latter 1961)

.. math::

    \\bar g_{ff}(E, T) = \\frac{\\sqrt 3}{\\pi} \\, e^{E/2kT} K_0\\!\\left(\\frac{E}{2kT}\\right),

evaluated with `scipy.special.k0e` (:math:`e^x K_0(x)`), which does not overflow.  Its average
over the spectrum, :math:`\\int_0^\\infty \\bar g_{ff} e^{-E/kT} dE / kT = 2\\sqrt 3 / \\pi
\\approx 1.10` (from :math:`\\int_0^\\infty e^{-x} K_0(x)\\,dx = 1`, Gradshteyn & Ryzhik 6.611.9),
is the frequency-averaged Gaunt factor :math:`g_B` of the bolometric emissivity (Rybicki &
Lightman eq. 5.15 quote 1.1-1.5; exact quantum values, e.g. van Hoof et al. 2014, MNRAS 444,
420, are a few per cent higher at keV temperatures).  ``gaunt="constant"`` sets
:math:`\\bar g_{ff} = 1`, the pure exponential that ``massrecon.observations.xray`` and
``massrecon.simulate.emission`` used before issue 16 (for comparisons).

Band K-correction
-----------------
A source at redshift :math:`z` observed in the band :math:`[E_1, E_2]` is seen in the rest-frame
band :math:`[E_1 (1+z), E_2 (1+z)]`.  `band_kcorrection` is the ratio of the energy emitted in a
rest-frame band (default 0.5-2 keV) to that emitted in the redshifted observed band,

.. math::

    K = \\frac{\\int_{R_1}^{R_2} \\bar g_{ff}(E, T) e^{-E/kT} dE}
             {\\int_{E_1(1+z)}^{E_2(1+z)} \\bar g_{ff}(E, T) e^{-E/kT} dE},

so that :math:`L_{[R_1, R_2]} = K \\, 4\\pi D_L^2 F_{[E_1, E_2]}`.  This is the direction of
``massrecon.observations.band_conversion_factor(e1, e2, z, kT)``, which calls
``band_kcorrection(z, kT, [e1, e2])``; ``massrecon.simulate.emission`` takes the simulator's
rest-frame 0.5-2 keV share of the continuum from `band_energy_fraction`.

Cooling function
----------------
`free_free_cooling_function` gives :math:`\\Lambda` per :math:`n_e n_H`, the massrecon convention
(:math:`\\epsilon = n_e n_H \\Lambda`), for hydrogen and helium, fully ionised:
:math:`\\sum_i Z_i^2 n_i = n_H (1 + 4 y)` with :math:`y = n_{He}/n_H` (default `HELIUM_TO_HYDROGEN`,
so that :math:`n_e / n_H = 1 + 2y = 1.17`).  Metals (Z = 0.3 solar) would add ~1% to
:math:`\\sum Z_i^2 n_i` and are left out, and so are lines and recombination: this is the
free-free continuum only.
"""

import astropy.constants as const
import astropy.units as u
import numpy as np
from scipy.special import k0e

from . import _inputs

__all__ = [
    "GAUNT_BORN_AVERAGE",
    "HELIUM_TO_HYDROGEN",
    "REST_BAND",
    "band_energy_fraction",
    "band_kcorrection",
    "energy_spectrum",
    "free_free_cooling_function",
    "gaunt_factor",
    "photon_spectrum",
]

#: The model's rest-frame X-ray band (as ``massrecon.observations.REST_BAND``).
REST_BAND = (0.5, 2.0) * u.keV

#: Spectrum-averaged Born Gaunt factor :math:`2\sqrt{3}/\pi` (see the module documentation).
GAUNT_BORN_AVERAGE = 2.0 * np.sqrt(3.0) / np.pi

#: Helium-to-hydrogen number ratio :math:`10^{10.93 - 12}` (Asplund et al. 2009, ARA&A 47, 481,
#: Table 1): :math:`n_e/n_H = 1.17` for H + He, as ``massrecon.simulate.emission.NE_OVER_NH``.
HELIUM_TO_HYDROGEN = 10 ** (10.93 - 12.0)

_GAUNT_CHOICES = ("born", "constant")

# Band integrals are done in v = exp(-(E - E1)/kT), where the integrand is the Gaunt factor alone
# (smooth, slowly varying), with 8-point Gauss-Legendre on 12 pieces of equal width in E up to
# 40 e-folds above E1 (the rest is below 1e-17 of the integral): ~1e-9 at any temperature.
_GL_NODES, _GL_WEIGHTS = np.polynomial.legendre.leggauss(8)
_PIECES = 12
_MAX_EFOLDS = 40.0


def _check_gaunt(gaunt):
    if gaunt not in _GAUNT_CHOICES:
        raise ValueError(f"gaunt must be one of {_GAUNT_CHOICES}, got {gaunt!r}")


def _gaunt(e_kev, kt_kev, gaunt="born"):
    if gaunt == "constant":
        return np.ones(np.broadcast_shapes(np.shape(e_kev), np.shape(kt_kev)))
    return np.sqrt(3.0) / np.pi * k0e(0.5 * np.asarray(e_kev) / kt_kev)


def _band_integral_scaled(a, b, kt, gaunt):
    """``S`` with :math:`\\int_a^b \\bar g e^{-E/kT} dE = kT \\, e^{-a/kT} S` (rest-frame keV)."""
    a, b, kt = np.broadcast_arrays(*(np.asarray(v, dtype=np.float64) for v in (a, b, kt)))
    vb = np.exp(-(b - a) / kt)
    if gaunt == "constant":
        return 1.0 - vb
    # piece edges in v: exp(-t_j) with t uniform in [0, min((b - a)/kT, 40)]
    t = np.minimum((b - a) / kt, _MAX_EFOLDS)[..., None] * np.linspace(0.0, 1.0, _PIECES + 1)
    v_edges = np.exp(-t)
    hi, lo = v_edges[..., :-1, None], v_edges[..., 1:, None]
    half = 0.5 * (hi - lo)
    v = lo + half * (_GL_NODES + 1.0)
    energy = a[..., None, None] - kt[..., None, None] * np.log(v)
    return (half * _GL_WEIGHTS * _gaunt(energy, kt[..., None, None])).sum(axis=(-2, -1))


def _scalar_or_array(x):
    x = np.asarray(x, dtype=np.float64)
    return float(x) if x.ndim == 0 else x


def gaunt_factor(energy, kT):
    """Velocity-averaged free-free Gaunt factor in the Born approximation.

    :math:`\\bar g_{ff} = (\\sqrt 3/\\pi) e^{E/2kT} K_0(E/2kT)` (Rybicki & Lightman 1979,
    eq. 5.15 averaged over a Maxwellian).

    Parameters
    ----------
    energy : `~astropy.units.Quantity`
        Rest-frame photon energy.
    kT : `~astropy.units.Quantity`
        Temperature (energy, or kelvin).

    Returns
    -------
    gaunt : float or `~numpy.ndarray`

    Examples
    --------
    >>> import astropy.units as u
    >>> from massrecon.physics import gaunt_factor
    >>> round(gaunt_factor(1 * u.keV, 5 * u.keV), 3)
    1.479
    """
    e = _inputs.energy(energy, "energy").to_value(u.keV)
    kt = _inputs.energy(kT, "kT").to_value(u.keV)
    return _scalar_or_array(_gaunt(e, kt))


def energy_spectrum(energy, kT, z=0.0, gaunt="born"):
    """Shape of the observed bremsstrahlung energy spectrum :math:`dF/dE`, arbitrary normalisation.

    :math:`\\bar g_{ff}(E', T) \\, e^{-E'/kT}` with the rest-frame energy :math:`E' = E (1+z)`
    (Rybicki & Lightman 1979, eq. 5.14a).

    Parameters
    ----------
    energy : `~astropy.units.Quantity`
        Observed photon energy.
    kT : `~astropy.units.Quantity`
        Temperature (energy, or kelvin).
    z : float, optional
        Redshift (default 0).
    gaunt : {"born", "constant"}, optional
        Gaunt factor: Born approximation (default) or 1.

    Returns
    -------
    shape : float or `~numpy.ndarray`
        Dimensionless; 1 at :math:`E \\to 0` with ``gaunt="constant"``.

    Examples
    --------
    >>> import astropy.units as u
    >>> from massrecon.physics import energy_spectrum
    >>> round(energy_spectrum(5 * u.keV, 5 * u.keV, gaunt="constant"), 4)
    0.3679
    """
    _check_gaunt(gaunt)
    e = _inputs.energy(energy, "energy").to_value(u.keV) * (1.0 + _inputs.redshift(z))
    kt = _inputs.energy(kT, "kT").to_value(u.keV)
    return _scalar_or_array(_gaunt(e, kt, gaunt) * np.exp(-e / kt))


def photon_spectrum(energy, kT, z=0.0, gaunt="born"):
    """Shape of the observed bremsstrahlung photon spectrum :math:`dN/dE = (dF/dE) / E`.

    Parameters
    ----------
    energy, kT, z, gaunt
        As `energy_spectrum`.

    Returns
    -------
    shape : `~astropy.units.Quantity`
        In keV\\ :sup:`-1`, arbitrary normalisation (`energy_spectrum` divided by the energy).

    Examples
    --------
    >>> import astropy.units as u
    >>> from massrecon.physics import photon_spectrum
    >>> photon_spectrum(1 * u.keV, 5 * u.keV, gaunt="constant")  # doctest: +FLOAT_CMP
    <Quantity 0.81873075 1 / keV>
    """
    return energy_spectrum(energy, kT, z, gaunt) / _inputs.energy(energy, "energy").to(u.keV)


def band_energy_fraction(band, kT, z=0.0, gaunt="born"):
    """Fraction of the bolometric bremsstrahlung energy flux that falls in an observed band.

    :math:`\\int_{E_1(1+z)}^{E_2(1+z)} \\bar g_{ff} e^{-E/kT} dE \\,/\\, (\\langle g \\rangle kT)`,
    with :math:`\\langle g \\rangle` = `GAUNT_BORN_AVERAGE` (Born) or 1 (constant).

    Parameters
    ----------
    band : `~astropy.units.Quantity`
        Observed band ``(E1, E2)``.
    kT : `~astropy.units.Quantity`
        Temperature (energy, or kelvin); scalar or array.
    z : float or array-like, optional
        Redshift (default 0).
    gaunt : {"born", "constant"}, optional
        Gaunt factor.

    Returns
    -------
    fraction : float or `~numpy.ndarray`

    Examples
    --------
    >>> import astropy.units as u
    >>> from massrecon.physics import band_energy_fraction
    >>> round(band_energy_fraction([0.5, 2] * u.keV, 5 * u.keV, gaunt="constant"), 3)
    0.235
    >>> round(band_energy_fraction([0.5, 2] * u.keV, 5 * u.keV), 3)
    0.304
    """
    _check_gaunt(gaunt)
    e1, e2 = _inputs.band(band).to_value(u.keV)
    kt = _inputs.energy(kT, "kT").to_value(u.keV)
    zp1 = 1.0 + _inputs.redshift(z)
    a = e1 * zp1
    scaled = _band_integral_scaled(a, e2 * zp1, kt, gaunt)
    mean_gaunt = GAUNT_BORN_AVERAGE if gaunt == "born" else 1.0
    return _scalar_or_array(np.exp(-a / kt) * scaled / mean_gaunt)


def band_kcorrection(z, kT, band=REST_BAND, rest_band=REST_BAND, gaunt="born"):
    """Band K-correction of a bremsstrahlung spectrum: rest-band over redshifted observed-band energy.

    :math:`K = F_{\\rm rest}[R_1, R_2] / F_{\\rm rest}[E_1(1+z), E_2(1+z)]`, so that the rest-band
    luminosity is :math:`L_{[R_1, R_2]} = K \\, 4 \\pi D_L^2 F_{[E_1, E_2]}` (see the module
    documentation).

    Parameters
    ----------
    z : float or array-like
        Redshift (>= 0).
    kT : `~astropy.units.Quantity`
        Gas temperature (energy, or kelvin); broadcasts with ``z``.
    band : `~astropy.units.Quantity`, optional
        Observed band ``(E1, E2)``; default 0.5-2 keV.
    rest_band : `~astropy.units.Quantity`, optional
        Rest-frame band ``(R1, R2)``; default 0.5-2 keV (`REST_BAND`).
    gaunt : {"born", "constant"}, optional
        Gaunt factor: Born approximation (default) or 1 (the pure exponential).

    Returns
    -------
    k : float or `~numpy.ndarray`

    Raises
    ------
    ValueError
        If the redshifted band carries no flux in double precision (kT far below the band).

    Examples
    --------
    >>> import astropy.units as u
    >>> from massrecon.physics import band_kcorrection
    >>> round(band_kcorrection(0.33, 5 * u.keV), 3)
    0.888
    >>> round(band_kcorrection(0.33, 5 * u.keV, gaunt="constant"), 3)
    0.814
    """
    _check_gaunt(gaunt)
    zp1 = 1.0 + _inputs.redshift(z)
    kt = _inputs.energy(kT, "kT").to_value(u.keV)
    e1, e2 = _inputs.band(band).to_value(u.keV)
    r1, r2 = _inputs.band(rest_band, "rest_band").to_value(u.keV)
    observed = _band_integral_scaled(e1 * zp1, e2 * zp1, kt, gaunt)
    rest = _band_integral_scaled(r1, r2, kt, gaunt)
    if np.any(~(observed > 0)):
        raise ValueError(f"the band {band} at z = {z} carries no bremsstrahlung flux at kT = {kT} "
                         "(numerically zero); check the band and temperature")
    # The exp(-E1/kT) prefactors are combined in one exponent so that they cannot underflow.
    return _scalar_or_array(np.exp((e1 * zp1 - r1) / kt) * rest / observed)


def free_free_cooling_function(kT, band=None, helium_to_hydrogen=HELIUM_TO_HYDROGEN):
    """Free-free cooling function :math:`\\Lambda` per :math:`n_e n_H` of an H + He plasma.

    :math:`\\Lambda = C \\, T^{-1/2} (1 + 4y) \\int_{\\nu_1}^{\\nu_2} \\bar g_{ff} e^{-h\\nu/kT}
    d\\nu` with :math:`C = 2^5\\pi e^6 / (3 m_e c^3) \\, (2\\pi / 3 k m_e)^{1/2} = 6.8 \\times
    10^{-38}` cgs (Rybicki & Lightman 1979, eq. 5.14a), Born Gaunt factor, ion sum
    :math:`\\sum Z_i^2 n_i = (1 + 4y) n_H` (see the module documentation).  Without a band it is
    bolometric, :math:`C T^{-1/2} (1+4y) g_B kT/h` with :math:`g_B` = `GAUNT_BORN_AVERAGE`
    (Rybicki & Lightman eq. 5.15).

    Parameters
    ----------
    kT : `~astropy.units.Quantity`
        Temperature (energy, or kelvin); scalar or array.
    band : `~astropy.units.Quantity`, optional
        Rest-frame band ``(E1, E2)``, e.g. ``[0.5, 2] * u.keV``; default bolometric.
    helium_to_hydrogen : float, optional
        :math:`y = n_{He}/n_H`; default `HELIUM_TO_HYDROGEN` (0.0851).

    Returns
    -------
    cooling : `~astropy.units.Quantity`
        In erg cm\\ :sup:`3` s\\ :sup:`-1`; the emissivity is :math:`n_e n_H \\Lambda`.

    Examples
    --------
    >>> import astropy.units as u
    >>> from massrecon.physics import free_free_cooling_function
    >>> lam = free_free_cooling_function(5 * u.keV, [0.5, 2] * u.keV)
    >>> print(f"{lam:.3g}")
    4.88e-24 cm3 erg / s
    """
    kt = _inputs.energy(kT, "kT")
    y = float(helium_to_hydrogen)
    if not np.isfinite(y) or y < 0:
        raise ValueError(f"helium_to_hydrogen must be finite and >= 0, got {helium_to_hydrogen}")
    e_esu = const.e.esu
    prefactor = (2**5 * np.pi * e_esu**6 / (3 * const.m_e * const.c**3)
                 * np.sqrt(2 * np.pi / (3 * const.k_B * const.m_e)))
    temperature = kt.to(u.K, equivalencies=u.temperature_energy())
    if band is None:
        integral = GAUNT_BORN_AVERAGE * kt / const.h
    else:
        e1, e2 = _inputs.band(band).to_value(u.keV)
        k = kt.to_value(u.keV)
        integral = k * np.exp(-e1 / k) * _band_integral_scaled(e1, e2, k, "born") * u.keV / const.h
    lam = prefactor * temperature**-0.5 * (1.0 + 4.0 * y) * integral
    return lam.to(u.erg * u.cm**3 / u.s)
