"""K-corrections of SDSS galaxy magnitudes and stellar masses from g and r photometry.

K-corrections
-------------
Chilingarian, Melchior & Zolotukhin (2010, MNRAS 405, 1409) fit the K-correction of a band as a
two-dimensional polynomial of the redshift :math:`z` and one *observed* colour :math:`c`,

.. math::

    K(z, c) = \\sum_{x, y} a_{xy} \\, z^x c^y ,

(their eq. 1), with coefficients extended to :math:`z \\le 0.5` by Chilingarian & Zolotukhin
(2012, MNRAS 419, 1727), as published in their "K-corrections calculator"
(http://kcor.sai.msu.ru/; the same tables are distributed in STILTS/TOPCAT,
``uk.ac.starlink.ttools.func.KCorrections``).  The tables for SDSS g and r as functions of the
observed :math:`g - r` (AB) are below.  The rest-frame magnitude is
:math:`m_{rest} = m - K`, and the rest-frame colour :math:`(g-r)_{rest} = (g-r) - K_g + K_r`.
The fits are calibrated for :math:`0 \\le z \\le 0.5` and the colours of real galaxies
(:math:`g - r \\approx 0` to 1.1 at low z, up to ~2 for red galaxies at z ~ 0.5).

Stellar masses
--------------
The colour-based mass-to-light ratio of Bell et al. (2003, ApJS 149, 289, Table 7, SDSS
:math:`g - r` colour, r band) is

.. math:: \\log_{10} (M_*/L_r) = -0.306 + 1.097 \\, (g - r)_{rest} + \\Delta_{IMF},

for their "diet Salpeter" IMF (:math:`\\Delta_{IMF} = 0`).  Other IMFs shift the masses by a
constant: Bell et al. (2003, sec. 2.4) give :math:`-0.15` dex for a Kroupa (2001) or Kennicutt
(1983) IMF; a Chabrier (2003) IMF is about 0.1 dex below diet Salpeter.  The default here,
`IMF_OFFSET_CHABRIER` = :math:`-0.093` dex, is the value ``massrecon.observations.members`` uses
for a Chabrier IMF (the IMF of the stellar-mass-halo-mass relations the simulator draws from,
e.g. Moster et al. 2013).  With the absolute magnitude
:math:`M_r = r - 5 \\log_{10}(D_L / 10\\,\\mathrm{pc}) - K_r`,

.. math:: M_* = (M_*/L_r) \\, 10^{-0.4 (M_r - M_{\\odot, r})},

where :math:`M_{\\odot,r} = 4.65` (AB) is the absolute magnitude of the Sun in the SDSS r band
(Willmer 2018, ApJS 236, 47, Table 3; Blanton & Roweis 2007, AJ 133, 734, give 4.64-4.76
depending on the r-band shift), `SUN_ABSOLUTE_MAGNITUDE_R`.  The luminosity distance comes from an
`astropy.cosmology` instance, by default `~astropy.cosmology.Planck18`.
"""

import astropy.units as u
import numpy as np
from astropy.cosmology import Planck18

from . import _inputs

__all__ = [
    "BELL03_R_GR",
    "IMF_OFFSET_CHABRIER",
    "IMF_OFFSET_KROUPA",
    "KCORRECTION_MAX_REDSHIFT",
    "SUN_ABSOLUTE_MAGNITUDE_R",
    "kcorrection_gr",
    "rest_frame_gr",
    "stellar_mass_from_gr",
]

#: Coefficients a[x][y] of z^x (g-r)^y of the SDSS g and r K-corrections as functions of the
#: observed g - r (Chilingarian et al. 2010, eq. 1; coefficients of Chilingarian & Zolotukhin
#: 2012 from the K-corrections calculator, http://kcor.sai.msu.ru/).
_KCOR_GR = {
    "g": np.array([
        [0, 0, 0, 0],
        [-2.45204, 4.10188, 10.5258, -13.5889],
        [56.7969, -140.913, 144.572, 57.2155],
        [-466.949, 222.789, -917.46, -78.0591],
        [2906.77, 1500.8, 1689.97, 30.889],
        [-10453.7, -4419.56, -1011.01, 0],
        [17568, 3236.68, 0, 0],
        [-10820.7, 0, 0, 0],
    ]),
    "r": np.array([
        [0, 0, 0, 0],
        [1.83285, -2.71446, 4.97336, -3.66864],
        [-19.7595, 10.5033, 18.8196, 6.07785],
        [33.6059, -120.713, -49.299, 0],
        [144.371, 216.453, 0, 0],
        [-295.39, 0, 0, 0],
    ]),
}

#: Upper redshift of the K-correction fits (Chilingarian & Zolotukhin 2012).
KCORRECTION_MAX_REDSHIFT = 0.5

#: Bell et al. (2003, ApJS 149, 289), Table 7: log10(M/L_r) = a + b (g - r), diet Salpeter IMF.
BELL03_R_GR = (-0.306, 1.097)

#: IMF offset (dex) from Bell's diet Salpeter to a Chabrier IMF, as ``massrecon.observations.members``.
IMF_OFFSET_CHABRIER = -0.093

#: IMF offset (dex) from Bell's diet Salpeter to a Kroupa IMF (Bell et al. 2003, sec. 2.4).
IMF_OFFSET_KROUPA = -0.15

#: Absolute AB magnitude of the Sun in the SDSS r band (Willmer 2018, ApJS 236, 47, Table 3).
SUN_ABSOLUTE_MAGNITUDE_R = 4.65


