"""X-ray observations: surface-brightness and counts images.

The model's ``"xray"`` view is the rest-frame 0.5-2 keV X-ray emissivity projected on the sky:
luminosity per unit projected *physical* area, in erg s\\ :sup:`-1` kpc\\ :sup:`-2`.  It does not
depend on the cluster's distance, so the model sees nearby and distant clusters alike.

From an observed surface brightness :math:`S_X` (energy flux per solid angle in an observed band
:math:`[E_1, E_2]`), cosmological dimming is undone with

.. math::

    \\frac{dL}{dA} = 4 \\pi (1+z)^4 \\, S_X \\, K(E_1, E_2, z, T) \\, C_{abs},

since a solid angle :math:`\\Omega` covers a physical area :math:`D_A^2 \\Omega` and the flux is
:math:`L / 4\\pi D_L^2` with :math:`D_L = (1+z)^2 D_A`.  The observed band samples the rest-frame
band :math:`[E_1 (1+z), E_2 (1+z)]`; the band (K-) correction :math:`K` to the rest-frame
0.5-2 keV band is that of a thermal bremsstrahlung continuum with the Born Gaunt factor,
`massrecon.physics.band_kcorrection` (Rybicki & Lightman 1979, *Radiative Processes in
Astrophysics*, eqs. 5.14a and 5.15):

.. math::

    K = \\frac{\\int_{0.5\\,\\mathrm{keV}}^{2\\,\\mathrm{keV}} \\bar g_{ff}(E, T) e^{-E/kT} dE}
             {\\int_{E_1(1+z)}^{E_2(1+z)} \\bar g_{ff}(E, T) e^{-E/kT} dE}.

The simulator's 0.5-2 keV maps use the same spectrum (`massrecon.physics.band_energy_fraction`
in `massrecon.simulate.emission.cooling_function_soft`).  Line emission (important below ~2 keV
for kT of ~1-2 keV, Fe-L complex) is assumed to share the continuum's band fraction; for
kT >= 2 keV and z <= 1 the continuum is good to a few per cent in the soft band.

:math:`C_{abs}` is the Galactic absorption correction, the ratio of unabsorbed to absorbed energy
flux in the observed band: computed from a hydrogen column ``nh`` with the cross-sections of
Morrison & McCammon (1983, ApJ 270, 119) for the same spectrum
(`massrecon.physics.absorption_correction`), or given as ``absorption_correction``; 1 when
neither is given.  Whether it is needed depends on the energy conversion factor (ECF) that made
:math:`S_X` from counts: an ECF for the *absorbed* flux leaves the absorption in :math:`S_X`
(give ``nh``); an ECF for the *unabsorbed* flux has already removed it (give neither).  See
`XrayImage.from_counts` and `massrecon.physics.energy_conversion_factor`.

The temperature is given by the user or, by default, estimated from the frame's
:math:`M_{500c}` with the M-T relation of Vikhlinin et al. (2009, ApJ 692, 1033, Table 3):
:math:`M_{500} = 3.02 \\times 10^{14} h^{-1} M_\\odot \\, (T / 5\\,\\mathrm{keV})^{1.53} E(z)^{-1}`.
"""

import warnings

import astropy.units as u
import numpy as np
from astropy.cosmology import Planck18
from astropy.nddata import block_reduce
from astropy.wcs.utils import proj_plane_pixel_area

from ..contract import VIEW_UNITS
from ..exceptions import MassreconWarning
from ..logger import log
from ..physics import absorption as _absorption
from ..physics import bremsstrahlung as _bremsstrahlung
from ._attributes import (
    ColumnDensity,
    EnergyBand,
    EnergyQuantity,
    PositiveFloat,
    bool_mask,
    column_density,
    energy,
    energy_band,
    positive_float,
    quantity_value,
    real_array,
)
from ._inputs import celestial_wcs, read_fits_hdus, unit_from_header, wcs_from_header
from ._regrid import pixel_solid_angle, rebinned_wcs
from .base import Observation

__all__ = [
    "REST_BAND",
    "XrayImage",
    "band_conversion_factor",
    "rest_frame_emissivity",
    "temperature_from_m500",
]

#: The model's rest-frame X-ray band (`massrecon.physics.REST_BAND`).
REST_BAND = _bremsstrahlung.REST_BAND

_SB_UNIT = u.erg / (u.s * u.cm**2 * u.sr)
_ECF_UNIT = u.ct * u.cm**2 / u.erg

# Vikhlinin et al. 2009 (ApJ 692, 1033), Table 3, M500-T (all clusters):
# M500 = M0 (T / 5 keV)^alpha E(z)^-1, M0 = 3.02e14 h^-1 Msun, alpha = 1.53.
_MT_M0_H = 3.02e14 * u.Msun
_MT_ALPHA = 1.53
_MT_T0 = 5.0 * u.keV


