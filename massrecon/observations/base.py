"""The observation contract, the image base class and the model-ready view they prepare.

`ObservationBase` is the contract every observation implements: a `~ObservationBase.view`
(one of `massrecon.contract.VIEWS`), a `~ObservationBase.beam`, `~ObservationBase.beam_r200`
and ``prepare(frame)``, which returns a `PreparedView` on a `~massrecon.ClusterFrame`.

`Observation` is the base of the images (a Compton-y map, an X-ray image, a stellar-mass
image): an `~astropy.nddata.NDData` with a unit, a celestial WCS, a beam (FWHM of the
point-spread function), an optional per-pixel standard deviation and a mask.  Its ``prepare``
cuts the image around the frame, block-averages it when its pixels are much finer than the
frame's, reprojects it with bilinear interpolation (which preserves surface brightness, the right
behaviour for every quantity of the model), converts it to the model's unit and optionally
smooths it to a common beam.
"""

import abc
import dataclasses

import astropy.units as u
import numpy as np
from astropy.nddata import NDData, StdDevUncertainty
from reproject import reproject_interp

from ..contract import SUPPORTED_BEAM_R200, VIEW_UNITS, VIEWS
from ..frame import ClusterFrame
from ..logger import log
from ._attributes import BeamFWHM, bool_mask, mask_invalid_pixels, real_array, std_array
from ._inputs import _BEAM_RTOL, angle_or_r200, celestial_wcs, read_fits_hdus, unit_from_header, wcs_from_header
from ._regrid import (
    binning_factor,
    block_mean,
    cutout_slices,
    interpolate_onto,
    padded_frame_wcs,
    pixel_to_pixel,
    rebinned_wcs,
    smooth,
    smoothing_sigma_pixels,
)

__all__ = ["ObservationBase", "Observation", "PreparedView"]

# Largest fraction of the pixels within R200 that may be masked.
_MAX_MASKED_FRACTION = 0.5


@dataclasses.dataclass
class PreparedView:
    """One observation on the cluster frame, in the model's unit.

    Attributes
    ----------
    view : str
        ``"sz"``, ``"xray"`` or ``"stars"``.
    data : `~numpy.ndarray`
        float64 map of shape ``frame.array_shape`` in `unit`; NaN where `mask` is True.
    unit : `~astropy.units.UnitBase`
        The model's unit of this view (see `VIEW_UNITS`).
    noise : `~numpy.ndarray` or None
        Per-pixel standard deviation in `unit` (NaN where masked), or None when unknown.
    mask : `~numpy.ndarray`
        Boolean map, True where the pixel is not observed (outside the footprint or masked).
    beam_fwhm_r200 : float
        FWHM of the beam of `data` in units of :math:`R_{200c}`.
    highpass_r200 : float or None
        For a filtered y map, the dispersion of the Gaussian high-pass equivalent to its transfer
        function (`~massrecon.observations.TransferFunction.equivalent_high_pass`), in R200 of the
        frame; None for an unfiltered map.
    meta : dict
        Header cards the reconstructor copies into the mass map's meta (e.g. the catalogue-depth
        correction of the stars view, `~massrecon.observations.DepthCorrection.cards`).

    Examples
    --------
    >>> import numpy as np, astropy.units as u
    >>> from massrecon.observations import PreparedView
    >>> pv = PreparedView("sz", np.ones((2, 2)), u.one, None, np.zeros((2, 2), bool), 0.1)
    >>> pv.quantity.sum()
    <Quantity 4.>
    """

    view: str
    data: np.ndarray
    unit: u.UnitBase
    noise: np.ndarray | None
    mask: np.ndarray
    beam_fwhm_r200: float
    highpass_r200: float | None = None
    meta: dict = dataclasses.field(default_factory=dict)

    def __post_init__(self):
        if self.view not in VIEWS:
            raise ValueError(f"view must be one of {VIEWS}, got {self.view!r}")
        self.data = np.asarray(self.data, dtype=np.float64)
        self.mask = np.asarray(self.mask, dtype=bool)
        self.unit = u.Unit(self.unit)
        if self.data.ndim != 2 or self.mask.shape != self.data.shape:
            raise ValueError(
                f"data must be 2-D and mask of the same shape, got {self.data.shape} and {self.mask.shape}"
            )
        if self.noise is not None:
            self.noise = np.asarray(self.noise, dtype=np.float64)
            if self.noise.shape != self.data.shape:
                raise ValueError(f"noise must have shape {self.data.shape}, got {self.noise.shape}")
        self.beam_fwhm_r200 = float(self.beam_fwhm_r200)
        if self.highpass_r200 is not None:
            self.highpass_r200 = float(self.highpass_r200)
            if not self.highpass_r200 > 0:
                raise ValueError(f"highpass_r200 must be > 0 (None: unfiltered), got {self.highpass_r200}")

    @property
    def quantity(self):
        """`data` as a `~astropy.units.Quantity`."""
        return self.data * self.unit

    def filled(self, value=0.0):
        """A copy of `data` with the masked pixels set to ``value``."""
        return np.where(self.mask, value, self.data)