def _magnitude(value, name):
    """Plain magnitudes (float array) from a float, an array or a Quantity in mag."""
    if isinstance(value, u.Quantity):
        if value.unit not in (u.mag, u.ABmag, u.dimensionless_unscaled):
            raise u.UnitsError(f"{name} must be an AB magnitude (a number, u.mag or u.ABmag), "
                               f"got unit '{value.unit}'")
        value = value.value
    out = np.asarray(value, dtype=np.float64)
    if not np.all(np.isfinite(out)):
        raise ValueError(f"{name} must be finite, got {value}")
    return out


def _kcor_redshift(z):
    z = _inputs.redshift(z)
    if np.any(z > KCORRECTION_MAX_REDSHIFT):
        raise ValueError(f"z must be <= {KCORRECTION_MAX_REDSHIFT} (range of the Chilingarian & "
                         f"Zolotukhin 2012 K-corrections), got {z}")
    return z


def _kcor(band, z, gr):
    z, gr = np.broadcast_arrays(z, gr)
    return np.polynomial.polynomial.polyval2d(z, gr, _KCOR_GR[band])


def _out(x):
    return float(x) if np.ndim(x) == 0 else x


def kcorrection_gr(band, z, gr_observed):
    """K-correction (mag) of an SDSS g or r magnitude from the observed g - r colour.

    Chilingarian et al. (2010, eq. 1) with the coefficients of Chilingarian & Zolotukhin (2012);
    rest-frame magnitude :math:`m - K`.

    Parameters
    ----------
    band : {"g", "r"}
        SDSS band (AB).
    z : float or array-like
        Redshift, 0-0.5.
    gr_observed : float, array-like or `~astropy.units.Quantity`
        Observed g - r colour (AB mag); broadcasts with ``z``.

    Returns
    -------
    k : float or `~numpy.ndarray`
        In magnitudes.

    Examples
    --------
    >>> from massrecon.physics import kcorrection_gr
    >>> round(kcorrection_gr("r", 0.1, 0.8), 4)
    0.0689
    >>> round(kcorrection_gr("g", 0.16, -0.8), 3)  # the STILTS documentation example
    3.594
    """
    if band not in _KCOR_GR:
        raise ValueError(f"band must be one of {sorted(_KCOR_GR)}, got {band!r}")
    return _out(_kcor(band, _kcor_redshift(z), _magnitude(gr_observed, "gr_observed")))


def rest_frame_gr(z, gr_observed):
    """Rest-frame g - r colour: :math:`(g-r) - K_g + K_r`.

    Parameters
    ----------
    z : float or array-like
        Redshift, 0-0.5.
    gr_observed : float, array-like or `~astropy.units.Quantity`
        Observed g - r colour (AB mag).

    Returns
    -------
    gr : float or `~numpy.ndarray`

    Examples
    --------
    >>> from massrecon.physics import rest_frame_gr
    >>> round(rest_frame_gr(0.1, 0.8), 3)
    0.672
    """
    z = _kcor_redshift(z)
    gr = _magnitude(gr_observed, "gr_observed")
    return _out(gr - _kcor("g", z, gr) + _kcor("r", z, gr))


def stellar_mass_from_gr(r_mag, gr_observed, z, cosmology=None, imf_offset=IMF_OFFSET_CHABRIER,
                         kcorrect=True):
    """Stellar mass from the observed r magnitude and g - r colour (Bell et al. 2003 M/L).

    K-corrects the magnitude and the colour (`kcorrection_gr`), then applies the colour-based
    :math:`M/L_r` of Bell et al. (2003, Table 7) with an IMF offset (see the module documentation).

    Parameters
    ----------
    r_mag : float, array-like or `~astropy.units.Quantity`
        Observed r magnitude (AB, corrected for Galactic extinction).
    gr_observed : float, array-like or `~astropy.units.Quantity`
        Observed g - r colour (AB).
    z : float or array-like
        Redshift, > 0 and <= 0.5.
    cosmology : `~astropy.cosmology.Cosmology`, optional
        For the luminosity distance; default `~astropy.cosmology.Planck18`.
    imf_offset : float, optional
        Added to :math:`\\log_{10}(M/L)` (dex); default `IMF_OFFSET_CHABRIER` (-0.093, Chabrier);
        0 for Bell's diet Salpeter, `IMF_OFFSET_KROUPA` (-0.15) for Kroupa.
    kcorrect : bool, optional
        Apply the K-corrections (default); ``False`` uses observed magnitude and colour.

    Returns
    -------
    mass : `~astropy.units.Quantity`
        In Msun.

    Examples
    --------
    >>> from massrecon.physics import stellar_mass_from_gr
    >>> print(f"{stellar_mass_from_gr(17.0, 0.8, 0.1):.2e}")
    6.03e+10 solMass
    """
    cosmology = Planck18 if cosmology is None else cosmology
    r = _magnitude(r_mag, "r_mag")
    gr = _magnitude(gr_observed, "gr_observed")
    z = _kcor_redshift(z)
    if np.any(z <= 0):
        raise ValueError(f"z must be > 0 for a luminosity distance, got {z}")
    offset = float(imf_offset)
    if not np.isfinite(offset):
        raise ValueError(f"imf_offset must be finite, got {imf_offset}")
    k_r = _kcor("r", z, gr) if kcorrect else 0.0
    gr_rest = gr - _kcor("g", z, gr) + k_r if kcorrect else gr
    distance_modulus = 5.0 * np.log10(cosmology.luminosity_distance(z).to_value(u.pc) / 10.0)
    absolute_r = r - distance_modulus - k_r
    a, b = BELL03_R_GR
    log_mass = a + b * gr_rest + offset - 0.4 * (absolute_r - SUN_ABSOLUTE_MAGNITUDE_R)
    return 10**log_mass * u.Msun
