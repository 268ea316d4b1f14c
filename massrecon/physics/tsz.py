"""Thermal Sunyaev-Zeldovich (tSZ) spectrum: Compton-y and CMB, Rayleigh-Jeans and intensity units.

Spectral function
-----------------
Inverse Compton scattering of CMB photons by hot electrons changes the CMB temperature seen
through a cluster by (Sunyaev & Zeldovich 1972, Comments Astrophys. Space Phys. 4, 173;
Carlstrom, Holder & Reese 2002, ARA&A 40, 643, eq. 2, non-relativistic limit)

.. math::

    \\frac{\\Delta T_{\\rm CMB}}{T_{\\rm CMB}} = f(x) \\, y, \\qquad
    f(x) = x \\coth(x/2) - 4, \\qquad x = \\frac{h\\nu}{k T_{\\rm CMB}},

with :math:`T_{\\rm CMB} = 2.7255` K (Fixsen 2009, ApJ 707, 916).  :math:`f < 0` (a decrement)
below the null at :math:`x_0 = 3.830` (`TSZ_NULL_FREQUENCY`, 217.5 GHz) and :math:`f > 0` above.
At 150 GHz, :math:`x = 2.641` and :math:`f = -0.953`.

Temperature and intensity units
-------------------------------
:math:`\\Delta T_{\\rm CMB}` is the change of the temperature of a blackbody that would produce
the intensity change (thermodynamic or "K_CMB" units, those of ACT, SPT, Planck and Bolocam maps).
The Rayleigh-Jeans brightness temperature :math:`T_{\\rm RJ} = c^2 I_\\nu / 2 k \\nu^2`
("K_RJ", the units of some NIKA2/MUSTANG maps) changes by the derivative of the Planck function,

.. math::

    \\frac{\\Delta T_{\\rm RJ}}{\\Delta T_{\\rm CMB}} = \\frac{x^2 e^x}{(e^x - 1)^2}
    = \\left(\\frac{x/2}{\\sinh(x/2)}\\right)^2

(0.5764 at 150 GHz), and the specific intensity by

.. math::

    \\Delta I_\\nu = \\frac{\\partial B_\\nu}{\\partial T} \\Delta T_{\\rm CMB}
    = I_0 \\, \\frac{x^4 e^x}{(e^x - 1)^2} f(x) \\, y, \\qquad
    I_0 = \\frac{2 (k T_{\\rm CMB})^3}{(h c)^2} = 270.1 \\ {\\rm MJy\\,sr^{-1}}

(Carlstrom et al. 2002, section 2).  So at 150 GHz :math:`y = -\\Delta T_{\\rm CMB} / 2.598` K
:math:`= -\\Delta T_{\\rm RJ} / 1.498` K.

Limitations
-----------
Relativistic corrections (Itoh, Kohyama & Nozawa 1998, ApJ 502, 7) are ignored: they reduce the
decrement by a few per cent at :math:`kT \\sim 10` keV (more at higher frequency), so the y from
a hot cluster is underestimated by that much.  The kinetic SZ effect and the bandpass of the
instrument (a single effective frequency is assumed) are not modelled.  Near the null, a
temperature carries no information on y: the conversions to y raise an error within
:math:`|f(x)| < 0.01` (about +-0.7 GHz around 217.5 GHz).
"""

import astropy.constants as const
import astropy.units as u
import numpy as np
from scipy.optimize import brentq

__all__ = [
    "T_CMB",
    "TSZ_NULL_FREQUENCY",
    "delta_intensity_to_y",
    "delta_t_cmb_to_y",
    "delta_t_rj_per_cmb",
    "delta_t_rj_to_y",
    "tsz_dimensionless_frequency",
    "tsz_spectral_function",
    "y_from_map",
    "y_to_delta_intensity",
    "y_to_delta_t_cmb",
    "y_to_delta_t_rj",
]

#: CMB monopole temperature (Fixsen 2009, ApJ 707, 916).
T_CMB = 2.7255 * u.K

# h / (k T_CMB) in 1/GHz: x = nu[GHz] * _X_PER_GHZ.
_X_PER_GHZ = (const.h * u.GHz / (const.k_B * T_CMB)).to_value(u.one)

#: Null of the non-relativistic tSZ spectrum, where x coth(x/2) = 4 (x = 3.8300).
TSZ_NULL_FREQUENCY = brentq(lambda x: x / np.tanh(0.5 * x) - 4.0, 3.0, 4.5, xtol=1e-14) / _X_PER_GHZ * u.GHz

#: Intensity scale 2 (k T_CMB)^3 / (h c)^2.
_I0 = (2 * (const.k_B * T_CMB) ** 3 / (const.h * const.c) ** 2).to(u.MJy) / u.sr