def _redshift(z):
    z = float(z)
    if not np.isfinite(z) or z < 0:
        raise ValueError(f"z must be finite and >= 0, got {z}")
    return z


def band_conversion_factor(e1, e2, z, kT, gaunt="born"):
    """Band (K-) correction from an observed band to the rest-frame 0.5-2 keV band.

    Ratio of the energy a bremsstrahlung continuum emits in the rest-frame 0.5-2 keV band to that
    it emits in the rest-frame band :math:`[E_1(1+z), E_2(1+z)]` seen through the observed band,

    .. math::

        K = \\frac{\\int_{0.5\\,\\mathrm{keV}}^{2\\,\\mathrm{keV}} \\bar g_{ff} e^{-E/kT} dE}
                 {\\int_{E_1(1+z)}^{E_2(1+z)} \\bar g_{ff} e^{-E/kT} dE},

    so that :math:`L_{0.5-2,\\mathrm{rest}} = K \\, 4 \\pi D_L^2 F_{[E_1, E_2]}`; the Born Gaunt
    factor :math:`\\bar g_{ff}(E, T)` (Rybicki & Lightman 1979, eqs. 5.14a and 5.15).  This is
    `massrecon.physics.band_kcorrection`; lines are assumed to follow the continuum (see the
    module documentation).

    Parameters
    ----------
    e1, e2 : `~astropy.units.Quantity`
        Observed band edges (energy).
    z : float
        Redshift (>= 0).
    kT : `~astropy.units.Quantity`
        Gas temperature (energy, or kelvin).
    gaunt : {"born", "constant"}, optional
        Gaunt factor: Born approximation (default) or 1, the pure exponential of massrecon before
        0.1.0 (for comparisons).

    Returns
    -------
    factor : float

    Examples
    --------
    >>> import astropy.units as u
    >>> from massrecon.observations import band_conversion_factor
    >>> band_conversion_factor(0.5 * u.keV, 2 * u.keV, 0.0, 5 * u.keV)
    1.0
    >>> round(band_conversion_factor(0.5 * u.keV, 2 * u.keV, 0.33, 5 * u.keV), 3)
    0.888
    """
    e1 = energy(e1, "e1")
    e2 = energy(e2, "e2")
    if not e1 < e2:
        raise ValueError(f"e1 must be below e2, got {e1} and {e2}")
    kt = energy(kT, "kT")
    z = _redshift(z)
    return float(_bremsstrahlung.band_kcorrection(z, kt, band=u.Quantity([e1, e2]), rest_band=REST_BAND,
                                                  gaunt=gaunt))


def _absorption_factor(band, z, kT, nh=None, absorption_correction=None, owner=None):
    """The absorption correction applied to an observed surface brightness: from ``nh``, explicit, or 1.

    Parameters
    ----------
    band : `~astropy.units.Quantity`
        Observed band ``(E1, E2)``, within 0.03-10 keV when ``nh`` is given.
    z : float
        Redshift of the source (the spectrum's shape in the observed band).
    kT : `~astropy.units.Quantity`
        Gas temperature.
    nh : `~astropy.units.Quantity`, optional
        Galactic hydrogen column; the correction is `massrecon.physics.absorption_correction`
        (Morrison & McCammon 1983) of a bremsstrahlung spectrum of ``kT`` at ``z``.
    absorption_correction : float, optional
        An explicit unabsorbed-to-absorbed flux ratio (> 0) instead of ``nh``.
    owner : str, optional
        Prefix of error messages.

    Returns
    -------
    factor : float
        1 when neither ``nh`` nor ``absorption_correction`` is given.

    Raises
    ------
    ValueError
        If both ``nh`` and ``absorption_correction`` are given.

    Examples
    --------
    >>> import astropy.units as u
    >>> from massrecon.observations.xray import _absorption_factor
    >>> round(_absorption_factor([0.5, 2] * u.keV, 0.33, 5 * u.keV, nh=3e20 * u.cm**-2), 3)
    1.086
    """
    prefix = f"{owner}: " if owner else ""
    if nh is not None and absorption_correction is not None:
        raise ValueError(f"{prefix}give either nh or absorption_correction, not both "
                         f"(got nh={nh}, absorption_correction={absorption_correction})")
    if absorption_correction is not None:
        return positive_float(absorption_correction, "absorption_correction", owner)
    if nh is None:
        return 1.0
    nh = column_density(nh, "nh", owner)
    if nh.value == 0:
        return 1.0
    band = energy_band(band, owner=owner)
    _check_absorption_band(band, owner)
    return float(_absorption.absorption_correction(band, nh, energy(kT, "kT", owner), z=_redshift(z)))


def _check_absorption_band(band, owner):
    lo, hi = _absorption.MORRISON_MCCAMMON_RANGE
    if band[0] < lo or band[1] > hi:
        prefix = f"{owner}: " if owner else ""
        raise ValueError(f"{prefix}nh needs a band within the {lo.value:g}-{hi:g} range of the Morrison & "
                         f"McCammon (1983) cross-sections, got {band}")