def _bilinear_noise_factor(px, py):
    r"""Standard deviation of a bilinear interpolation of unit-variance independent pixels.

    ``px, py`` are the positions interpolated at, in input pixels.  At fractional offsets
    :math:`(f_x, f_y)` from the input pixel grid the interpolation weights give
    :math:`\sigma_{out}^2 / \sigma_{in}^2 = [(1-f_x)^2 + f_x^2] [(1-f_y)^2 + f_y^2]`.
    """
    fx, fy = px - np.floor(px), py - np.floor(py)
    factor = np.sqrt(((1 - fx) ** 2 + fx**2) * ((1 - fy) ** 2 + fy**2))
    return np.where(np.isfinite(factor), factor, 1.0)


def _label(obj):
    name = getattr(obj, "name", None)
    return f"{type(obj).__name__} {name!r}" if name else type(obj).__name__


def _check_frame(frame):
    if not isinstance(frame, ClusterFrame):
        raise TypeError(f"frame must be a massrecon.ClusterFrame, got {type(frame).__name__}")


def _prepare_on_frame(obs, frame, target_beam, resample):
    """Shared preparation of the maps: beam checks, resampling onto the (padded) frame, smoothing, masks.

    ``resample(wcs_out, shape_out)`` returns ``(data, std_or_None)`` in the model unit on that
    grid with NaN outside the footprint, or None when there is no overlap at all.  When the
    observation's beam is finer than its class' ``_default_target_r200`` (and no
    ``target_beam`` is given), the map is smoothed to that beam.
    """
    _check_frame(frame)
    label, beam = _label(obs), obs.beam
    lo, hi = SUPPORTED_BEAM_R200
    beam_r200 = obs.beam_r200(frame)
    if not lo <= beam_r200 <= hi:
        raise ValueError(
            f"{label}: beam FWHM {beam:.3g} is {beam_r200:.3g} R200 on this frame (theta200 = "
            f"{frame.theta200:.3g}); the model supports beams of {lo:g} to {hi:g} R200"
        )
    default_target_r200 = getattr(obs, "_default_target_r200", None)
    if target_beam is None and default_target_r200 is not None and beam_r200 < default_target_r200:
        target_beam = default_target_r200
    sigma = 0.0
    final_beam = beam
    if target_beam is not None:
        target = angle_or_r200(target_beam, frame, "target_beam")
        if target < beam * (1 - _BEAM_RTOL):
            raise ValueError(
                f"{label}: target_beam {target:.4g} ({float(target / frame.theta200):.3g} R200) is finer "
                f"than the observation's beam {beam:.4g} ({beam_r200:.3g} R200); a map can only be "
                "smoothed to a coarser beam"
            )
        target_r200 = float((target / frame.theta200).decompose())
        if target_r200 > hi:
            raise ValueError(
                f"{label}: target_beam {target:.3g} is {target_r200:.3g} R200; the model supports beams "
                f"of {lo:g} to {hi:g} R200"
            )
        sigma = smoothing_sigma_pixels(target, beam, frame.pixel_scale)
        final_beam = target
        if sigma > 0:
            log.debug(f"{label}: smoothing to {target:.3g} with a Gaussian of sigma {sigma:.3g} frame pixels")
    pad = int(np.ceil(4 * sigma)) + 1 if sigma > 0 else 0
    wcs_out, shape_out = padded_frame_wcs(frame, pad)
    res = resample(wcs_out, shape_out)
    if res is None:
        raise ValueError(f"{label}: the frame around {frame.center.to_string('decimal')} lies outside the "
                         "observation's footprint")
    data, std = res
    if sigma > 0:
        data, std = smooth(data, std, sigma)
    if pad:
        crop = (slice(pad, -pad), slice(pad, -pad))
        data = data[crop]
        std = None if std is None else std[crop]
    mask = _frame_mask(data, std, frame, label)
    data = np.where(mask, np.nan, data).astype(np.float64)
    if std is not None:
        std = np.where(mask, np.nan, std).astype(np.float64)
    return PreparedView(view=obs.view, data=data, unit=VIEW_UNITS[obs.view], noise=std, mask=mask,
                        beam_fwhm_r200=float((final_beam / frame.theta200).decompose()))