# Conversions to y are refused where |f(x)| is below this (about +-0.7 GHz around the null).
_NULL_TOLERANCE = 0.01

_KINDS = ("cmb", "rj")


def _frequency(frequency, name="frequency"):
    """``frequency`` as a float array in GHz, finite and > 0."""
    if not isinstance(frequency, u.Quantity) or not frequency.unit.is_equivalent(u.GHz):
        raise u.UnitsError(f"{name} must be a Quantity with frequency units (e.g. 150 * u.GHz), got {frequency!r}")
    out = frequency.to_value(u.GHz)
    if not np.all(np.isfinite(out)) or np.any(out <= 0):
        raise ValueError(f"{name} must be finite and > 0, got {frequency}")
    return np.asarray(out, dtype=np.float64)


def _compton_y(y, name="y"):
    """``y`` (float, array or dimensionless Quantity) as a float array; NaN (masked pixels) allowed."""
    if isinstance(y, u.Quantity):
        if not y.unit.is_equivalent(u.one):
            raise u.UnitsError(f"{name} must be dimensionless (Compton-y), got unit '{y.unit}'")
        y = y.to_value(u.one)
    try:
        out = np.asarray(y, dtype=np.float64)
    except (TypeError, ValueError):
        raise TypeError(f"{name} must be a number or an array of numbers, got {y!r}") from None
    if np.any(np.isinf(out)):
        raise ValueError(f"{name} must not contain infinite values")
    return out


def _quantity(value, unit, name, what):
    """``value`` as a float array in ``unit``; NaN (masked pixels) allowed, infinities not."""
    if not isinstance(value, u.Quantity) or not value.unit.is_equivalent(unit):
        raise u.UnitsError(f"{name} must be a Quantity in {what} units (e.g. {unit}), got {value!r}")
    out = value.to_value(unit)
    if np.any(np.isinf(out)):
        raise ValueError(f"{name} must not contain infinite values")
    return np.asarray(out, dtype=np.float64)


def _nonzero_f(frequency, name="frequency"):
    """f(x) at ``frequency``, refusing frequencies at the null (division by f)."""
    f = tsz_spectral_function(frequency)
    if np.any(np.abs(f) < _NULL_TOLERANCE):
        raise ValueError(
            f"{name} = {frequency} is at the tSZ null ({TSZ_NULL_FREQUENCY:.1f}, |f(x)| < {_NULL_TOLERANCE}): "
            "a temperature or intensity there carries no Compton-y signal, the conversion to y is undefined"
        )
    return f


def _scalar_or_array(x):
    return float(x) if np.ndim(x) == 0 else x


def tsz_dimensionless_frequency(frequency):
    """Dimensionless frequency :math:`x = h\\nu / k T_{\\rm CMB}`.

    Parameters
    ----------
    frequency : `~astropy.units.Quantity`
        Observing frequency (scalar or array).

    Returns
    -------
    x : float or `~numpy.ndarray`

    Examples
    --------
    >>> import astropy.units as u
    >>> from massrecon.physics import tsz_dimensionless_frequency
    >>> round(tsz_dimensionless_frequency(150 * u.GHz), 3)
    2.641
    """
    return _scalar_or_array(_frequency(frequency) * _X_PER_GHZ)


def tsz_spectral_function(frequency):
    """Non-relativistic tSZ spectral function :math:`f(x) = x\\coth(x/2) - 4`.

    :math:`\\Delta T_{\\rm CMB} / T_{\\rm CMB} = f(x) \\, y` (Carlstrom, Holder & Reese 2002,
    ARA&A 40, 643, eq. 2 without the relativistic term :math:`\\delta_{\\rm SZ}`).

    Parameters
    ----------
    frequency : `~astropy.units.Quantity`
        Observing frequency.

    Returns
    -------
    f : float or `~numpy.ndarray`
        Negative below `TSZ_NULL_FREQUENCY`, positive above.

    Examples
    --------
    >>> import astropy.units as u
    >>> from massrecon.physics import tsz_spectral_function
    >>> round(tsz_spectral_function(150 * u.GHz), 3)
    -0.953
    """
    x = _frequency(frequency) * _X_PER_GHZ
    return _scalar_or_array(x / np.tanh(0.5 * x) - 4.0)