def temperature_from_m500(m500, z, cosmology=None):
    """Gas temperature from :math:`M_{500c}` with the Vikhlinin et al. (2009) M-T relation.

    :math:`kT = 5\\,\\mathrm{keV} \\, [M_{500} E(z) / (3.02 \\times 10^{14} h^{-1} M_\\odot)]^{1/1.53}`
    (Vikhlinin et al. 2009, ApJ 692, 1033, Table 3).

    Parameters
    ----------
    m500 : `~astropy.units.Quantity`
        :math:`M_{500c}` (mass units).
    z : float
        Redshift.
    cosmology : `~astropy.cosmology.Cosmology`, optional
        Default `~astropy.cosmology.Planck18` (for h and E(z)).

    Returns
    -------
    kT : `~astropy.units.Quantity`
        In keV.

    Examples
    --------
    >>> import astropy.units as u
    >>> from astropy.cosmology import FlatLambdaCDM
    >>> from massrecon.observations import temperature_from_m500
    >>> cosmo = FlatLambdaCDM(H0=100, Om0=0.3)
    >>> temperature_from_m500(3.02e14 * u.Msun, 0.0, cosmo)
    <Quantity 5. keV>
    """
    cosmology = Planck18 if cosmology is None else cosmology
    if not isinstance(m500, u.Quantity) or not m500.unit.is_equivalent(u.Msun):
        raise u.UnitsError(f"m500 must be a Quantity with mass units (e.g. Msun), got {m500!r}")
    z = _redshift(z)
    m0 = _MT_M0_H / cosmology.h
    ratio = (m500 * cosmology.efunc(z) / m0).to_value(u.one)
    if np.any(~np.isfinite(ratio)) or np.any(ratio <= 0):
        raise ValueError(f"m500 must be finite and positive, got {m500}")
    return (_MT_T0 * ratio ** (1.0 / _MT_ALPHA)).to(u.keV)


def rest_frame_emissivity(sx, z, band, kT, absorption_correction=None, *, nh=None):
    """Rest-frame 0.5-2 keV luminosity per unit projected area from an observed surface brightness.

    :math:`dL/dA = 4\\pi (1+z)^4 \\, S_X \\, K(E_1, E_2, z, kT) \\, C_{abs}` with the band
    correction `band_conversion_factor` and the absorption correction :math:`C_{abs}` (see the
    module documentation).

    Parameters
    ----------
    sx : `~astropy.units.Quantity`
        Observed-band surface brightness (e.g. erg s-1 cm-2 sr-1 or erg s-1 cm-2 arcsec-2).
    z : float
        Redshift.
    band : `~astropy.units.Quantity`
        Observed band ``(E1, E2)``.
    kT : `~astropy.units.Quantity`
        Gas temperature.
    absorption_correction : float, optional
        Unabsorbed-to-absorbed flux ratio in the band (> 0), from your own spectral model.
    nh : `~astropy.units.Quantity`, optional
        Galactic hydrogen column (e.g. ``3e20 * u.cm**-2``): the correction is computed with
        `massrecon.physics.absorption_correction` for the band, ``kT`` and ``z``.  Give ``nh`` or
        ``absorption_correction`` only if ``sx`` is the *absorbed* flux (an ECF for the absorbed
        flux); with neither, absorption is ignored (``sx`` is unabsorbed).

    Returns
    -------
    emissivity : `~astropy.units.Quantity`
        In erg s-1 kpc-2.

    Raises
    ------
    ValueError
        If both ``nh`` and ``absorption_correction`` are given.

    Examples
    --------
    >>> import astropy.units as u
    >>> from massrecon.observations import rest_frame_emissivity
    >>> sx = 1e-15 * u.erg / u.s / u.cm**2 / u.arcmin**2
    >>> print(f"{rest_frame_emissivity(sx, 0.0, [0.5, 2] * u.keV, 5 * u.keV):.4e}")
    1.4140e+36 erg / (s kpc2)
    >>> print(f"{rest_frame_emissivity(sx, 0.0, [0.5, 2] * u.keV, 5 * u.keV, nh=3e20 * u.cm**-2):.4e}")
    1.5327e+36 erg / (s kpc2)
    """
    if not isinstance(sx, u.Quantity) or not sx.unit.is_equivalent(_SB_UNIT):
        raise u.UnitsError(
            f"sx must be a surface brightness Quantity (e.g. erg s-1 cm-2 sr-1), got {sx!r}"
        )
    band = energy_band(band)
    z = _redshift(z)
    k = band_conversion_factor(band[0], band[1], z, kT)
    corr = _absorption_factor(band, z, kT, nh=nh, absorption_correction=absorption_correction)
    return (4 * np.pi * u.sr * (1 + z) ** 4 * k * corr * sx).to(VIEW_UNITS["xray"])


