"""Thermal Sunyaev-Zeldovich observations: Compton-y maps.

The model's ``"sz"`` view is the Compton parameter :math:`y = (\\sigma_T / m_e c^2) \\int P_e \\, dl`
(dimensionless) on the cluster frame, smoothed by the instrument's beam.  y is a surface
brightness (it does not depend on distance), so reprojection by interpolation preserves it.

What the model assumes: the map is an *unfiltered* Compton-y map, such as the Planck MILCA or
NILC all-sky y maps (Planck 2015 results XXII) or ACT/SPT component-separated y maps.  Maps
from matched filters or with large-scale modes removed (transfer functions, high-pass filtered
cluster cut-outs) are not corrected here: the model would see a cluster with a suppressed
outskirts.  Give the map's beam (FWHM); Planck y maps have a 10 arcmin beam
(`PLANCK_Y_BEAM`).
"""

import dataclasses
import os
import warnings

import astropy.units as u
import numpy as np
from astropy.coordinates import frame_transform_graph
from astropy.io import fits
from astropy_healpix import npix_to_nside

from ..contract import VIEW_UNITS
from ..exceptions import OutOfDistributionWarning
from ._attributes import bool_mask, mask_invalid_pixels, std_array
from ._inputs import read_fits_hdus
from ._regrid import healpix_onto
from .base import Observation, ObservationBase, _check_frame, _prepare_on_frame
from .transfer import TransferFunction

__all__ = ["PLANCK_Y_BEAM", "ComptonYMap", "HealpixComptonYMap"]

#: Beam FWHM of the Planck MILCA/NILC Compton-y maps (Planck 2015 results XXII, A&A 594, A22).
PLANCK_Y_BEAM = 10.0 * u.arcmin

# HEALPix "no data" sentinel (healpy.UNSEEN).
_UNSEEN = -1.6375e30

_COORDSYS = {
    "G": "galactic",
    "GALACTIC": "galactic",
    "C": "icrs",
    "Q": "icrs",
    "CELESTIAL": "icrs",
    "EQUATORIAL": "icrs",
    "ICRS": "icrs",
    "FK5": "fk5",
    "E": "barycentrictrueecliptic",
    "ECLIPTIC": "barycentrictrueecliptic",
}


class ComptonYMap(Observation):
    """A Compton-y map (image with a celestial WCS).

    Parameters
    ----------
    data : `~astropy.units.Quantity` or array-like
        2-D Compton-y image, dimensionless (a plain array is taken as dimensionless).
    wcs : `~astropy.wcs.WCS`
        Celestial WCS of the image (any projection and celestial frame).
    beam : `~astropy.units.Quantity`
        FWHM of the map's beam (an angle), e.g. `PLANCK_Y_BEAM` for Planck maps.
    noise : array-like, optional
        Per-pixel standard deviation of y.
    mask : array-like of bool, optional
        True where pixels are bad (e.g. point sources).
    transfer_function : `~massrecon.observations.TransferFunction`, optional
        The filtering of a ground-based map (ACT, SPT, Bolocam, NIKA2: scan strategy and
        filters remove large scales).  `prepare` states it to the model as the dispersion of the
        equivalent Gaussian high-pass in R200 (`PreparedView.highpass_r200`); weights trained on
        unfiltered y only then warn that the map is outside their domain (:doc:`/filtered_sz`).
    **kwargs
        ``unit``, ``meta``, ``name``, ``mask_invalid``: see `~massrecon.observations.Observation`.

    Notes
    -----
    A filtered map without its ``transfer_function`` is read as an unfiltered one: the missing
    outskirts then read as a lower mass (2-5 times on the filtered MACS J0025 maps with weights
    trained on unfiltered y).  Always give the ``transfer_function`` of a ground-based map.

    Examples
    --------
    >>> import numpy as np, astropy.units as u
    >>> from astropy.coordinates import SkyCoord
    >>> from massrecon import ClusterFrame
    >>> from massrecon.observations import ComptonYMap
    >>> frame = ClusterFrame(SkyCoord(150.0, 2.0, unit="deg"), 0.3, m500=5e14 * u.Msun, npix=32)
    >>> ymap = ComptonYMap(np.full((64, 64), 1e-5), wcs=frame.with_npix(64, 3.0).wcs, beam=1 * u.arcmin)
    >>> view = ymap.prepare(frame)
    >>> view.data.shape, round(float(np.nanmean(view.data)), 12)
    ((32, 32), 1e-05)
    """

    view = "sz"
    _default_unit = VIEW_UNITS[view]
    _unit_description = "a dimensionless Compton-y map (a plain array or u.dimensionless_unscaled)"

    def __init__(self, data, *, transfer_function=None, **kwargs):
        if transfer_function is not None and not isinstance(transfer_function, TransferFunction):
            raise TypeError(f"ComptonYMap: transfer_function must be a massrecon.observations.TransferFunction or "
                            f"None, got {type(transfer_function).__name__}")
        super().__init__(data, **kwargs)
        self.transfer_function = transfer_function

    def prepare(self, frame, target_beam=None, **kwargs):
        """Put the map on ``frame`` (see `~massrecon.observations.Observation.prepare`).

        A map with a ``transfer_function`` is prepared as given (filtered); the prepared view
        carries the equivalent Gaussian high-pass dispersion in R200 of the frame
        (`~massrecon.observations.TransferFunction.equivalent_high_pass`), which the model is told.
        """
        pv = super().prepare(frame, target_beam=target_beam, **kwargs)
        if self.transfer_function is None:
            return pv
        theta = self.transfer_function.equivalent_high_pass()
        highpass = float((theta / frame.theta200).decompose())
        if not np.isfinite(highpass):
            warnings.warn(f"sz: the transfer_function of {self.name or 'the y map'} ({self.transfer_function!r}) "
                          "passes at least half of every scale it describes, so the map is treated as unfiltered; "
                          "if it removes large scales, give T(k) down to the scales it removes",
                          OutOfDistributionWarning)
            return pv
        return dataclasses.replace(pv, highpass_r200=highpass)

    @classmethod
    def from_healpix(cls, healpix_map, *, beam=None, nested=None, frame=None, **kwargs):
        """A full-sky HEALPix Compton-y map, cut lazily onto cluster frames.

        See `HealpixComptonYMap` for the parameters.

        Examples
        --------
        >>> import numpy as np, astropy.units as u
        >>> from massrecon.observations import ComptonYMap
        >>> hp = ComptonYMap.from_healpix(np.zeros(12 * 16**2), beam=10 * u.arcmin, frame="galactic")
        >>> hp.nside
        16
        """
        return HealpixComptonYMap(healpix_map, beam=beam, nested=nested, frame=frame, **kwargs)