def delta_t_rj_per_cmb(frequency):
    """Ratio :math:`\\Delta T_{\\rm RJ} / \\Delta T_{\\rm CMB} = x^2 e^x / (e^x - 1)^2`.

    Parameters
    ----------
    frequency : `~astropy.units.Quantity`
        Observing frequency.

    Returns
    -------
    ratio : float or `~numpy.ndarray`
        Between 0 and 1 (1 in the Rayleigh-Jeans limit :math:`x \\to 0`).

    Examples
    --------
    >>> import astropy.units as u
    >>> from massrecon.physics import delta_t_rj_per_cmb
    >>> round(delta_t_rj_per_cmb(150 * u.GHz), 4)
    0.5764
    """
    half = 0.5 * _frequency(frequency) * _X_PER_GHZ
    # (x/2 / sinh(x/2))^2 is the same ratio without the cancellation of e^x - 1 at small x
    return _scalar_or_array((half / np.sinh(half)) ** 2)


def y_to_delta_t_cmb(y, frequency):
    """CMB (thermodynamic) temperature change :math:`\\Delta T_{\\rm CMB} = T_{\\rm CMB} f(x) y`.

    Parameters
    ----------
    y : float, array-like or dimensionless `~astropy.units.Quantity`
        Compton-y (NaN pixels stay NaN).
    frequency : `~astropy.units.Quantity`
        Observing frequency (broadcast against ``y``).

    Returns
    -------
    delta_t : `~astropy.units.Quantity`
        In K (CMB).

    Examples
    --------
    >>> import astropy.units as u
    >>> from massrecon.physics import y_to_delta_t_cmb
    >>> y_to_delta_t_cmb(1e-4, 150 * u.GHz).to(u.uK).round(1)
    <Quantity -259.8 uK>
    """
    return _compton_y(y) * tsz_spectral_function(frequency) * T_CMB


def delta_t_cmb_to_y(delta_t, frequency):
    """Compton-y from a CMB (thermodynamic) temperature change, the inverse of `y_to_delta_t_cmb`.

    Parameters
    ----------
    delta_t : `~astropy.units.Quantity`
        Temperature change in K, mK or uK (CMB); NaN pixels stay NaN.
    frequency : `~astropy.units.Quantity`
        Observing frequency; not within about 0.7 GHz of the null (`TSZ_NULL_FREQUENCY`).

    Returns
    -------
    y : float or `~numpy.ndarray`

    Raises
    ------
    ValueError
        At the null, where the conversion is undefined.

    Examples
    --------
    >>> import astropy.units as u
    >>> from massrecon.physics import delta_t_cmb_to_y
    >>> print(f"{delta_t_cmb_to_y(-100 * u.uK, 150 * u.GHz):.3e}")
    3.849e-05
    """
    dt = _quantity(delta_t, u.K, "delta_t", "temperature")
    return _scalar_or_array(dt / (T_CMB.to_value(u.K) * _nonzero_f(frequency)))


def y_to_delta_t_rj(y, frequency):
    """Rayleigh-Jeans brightness temperature change of the tSZ effect.

    :math:`\\Delta T_{\\rm RJ} = T_{\\rm CMB} f(x) y \\, x^2 e^x / (e^x - 1)^2`.

    Parameters
    ----------
    y : float, array-like or dimensionless `~astropy.units.Quantity`
        Compton-y.
    frequency : `~astropy.units.Quantity`
        Observing frequency.

    Returns
    -------
    delta_t : `~astropy.units.Quantity`
        In K (Rayleigh-Jeans).

    Examples
    --------
    >>> import astropy.units as u
    >>> from massrecon.physics import y_to_delta_t_rj
    >>> y_to_delta_t_rj(1e-4, 150 * u.GHz).to(u.uK).round(1)
    <Quantity -149.8 uK>
    """
    return y_to_delta_t_cmb(y, frequency) * delta_t_rj_per_cmb(frequency)


def delta_t_rj_to_y(delta_t, frequency):
    """Compton-y from a Rayleigh-Jeans brightness temperature change (inverse of `y_to_delta_t_rj`).

    Parameters
    ----------
    delta_t : `~astropy.units.Quantity`
        Temperature change in K, mK or uK (Rayleigh-Jeans).
    frequency : `~astropy.units.Quantity`
        Observing frequency; not at the null.

    Returns
    -------
    y : float or `~numpy.ndarray`

    Examples
    --------
    >>> import astropy.units as u
    >>> from massrecon.physics import delta_t_rj_to_y
    >>> print(f"{delta_t_rj_to_y(-149.8 * u.uK, 150 * u.GHz):.4e}")
    1.0002e-04
    """
    dt = _quantity(delta_t, u.K, "delta_t", "temperature")
    f = _nonzero_f(frequency)
    return _scalar_or_array(dt / (T_CMB.to_value(u.K) * f * delta_t_rj_per_cmb(frequency)))