class XrayImage(Observation):
    """An X-ray surface-brightness image in an observed energy band.

    Build it from a surface-brightness image, or from counts and exposure with `from_counts` /
    `read_counts`.  `prepare` converts it to the model's rest-frame 0.5-2 keV emissivity with
    `rest_frame_emissivity`.

    Parameters
    ----------
    data : `~astropy.units.Quantity`
        2-D surface brightness, energy flux per solid angle (e.g. erg s-1 cm-2 sr-1 or
        erg s-1 cm-2 arcsec-2), background subtracted.
    wcs : `~astropy.wcs.WCS`
        Celestial WCS.
    beam : `~astropy.units.Quantity`
        FWHM of the point-spread function (angle), e.g. ~0.5 arcmin for eROSITA (survey average).
    band : `~astropy.units.Quantity`, optional
        Observed band ``(E1, E2)``; default 0.5-2 keV.
    noise, mask, unit, meta, name, mask_invalid
        See `~massrecon.observations.Observation`.
    kT : `~astropy.units.Quantity`, optional
        Gas temperature for the band and absorption corrections; default from the M-T relation at
        `prepare`.
    nh : `~astropy.units.Quantity`, optional
        Galactic hydrogen column (e.g. ``3e20 * u.cm**-2``) when ``data`` is the *absorbed*
        surface brightness: `prepare` corrects it with `massrecon.physics.absorption_correction`
        for the band, the temperature and the frame's redshift.
    absorption_correction : float, optional
        An explicit unabsorbed-to-absorbed flux ratio in the band instead of ``nh`` (giving both is
        an error).  With neither, ``data`` is taken as the unabsorbed surface brightness.

    Examples
    --------
    >>> import numpy as np, astropy.units as u
    >>> from astropy.coordinates import SkyCoord
    >>> from massrecon import ClusterFrame
    >>> from massrecon.observations import XrayImage
    >>> frame = ClusterFrame(SkyCoord(150.0, 2.0, unit="deg"), 0.1, m500=5e14 * u.Msun, npix=16)
    >>> sb = np.full((40, 40), 1e-9) * u.erg / u.s / u.cm**2 / u.sr
    >>> img = XrayImage(sb, wcs=frame.with_npix(40, 3.0).wcs, beam=0.5 * u.arcmin, kT=5 * u.keV)
    >>> view = img.prepare(frame)
    >>> view.unit, f"{np.nanmean(view.data):.4e}"
    (Unit("erg / (s kpc2)"), '1.6792e+35')
    """

    view = "xray"
    _unit_description = "an X-ray surface brightness: energy flux per solid angle, e.g. erg s-1 cm-2 sr-1"

    band = EnergyBand("Observed energy band ``(E1, E2)`` (keV).")
    kT = EnergyQuantity("Gas temperature given at construction (keV), or None.", optional=True)
    nh = ColumnDensity("Galactic hydrogen column (cm-2) of the absorption correction, or None.", optional=True)
    absorption_correction = PositiveFloat("Explicit unabsorbed-to-absorbed flux ratio, or None.", optional=True)

    def __init__(self, data, *, wcs=None, beam=None, band=REST_BAND, noise=None, mask=None, kT=None, nh=None,
                 absorption_correction=None, unit=None, meta=None, name=None, mask_invalid=False):
        super().__init__(data, wcs=wcs, beam=beam, noise=noise, mask=mask, unit=unit, meta=meta, name=name,
                         mask_invalid=mask_invalid)
        owner = type(self).__name__
        self.band = band
        self.kT = kT
        self.nh = nh
        self.absorption_correction = absorption_correction
        if nh is not None and absorption_correction is not None:
            raise ValueError(f"{owner}: give either nh or absorption_correction, not both "
                             f"(got nh={nh}, absorption_correction={absorption_correction})")
        if nh is not None:
            _check_absorption_band(self.band, owner)
        self._counts = None
        self._background_error = None  # set by from_counts

    @classmethod
    def _unit_ok(cls, unit):
        return unit.is_equivalent(_SB_UNIT)

    # --- counts --------------------------------------------------------------------------
    @classmethod
    def from_counts(cls, counts, exposure, *, wcs=None, band=REST_BAND, ecf=None, background=None, mask=None,
                    beam=None, background_error=None, **kwargs):
        """Surface brightness from a counts image and an exposure map.

        :math:`S_X = (C - B) / (t \\, \\Omega_{pix} \\, \\mathrm{ECF})` with counts :math:`C`,
        background counts :math:`B`, exposure :math:`t`, pixel solid angle
        :math:`\\Omega_{pix}` (computed for every pixel from the WCS) and the energy conversion
        factor ECF (count rate per unit energy flux in the band, for the source spectrum and the
        instrument's response).  The Poisson noise is :math:`\\sqrt{\\max(C, 1)} / (t \\,
        \\Omega_{pix} \\, \\mathrm{ECF})` (a pixel without counts gets the error of one count).
        Pixels with zero (or non-finite) exposure are masked.  When the frame's pixels are larger
        than the image's, counts and exposure are summed over blocks before reprojection, so no
        photon is lost.

        **The ECF and the exposure map** must be normalised together: :math:`C / t` is a count
        rate, and the ECF the count rate of one erg s\\ :sup:`-1` cm\\ :sup:`-2` for the
        effective area that :math:`t` refers to.  Compute it from the instrument's ancillary
        response (ARF) with `massrecon.physics.energy_conversion_factor` for the band, the
        cluster's kT and z and the Galactic :math:`N_H`.  With eROSITA (eSASS) data the exposure
        maps are in seconds and the ARF's effective area includes the vignetting at the source
        (see `massrecon.physics.response`); read it with ``read_arf(..., remove_psf_loss=True)``,
        since an image loses no photons outside an extraction circle.  Exposure maps in
        cm\\ :sup:`2` s (CIAO ``fluximage``) already contain the effective area: divide them by
        the on-axis area of the ARF first.

        **Absorbed or unabsorbed flux**: an ECF for the *absorbed* flux
        (``flux="absorbed"``, nearly independent of :math:`N_H`) gives the absorbed
        :math:`S_X`; then pass ``nh=`` (or ``absorption_correction=``) so that `prepare` corrects
        it.  An ECF for the *unabsorbed* flux (the default of
        `~massrecon.physics.energy_conversion_factor`) already includes the correction: then give
        neither, or the absorption would be corrected twice.  For the eFEDS ARF of the
        ``shared/data/efeds`` example (0.5-2 keV, kT = 5 keV, z = 0.33, :math:`N_H = 3.5 \\times
        10^{20}` cm\\ :sup:`-2`, PSF loss removed) the ECF is 0.642e12 ct cm\\ :sup:`2` erg\\ :sup:`-1`
        for the absorbed and 0.583e12 for the unabsorbed flux.

        Parameters
        ----------
        counts : array-like or `~astropy.units.Quantity`
            2-D counts image (dimensionless or ``u.ct``), >= 0.
        exposure : `~astropy.units.Quantity`
            2-D exposure map (time units), same shape; vignetted (the exposure the ECF's effective
            area refers to, see above).
        wcs : `~astropy.wcs.WCS`
            Celestial WCS of the images.
        band : `~astropy.units.Quantity`, optional
            Observed band ``(E1, E2)`` of the images; default 0.5-2 keV.
        ecf : `~astropy.units.Quantity`
            Energy conversion factor, count rate per energy flux in ``band``
            (e.g. ``0.642e12 * u.ct * u.cm**2 / u.erg``, see above).  Required.
        background : array-like or float, optional
            Expected background counts per pixel (a model, subtracted without adding noise).
        mask : array-like of bool, optional
            True where pixels are bad (point sources, ...).
        beam : `~astropy.units.Quantity`
            PSF FWHM (angle).  Required.
        background_error : float, optional
            Fractional 1-sigma uncertainty of ``background`` (e.g. 0.05 for a background model
            good to 5%), in [0, 1).  `~massrecon.MassReconstructor.predict` then predicts the map
            again with the background scaled by ``1 -+ background_error`` and widens the
            uncertainty by the change (header cards ``BKGERR``, ``BKGWIDEN``): the faint outskirts
            the network reads the mass from depend on the background (docs/validation.rst).
        **kwargs
            ``kT``, ``nh``, ``absorption_correction``, ``name``, ``meta``: see `XrayImage`.

        Raises
        ------
        ValueError
            Exposure zero everywhere, negative counts or background, shapes that disagree, both
            ``nh`` and ``absorption_correction``, ``background_error`` outside [0, 1) or without
            a background.
        TypeError
            ``background_error`` not a number.
        astropy.units.UnitsError
            Exposure without time units, an ECF without count-rate-per-flux units.

        Examples
        --------
        Four counts per 4" pixel in 2 ks, with the absorbed-flux ECF of the eFEDS ARF quoted above
        and the Galactic column of the eFEDS field (3.5e20 cm-2, as the mbproj2d eFEDS example):

        >>> import numpy as np, astropy.units as u
        >>> from astropy.wcs import WCS
        >>> from massrecon.observations import XrayImage
        >>> w = WCS(naxis=2); w.wcs.ctype = ["RA---TAN", "DEC--TAN"]
        >>> w.wcs.crval = [150, 2]; w.wcs.cdelt = [-4 / 3600, 4 / 3600]; w.wcs.crpix = [5, 5]
        >>> img = XrayImage.from_counts(np.full((10, 10), 4), np.full((10, 10), 2000.) * u.s, wcs=w,
        ...                             ecf=0.642e12 * u.ct * u.cm**2 / u.erg, nh=3.5e20 * u.cm**-2,
        ...                             beam=0.5 * u.arcmin)
        >>> sb = img.quantity[5, 5].to(u.erg / u.s / u.cm**2 / u.arcmin**2)
        >>> print(f"{sb:.4g}")
        7.009e-13 erg / (s arcmin2 cm2)
        """
        owner = f"{cls.__name__}.from_counts"
        counts = real_array(_count_values(counts, "counts", owner), owner, "counts")
        expo = np.array(quantity_value(exposure, u.s, "exposure", owner, "a Quantity with time units (e.g. u.s)"),
                        dtype=np.float64)
        if expo.shape != counts.shape:
            raise ValueError(f"{owner}: exposure must have the shape of counts {counts.shape}, got {expo.shape}")
        ecf_value = _ecf_value(ecf, owner)
        bkg = np.zeros_like(counts) if background is None else \
            np.array(np.broadcast_to(_count_values(background, "background", owner), counts.shape))
        user_mask = bool_mask(mask, counts.shape, owner, like="counts")

        _check_exposure(expo, owner)
        observed = np.isfinite(expo) & (expo > 0)
        if not observed.any():
            raise ValueError(
                f"{owner}: the exposure map is zero (or not finite) everywhere: nothing was observed"
            )
        bad = ~user_mask & observed & ~(np.isfinite(counts) & np.isfinite(bkg))
        if bad.any():
            raise ValueError(
                f"{owner}: counts or background have {int(bad.sum())} NaN/inf pixels with exposure; "
                "mask them (mask=...)"
            )
        if np.any(counts[observed] < 0) or np.any(bkg[observed] < 0):
            raise ValueError(f"{owner}: counts and background must be >= 0")
        full_mask = user_mask | ~observed
        expo = np.where(observed, expo, 0.0)

        cel = celestial_wcs(wcs, counts.shape, owner)
        omega = _solid_angle_map(cel, counts.shape)
        conv = float((1.0 / (u.s * u.sr * _ECF_UNIT) * u.ct).to_value(_SB_UNIT))
        with np.errstate(invalid="ignore", divide="ignore"):
            denom = expo * omega * ecf_value
            sb = np.where(full_mask, np.nan, (counts - bkg) / denom * conv)
            err = np.where(full_mask, np.nan, np.sqrt(np.maximum(counts, 1.0)) / denom * conv)
        meta = dict(kwargs.pop("meta", None) or {})
        meta.update(ecf=ecf, exposure_max=np.nanmax(expo) * u.s, total_counts=float(counts[observed].sum()))
        obj = cls(sb * _SB_UNIT, wcs=cel, beam=beam, band=band, noise=err * _SB_UNIT, mask=full_mask,
                  meta=meta, **kwargs)
        obj._counts = dict(counts=counts, background=bkg, exposure=expo, omega=omega, ecf=ecf_value,
                           conv=conv)
        obj._background_error = _check_background_error(background_error, background, owner)
        return obj

    @property
    def background_error(self):
        """Fractional 1-sigma uncertainty of the subtracted background (None: taken as exact);
        only for images made by `from_counts` with a background, in [0, 1)."""
        return self._background_error

    @background_error.setter
    def background_error(self, value):
        owner = type(self).__name__
        if value is not None and self._counts is None:
            raise ValueError(f"{owner}: background_error needs an image made by XrayImage.from_counts with a "
                             "background (a surface-brightness map has no background to scale)")
        has_background = self._counts is not None and np.any(self._counts["background"] > 0)
        self._background_error = _check_background_error(value, True if has_background else None, owner)

    def with_background_scaled(self, factor):
        """A copy of an image made by `from_counts` whose background counts are ``factor`` times
        these (surface brightness and noise recomputed; ``background_error`` kept).

        Parameters
        ----------
        factor : float
            Non-negative scale of the background.

        Returns
        -------
        image : `XrayImage`

        Raises
        ------
        ValueError
            An image not made by `from_counts`, or ``factor`` negative or not finite.
        TypeError
            ``factor`` not a number.

        Examples
        --------
        >>> import numpy as np, astropy.units as u
        >>> from astropy.wcs import WCS
        >>> from massrecon.observations import XrayImage
        >>> w = WCS(naxis=2); w.wcs.ctype = ["RA---TAN", "DEC--TAN"]; w.wcs.cdelt = [-1 / 360, 1 / 360]
        >>> img = XrayImage.from_counts(np.full((8, 8), 10.0), np.full((8, 8), 1e3) * u.s, wcs=w,
        ...                             ecf=1e12 * u.ct * u.cm**2 / u.erg, background=4.0, beam=0.5 * u.arcmin)
        >>> lower = img.with_background_scaled(0.5)  # net counts 8 instead of 6
        >>> round(float(lower.data[0, 0] / img.data[0, 0]), 3)
        1.333
        """
        if self._counts is None:
            raise ValueError("with_background_scaled needs an image made by XrayImage.from_counts (its counts and "
                             "background), not from a surface-brightness map")
        try:
            factor = float(factor)
        except (TypeError, ValueError):
            raise TypeError(f"factor must be a number, got {factor!r}") from None
        if not (np.isfinite(factor) and factor >= 0):
            raise ValueError(f"factor must be a finite number >= 0, got {factor}")
        c = self._counts
        out = type(self).from_counts(
            c["counts"], c["exposure"] * u.s, wcs=self.wcs, band=self.band, ecf=c["ecf"] * _ECF_UNIT,
            background=c["background"] * factor, mask=self.mask, beam=self.beam, kT=self.kT, nh=self.nh,
            absorption_correction=self.absorption_correction, name=self.name, meta=dict(self.meta))
        out._background_error = self._background_error
        return out

    @classmethod
    def read_counts(cls, counts_file, exposure_file, *, band=REST_BAND, ecf=None, beam=None, hdu=0,
                    exposure_hdu=0, exposure_unit=None, background_file=None, mask_file=None,
                    mask_is_good=True, **kwargs):
        """`from_counts` on FITS files (counts image, exposure map, optional background and mask).

        Parameters
        ----------
        counts_file, exposure_file : str or path-like
            FITS images of the same shape; the WCS comes from the counts image.
        band, ecf, beam
            See `from_counts`.
        hdu, exposure_hdu : int or str, optional
            HDUs of the images.  Default 0.
        exposure_unit : `~astropy.units.UnitBase`, optional
            Unit of the exposure map; default its ``BUNIT``, else seconds.
        background_file : str or path-like, optional
            Background counts image (primary HDU).
        mask_file : str or path-like, optional
            Mask image (primary HDU) of the same shape.
        mask_is_good : bool, optional
            True (default; eSASS/eROSITA convention) if non-zero mask pixels are the ones to keep,
            False if non-zero marks bad pixels.
        **kwargs
            ``kT``, ``nh``, ``absorption_correction``, ``name``, ``meta``, ``mask``,
            ``background_error``: see `from_counts`.
        """
        owner = f"{cls.__name__}.read_counts"
        (h,) = read_fits_hdus(counts_file, [hdu], owner)
        counts = np.array(h.data, dtype=np.float64)
        wcs = wcs_from_header(h.header)
        kwargs.setdefault("name", h.header.get("OBJECT") or None)
        (h,) = read_fits_hdus(exposure_file, [exposure_hdu], owner)
        unit = unit_from_header(h.header, exposure_unit, owner) or u.s
        exposure = np.array(h.data, dtype=np.float64) * unit
        background = None
        if background_file is not None:
            background = np.array(read_fits_hdus(background_file, [0], owner)[0].data, dtype=np.float64)
        mask = kwargs.pop("mask", None)
        if mask_file is not None:
            m = np.asarray(read_fits_hdus(mask_file, [0], owner)[0].data)
            file_mask = (m == 0) if mask_is_good else (m != 0)
            if file_mask.shape != counts.shape:
                raise ValueError(f"{owner}: the mask has shape {file_mask.shape}, counts {counts.shape}")
            mask = file_mask if mask is None else (np.asarray(mask, bool) | file_mask)
        return cls.from_counts(counts, exposure, wcs=wcs, band=band, ecf=ecf, background=background,
                               mask=mask, beam=beam, **kwargs)

    # --- preparation ---------------------------------------------------------------------
    def _native_block(self, sl, factor):
        if self._counts is None or factor == 1:
            return super()._native_block(sl, factor)
        c = self._counts
        wcs = self.wcs[sl]
        good = ~self.mask[sl]
        # block_reduce and rebinned_wcs both drop the partial blocks at the far edges
        counts = block_reduce(np.where(good, c["counts"][sl], 0.0), factor)
        bkg = block_reduce(np.where(good, c["background"][sl], 0.0), factor)
        t_omega = block_reduce(np.where(good, c["exposure"][sl] * c["omega"][sl], 0.0), factor)
        with np.errstate(invalid="ignore", divide="ignore"):
            denom = t_omega * c["ecf"] / c["conv"]
            data = np.where(t_omega > 0, (counts - bkg) / denom, np.nan)
            std = np.where(t_omega > 0, np.sqrt(np.maximum(counts, 1.0)) / denom, np.nan)
        return data, std, rebinned_wcs(wcs, factor)

    def _model_factor(self, frame, kT=None):
        if kT is None:
            kT = self.kT
        if kT is None:
            kT = temperature_from_m500(frame.m500, frame.z, frame.cosmology)
            log.debug(f"{type(self).__name__}: kT = {kT:.3g} from the Vikhlinin+09 M-T relation at "
                     f"M500 = {frame.m500:.3g}")
        kT = energy(kT, "kT")
        return float(rest_frame_emissivity(1.0 * self.unit, frame.z, self.band, kT, self.absorption_correction,
                                           nh=self.nh).value)

    def prepare(self, frame, target_beam=None, kT=None):
        """Put the image on ``frame`` as rest-frame 0.5-2 keV emissivity (erg s-1 kpc-2).

        Parameters
        ----------
        frame : `~massrecon.ClusterFrame`
            The cluster frame (its redshift sets the dimming and band corrections).
        target_beam : `~astropy.units.Quantity` or float, optional
            See `~massrecon.observations.Observation.prepare`.
        kT : `~astropy.units.Quantity`, optional
            Gas temperature for the band (and absorption) correction; default the one given at
            construction, else `temperature_from_m500` of the frame's :math:`M_{500c}`.

        Returns
        -------
        view : `~massrecon.observations.PreparedView`
        """
        return super().prepare(frame, target_beam=target_beam, kT=kT)


