"""Energy conversion factors from an X-ray ancillary response file (ARF).

An image of counts :math:`C` with exposure :math:`t` converts to energy flux through the energy
conversion factor (ECF), the count rate per unit energy flux in the band for the source spectrum:

.. math::

    \\mathrm{ECF} = \\frac{\\int_{E_1}^{E_2} A(E) \\, N(E) \\, e^{-N_H \\sigma(E)} dE}
                         {\\int_{E_1}^{E_2} E \\, N(E) \\, [e^{-N_H \\sigma(E)}] \\, dE}
    \\quad [\\mathrm{ct\\,s^{-1}} \\text{ per } \\mathrm{erg\\,s^{-1}\\,cm^{-2}}],

with the effective area :math:`A(E)` of the ARF (OGIP CAL/GEN/92-002: extension ``SPECRESP``,
columns ``ENERG_LO``, ``ENERG_HI``, ``SPECRESP`` in cm\\ :sup:`2`, constant within each bin), the
photon spectrum :math:`N(E)` of a redshifted bremsstrahlung continuum
(`~massrecon.physics.bremsstrahlung`) and the Galactic absorption of Morrison & McCammon (1983)
(`~massrecon.physics.absorption`).  The absorption factor in the denominator is there for an
*absorbed* flux and left out for the *unabsorbed* one (``flux="unabsorbed"``, the default: the
flux the model's emissivity needs).  Without the redistribution matrix (RMF) the counts in a
pulse-height band are approximated by the photons in the same energy band; for CCD resolutions
(~80 eV FWHM at 1 keV for eROSITA) the error is of order 1% for bands of ~1 keV width.

The eFEDS example data (``shared/data/efeds``)
---------------------------------------------
``spec_020_ARF_00001.fits`` was made by eSASS ``srctool`` (v1.69) for the main cluster, a 30"
circle, all seven telescope modules merged (``SPECRESP`` is the sum of the modules, ~1100
cm\\ :sup:`2` at 1 keV).  Its ``SPECRESP`` already includes the survey-averaged vignetting at the
source position (column ``CORRVIGN``, 0.55 at 1 keV, 0.17 at 10 keV) and a point-source PSF-loss
factor for the extraction circle (column ``CORRPSF``, 0.971 at all energies; ``CORRCOMB`` is the
combined factor).  For surface brightness measured on an image, no photons are lost outside an
aperture, so ``remove_psf_loss=True`` in `read_arf` divides ``SPECRESP`` by ``CORRPSF`` (the ECF
rises by 2.9%).  The exposure maps ``expmap_norm_<band>`` (vignetted) and
``expmap_norm_novig_<band>`` (un-vignetted) are in seconds and were rescaled so that they carry the
exposure appropriate for this response (the mbproj2d eFEDS example notes): both equal the ARF's
``EXPOSURE`` (2699 s) at the cluster position in every band.  Hence counts / ``expmap_norm`` with
this ARF's ECF gives the energy flux, no separate vignetting correction is needed, and the
vignetted map's variation across the field (0.985-1.06 times the un-vignetted one) is the
vignetting relative to the cluster position.  This differs from CIAO ``fluximage`` maps in
cm\\ :sup:`2` s, which already contain the effective area.
"""

from dataclasses import dataclass, field
from pathlib import Path

import astropy.units as u
import numpy as np
from astropy.io import fits

from . import _inputs
from ._quadrature import piecewise_integral, subdivide
from .absorption import _MM83_EDGES, _check_range, _sigma_cm2
from .bremsstrahlung import _check_gaunt, _gaunt

__all__ = ["AncillaryResponse", "energy_conversion_factor", "read_arf"]

_ECF_UNIT = u.ct * u.cm**2 / u.erg
_FLUX_CHOICES = ("unabsorbed", "absorbed")