class HealpixComptonYMap(ObservationBase):
    """A HEALPix Compton-y map held in memory once and cut onto many frames.

    `prepare` interpolates the HEALPix map bilinearly at the frame's pixel centres with
    `reproject.reproject_from_healpix`; the map is read once and held in memory as float64
    (400 MB at :math:`N_{side} = 2048`), so cutting many clusters from one map costs about 10 ms
    each.  The HEALPix pixel adds to the effective resolution: use a map whose pixels are well
    below the frame's.  Beam, mask, noise and preparation follow
    `~massrecon.observations.Observation`.

    Parameters
    ----------
    healpix_map : array-like, `~astropy.units.Quantity`, str, path-like or FITS HDU
        The HEALPix map: a 1-D array of :math:`12 N_{side}^2` values, or a HEALPix FITS file
        (binary table, ``ORDERING``/``COORDSYS`` keywords) or HDU.
    beam : `~astropy.units.Quantity`
        FWHM of the map's beam (angle); `PLANCK_Y_BEAM` (10 arcmin) for Planck maps.  Required.
    nested : bool, optional
        Pixel ordering; default from the file's ``ORDERING`` keyword, else False (RING).
    frame : str, optional
        Celestial frame of the map (``"galactic"``, ``"icrs"``, ...); default from the file's
        ``COORDSYS`` keyword, else ``"galactic"``.
    noise : array-like, optional
        Per-pixel standard deviation, a HEALPix array of the same size.
    mask : array-like of bool, optional
        HEALPix array, True where bad.  Pixels equal to the HEALPix ``UNSEEN`` value
        (-1.6375e30) are always masked.
    field : int or str, optional
        Column of the FITS table with the map.  Default 0.
    hdu : int or str, optional
        HDU of the FITS file with the table.  Default 1.
    name : str, optional
        Name used in messages.
    mask_invalid : bool, optional
        Mask NaN/inf values instead of raising `ValueError`.

    Examples
    --------
    >>> import numpy as np, astropy.units as u
    >>> from astropy.coordinates import SkyCoord
    >>> from massrecon import ClusterFrame
    >>> from massrecon.observations import HealpixComptonYMap
    >>> hp = HealpixComptonYMap(np.full(12 * 64**2, 2e-6), beam=10 * u.arcmin, frame="galactic")
    >>> frame = ClusterFrame(SkyCoord(30.0, 40.0, unit="deg"), 0.05, m500=3e14 * u.Msun, npix=16)
    >>> view = hp.prepare(frame)
    >>> round(float(view.data.mean()), 9), round(view.beam_fwhm_r200, 3)
    (2e-06, 0.385)
    """

    view = "sz"

    def __init__(self, healpix_map, *, beam=None, nested=None, frame=None, noise=None, mask=None, field=0,
                 hdu=1, name=None, mask_invalid=False):
        owner = type(self).__name__
        values, header, unit = self._read(healpix_map, field, hdu, owner)
        # one in-memory, native-endian float64 copy (400 MB at Nside 2048): reproject converts any
        # other dtype on every call, which would make each cut-out cost a full pass over the sky
        array = self._sky_array(values, unit, owner)
        if nested is None:
            nested = str(header.get("ORDERING", "RING")).strip().upper().startswith("NEST")
        self._nested = bool(nested)
        if frame is None:
            frame = str(header.get("COORDSYS", "G")).strip().upper() or "G"
        self._coordsys = _COORDSYS.get(str(frame).strip().upper(), str(frame).strip().lower())
        if frame_transform_graph.lookup_name(self._coordsys) is None:
            raise ValueError(f"{owner}: frame={frame!r} is not a celestial frame: give an astropy frame name "
                             f"('galactic', 'icrs', 'fk5', ...) or a HEALPix COORDSYS code (G, C, E)")
        self.beam = beam
        self.name = name

        mask = bool_mask(mask, array.shape, owner, like="the map") | (array <= _UNSEEN * 0.999)
        std = std_array(noise, VIEW_UNITS[self.view], array.shape, owner, like="the map")
        mask = mask_invalid_pixels(array, std, mask, mask_invalid, owner, what="the map (or noise)")
        # masked pixels are NaN: the interpolation masks every frame pixel that touches one
        array[mask] = np.nan
        if std is not None:
            std[mask] = np.nan
        self._array, self._noise = array, std

    def _sky_array(self, values, unit, owner):
        """The map as a new float64 array in the view's unit; sets `nside`."""
        view_unit = VIEW_UNITS[self.view]
        if unit is not None and not unit.is_equivalent(view_unit):
            raise u.UnitsError(f"{owner}: the map has unit '{unit}', expected a dimensionless Compton-y map")
        values = np.asarray(values)
        if values.ndim != 1:
            raise ValueError(f"{owner}: a HEALPix map must be 1-D, got shape {values.shape}")
        try:
            self._nside = int(npix_to_nside(values.size))
        except ValueError:
            raise ValueError(
                f"{owner}: {values.size} values is not a HEALPix map (12 Nside^2 pixels)"
            ) from None
        array = np.array(values, dtype=np.float64)
        scale = 1.0 if unit is None else float((1.0 * unit).to_value(view_unit))
        if scale != 1.0:
            array *= scale
        return array

    @staticmethod
    def _read(source, field, hdu, owner):
        """``(values, header, unit)`` of an array, a Quantity or a HEALPix FITS table."""
        if isinstance(source, u.Quantity):
            return source.value, {}, source.unit
        if not isinstance(source, (fits.BinTableHDU, fits.HDUList, str, os.PathLike)):
            return source, {}, None

        def from_hdu(h):
            if not isinstance(h, fits.BinTableHDU):
                raise ValueError(f"{owner}: expected a HEALPix binary table, got {type(h).__name__}")
            col = h.columns[field]
            unit = None
            if col.unit and col.unit.strip():
                try:
                    unit = u.Unit(col.unit.strip(), parse_strict="raise")
                except ValueError:
                    raise u.UnitsError(
                        f"{owner}: cannot parse the unit {col.unit!r} of column {col.name!r}"
                    ) from None
            return np.asarray(h.data.field(col.name)).ravel(), h.header, unit

        if isinstance(source, fits.BinTableHDU):
            return from_hdu(source)
        if isinstance(source, fits.HDUList):
            return from_hdu(source[hdu])
        values, header, unit = from_hdu(read_fits_hdus(source, [hdu], owner)[0])
        return np.array(values), header.copy(), unit

    @property
    def nside(self):
        """HEALPix :math:`N_{side}`."""
        return self._nside

    @property
    def nested(self):
        """True for NESTED pixel ordering, False for RING."""
        return self._nested

    @property
    def coordsys(self):
        """Celestial frame of the map (astropy frame name)."""
        return self._coordsys

    @property
    def pixel_size(self):
        """Side of a HEALPix pixel, :math:`\\sqrt{4\\pi / 12 N_{side}^2}` (arcmin)."""
        return (np.sqrt(4 * np.pi / (12 * self._nside**2)) * u.rad).to(u.arcmin)

    def __repr__(self):
        name = f" {self.name!r}" if self.name else ""
        order = "NESTED" if self._nested else "RING"
        return (f"<{type(self).__name__}{name} view={self.view!r} nside={self._nside} {order} "
                f"frame={self._coordsys!r} beam={self.beam:.3g}>")

    def prepare(self, frame, target_beam=None):
        """Cut the map onto ``frame``: see `~massrecon.observations.Observation.prepare`.

        Returns
        -------
        view : `~massrecon.observations.PreparedView`
        """
        _check_frame(frame)

        def resample(wcs_out, shape_out):
            maps = [self._array] if self._noise is None else [self._array, self._noise]
            out = [np.asarray(m, dtype=np.float64)
                   for m in healpix_onto(maps, self._coordsys, self._nested, wcs_out, shape_out)]
            return out[0], None if self._noise is None else out[1]

        return _prepare_on_frame(self, frame, target_beam, resample)