#: Median exposure (s) below which an exposure map is implausible for a cluster image: the
#: shallowest X-ray survey, eRASS1, has ~150-250 s (vignetting-corrected ~100 s) per field.
_MIN_PLAUSIBLE_EXPOSURE_S = 50.0


def _check_exposure(expo, owner):
    """Warn about negative exposures (masked) and implausibly short ones (a map in ks read as s)."""
    negative = np.isfinite(expo) & (expo < 0)
    if negative.any():
        warnings.warn(f"{owner}: {int(negative.sum())} pixels of the exposure map are negative; they are masked "
                      "(check the exposure map)", MassreconWarning)
    good = np.isfinite(expo) & (expo > 0)
    if good.any():
        median = float(np.median(expo[good]))
        if median < _MIN_PLAUSIBLE_EXPOSURE_S:
            warnings.warn(f"{owner}: the median exposure is {median:.3g} s, implausibly short for an X-ray image "
                          f"(expected >= {_MIN_PLAUSIBLE_EXPOSURE_S:g} s): is the exposure map in ks? Give it as a "
                          "Quantity in its unit (e.g. exposure * u.ks) or exposure_unit=u.ks", MassreconWarning)


def _check_background_error(value, background, owner):
    """``from_counts``' ``background_error`` as a float in [0, 1), or None."""
    if value is None:
        return None
    try:
        value = float(value)
    except (TypeError, ValueError):
        raise TypeError(f"{owner}: background_error must be a number (fractional error of the background, e.g. "
                        f"0.05), got {value!r}") from None
    if not (np.isfinite(value) and 0 <= value < 1):
        raise ValueError(f"{owner}: background_error must lie in [0, 1) (a fraction of the background), got {value}")
    if background is None and value > 0:
        raise ValueError(f"{owner}: background_error={value} given without a background")
    return value