@dataclass(frozen=True)
class AncillaryResponse:
    """Effective area as a function of energy (an ARF), piecewise constant in energy bins.

    Parameters
    ----------
    energy_lo, energy_hi : `~astropy.units.Quantity`
        Bin edges (energy), increasing and contiguous.
    area : `~astropy.units.Quantity`
        Effective area of each bin (area units).
    meta : dict, optional
        Provenance (file name, header keywords).

    Examples
    --------
    >>> import astropy.units as u
    >>> from massrecon.physics import AncillaryResponse
    >>> arf = AncillaryResponse([0.1, 5] * u.keV, [5, 10] * u.keV, [500, 100] * u.cm**2)
    >>> arf.area
    <Quantity [500., 100.] cm2>
    """

    energy_lo: u.Quantity
    energy_hi: u.Quantity
    area: u.Quantity
    meta: dict = field(default_factory=dict)

    def __post_init__(self):
        lo = _inputs.energy(self.energy_lo, "energy_lo", allow_zero=True)
        hi = _inputs.energy(self.energy_hi, "energy_hi")
        if not isinstance(self.area, u.Quantity) or not self.area.unit.is_equivalent(u.cm**2):
            raise u.UnitsError(f"area must be a Quantity with area units (e.g. cm2), got {self.area!r}")
        area = self.area.to(u.cm**2)
        if not (lo.ndim == hi.ndim == area.ndim == 1 and lo.shape == hi.shape == area.shape):
            raise ValueError("energy_lo, energy_hi and area must be 1-D arrays of the same length")
        if np.any(hi <= lo) or np.any(np.diff(lo.value) <= 0):
            raise ValueError("ARF energy bins must be increasing with energy_hi > energy_lo")
        if not np.all(np.isfinite(area.value)) or np.any(area.value < 0):
            raise ValueError("area must be finite and >= 0")
        object.__setattr__(self, "energy_lo", lo)
        object.__setattr__(self, "energy_hi", hi)
        object.__setattr__(self, "area", area)

    def area_at(self, energy):
        """Effective area at ``energy`` (0 outside the bins).

        Examples
        --------
        >>> import astropy.units as u
        >>> from massrecon.physics import AncillaryResponse
        >>> AncillaryResponse([0.1, 5] * u.keV, [5, 10] * u.keV, [500, 100] * u.cm**2).area_at(7 * u.keV)
        <Quantity 100. cm2>
        """
        e = _inputs.energy(energy, "energy").to_value(u.keV)
        return self._area_kev(e) * u.cm**2

    def _area_kev(self, e_kev):
        lo, hi = self.energy_lo.to_value(u.keV), self.energy_hi.to_value(u.keV)
        idx = np.searchsorted(hi, e_kev, side="left")
        inside = (idx < len(hi)) & (e_kev >= lo[np.minimum(idx, len(hi) - 1)])
        return np.where(inside, self.area.value[np.minimum(idx, len(hi) - 1)], 0.0)


def _fits_unit(header, column, default, filename):
    for i in range(1, header.get("TFIELDS", 0) + 1):
        if header.get(f"TTYPE{i}", "").strip().upper() == column:
            text = header.get(f"TUNIT{i}")
            if not text:
                return default
            unit = u.Unit(text, parse_strict="silent")
            if not unit.is_equivalent(default):
                raise ValueError(f"{filename}: column {column} has unit '{text}', expected {default}")
            return unit
    return default


def read_arf(filename, *, remove_psf_loss=False):
    """Read an OGIP ancillary response file (extension ``SPECRESP``).

    Parameters
    ----------
    filename : str or `~pathlib.Path`
        The ARF.
    remove_psf_loss : bool, optional
        Divide ``SPECRESP`` by the ``CORRPSF`` column (eSASS ARFs) to undo the point-source
        aperture-loss correction, for surface brightness measured on images (see the module
        documentation); an error if the file has no ``CORRPSF``.  Default ``False``.

    Returns
    -------
    arf : `AncillaryResponse`

    Raises
    ------
    FileNotFoundError, OSError, ValueError
        With the file name, if the file is missing, not FITS, or lacks the extension or columns.

    Examples
    --------
    >>> from massrecon.physics import read_arf
    >>> read_arf("missing.arf")
    Traceback (most recent call last):
    ...
    FileNotFoundError: ARF file not found: missing.arf
    """
    path = Path(filename)
    if not path.is_file():
        raise FileNotFoundError(f"ARF file not found: {filename}")
    try:
        with fits.open(path) as hdul:
            if "SPECRESP" not in hdul:
                raise ValueError(f"{filename}: no SPECRESP extension (not an OGIP ARF?)")
            hdu = hdul["SPECRESP"]
            names = [n.upper() for n in hdu.columns.names]
            missing = [c for c in ("ENERG_LO", "ENERG_HI", "SPECRESP") if c not in names]
            if missing:
                raise ValueError(f"{filename}: SPECRESP extension lacks column(s) {missing}")
            header = hdu.header
            e_unit = _fits_unit(header, "ENERG_LO", u.keV, filename)
            a_unit = _fits_unit(header, "SPECRESP", u.cm**2, filename)
            data = hdu.data
            area = np.array(data["SPECRESP"], dtype=np.float64)
            if remove_psf_loss:
                if "CORRPSF" not in names:
                    raise ValueError(f"{filename}: remove_psf_loss=True but the ARF has no CORRPSF column")
                area = area / np.array(data["CORRPSF"], dtype=np.float64)
            meta = {"filename": str(filename), "psf_loss_removed": bool(remove_psf_loss)}
            for key in ("TELESCOP", "INSTRUME", "EXPOSURE", "RA_OBJ", "DEC_OBJ"):
                if key in header:
                    meta[key.lower()] = header[key]
            return AncillaryResponse(np.array(data["ENERG_LO"], dtype=np.float64) * e_unit,
                                     np.array(data["ENERG_HI"], dtype=np.float64) * e_unit,
                                     area * a_unit, meta)
    except OSError as err:
        raise OSError(f"{filename}: cannot read as FITS ({err})") from err
    except (ValueError, u.UnitsError) as err:
        if str(filename) in str(err):
            raise
        raise ValueError(f"{filename}: {err}") from err