def _intensity_factor(frequency):
    """:math:`I_0 x^4 e^x / (e^x - 1)^2` in MJy/sr (the derivative of B_nu times T_CMB)."""
    x = _frequency(frequency) * _X_PER_GHZ
    return _I0.to_value(u.MJy / u.sr) * x**2 * (0.5 * x / np.sinh(0.5 * x)) ** 2


def y_to_delta_intensity(y, frequency):
    """Specific intensity change :math:`\\Delta I_\\nu = I_0 \\, x^4 e^x (e^x - 1)^{-2} f(x) \\, y`.

    Parameters
    ----------
    y : float, array-like or dimensionless `~astropy.units.Quantity`
        Compton-y.
    frequency : `~astropy.units.Quantity`
        Observing frequency.

    Returns
    -------
    delta_i : `~astropy.units.Quantity`
        In MJy/sr.

    Examples
    --------
    >>> import astropy.units as u
    >>> from massrecon.physics import y_to_delta_intensity
    >>> y_to_delta_intensity(1e-4, 150 * u.GHz).round(4)
    <Quantity -0.1035 MJy / sr>
    """
    dy = _compton_y(y) * tsz_spectral_function(frequency) * _intensity_factor(frequency)
    return dy * (u.MJy / u.sr)


def delta_intensity_to_y(delta_i, frequency):
    """Compton-y from a specific intensity change (inverse of `y_to_delta_intensity`).

    Parameters
    ----------
    delta_i : `~astropy.units.Quantity`
        Intensity change in surface-brightness units (e.g. MJy/sr, Jy/sr).
    frequency : `~astropy.units.Quantity`
        Observing frequency; not at the null.

    Returns
    -------
    y : float or `~numpy.ndarray`

    Examples
    --------
    >>> import astropy.units as u
    >>> from massrecon.physics import delta_intensity_to_y
    >>> print(f"{delta_intensity_to_y(0.1 * u.MJy / u.sr, 353 * u.GHz):.3e}")
    5.520e-05
    """
    di = _quantity(delta_i, u.MJy / u.sr, "delta_i", "surface-brightness")
    f = _nonzero_f(frequency)
    return _scalar_or_array(di / (f * _intensity_factor(frequency)))


def y_from_map(data, frequency, kind="cmb"):
    """Compton-y map from a tSZ temperature map at one frequency.

    For ground-based SZ maps (ACT, SPT, Bolocam in K_CMB; NIKA2 or MUSTANG in K_RJ).  The map is
    converted pixel by pixel: any filtering of the instrument (see
    ``massrecon.observations.transfer``) stays in the y map, and so does a non-zero mean level.

    Parameters
    ----------
    data : `~astropy.units.Quantity`
        Temperature map in K, mK or uK (of any shape); NaN pixels (masked) stay NaN.
    frequency : `~astropy.units.Quantity`
        Effective frequency of the map (scalar); not at the tSZ null.
    kind : {"cmb", "rj"}
        Whether ``data`` are CMB (thermodynamic) or Rayleigh-Jeans temperatures.

    Returns
    -------
    y : `~numpy.ndarray`
        Compton-y, positive where the temperature decrement is negative (below the null).

    Raises
    ------
    astropy.units.UnitsError
        If ``data`` is not a temperature Quantity (a plain array has no stated units) or
        ``frequency`` not a frequency.
    ValueError
        For an unknown ``kind``, a non-scalar ``frequency`` or one at the null.

    Examples
    --------
    >>> import numpy as np, astropy.units as u
    >>> from massrecon.physics import y_from_map
    >>> y = y_from_map(np.array([[-259.8, -129.9], [0.0, np.nan]]) * u.uK, 150 * u.GHz)
    >>> print(f"{y[0, 0]:.3e} {y[0, 1]:.3e} {y[1, 1]}")
    9.999e-05 4.999e-05 nan
    """
    if kind not in _KINDS:
        raise ValueError(f"kind must be one of {_KINDS} (CMB or Rayleigh-Jeans temperature), got {kind!r}")
    if not isinstance(data, u.Quantity) or not data.unit.is_equivalent(u.K):
        unit = data.unit if isinstance(data, u.Quantity) else "none (a plain array)"
        raise u.UnitsError(
            f"data must be a temperature Quantity (K, mK or uK, CMB or RJ as kind says), got unit {unit}; "
            "for MJy/sr maps use delta_intensity_to_y"
        )
    if not isinstance(frequency, u.Quantity) or not frequency.isscalar:
        _frequency(frequency)  # the units error first, when there is one
        raise ValueError(f"frequency must be a scalar (the map's effective frequency), got {frequency}")
    convert = delta_t_cmb_to_y if kind == "cmb" else delta_t_rj_to_y
    return np.asarray(convert(data, frequency), dtype=np.float64)