def _count_values(value, name, owner):
    """Numbers of counts (float64): a dimensionless or ``u.ct`` Quantity, or plain numbers."""
    if isinstance(value, u.Quantity):
        value = quantity_value(value, (u.ct, u.one), name, owner, "dimensionless or in u.ct")
    return np.asarray(value, dtype=np.float64)


def _ecf_value(ecf, owner):
    """The energy conversion factor in ct cm2 / erg (a count rate per energy flux; "ct" optional)."""
    if ecf is None:
        raise ValueError(f"{owner}: ecf is required: the count rate per unit energy flux in the band "
                         "(e.g. 0.64e12 * u.ct * u.cm**2 / u.erg; see massrecon.physics.energy_conversion_factor)")
    value = quantity_value(ecf, (_ECF_UNIT, _ECF_UNIT / u.ct), "ecf", owner,
                           "a Quantity in count rate per energy flux (e.g. u.ct * u.cm**2 / u.erg)")
    if not ecf.isscalar or not np.isfinite(value) or value <= 0:
        raise ValueError(f"{owner}: ecf must be a finite, positive scalar, got {ecf}")
    return value


def _solid_angle_map(wcs, shape):
    """Per-pixel solid angle (sr); evaluated on a coarse grid and interpolated for large images."""
    ny, nx = shape
    if max(ny, nx) <= 1024:
        return pixel_solid_angle(wcs, shape)
    # large images: the solid angle varies smoothly; sample every `step` pixels and interpolate
    from scipy.interpolate import RectBivariateSpline

    step = int(np.ceil(max(ny, nx) / 256))
    ys = np.unique(np.r_[np.arange(0, ny, step), ny - 1])
    xs = np.unique(np.r_[np.arange(0, nx, step), nx - 1])
    coarse = np.empty((ys.size, xs.size))
    for i, y in enumerate(ys):
        sub = wcs.deepcopy()
        sub.wcs.crpix = sub.wcs.crpix - np.array([0.0, y])
        sub.wcs.set()
        coarse[i] = pixel_solid_angle(sub, (1, nx))[0][xs]
    if not np.all(np.isfinite(coarse)):
        return np.full(shape, proj_plane_pixel_area(wcs) * (np.pi / 180) ** 2)
    spline = RectBivariateSpline(ys, xs, coarse, kx=min(3, ys.size - 1), ky=min(3, xs.size - 1))
    return spline(np.arange(ny), np.arange(nx), grid=True)