def _frame_mask(data, std, frame, label):
    """Pixels of a prepared map that are not observed; raise when too many are within R200."""
    mask = ~np.isfinite(data)
    if std is not None:
        mask |= ~np.isfinite(std)
    if mask.all():
        raise ValueError(f"{label}: the frame around {frame.center.to_string('decimal')} lies outside the "
                         "observation's footprint (no pixel of the frame is observed)")
    inner = frame.radius_grid() <= 1.0
    frac = float(mask[inner].mean())
    if frac > _MAX_MASKED_FRACTION:
        raise ValueError(
            f"{label}: {frac:.0%} of the frame's pixels within R200 are masked or outside the "
            f"observation's footprint (at most {_MAX_MASKED_FRACTION:.0%} allowed)"
        )
    return mask


class ObservationBase(abc.ABC):
    """The contract of an observation: what `~massrecon.MassReconstructor` needs from it.

    An observation feeds one of the model's views (`view`, one of `massrecon.contract.VIEWS`),
    knows its resolution (`beam`, `beam_r200`) and puts itself on a cluster frame with
    `prepare`, which returns a `PreparedView` in the view's unit (`massrecon.contract.VIEW_UNITS`).
    Every observation class of massrecon derives from it.

    To support another kind of data, subclass it: set `view`, set ``self.beam`` in ``__init__``
    (validated: a scalar angle >= 0, stored in arcmin) and implement `prepare`.

    Examples
    --------
    A view of constant Compton-y:

    >>> import numpy as np, astropy.units as u
    >>> from astropy.coordinates import SkyCoord
    >>> from massrecon import ClusterFrame
    >>> from massrecon.contract import VIEW_UNITS
    >>> from massrecon.observations import ObservationBase, PreparedView
    >>> class FlatY(ObservationBase):
    ...     view = "sz"
    ...     def __init__(self, y, beam):
    ...         self.y = y
    ...         self.beam = beam
    ...     def prepare(self, frame, target_beam=None):
    ...         data = np.full(frame.array_shape, self.y)
    ...         return PreparedView(self.view, data, VIEW_UNITS[self.view], None,
    ...                             np.zeros(data.shape, bool), self.beam_r200(frame))
    >>> frame = ClusterFrame(SkyCoord(150.0, 2.0, unit="deg"), 0.3, m500=5e14 * u.Msun, npix=8)
    >>> view = FlatY(1e-5, 1 * u.arcmin).prepare(frame)
    >>> view.data.shape, round(view.beam_fwhm_r200, 3)
    ((8, 8), 0.161)
    """

    #: The model view this observation feeds (one of `massrecon.contract.VIEWS`); None in
    #: abstract classes.
    view = None

    beam = BeamFWHM("FWHM of the beam or point-spread function (arcmin), a scalar angle >= 0.")

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        if cls.view is not None and cls.view not in VIEWS:
            raise TypeError(f"{cls.__name__}.view must be one of {VIEWS}, got {cls.view!r}")

    def beam_r200(self, frame):
        """FWHM of the beam in units of the frame's :math:`R_{200c}` (float).

        `beam` is an angle, or (for observations whose resolution is set relative to the
        cluster, such as the smoothing of `~massrecon.observations.GalaxyMembers`) a fraction
        of :math:`R_{200c}`.
        """
        _check_frame(frame)
        return float((angle_or_r200(self.beam, frame, "beam") / frame.theta200).decompose())

    @abc.abstractmethod
    def prepare(self, frame, target_beam=None) -> PreparedView:
        """Put the observation on ``frame`` in the model's unit of its view.

        Parameters
        ----------
        frame : `~massrecon.ClusterFrame`
            The cluster frame.
        target_beam : `~astropy.units.Quantity` or float, optional
            Beam FWHM to smooth to: an angle, or a float in units of :math:`R_{200c}`.

        Returns
        -------
        view : `PreparedView`
            On ``frame.array_shape``, in ``massrecon.contract.VIEW_UNITS[self.view]``.
        """