def energy_conversion_factor(arf, band, kT, z=0.0, nh=0.0 * u.cm**-2, flux="unabsorbed", gaunt="born"):
    """Count rate per unit energy flux in a band for an absorbed bremsstrahlung spectrum.

    See the module documentation for the formula.

    Parameters
    ----------
    arf : `AncillaryResponse`, str or `~pathlib.Path`
        The effective area, or an ARF file (read with `read_arf`).
    band : `~astropy.units.Quantity`
        Observed band ``(E1, E2)`` (counts and flux).
    kT : `~astropy.units.Quantity`
        Source temperature (energy, or kelvin), scalar.
    z : float, optional
        Source redshift (default 0).
    nh : `~astropy.units.Quantity`, optional
        Galactic hydrogen column (default 0); the band must lie in 0.03-10 keV if it is > 0.
    flux : {"unabsorbed", "absorbed"}, optional
        Whether the flux in the denominator is corrected for absorption (default) or not.
    gaunt : {"born", "constant"}, optional
        Gaunt factor of the spectrum.

    Returns
    -------
    ecf : `~astropy.units.Quantity`
        In ct cm\\ :sup:`2` erg\\ :sup:`-1` (count rate per erg s\\ :sup:`-1` cm\\ :sup:`-2`).

    Examples
    --------
    >>> import astropy.units as u
    >>> from massrecon.physics import AncillaryResponse, energy_conversion_factor
    >>> flat = AncillaryResponse([0.1] * u.keV, [10] * u.keV, [1000] * u.cm**2)
    >>> ecf = energy_conversion_factor(flat, [0.5, 2] * u.keV, 5 * u.keV)
    >>> print(f"{ecf.to_value(u.ct * u.cm**2 / u.erg):.3g}")
    6.26e+11
    """
    if not isinstance(arf, AncillaryResponse):
        arf = read_arf(arf)
    _check_gaunt(gaunt)
    if flux not in _FLUX_CHOICES:
        raise ValueError(f"flux must be one of {_FLUX_CHOICES}, got {flux!r}")
    e1, e2 = _inputs.band(band).to_value(u.keV)
    kt = _inputs.energy(kT, "kT").to_value(u.keV)
    if np.ndim(kt) != 0:
        raise ValueError(f"kT must be a scalar, got {kT}")
    zp1 = 1.0 + float(_inputs.redshift(z))
    nh_cm2 = _inputs.column_density(nh)
    if np.ndim(nh_cm2) != 0:
        raise ValueError(f"nh must be a scalar, got {nh}")
    lo, hi = arf.energy_lo.to_value(u.keV), arf.energy_hi.to_value(u.keV)
    if e1 < lo[0] or e2 > hi[-1]:
        raise ValueError(f"band {band} extends beyond the ARF's energy range {lo[0]}-{hi[-1]} keV")
    if nh_cm2 > 0:
        _check_range(np.array([e1, e2]), "band")
    edges = subdivide(e1, e2, np.concatenate([_MM83_EDGES, lo, hi]))

    def absorbed(e):
        return np.exp(-nh_cm2 * _sigma_cm2(e)) if nh_cm2 > 0 else 1.0

    # Energy spectrum normalised at E1 so that cold spectra in hard bands cannot underflow.
    def energy_spec(e):
        return _gaunt(e * zp1, kt, gaunt) * np.exp(-(e - e1) * zp1 / kt)

    photons = piecewise_integral(lambda e: energy_spec(e) / e * absorbed(e), edges)
    rate = np.sum(photons * arf._area_kev(0.5 * (edges[:-1] + edges[1:])))
    weight = absorbed if flux == "absorbed" else (lambda e: 1.0)
    energy_flux = piecewise_integral(lambda e: energy_spec(e) * weight(e), edges).sum()
    if not energy_flux > 0:
        raise ValueError(f"the band {band} carries no flux at kT = {kT}, z = {z}")
    return (rate / energy_flux * u.ct * u.cm**2 / u.keV).to(_ECF_UNIT)