class Observation(NDData, ObservationBase):
    """Base class of the image observations: an `~astropy.nddata.NDData` with a beam.

    Subclasses set `view` and the units they accept; use `~massrecon.observations.ComptonYMap`,
    `~massrecon.observations.XrayImage` or `~massrecon.observations.StellarMassImage`.

    Parameters
    ----------
    data : `~astropy.units.Quantity`, `~astropy.nddata.NDData` or array-like
        2-D image.  A plain array takes ``unit`` (or the class' default unit).
    wcs : `~astropy.wcs.WCS` or `~astropy.io.fits.Header`
        Celestial WCS of the image (any projection, any celestial frame).  Required (taken from
        ``data`` when it is an NDData with a WCS).
    beam : `~astropy.units.Quantity`
        FWHM of the (Gaussian-approximated) beam or point-spread function, an angle.  Required.
    noise : `~astropy.units.Quantity`, `~astropy.nddata.StdDevUncertainty` or array-like, optional
        Per-pixel standard deviation, same shape and unit as ``data``.
    mask : array-like of bool, optional
        True where a pixel is bad (NDData convention).
    unit : `~astropy.units.UnitBase` or str, optional
        Unit of a plain-array ``data`` (or unit to convert a Quantity to).
    meta : dict, optional
        Metadata.
    name : str, optional
        Name used in messages (stored as ``meta["name"]``).
    mask_invalid : bool, optional
        If True, NaN/inf pixels of ``data`` or ``noise`` are masked; if False (default) they raise
        a `ValueError` unless they are already masked.

    Raises
    ------
    ValueError
        No celestial WCS, a missing beam, a non-2-D image, shapes that disagree, negative noise,
        unmasked NaN/inf values (unless ``mask_invalid``).
    astropy.units.UnitsError
        A unit the view does not accept, or a beam that is not an angle.
    """

    # unit assumed for plain arrays (None: a unit is required)
    _default_unit = None
    # human-readable description of the accepted units
    _unit_description = ""
    # beam (in R200) the view is smoothed to by default when the observation's beam is finer
    _default_target_r200 = None

    def __init__(self, data, *, wcs=None, beam=None, noise=None, mask=None, unit=None, meta=None, name=None,
                 mask_invalid=False):
        owner = type(self).__name__
        if self.view is None:
            raise TypeError("Observation is a base class: use ComptonYMap, XrayImage or StellarMassImage")
        if isinstance(data, NDData):
            nd = data
            data = nd.data if nd.unit is None else u.Quantity(nd.data, nd.unit, copy=False)
            wcs = nd.wcs if wcs is None else wcs
            mask = nd.mask if mask is None else mask
            if noise is None and nd.uncertainty is not None:
                noise = nd.uncertainty.represent_as(StdDevUncertainty)
            meta = dict(nd.meta) if meta is None else meta
        values, unit = self._values_and_unit(data, unit)
        cel = celestial_wcs(wcs, values.shape, owner)
        self.beam = beam
        mask = bool_mask(mask, values.shape, owner)
        std = std_array(noise, unit, values.shape, owner)
        mask = mask_invalid_pixels(values, std, mask, mask_invalid, owner)
        meta = dict(meta) if meta is not None else {}
        if name is not None:
            meta["name"] = str(name)
        super().__init__(values, uncertainty=None if std is None else StdDevUncertainty(std), mask=mask, wcs=cel,
                         meta=meta, unit=unit)

    @classmethod
    def _values_and_unit(cls, data, unit):
        """The image as a real 2-D array and its unit, checked against the view's."""
        unit = None if unit is None else u.Unit(unit)
        if isinstance(data, u.Quantity):
            if unit is not None:
                cls._check_unit(unit)
                data = data.to(unit)
            unit, values = data.unit, data.value
        else:
            values = data
            unit = cls._default_unit if unit is None else unit
            if unit is None:
                raise u.UnitsError(
                    f"{cls.__name__}: data has no unit: give a Quantity or unit=... ({cls._unit_description})"
                )
        cls._check_unit(unit)
        return real_array(values, cls.__name__), unit

    @classmethod
    def _check_unit(cls, unit):
        if not cls._unit_ok(u.Unit(unit)):
            raise u.UnitsError(f"{cls.__name__}: data has unit '{unit}', expected {cls._unit_description}")

    @classmethod
    def _unit_ok(cls, unit):
        return unit.is_equivalent(VIEW_UNITS[cls.view])


    # --- reading -------------------------------------------------------------------------
    @classmethod
    def read(cls, filename, hdu=0, *, beam=None, unit=None, noise_hdu=None, mask_hdu=None, **kwargs):
        """Read an observation from a FITS image with a celestial WCS.

        Parameters
        ----------
        filename : str or path-like
            FITS file (opened with memory mapping where possible).
        hdu : int or str, optional
            HDU with the image.  Default 0.
        beam : `~astropy.units.Quantity`
            FWHM of the beam (angle).  Required.
        unit : `~astropy.units.UnitBase` or str, optional
            Unit of the image; default the header's ``BUNIT`` (or the class' default unit).
        noise_hdu, mask_hdu : int or str, optional
            HDUs with the per-pixel standard deviation and the mask (non-zero = bad).
        **kwargs
            Passed on to the class (``name``, ``mask_invalid``, ...).
        """
        wanted = {k: h for k, h in (("image", hdu), ("noise", noise_hdu), ("mask", mask_hdu)) if h is not None}
        hdus = dict(zip(wanted, read_fits_hdus(filename, list(wanted.values()), f"{cls.__name__}.read")))
        header = hdus["image"].header
        data = hdus["image"].data
        if data is None:
            raise ValueError(f"{cls.__name__}.read: HDU {hdu!r} of {filename} has no image data")
        data = np.squeeze(data)
        wcs = wcs_from_header(header)
        unit = unit_from_header(header, unit, f"{cls.__name__}.read")
        noise = np.squeeze(hdus["noise"].data) if "noise" in hdus else None
        mask = np.squeeze(hdus["mask"].data).astype(bool) if "mask" in hdus else None
        kwargs.setdefault("name", header.get("OBJECT") or None)
        return cls(data, wcs=wcs, beam=beam, noise=noise, mask=mask, unit=unit, **kwargs)

    # --- properties ----------------------------------------------------------------------
    @property
    def name(self):
        """Name of the observation (``meta["name"]``), or None."""
        return self.meta.get("name")

    @property
    def noise(self):
        """Per-pixel standard deviation as a Quantity, or None."""
        if self.uncertainty is None:
            return None
        return u.Quantity(self.uncertainty.array, self.unit)

    @property
    def quantity(self):
        """The image as a `~astropy.units.Quantity`."""
        return u.Quantity(self.data, self.unit, copy=False)

    def __repr__(self):
        name = f" {self.name!r}" if self.name else ""
        return (f"<{type(self).__name__}{name} view={self.view!r} shape={self.data.shape} "
                f"unit='{self.unit}' beam={self.beam:.3g}>")

    # --- preparation ---------------------------------------------------------------------
    def _model_factor(self, frame):
        """Factor turning this observation's values into the model's unit on ``frame``."""
        return float((1.0 * self.unit).to_value(VIEW_UNITS[self.view]))

    def _native_block(self, sl, factor):
        """Cut (``sl``) and block-average (``factor``) the image; NaN where masked."""
        data = np.array(self.data[sl], dtype=np.float64)
        data[self.mask[sl]] = np.nan
        std = None if self.uncertainty is None else np.array(self.uncertainty.array[sl], dtype=np.float64)
        wcs = self.wcs[sl]
        wcs.pixel_shape = (data.shape[1], data.shape[0])
        if factor > 1:  # both drop the partial blocks at the far edges
            data, std = block_mean(data, std, factor)
            wcs = rebinned_wcs(wcs, factor)
        return data, std, wcs

    def _resampler(self, frame, scale):
        def resample(wcs_out, shape_out):
            factor = binning_factor(self.wcs, frame.pixel_scale)
            cut = cutout_slices(self.wcs, self.data.shape, wcs_out, shape_out, margin=2 * factor + 2)
            if cut is None:
                return None
            sl, local = cut
            data, std, wcs_in = self._native_block(sl, factor)
            if data.shape[0] < 2 or data.shape[1] < 2:
                return None
            # map and noise share one pixel mapping; cut-outs that project cleanly are small
            # patches, where reproject's round-trip check (against projections that fold over,
            # such as all-sky maps) is not needed and the faster `interpolate_onto` does the job
            stack = data if std is None else np.stack([data, std])
            if local:
                out, (px, py) = interpolate_onto(stack, wcs_in, wcs_out, shape_out, return_positions=True)
            else:
                out = reproject_interp((stack, wcs_in), wcs_out, shape_out=shape_out, order="bilinear",
                                       return_footprint=False)
                px = py = None
            if std is None:
                return out * scale, None
            if px is None:  # the noise factor needs the positions reproject computed internally
                yy, xx = np.mgrid[0:shape_out[0], 0:shape_out[1]]
                px, py = pixel_to_pixel(wcs_out, wcs_in, xx, yy)
            return out[0] * scale, out[1] * scale * _bilinear_noise_factor(px, py)

        return resample

    def prepare(self, frame, target_beam=None, **kwargs):
        """Put the observation on ``frame`` in the model's unit.

        Parameters
        ----------
        frame : `~massrecon.ClusterFrame`
            The cluster frame.
        target_beam : `~astropy.units.Quantity` or float, optional
            Smooth to this FWHM (an angle, or a float in units of :math:`R_{200c}`) by convolving
            with a Gaussian of FWHM :math:`\\sqrt{\\theta_t^2 - \\theta_b^2}`.  It must not be finer
            than the observation's beam.
        **kwargs
            View-specific options (e.g. ``kT`` for `~massrecon.observations.XrayImage`).

        Returns
        -------
        view : `PreparedView`

        Raises
        ------
        ValueError
            If the frame is outside the observation's footprint, more than half of the pixels
            within :math:`R_{200c}` are masked, the beam is outside `SUPPORTED_BEAM_R200`, or
            ``target_beam`` is finer than the beam.
        """
        _check_frame(frame)
        scale = self._model_factor(frame, **kwargs)
        return _prepare_on_frame(self, frame, target_beam, self._resampler(frame, scale))
