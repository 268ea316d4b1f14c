"""`MassReconstructor`: observations of a cluster -> its projected total-mass map.

The reconstructor prepares each observation on the model's frame (reprojection, units, beam),
encodes the observing conditions (beam and noise per view, pixel scale, redshift), runs the
generator (optionally with test-time augmentation over the eight flips and rotations of the
square), and returns a `~massrecon.MassMap` with an uncertainty calibrated on held-out mocks.
"""

import dataclasses
import functools
import time
import typing
import warnings

import astropy.units as u
import numpy as np
from astropy.utils.data import get_pkg_data_path

from .apertures import aperture_weights
from .checks import INPUT_RANGES_KEY, aperture_integral, check_member_masses, check_view, native_pixel_r200
from .contract import FRAME_NPIX, FRAME_SIZE_R200, R200_ERROR_MAX, SUPPORTED_BEAM_R200
from .exceptions import AmbiguousMassWarning, NotConvergedWarning, OutOfDistributionWarning
from .frame import ClusterFrame
from .frame_ensemble import DEFAULT_FRAME_ENSEMBLE, check_frame_ensemble, frame_ensemble_scales, resample_to_frame
from .halo import nfw_enclosed_mass_shape
from .logger import log
from .massmap import SIGMA_UNIT, MassMap
from .relations import RELATIONS_KEY, ScalingRelation, aperture_fraction, combine_log_masses
from .solvers import CONSISTENT_H, FLAT_RESPONSE, find_log_scale_roots, log_scale_grid
from .symmetry import N_DIHEDRAL, dihedral, undo_dihedral

__all__ = ["MassReconstructor", "projected_to_m200_ratio", "PROJECTED_RATIO_FORM", "PROJECTED_RATIO_TERMS",
           "projected_ratio_regressors", "RelationMass", "SELF_CONSISTENT_METHODS",
           "MIN_APERTURE_FRACTION", "RELATION_FRAME_ERROR_FACTOR", "Y_NOISE_CORRELATION_AREA",
           "relation_frame_error"]

_MIN_BEAM_R200 = 0.01

# FITS card suffixes of the views
_VIEW_CARD = {"sz": "SZ", "xray": "XRAY", "stars": "STAR"}

#: Ways of finding a self-consistent frame (``predict(..., self_consistent=...)``).
SELF_CONSISTENT_METHODS = ("relation", "roots")

#: The relation frame's R200 is told to the network as known to ``RELATION_FRAME_ERROR_FACTOR``
#: times the relation's scatter in ln R200 (the half-width of the ~95% range, as ``r200_error`` is a
#: half-width), between 0.05 and 0.3, the range the network was trained with.  On 200 maps of
#: the held-out fiducial set (ideal inputs) this beat telling it 0.3: M(<R500) scatter 7.9%
#: against 9.4% with all views, 9.9% against 11.6% with y (weights of an earlier session).
RELATION_FRAME_ERROR_FACTOR = 2.0

#: Area (in units of FWHM^2) over which beam-smoothed white noise is correlated, 4 pi sigma^2 =
#: pi FWHM^2 / (2 ln 2): the variance of an aperture sum of such noise is the per-pixel variance
#: times the number of pixels times this area in pixels (the noise's autocorrelation is a
#: Gaussian of dispersion sqrt(2) sigma).
Y_NOISE_CORRELATION_AREA = float(np.pi / (2 * np.log(2)))

#: Smallest fraction of a view's integral within R500 that its beam and filter may leave
#: (`~massrecon.relations.aperture_fraction`) for the view to enter the relation mass: below it
#: the correction would multiply the noise and the template's errors by more than 3.
MIN_APERTURE_FRACTION = 0.3


def relation_frame_error(scatter_dex, largest=R200_ERROR_MAX):
    """``r200_error`` of a relation frame whose :math:`M_{500}` scatters by ``scatter_dex``.

    ``RELATION_FRAME_ERROR_FACTOR`` times the scatter in :math:`\\ln R_{200}` (a third of that in
    :math:`\\ln M`), within 0.05 and ``largest``.

    Examples
    --------
    >>> from massrecon.reconstruct import relation_frame_error
    >>> round(relation_frame_error(0.1), 4)  # 0.1 dex in mass: 7.7% in R200
    0.1535
    >>> relation_frame_error(0.01), relation_frame_error(1.0)
    (0.05, 0.3)
    """
    if not (np.isfinite(scatter_dex) and scatter_dex >= 0):
        raise ValueError(f"scatter_dex must be finite and non-negative, got {scatter_dex}")
    sd_ln_r = float(scatter_dex) * np.log(10) / 3
    return float(np.clip(RELATION_FRAME_ERROR_FACTOR * sd_ln_r, 0.05, largest))


class RelationMass(typing.NamedTuple):
    """The scaling-relation :math:`M_{500c}` of a cluster's observations (`MassReconstructor.relation_mass`).

    Attributes
    ----------
    m500 : `~astropy.units.Quantity`
        The combined relation mass, at its own :math:`R_{500}`.
    scatter_dex : float
        Its scatter (dex) from the relations' scatters.
    frame : `~massrecon.ClusterFrame`
        The frame of that mass (the model's sampling).
    per_view : dict
        :math:`M_{500c}` of each view's relation, measured on the last frame of the iteration
        (within ``rtol`` of `frame`).
    aperture_fraction : dict
        The fraction of each view's integral kept by its beam and filter (the integral was divided
        by it), on the same frame.
    skipped : dict
        Views left out, with the reason.
    history : list of float
        R200 (kpc) of the frames of the iteration.
    converged : bool
        False if the iteration did not settle or its mass left the supported range.
    clipped : bool
        True if the relation mass lies beyond the weights' supported mass range and the frame is
        at its end.
    """

    m500: u.Quantity
    scatter_dex: float
    frame: ClusterFrame
    per_view: dict
    aperture_fraction: dict
    skipped: dict
    history: list
    converged: bool
    clipped: bool = False


class _Pending(typing.NamedTuple):
    """One cluster of `MassReconstructor.predict_catalog` waiting for its batch."""

    index: int
    frame: ClusterFrame
    prepared: dict
    x: np.ndarray
    mask: np.ndarray
    cond: np.ndarray
    r200_error: float
    prep_seconds: float


@functools.lru_cache(maxsize=64)
def _ratio_table(depth_r200=1.0):
    # Vectorised: Sigma_slab(R) by Gauss-Legendre in u with l = l0 sinh(u), then the cylinder
    # mass by the trapezoid rule in ln R (accurate to ~1e-4).
    cs = np.linspace(1.0, 15.0, 57)[:, None, None]
    rp = np.geomspace(1e-5, 1.0, 600)[None, :, None]
    xg, wg = np.polynomial.legendre.leggauss(64)
    l0 = 1e-4
    umax = np.arcsinh(depth_r200 / l0)
    uu = 0.5 * umax * (xg + 1)
    ll = (l0 * np.sinh(uu))[None, None, :]
    wl = (0.5 * umax * wg * l0 * np.cosh(uu))[None, None, :]
    x = cs * np.hypot(rp, ll)
    sig = 2 * np.sum(wl / (x * (1 + x) ** 2), axis=-1)  # unit rho_s, R200 = 1
    r1 = rp[0, :, 0]
    mcyl = np.trapezoid(2 * np.pi * r1**2 * sig, np.log(r1), axis=1)
    c = cs[:, 0, 0]
    m200 = 4 * np.pi / c**3 * nfw_enclosed_mass_shape(c)
    return c, mcyl / m200


#: Form of the calibrated ratio stored under the key ``"projected_ratio"`` of the weights'
#: metadata (written by `massrecon.validation.projected_ratio`); coefficients left out are zero.
PROJECTED_RATIO_FORM = ("ln(M_cyl(<R200) / M200) = ln(nfw_ratio(c200)) + a + b log10(c200 / 4) "
                        "+ d (log10(M200 / Msun) - 14.5) + e z")

#: The coefficients of `PROJECTED_RATIO_FORM`, in the order of `projected_ratio_regressors`.
PROJECTED_RATIO_TERMS = ("a", "b", "d", "e")


def projected_ratio_regressors(c200, m200, z):
    """The regressors of `PROJECTED_RATIO_FORM`: one column per `PROJECTED_RATIO_TERMS`.

    Parameters
    ----------
    c200 : float or array-like
        Concentration; at inference the frame's (its concentration-mass relation).
    m200 : `~astropy.units.Quantity`
        :math:`M_{200c}`.
    z : float or array-like
        Redshift.

    Returns
    -------
    x : `~numpy.ndarray` of shape ``(n, 4)``

    Examples
    --------
    >>> import astropy.units as u
    >>> from massrecon.reconstruct import projected_ratio_regressors
    >>> projected_ratio_regressors(4.0, 10**14.5 * u.Msun, 0.2).round(3).tolist()
    [[1.0, 0.0, 0.0, 0.2]]
    """
    c, lm, zz = np.broadcast_arrays(np.atleast_1d(np.asarray(c200, dtype=float)),
                                    np.log10(np.atleast_1d(m200.to_value(u.Msun))),
                                    np.atleast_1d(np.asarray(z, dtype=float)))
    return np.stack([np.ones_like(c), np.log10(c / 4.0), lm - 14.5, zz], axis=-1)


def _check_ratio_calibration(cal):
    """The metadata entry ``"projected_ratio"`` if well formed; ValueError otherwise."""
    if not isinstance(cal, dict) or cal.get("form") != PROJECTED_RATIO_FORM:
        raise ValueError(f"the weights' projected_ratio calibration must be a dict with form "
                         f"{PROJECTED_RATIO_FORM!r}; got {cal!r:.200}")
    coef = cal.get("coefficients")
    if (not isinstance(coef, dict) or not set(coef) <= set(PROJECTED_RATIO_TERMS)
            or not all(isinstance(v, (int, float)) and np.isfinite(v) for v in coef.values())):
        raise ValueError(f"the weights' projected_ratio coefficients must map names from "
                         f"{PROJECTED_RATIO_TERMS} to finite numbers, got {coef!r}")
    if float(cal.get("depth_r200", 1.0)) != 1.0:
        raise ValueError("the weights' projected_ratio calibration must be for a slab of +-1 R200 "
                         f"(the model's target), got depth_r200={cal.get('depth_r200')}")
    return cal


def projected_to_m200_ratio(c200, depth_r200=1.0, *, m200=None, z=None, calibration=None):
    """:math:`M_{cyl}(<R_{200}) / M_{200}` of an NFW halo in a slab of half-depth ``depth_r200`` R200.

    The projected mass inside the cylinder of radius R200 and depth :math:`\\pm R_{200}` (the
    model's target) exceeds the spherical :math:`M_{200}` by the mass in the cylinder's corners.
    With a ``calibration`` (the ``"projected_ratio"`` entry of the weights' metadata, measured on
    the training halos by `massrecon.validation.projected_ratio`) the NFW value is multiplied
    by the fitted correction of `PROJECTED_RATIO_FORM`, which needs ``m200`` and ``z``.

    Parameters
    ----------
    c200 : float or array-like
        Concentration.
    depth_r200 : float
        Half-depth of the slab in R200 (1 with a ``calibration``).
    m200 : `~astropy.units.Quantity`, optional
        :math:`M_{200c}`, for a ``calibration``.
    z : float or array-like, optional
        Redshift, for a ``calibration``.
    calibration : dict, optional
        The metadata entry; None: the pure NFW ratio.

    Examples
    --------
    >>> import astropy.units as u
    >>> from massrecon.reconstruct import PROJECTED_RATIO_FORM, projected_to_m200_ratio
    >>> round(float(projected_to_m200_ratio(4.0)), 3)
    1.098
    >>> cal = {"form": PROJECTED_RATIO_FORM, "coefficients": {"a": -0.04}}
    >>> round(float(projected_to_m200_ratio(4.0, m200=1e14 * u.Msun, z=0.1, calibration=cal)), 3)
    1.055
    """
    cs, ratio = _ratio_table(float(depth_r200))
    nfw = np.interp(c200, cs, ratio)
    if calibration is None:
        return nfw
    _check_ratio_calibration(calibration)
    if float(depth_r200) != 1.0:
        raise ValueError("a calibrated ratio is for the model's slab of +-1 R200: leave depth_r200 at 1")
    if m200 is None or z is None:
        raise ValueError("a calibrated ratio needs m200 and z")
    coef = np.array([float(calibration["coefficients"].get(k, 0.0)) for k in PROJECTED_RATIO_TERMS])
    corr = np.exp(projected_ratio_regressors(c200, m200, z) @ coef)
    return nfw * (corr if np.ndim(nfw) or corr.size > 1 else corr[0])


def _observation_list(observations):
    """``predict``'s observations (one, a list or a dict) as a list."""
    if isinstance(observations, dict):
        return list(observations.values())
    return list(observations) if isinstance(observations, (list, tuple)) else [observations]


def _uncertain_background(observations):
    """Index of the first observation with a ``background_error`` (an X-ray image), or None."""
    return next((k for k, o in enumerate(_observation_list(observations)) if getattr(o, "background_error", None)),
                None)


def fill_masked_by_ring(t, r, width=0.05):
    """Fill the non-finite pixels of ``t`` with the median of the nearest observed ring.

    Rings are ``width`` R200 wide (``r`` in R200).  A masked pixel (point source, chip gap) takes
    the median of its own ring, which keeps the azimuthal profile the network relies on most; in a
    ring without any observed pixel (a hole over the centre) it takes the median of the nearest
    ring that has one (the inner one on a tie), not that of the whole map, which would put the
    outskirts' level into the core.

    Examples
    --------
    >>> import numpy as np
    >>> from massrecon.reconstruct import fill_masked_by_ring
    >>> r = np.abs(np.arange(-5, 6))[None, :] * 0.05 * np.ones((3, 1))
    >>> t = 10.0 - r * 20
    >>> t[:, 4:7] = np.nan
    >>> fill_masked_by_ring(t, r)[1, 5]
    np.float64(8.0)
    """
    t = np.array(t, dtype=float)
    bad = ~np.isfinite(t)
    if not bad.any() or bad.all():
        return t
    rb = np.minimum((r / width).astype(int), int(round(2.0 / width)))
    medians = {int(b): float(np.median(t[(rb == b) & ~bad])) for b in np.unique(rb[~bad])}
    observed = np.array(sorted(medians))
    for b in np.unique(rb[bad]):
        near = observed[np.argmin(np.abs(observed - b) + 1e-3 * (observed > b))]
        t[(rb == b) & bad] = medians[int(near)]
    return t


def _check_iteration_options(max_iter, rtol, steps="predictions refining a self-consistent R200"):
    """Validate ``max_iter`` and ``rtol`` of the self-consistent R200; return them as int, float."""
    if isinstance(max_iter, bool) or not isinstance(max_iter, (int, np.integer)) or max_iter < 1:
        raise ValueError(f"max_iter must be a positive integer ({steps}), got {max_iter!r}")
    if isinstance(rtol, bool) or not isinstance(rtol, (int, float, np.floating, np.integer)) \
            or not (np.isfinite(rtol) and 0 < rtol < 1):
        raise ValueError(f"rtol must be a number in (0, 1) (relative tolerance on R200), got {rtol!r}")
    return int(max_iter), float(rtol)


class MassReconstructor:
    """Predict projected mass maps of clusters from their observations.

    Parameters
    ----------
    model : `~massrecon.models.UNetGenerator`
        A trained generator.
    metadata : dict
        The weights' metadata (views, transforms, frame, supported ranges, calibration).

    Examples
    --------
    >>> from massrecon import MassReconstructor
    >>> rec = MassReconstructor.pretrained()      # doctest: +SKIP
    >>> mass_map = rec.predict([y_map, xray, members], frame)   # doctest: +SKIP
    """

    def __init__(self, model, metadata):
        self.model = model.eval()
        self.metadata = dict(metadata)
        self.views = tuple(model.views)
        frame = self.metadata.get("frame", {"npix": FRAME_NPIX, "size_r200": FRAME_SIZE_R200})
        self.npix = int(frame["npix"])
        self.size_r200 = float(frame["size_r200"])
        #: where the weights came from, for messages
        self.weights_label = str(self.metadata.get("file", "the weights"))
        self.input_ranges = self.metadata.get(INPUT_RANGES_KEY)
        if self.input_ranges is None:
            # freshly exported weights lack them too: the calibration is a separate step
            log.info("the weights' metadata has no input_ranges (calibrate them with python -m "
                     "massrecon.validation.input_ranges generator.json): the amplitude of the views is not "
                     "checked against the training range")
        ratio = self.metadata.get("projected_ratio")
        self._ratio_calibration = None if ratio is None else _check_ratio_calibration(ratio)
        self._ratio_note_logged = False
        #: the weights' scaling relations per view (`massrecon.relations`), empty for weights without
        relations = self.metadata.get(RELATIONS_KEY) or {}
        self.relations = {v: ScalingRelation.from_dict(v, relations[v]) for v in self.views if v in relations}

    # --- construction -------------------------------------------------------------------------
    @classmethod
    def pretrained(cls):
        """The bundled generator (package data ``massrecon/models/weights``)."""
        try:
            path = get_pkg_data_path("models", "weights", "generator.pt", package="massrecon")
        except Exception as exc:  # pragma: no cover - depends on the installation
            raise FileNotFoundError(
                "the bundled weights are missing from this installation of massrecon") from exc
        return cls.from_files(path)

    @classmethod
    def from_files(cls, weights, metadata=None):
        """Load a generator from ``generator.pt`` (+ ``generator.json``), checking its checksum."""
        from .models import load_generator

        model, meta = load_generator(weights, metadata)
        rec = cls(model, meta)
        rec.weights_label = f"{weights} (sha256 {str(meta.get('sha256'))[:12]}...)"
        return rec

    # --- helpers ------------------------------------------------------------------------------
    def model_frame(self, frame):
        """The frame the model works on: ``frame`` resampled to the model's npix and width."""
        if frame.npix == self.npix and abs(frame.size_r200 - self.size_r200) < 1e-9:
            return frame
        return frame.with_npix(self.npix, size_r200=self.size_r200)

    def _check_ranges(self, frame):
        sup = self.metadata.get("supported", {})
        zr = sup.get("z")
        if zr and not (zr[0] - 1e-9 <= frame.z <= zr[1] + 1e-9):
            warnings.warn(f"z = {frame.z:.3f} is outside the training range {zr}: the prediction is "
                          "out of distribution", OutOfDistributionWarning)
        lm = sup.get("log10_m200_h")
        if lm:
            val = np.log10(frame.m200.to_value(u.Msun) * frame.cosmology.h)
            if not (lm[0] - 0.05 <= val <= lm[1] + 0.05):
                warnings.warn(f"log10 M200 = {val:.2f} [Msun/h] is outside the training range {lm}: the "
                              "prediction is out of distribution", OutOfDistributionWarning)

    def _prepare(self, observations, frame, check=True):
        if isinstance(observations, dict):
            observations = list(observations.values())
        elif not isinstance(observations, (list, tuple)):
            observations = [observations]
        if not observations:
            raise ValueError("observations must hold at least one observation")
        prepared = {}
        for obs in observations:
            view = getattr(obs, "view", None)
            if view is None or not hasattr(obs, "prepare"):
                raise TypeError(
                    f"observations must be massrecon observation objects, got {type(obs).__name__}")
            if view not in self.views:
                raise ValueError(f"this model takes views {self.views}; got an observation of view {view!r}")
            if view in prepared:
                raise ValueError(f"two observations of view {view!r}: give one per view")
            pv = obs.prepare(frame)
            expected = u.Unit(self.metadata["transforms"]["view_units"][view])
            if not pv.unit.is_equivalent(expected):
                raise u.UnitsError(
                    f"prepared {view} view has unit '{pv.unit}', the model expects '{expected}'")
            noise = None if pv.noise is None else (pv.noise * pv.unit).to_value(expected)
            prepared[view] = dataclasses.replace(pv, data=(pv.data * pv.unit).to_value(expected), noise=noise,
                                                 unit=expected)
        if check:
            self._check_inputs(observations, prepared, frame)
        return prepared

    def _check_inputs(self, observations, prepared, frame):
        """Per-view checks before the network runs (`massrecon.checks`): errors or warnings."""
        sup = self.metadata.get("supported", {}).get("beam_fwhm_r200", SUPPORTED_BEAM_R200)
        for obs in observations:
            pv = prepared[obs.view]
            check_view(pv, frame, self.input_ranges, pixel_r200=native_pixel_r200(obs, frame), beam_range=sup)
            if obs.view == "stars":
                check_member_masses(obs, frame, self.input_ranges)
            if obs.view == "sz" and pv.highpass_r200 is not None:
                self._check_highpass(pv.highpass_r200, obs)

    def _check_highpass(self, theta_r200, obs):
        """Warn when a filtered y map is outside what these weights were trained on."""
        trained = self.metadata.get("supported", {}).get("sz_highpass_r200")
        name = getattr(obs, "name", None) or "the y map"
        if trained is None or "sz_highpass" not in (getattr(self.model, "conditioning", None) or ["sz_highpass"]):
            warnings.warn(f"sz: {name} is filtered (equivalent high-pass {theta_r200:.3g} R200), but these weights "
                          "were trained on unfiltered y: the large scales the filter removed read as a lower mass "
                          "(2-5 times on the filtered maps of docs/validation.rst); treat the mass as a lower limit",
                          OutOfDistributionWarning)
        elif theta_r200 < 0.95 * trained[0]:
            warnings.warn(f"sz: {name} is filtered on scales down to {theta_r200:.3g} R200 (equivalent Gaussian "
                          f"high-pass), more strongly than the weights were trained on (down to {trained[0]:.3g} "
                          "R200): the prediction is out of distribution", OutOfDistributionWarning)

    def _inputs(self, prepared, frame, r200_error):
        from .models.transforms import (
            VIEW_UNITS,
            ViewTransform,
            encode_conditioning,
            xray_reference_noise,
        )

        n = self.npix
        x = np.zeros((len(self.views), n, n), dtype=np.float32)
        present = np.zeros(len(self.views), dtype=bool)
        beams, noises = {}, {}
        r = frame.radius_grid()
        for i, view in enumerate(self.views):
            if view not in prepared:
                beams[view], noises[view] = 1.0, 0.0
                continue
            pv = prepared[view]
            data, noise, mask, beam = pv.data, pv.noise, pv.mask, pv.beam_fwhm_r200
            tf = ViewTransform(view, self.metadata["transforms"]["view_scales"][view])
            t = tf.forward(np.where(mask | ~np.isfinite(data), np.nan, data))
            # Masked pixels (point sources, chip gaps): the median of the transformed map at the same
            # radius keeps the azimuthal profile, which is what the network relies on most.
            x[i] = fill_masked_by_ring(t, r)
            present[i] = True
            beams[view] = max(beam, _MIN_BEAM_R200)
            if noise is None:
                noises[view] = 0.0
            elif view == "xray":
                # the rms at the reference level of a Poisson-like noise, as in training
                noises[view] = xray_reference_noise(np.where(mask, np.nan, data), noise, r,
                                                    self.metadata["transforms"]["view_scales"]["xray"])
            else:
                noises[view] = float(np.nanmedian(noise[r < 1]))
        sup_noise = self.metadata.get("supported", {}).get("noise", {})
        for view in prepared:
            top = sup_noise.get(view, [0, np.inf])[1]
            if noises[view] > 1.05 * top:
                warnings.warn(f"{view}: per-pixel noise {noises[view]:.3g} (in {VIEW_UNITS[view] or 'Compton y'}"
                              f"{', at the reference level' if view == 'xray' else ''}) on the model frame "
                              f"exceeds the training range (up to {top:.3g}): the prediction is out of "
                              "distribution; a deeper map or leaving the view out is safer",
                              OutOfDistributionWarning)
        highpass = prepared["sz"].highpass_r200 if "sz" in prepared else None
        cond = encode_conditioning(self.views, beams, noises, frame.pixel_scale_kpc.to_value(u.kpc), frame.z,
                                   present={v: v in prepared for v in self.views}, r200_error=r200_error,
                                   sz_highpass_r200=highpass)
        return x, present.astype(np.float32), cond

    def _run(self, x, mask, cond, tta=True):
        """Sigma (Msun/kpc^2) of one cluster's inputs, see `_run_batch`."""
        return self._run_batch(x[None], mask[None], np.asarray(cond)[None], tta=tta)[0]

    def _run_batch(self, x, mask, cond, tta=True):
        """Sigma (Msun/kpc^2) of ``n`` clusters' inputs ``x`` (n, views, npix, npix) in one pass.

        With ``tta`` the 8 symmetries of each input go through the network together and their
        log10 Sigma maps are averaged.
        """
        import torch

        from .models.transforms import TargetTransform

        ks = range(N_DIHEDRAL) if tta else range(1)
        n = x.shape[0]
        xb = torch.from_numpy(np.concatenate([np.ascontiguousarray(dihedral(x, k)) for k in ks]))
        mb = torch.from_numpy(np.tile(np.asarray(mask, np.float32), (len(ks), 1)))
        cb = torch.from_numpy(np.tile(np.asarray(cond, np.float32), (len(ks), 1)))
        with torch.inference_mode():
            t = self.model(xb, mb, cb)[:, 0]
        t = torch.stack([undo_dihedral(t[i * n:(i + 1) * n], k) for i, k in enumerate(ks)]).numpy()
        tf = TargetTransform(self.metadata["transforms"].get("target_reference"))
        sigma = tf.inverse(t.mean(axis=0))  # the mean of log10 Sigma over the symmetries
        bad = ~np.isfinite(sigma)
        if bad.any():
            raise RuntimeError(f"the generator returned {int(bad.sum())} non-finite pixels (of {bad.size}) from "
                               f"finite inputs: the weights {self.weights_label} are broken (NaN/inf parameters?)")
        return sigma

    def _calibrated_sigma(self, frame, views_used):
        """1-sigma uncertainty of log10 Sigma per pixel from the held-out calibration.

        The calibration (``metadata["calibration"]``) holds, per view set and radial bin, the
        half 16-84% range of log10(pred / true) measured on held-out mocks (without test-time
        augmentation, which narrows the errors slightly, so the intervals are a little conservative
        with it), so 68% intervals cover 68% of true pixels there by construction.  A table's
        ``coverage_scale`` (`massrecon.validation.heldout`: the factor that makes the 68% intervals
        cover 68% on fresh simulations of every physics variant) multiplies it.
        """
        cal = self.metadata.get("calibration", {})
        key = "+".join(v for v in self.views if v in views_used)
        table = cal.get(key) or cal.get("default")
        r = frame.radius_grid()
        if table:
            edges = np.asarray(table["edges_r200"])
            sig = np.asarray(table["sigma_log10"])
            idx = np.clip(np.searchsorted(edges, r) - 1, 0, sig.size - 1)
            base = sig[idx] * float(table.get("coverage_scale", 1.0))
        else:
            base = np.full(r.shape, 0.1)  # uncalibrated: a conservative 0.1 dex
        return base

    def _predict_on(self, observations, frame, r200_error, tta, frame_ensemble):
        """``(sigma, prepared, n)`` on ``frame``: with ``frame_ensemble > 1``, the mean of the maps of
        the ``n`` frames around it (`massrecon.frame_ensemble`) that the observations fill,
        resampled onto its pixels."""
        if frame_ensemble == 1:
            prepared = self._prepare(observations, frame)
            x, mask, cond = self._inputs(prepared, frame, r200_error)
            return self._run(x, mask, cond, tta=tta), prepared, 1
        scales = frame_ensemble_scales(frame_ensemble)
        frames = [frame if q == 1 else frame.with_r200(frame.r200 * float(q)) for q in scales]
        got = self._predict_frames(observations, frames, r200_error, tta)
        central = got[len(got) // 2]
        if isinstance(central, Exception):
            raise central
        _, prepared, seen = central
        for w in seen:  # the checks of the answer's frame are the map's
            warnings.warn(w.message, w.category)
        kept = [(q, g[0]) for q, g in zip(scales, got) if not isinstance(g, Exception)]
        if len(kept) < len(got):
            log.info(f"the frame ensemble left out {len(got) - len(kept)} of its {len(got)} frames that the "
                     f"observations cannot fill")
        # the mean of Sigma (not of its log, as the symmetries are averaged): the ensemble's maps
        # differ by noise aliasing, and the mean keeps their mass
        sigma = np.mean([resample_to_frame(sig, q) for q, sig in kept], axis=0)
        return sigma, prepared, len(kept)

    def _m200_ratio(self, frame):
        """:math:`M_{cyl}(<R_{200})/M_{200}` of the frame: the weights' calibration of the training
        halos (``metadata["projected_ratio"]``), or the pure NFW ratio for weights without one."""
        if self._ratio_calibration is None:
            if not self._ratio_note_logged:
                log.info("these weights carry no projected_ratio calibration: the self-consistent R200 uses "
                         "the NFW ratio of the projected to the spherical mass (M200 about 4% low on the "
                         "simulator's triaxial halos)")
                self._ratio_note_logged = True
            return float(projected_to_m200_ratio(frame.c200))
        return float(projected_to_m200_ratio(frame.c200, m200=frame.m200, z=frame.z,
                                             calibration=self._ratio_calibration))

    def _solve_r200(self, observations, frame, r200_error, max_iter, rtol, tta, frame_ensemble):
        """Find the frame whose M200 equals the M200 implied by the map predicted on it.

        ``h(s) = ln(M200 implied / M200 of the frame)`` for the frame of R200 ``s * R200_0``, the
        implied M200 being the map's mass inside R200 over the ratio `_m200_ratio`.  ``h`` is
        evaluated on a grid of frames spanning the weights' supported mass range (one batched
        network pass, `_sc_grid`), and every sign change is a root
        (`~massrecon.solvers.find_log_scale_roots`): the stable ones (``h`` falling) are refined by
        Brent's method, the steepest is the answer (independent of the start), and several roots
        or a flat response are reported (`_sc_report`).
        """
        history, evals = [], {}
        disc = aperture_weights(self.npix, self.npix / self.size_r200)

        def h_many(xs):
            frames = [frame.with_r200(frame.r200 * float(np.exp(x))) for x in xs]
            out = np.full(len(xs), np.nan)
            for k, (x, fr, got) in enumerate(zip(xs, frames, self._predict_frames(observations, frames, r200_error,
                                                                                  tta))):
                if isinstance(got, Exception):
                    failures[float(x)] = got
                    continue
                sigma, prep, seen = got
                history.append(float(fr.r200.to_value(u.kpc)))
                m_cyl = float((sigma * disc).sum() * fr.pixel_area.to_value(u.kpc**2))
                out[k] = float(np.log(m_cyl / self._m200_ratio(fr) / fr.m200.to_value(u.Msun)))
                evals[float(x)] = (out[k], fr, sigma, prep, seen)
                log.debug(f"R200 {fr.r200:.1f}: implied / frame M200 = {np.exp(out[k]):.3f}")
            return out

        failures = {}
        grid = self._sc_grid(frame)
        try:
            res = find_log_scale_roots(lambda x: h_many([x])[0], grid, rtol=rtol, max_iter=max_iter, h_many=h_many)
        except ValueError:
            if not failures:
                raise
            raise failures[min(failures, key=abs)] from None  # the start frame's own reason
        if failures:
            log.info(f"the self-consistent search left out {len(failures)} of {grid.size} frames that the "
                     f"observations cannot fill (R200 {', '.join(f'{np.exp(x) * frame.r200:.0f}' for x in failures)}; "
                     f"first reason: {next(iter(failures.values()))})")
        if res.choice is None:
            best = min(evals, key=lambda x: abs(evals[x][0]))
        else:
            best = min(evals, key=lambda x: abs(x - res.root))
        _, fr, sigma, prepared, seen = evals[best]
        n_used = 1
        if frame_ensemble > 1:
            # the roots are those of the single frames' maps; the answer's map is the ensemble's
            sigma, prepared, n_used = self._predict_on(observations, fr, r200_error, tta, frame_ensemble)
        else:
            for w in seen:
                warnings.warn(w.message, w.category)
        return fr, (sigma, prepared), history, {**self._sc_report(frame, res), "FRAMEENS": n_used}

    def _predict_frames(self, observations, frames, r200_error, tta):
        """``(sigma, prepared, warnings)`` on each of ``frames`` (one batched network pass), or the
        `ValueError` that stopped a frame's preparation (e.g. beyond the footprint, or a frame on
        which the beam is too wide): such frames are left out of the self-consistent search."""
        got, inputs = [], []
        for fr in frames:
            # the checks' warnings of a frame matter only if it is the answer: kept, issued for that one
            with warnings.catch_warnings(record=True) as seen:
                warnings.simplefilter("always")
                try:
                    prep = self._prepare(observations, fr)
                except ValueError as exc:
                    got.append(exc)
                    continue
                inputs.append(self._inputs(prep, fr, r200_error))
            got.append((prep, seen))
        if inputs:
            sigmas = iter(self._run_batch(*(np.stack(a) for a in zip(*inputs)), tta=tta))
            got = [g if isinstance(g, Exception) else (next(sigmas), *g) for g in got]
        return got

    def _sc_grid(self, frame):
        """``ln s`` grid of the self-consistent search: the weights' supported M200 range (0.2 to
        5 times the start's M200 for weights that state none), in steps of
        `~massrecon.solvers.BRACKET_STEP` anchored at fixed masses, so the grid does not depend on
        the start."""
        ln_m0 = float(np.log(frame.m200.to_value(u.Msun)))
        lo, hi = self._sc_grid_limits(frame)
        anchor = (np.log(1e14) - ln_m0) / 3
        return log_scale_grid((lo - ln_m0) / 3, (hi - ln_m0) / 3, anchor=anchor)

    def _sc_grid_limits(self, frame):
        """``ln M200`` (Msun) limits of the self-consistent search: the supported range, or 0.2-5x the frame's."""
        lm = self.metadata.get("supported", {}).get("log10_m200_h")
        if lm:
            # the same 0.05 dex margin as the range check of `_check_ranges`
            lo, hi = ((np.array(lm, dtype=float) + [-0.05, 0.05]) * np.log(10) - np.log(frame.cosmology.h))
            return float(lo), float(hi)
        ln_m0 = float(np.log(frame.m200.to_value(u.Msun)))
        return ln_m0 + np.log(0.2), ln_m0 + np.log(5.0)

    def _sc_report(self, frame, res):
        """Warnings and MassMap header cards of a self-consistent search `res`; the widening
        (in ln of the mass) of the uncertainty for several roots or a flat response."""
        def m500(x):
            return float(frame.with_r200(frame.r200 * float(np.exp(x))).m500.to_value(u.Msun))

        lo_m, hi_m = (m500(x) for x in res.grid[[0, -1]])
        cards = {"SCNROOT": len(res.roots), "SCROOTS": ",".join(f"{m500(x):.3e}" for x in res.roots),
                 "SCFLAG": "ok", "SCWIDEN": 0.0}
        if res.choice is None:
            side = "above" if res.values[-1] > 0 else ("below" if res.values[0] < 0 else "on both sides of")
            cards["SCFLAG"] = "none"
            warnings.warn(f"no self-consistent R200 in the supported range (M500 {lo_m:.3g}-{hi_m:.3g} Msun): the "
                          f"mass implied by the maps lies {side} the frames' there; the frame closest to "
                          "self-consistency is returned: use the catalogue frame with r200_error", NotConvergedWarning)
            return cards
        cards.update(SCCHOICE=res.choice, SCRESP=round(res.response, 3))
        widen = 0.0
        if res.ambiguous:
            # three times the root spread in ln s is their spread in ln M200
            widen = 1.5 * float(res.roots[-1] - res.roots[0])
            cards["SCFLAG"] = "ambiguous"
            warnings.warn(f"{len(res.roots)} self-consistent solutions, M500 = "
                          f"{', '.join(f'{m500(x):.3g}' for x in res.roots)} Msun; the one at M500 = "
                          f"{m500(res.root):.3g} Msun, whose implied mass depends least on the frame, is "
                          f"returned, with the uncertainty widened by {widen:.2f} in ln(mass) to cover "
                          "them all", AmbiguousMassWarning)
        if res.flat:
            lo, hi = res.consistent
            widen = max(widen, 1.5 * (hi - lo))
            cards["SCFLAG"] = "flat" if cards["SCFLAG"] == "ok" else "ambiguous+flat"
            warnings.warn(f"flat response: the mass implied by the maps follows the frame's (d ln M_implied / "
                          f"d ln M_frame = {res.response:.2f} > {FLAT_RESPONSE}), so the self-consistent mass is "
                          f"set more by the model's prior than by the data; frames of M500 {m500(lo):.3g}-"
                          f"{m500(hi):.3g} Msun agree within {CONSISTENT_H:.0%}, and the uncertainty is widened "
                          f"by {widen:.2f} in ln(mass)", AmbiguousMassWarning)
        if not res.converged:
            warnings.warn("the self-consistent R200 was bracketed but not refined to rtol within max_iter "
                          "predictions; the closest frame is returned", NotConvergedWarning)
        cards["SCWIDEN"] = round(widen, 4)
        return cards

    def _relation_solve(self, observations, frame, r200_error, max_iter, rtol, tta, frame_ensemble):
        """The ``"relation"`` self-consistent frame (`relation_mass`) and the map predicted on it."""
        rm = self.relation_mass(observations, frame, max_iter=max(int(max_iter), 30), rtol=min(rtol, 1e-3))
        cards = {"SCMETHOD": "relation", "SCFLAG": "ok" if rm.converged else "none", "SCWIDEN": 0.0,
                 "RELM500": float(f"{rm.m500.to_value(u.Msun):.4e}"), "RELSCAT": round(rm.scatter_dex, 4),
                 "RELITER": len(rm.history)}
        for v, m in rm.per_view.items():
            cards[f"RELM{_VIEW_CARD[v]}"] = float(f"{m.to_value(u.Msun):.4e}")
        for v, f in rm.aperture_fraction.items():
            cards[f"RELF{_VIEW_CARD[v]}"] = round(f, 4)
        if rm.clipped:
            warnings.warn(f"the scaling-relation mass, M500 = {rm.m500:.3g}, lies beyond the weights' supported mass "
                          f"range: the map is predicted on the frame at its end (M500 {rm.frame.m500:.3g}) and is "
                          "out of distribution", NotConvergedWarning)
        elif not rm.converged:
            warnings.warn(f"the scaling-relation mass did not settle within {max(int(max_iter), 30)} steps (last "
                          f"M500 {rm.m500:.3g}): the map is predicted on the last frame", NotConvergedWarning)
        r200_error = relation_frame_error(rm.scatter_dex, r200_error)
        cards["R200ERR"] = round(r200_error, 4)
        sigma, prepared, cards["FRAMEENS"] = self._predict_on(observations, rm.frame, r200_error, tta,
                                                              frame_ensemble)
        return rm.frame, (sigma, prepared), rm.history, cards

    def relation_mass(self, observations, frame, *, max_iter=30, rtol=1e-3):
        """:math:`M_{500c}` of the observations from the weights' scaling relations, at its own :math:`R_{500}`.

        Each view's integral within :math:`R_{500}` of the frame (`massrecon.checks.aperture_integral`,
        divided by the fraction that its beam and filter keep, `~massrecon.relations.aperture_fraction`)
        gives :math:`M_{500}` through the weights' relation of that view
        (`~massrecon.relations.ScalingRelation`, fitted on the training halos); the views are
        combined by their scatters (`~massrecon.relations.combine_log_masses`) and the frame moves
        to that mass, until its R200 changes by less than ``rtol``.  Each step changes
        :math:`\\ln M` by a fraction (about 0.2-0.5) of the previous change, so the answer does not
        depend on the starting frame.

        Parameters
        ----------
        observations : observation, list or dict of observations
        frame : `~massrecon.ClusterFrame`
            The starting frame (its mass only starts the iteration).
        max_iter : int
            Most steps.
        rtol : float
            Relative change of R200 at which the iteration stops.

        Returns
        -------
        `RelationMass`

        Raises
        ------
        ValueError
            If the weights carry no relations, or no view has a positive integral within
            :math:`R_{500}` that its beam and filter leave measurable.

        Examples
        --------
        >>> rm = rec.relation_mass([y_map, xray], frame)          # doctest: +SKIP
        >>> rm.m500, rm.per_view["sz"], rm.converged               # doctest: +SKIP
        """
        if not self.relations:
            raise ValueError(f"{self.weights_label} carry no scaling relations (metadata key {RELATIONS_KEY!r}; "
                             "add them with python -m massrecon.validation.scaling_relations): use "
                             "self_consistent='roots'")
        if not isinstance(frame, ClusterFrame):
            raise TypeError(f"frame must be a massrecon.ClusterFrame, got {type(frame).__name__}")
        max_iter, rtol = _check_iteration_options(max_iter, rtol, steps="steps of the relation's iteration")
        fr = self.model_frame(frame)
        # the observations themselves, on the start frame: their errors are the user's, unwrapped
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            self._prepare(observations, fr, check=False)
        lo, hi = self._relation_limits(fr)
        history, dropped, dropped_fractions = [], {}, {}
        while True:
            converged, last, clipped, damp = False, 0.0, False, 1.0
            for _ in range(max_iter):
                m500, sd, per_view, fracs, skipped = self._relation_step(observations, fr, dropped)
                target = fr.with_mass(m500=m500)
                # the search range of the roots method: a relation mass beyond it is out of distribution
                ln_m = float(np.log(target.m200.to_value(u.Msun)))
                clipped = not lo <= ln_m <= hi
                if clipped:
                    target = fr.with_mass(m200=float(np.exp(np.clip(ln_m, lo, hi))) * u.Msun)
                raw = float(np.log((target.r200 / fr.r200).to_value(u.one)))
                if abs(raw) < rtol:
                    # settled: the answer is the frame of the relation mass itself (its integrals were
                    # measured on a frame within rtol of it)
                    converged, fr = not clipped, target
                    history.append(float(fr.r200.to_value(u.kpc)))
                    break
                if raw * last < 0:
                    # an oscillation: the maps resampled on the frame change in steps of a pixel, so
                    # the iteration can cycle between frames a fraction of a per cent apart; every
                    # reversal halves the steps from then on
                    damp *= 0.5
                step = raw * damp
                fr, last = fr.with_r200(fr.r200 * float(np.exp(step))), raw
                history.append(float(fr.r200.to_value(u.kpc)))
                if abs(step) < rtol:
                    # pinned by those pixel-level jumps: the frame is within them of the fixed point
                    converged = not clipped
                    break
            # a view whose beam and filter leave too little of its integral *on the answer's frame*
            # is dropped and the iteration continues without it (judged at the end only, so that the
            # answer does not depend on the path from the start)
            weak = {v: f for v, f in fracs.items() if f < MIN_APERTURE_FRACTION and v in per_view}
            if not weak:
                break
            for v, f in weak.items():
                dropped[v] = (f"its beam and filter keep {f:.0%} of the integral within R500 (less than "
                              f"{MIN_APERTURE_FRACTION:.0%})")
                dropped_fractions[v] = f
            if len(weak) == len(per_view):
                raise ValueError("no view gives a scaling-relation mass (" +
                                 "; ".join(f"{v}: {why}" for v, why in {**skipped, **dropped}.items()) +
                                 "): use the catalogue frame with r200_error, or self_consistent='roots'")
        skipped = {**skipped, **dropped}
        fracs = {**fracs, **dropped_fractions}  # the dropped views' fractions where they were judged
        for v, why in skipped.items():
            log.info(f"the scaling-relation mass leaves out the {v} view: {why}")
        return RelationMass(m500, sd, fr, per_view, fracs, skipped, history, converged, clipped)

    def _relation_limits(self, frame):
        """``ln M200`` (Msun) limits of the relation frame: the supported range, or 1e13-1e16 Msun/h."""
        if self.metadata.get("supported", {}).get("log10_m200_h"):
            return self._sc_grid_limits(frame)
        return tuple(float(x) for x in np.array([13.0, 16.0]) * np.log(10) - np.log(frame.cosmology.h))

    def _relation_step(self, observations, fr, dropped):
        """One step of `relation_mass`: the relations' combined M500 from the integrals within the frame's R500.

        The input checks and their warnings are for the frame of the answer (`predict` runs them on
        it): an intermediate frame may be too small for the beam or too large for the amplitude range.
        """
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                prepared = self._prepare(observations, fr, check=False)
        except ValueError as exc:
            # e.g. a frame of the iteration that reaches beyond the image: say where the iteration was
            raise ValueError(f"the scaling-relation iteration reached a frame of M500 = {fr.m500:.3g} "
                             f"(R200 = {fr.r200:.0f}) that the observations cannot fill: {exc}") from exc
        r5 = float((fr.r500 / fr.r200).to_value(u.one))
        ez = float(fr.cosmology.efunc(fr.z))
        pix_kpc = fr.pixel_scale_kpc.to_value(u.kpc)
        logs, scat, per_view, fracs, skipped = [], [], {}, {}, {}
        for v, pv in prepared.items():
            rel = self.relations.get(v)
            if rel is None:
                skipped[v] = "no relation in the weights"
                continue
            if v in dropped:
                continue
            beam = pv.beam_fwhm_r200 if pv.beam_fwhm_r200 > _MIN_BEAM_R200 else 0.0
            frac = aperture_fraction(v, r5, beam, pv.highpass_r200, c200=float(fr.c200))
            fracs[v] = frac
            s, err = aperture_integral(pv.data, pv.mask, pix_kpc, r5 * self.npix / self.size_r200, noise=pv.noise)
            if not s > 0:
                skipped[v] = f"its integral within R500 is not positive ({s:.3g})"
                continue
            lm = float(rel.log10_m500(s / frac, ez))
            per_view[v] = 10**lm * u.Msun
            logs.append(lm)
            # the relation's scatter, the integral's noise (a y map's noise is correlated over its
            # beam, which `aperture_integral`, independent pixels, does not know) and a third of the
            # template's correction for the beam and filter (the profile's shape is assumed)
            corr = 1.0
            if v == "sz":
                corr = max(1.0, Y_NOISE_CORRELATION_AREA * (beam * self.npix / self.size_r200) ** 2) ** 0.5
            meas = 0.0 if err is None else rel.coef[1] * corr * err / (s * np.log(10))
            template = rel.coef[1] * abs(np.log10(frac)) / 3
            scat.append(float(np.sqrt(rel.scatter_dex**2 + meas**2 + template**2)))
        if not logs:
            raise ValueError("no view gives a scaling-relation mass (" +
                             "; ".join(f"{v}: {why}" for v, why in {**skipped, **dropped}.items()) +
                             "): use the catalogue frame with r200_error, or self_consistent='roots'")
        lm, sd = combine_log_masses(logs, scat)
        return 10**lm * u.Msun, sd, per_view, fracs, skipped

    # --- public API ---------------------------------------------------------------------------
    def predict(self, observations, frame, *, r200_error=None, self_consistent=False, max_iter=10, rtol=0.01,
                tta=False, frame_ensemble=None):
        """Predict the mass map of a cluster.

        Parameters
        ----------
        observations : observation, list or dict of observations
            `~massrecon.observations.ComptonYMap`, `~massrecon.observations.XrayImage`,
            `~massrecon.observations.GalaxyMembers`, ... (at most one per view).
        frame : `~massrecon.ClusterFrame`
            The cluster's frame (its mass sets R200); if its sampling differs from the model's,
            the model's frame around the same cluster is used.
        r200_error : float, optional
            How well the frame's R200 is known, as the fractional half-width of the range that
            holds the true R200: 0 for an exact R200 (a simulated halo, the paper's setting), e.g.
            0.05-0.1 for a weak-lensing or hydrostatic R200, 0.3 (the default, the largest value
            the model was trained with) for an R200 from a scaling relation or a catalogue mass.
            The network uses the frame as prior information of this precision: with a small
            ``r200_error`` the map's amplitude follows the frame, with 0.3 it comes from the
            observations alone.
        self_consistent : bool or {"relation", "roots"}
            Find the cluster's frame from the observations instead of taking ``frame``'s mass
            (which then only starts the search); the frame is the model's own estimate, so
            ``r200_error`` must be left at its default (0.3).  ``True`` is ``"relation"`` for
            weights that carry scaling relations, else ``"roots"``:

            * ``"relation"``: the frame of the weights' scaling-relation mass at its own
              :math:`R_{500}` (`relation_mass`; unique, independent of the start, and it follows
              the inputs' amplitude as the relations do), and the map predicted on it, the
              network told the frame's precision from the relations' scatter
              (`relation_frame_error`, at most ``r200_error``);
            * ``"roots"``: the frame whose R200 agrees with the mass in the map predicted on it,
              every solution in the supported mass range being found (several solutions or a
              flat response issue an `~massrecon.AmbiguousMassWarning` and widen the
              uncertainty).  On real X-ray maps this follows the frame more than the data (see
              the validation page), hence the default.
        max_iter, rtol : int, float
            For ``"roots"``: the largest number of predictions refining each solution after the
            grid of frames (about 13 predictions, batched), and the relative tolerance on R200.
            For ``"relation"``: the steps of the relation's iteration (at least 30) and its
            tolerance on R200 (at most 1e-3; a step costs a preparation of the observations, not
            a network pass).
        tta : bool
            Average over the 8 flips/rotations of the inputs (8 times slower; the calibrated
            uncertainty was measured without it, so it is slightly conservative with it).
        frame_ensemble : int, optional
            Average the maps predicted on this many frames (an odd number) whose R200 spans
            +-2% around the answer's (`massrecon.frame_ensemble`), resampled onto its pixels.
            A low-count image resampled onto the frame aliases its shot noise, so a single frame's
            map can jump by several per cent between frames 0.3% apart; the ensemble averages
            the jumps out.  Default: 5 with ``self_consistent`` (whose frame is fixed only to
            such steps, so that every start gives the same map), else 1 (the frame alone).  Costs
            that many preparations of the observations and network passes (one batch).  The
            header card ``FRAMEENS`` is the number of frames averaged (a frame that the
            observations cannot fill is left out).  The calibrated uncertainty was measured on
            single frames, so it is slightly conservative with an ensemble.

        Returns
        -------
        mass_map : `~massrecon.MassMap`
            Sigma in Msun/kpc^2 on the model's frame, with a calibrated `StdDevUncertainty`.

        Notes
        -----
        An X-ray image with a ``background_error`` (`~massrecon.observations.XrayImage.from_counts`)
        makes the prediction run three times: again with its background scaled by ``1 -+
        background_error`` (the self-consistent search included), the larger change of the
        projected mass within :math:`R_{500}`, in ln, widening the uncertainty of the mass scale
        (header cards ``BKGERR`` and ``BKGWIDEN``).
        """
        method = self._self_consistent_method(self_consistent)
        frame_in = frame
        frame, r200_error = self._check_request(frame, r200_error, method is not None)
        if method:
            max_iter, rtol = _check_iteration_options(max_iter, rtol)
        if frame_ensemble is None:
            frame_ensemble = DEFAULT_FRAME_ENSEMBLE if method else 1
        frame_ensemble = check_frame_ensemble(frame_ensemble)
        t0 = time.perf_counter()
        if method == "relation":
            frame, (sigma, prepared), history, cards = self._relation_solve(observations, frame, r200_error,
                                                                            max_iter, rtol, tta, frame_ensemble)
        elif method == "roots":
            frame, (sigma, prepared), history, cards = self._solve_r200(observations, frame, r200_error, max_iter,
                                                                        rtol, tta, frame_ensemble)
            cards = {"SCMETHOD": "roots", **cards}
        else:
            sigma, prepared, n_used = self._predict_on(observations, frame, r200_error, tta, frame_ensemble)
            history, cards = [float(frame.r200.to_value(u.kpc))], {"FRAMEENS": n_used}
        cards.update(self._background_widening(observations, frame_in, sigma, frame, r200_error, self_consistent,
                                               max_iter, rtol, tta, frame_ensemble))
        return self._mass_map(sigma, frame, prepared, r200_error, history, time.perf_counter() - t0, cards)

    def _background_widening(self, observations, frame_in, sigma, frame, r200_error, self_consistent, max_iter,
                             rtol, tta, frame_ensemble):
        """Cards ``BKGERR`` and ``BKGWIDEN`` for X-ray images with a ``background_error``: the
        prediction repeated (self-consistent search included) with the background scaled by
        ``1 -+ background_error``, and the larger change of the projected mass within the
        answer's :math:`R_{500}` in ln, which widens the uncertainty; {} without one."""
        i = _uncertain_background(observations)
        if i is None:
            return {}
        obs = _observation_list(observations)
        err = float(obs[i].background_error)
        pix_kpc = float(frame.pixel_scale_kpc.to_value(u.kpc))
        weights = aperture_weights(frame.npix, float(frame.r500.to_value(u.kpc)) / pix_kpc)
        nominal = float((np.asarray(sigma) * weights).sum()) * pix_kpc**2
        masses = []
        with warnings.catch_warnings():
            # the nominal prediction has issued every warning these would repeat
            warnings.simplefilter("ignore")
            for scale in (1 - err, 1 + err):
                img = obs[i].with_background_scaled(scale)
                img.background_error = None  # not widened again
                shifted = obs[:i] + [img] + obs[i + 1:]
                m = self.predict(shifted, frame_in, r200_error=None if self_consistent else r200_error,
                                 self_consistent=self_consistent, max_iter=max_iter, rtol=rtol, tta=tta,
                                 frame_ensemble=frame_ensemble)
                masses.append(m.projected_mass(frame.r500).mass.to_value(u.Msun))
        # the larger of the two one-sided changes: the response is lopsided (a lower background
        # brightens the faint rings the network reads the mass from more than a higher one dims them)
        widen = max(abs(float(np.log(m / nominal))) for m in masses)
        log.debug(f"background of {getattr(obs[i], 'name', None) or 'the X-ray image'} scaled by {1 - err:g} and "
                 f"{1 + err:g}: projected M(<R500) {masses[0]:.3g} and {masses[1]:.3g} Msun against {nominal:.3g} "
                 f"nominal; uncertainty widened by {widen:.3f} in ln(mass)")
        return {"BKGERR": round(err, 4), "BKGWIDEN": round(widen, 4)}

    def _self_consistent_method(self, self_consistent):
        """``predict``'s ``self_consistent`` as a method name, or None."""
        if self_consistent is False or self_consistent is None:
            return None
        if self_consistent is True:
            if self.relations:
                return "relation"
            log.info(f"{self.weights_label} carry no scaling relations: the self-consistent frame is found by "
                     "the roots method")
            return "roots"
        if isinstance(self_consistent, str) and self_consistent in SELF_CONSISTENT_METHODS:
            if self_consistent == "relation" and not self.relations:
                raise ValueError(f"self_consistent='relation' needs weights with scaling relations (metadata key "
                                 f"{RELATIONS_KEY!r}); {self.weights_label} have none: use 'roots'")
            return self_consistent
        raise ValueError(f"self_consistent must be True, False or one of {SELF_CONSISTENT_METHODS}, got "
                         f"{self_consistent!r}")

    def _check_request(self, frame, r200_error, self_consistent):
        """Validate ``predict``'s frame and R200 options; the model frame and ``r200_error``."""
        if not isinstance(frame, ClusterFrame):
            raise TypeError(f"frame must be a massrecon.ClusterFrame, got {type(frame).__name__}")
        frame = self.model_frame(frame)
        if r200_error is None:
            r200_error = R200_ERROR_MAX
        try:
            r200_error = float(r200_error)
        except (TypeError, ValueError):
            raise TypeError(f"r200_error must be a number in [0, {R200_ERROR_MAX}], got {r200_error!r}") from None
        if not (np.isfinite(r200_error) and 0 <= r200_error <= R200_ERROR_MAX):
            raise ValueError(f"r200_error must lie in [0, {R200_ERROR_MAX}] (fractional error of the frame's "
                             f"R200), got {r200_error}")
        if self_consistent and r200_error < R200_ERROR_MAX:
            raise ValueError(f"self_consistent=True iterates R200 from the maps alone: leave r200_error at "
                             f"{R200_ERROR_MAX}, or give r200_error={r200_error} without iterating")
        self._check_ranges(frame)
        return frame, r200_error

    def _mass_map(self, sigma, frame, prepared, r200_error, history, runtime, cards=None):
        cards = cards or {}
        sig_log = self._calibrated_sigma(frame, prepared)
        widen = float(np.hypot(cards.get("SCWIDEN", 0.0), cards.get("BKGWIDEN", 0.0)))
        if widen:
            # an amplitude uncertainty shared by all pixels: several or ill-defined self-consistent masses,
            # an uncertain X-ray background.  The masses add it once more as their fully correlated
            # mass-scale error (ModelErrors.scale_widening); the pixel term it also enters here treats
            # pixels as independent, so over an aperture it adds only a small fraction of that again.
            sig_log = np.hypot(sig_log, widen / np.log(10))
        unc = sigma * np.log(10) * sig_log
        beams = {v: round(pv.beam_fwhm_r200, 4) for v, pv in prepared.items()}
        meta = {
            # what the views' preparation reports (e.g. the stars view's catalogue-depth correction),
            # first, so that it can never replace the reconstructor's own cards
            **{k: v for pv in prepared.values() for k, v in getattr(pv, "meta", {}).items()},
            "MODEL": "massrecon U-Net generator",
            "MODELVER": str(self.metadata.get("massrecon_version", "")),
            "VIEWS": ",".join(v for v in self.views if v in prepared),
            "BEAMS": str(beams),
            "R200ERR": r200_error,
            "NITER": len(history),
            "R200HIST": ",".join(f"{h:.1f}" for h in history),
            "RUNTIME": round(runtime, 4),
            **cards,
        }
        return MassMap.from_frame(sigma * SIGMA_UNIT, frame, uncertainty=unc, meta=meta)

    def predict_catalog(self, clusters, observations, *, progress=True, batch_size=32, **kwargs):
        """Predict mass maps for many clusters sharing the same (large) observations.

        The observations are prepared cluster by cluster and the generator runs on batches of
        ``batch_size`` clusters (one forward pass each), which roughly halves the generator's
        share of the time compared with calling `predict` in a loop (see the performance table in
        the reconstruction guide); with ``self_consistent=True`` or a ``frame_ensemble`` above 1
        each cluster is predicted on its own (`predict`).

        Parameters
        ----------
        clusters : iterable of `~massrecon.ClusterFrame`
            Frames of the clusters (e.g. from `massrecon.observations.frame_from_psz2`).
        observations : list or dict, or callable
            Observations covering all clusters (e.g. one open HEALPix y map, a member catalogue),
            or a function ``frame -> observations``.
        progress : bool
            Show a progress bar.
        batch_size : int
            Clusters per forward pass of the generator.
        **kwargs
            Options of `predict` (``r200_error``, ``self_consistent``, ``tta``, ...).

        Returns
        -------
        maps : list
            One `~massrecon.MassMap` per cluster, or None where the prediction failed (the
            reason is logged).

        Examples
        --------
        >>> import astropy.units as u
        >>> from astropy.coordinates import SkyCoord
        >>> from massrecon import ClusterFrame, MassReconstructor
        >>> from massrecon.observations import ComptonYMap
        >>> rec = MassReconstructor.pretrained()
        >>> frames = [ClusterFrame(SkyCoord(150 + i, 2, unit="deg"), 0.2, m500=5e14 * u.Msun) for i in range(3)]
        >>> def observe(frame):  # a y map around each cluster (here a beta-like model)
        ...     r = frame.radius_grid()
        ...     return [ComptonYMap(5e-5 / (1 + (r / 0.15) ** 2), wcs=frame.wcs, beam=1 * u.arcmin)]
        >>> maps = rec.predict_catalog(frames, observe, progress=False)
        >>> len(maps), maps[0].unit
        (3, Unit("solMass / kpc2"))
        """
        from tqdm.auto import tqdm

        if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)) or batch_size < 1:
            raise ValueError(f"batch_size must be a positive integer, got {batch_size!r}")
        clusters = list(clusters)
        out = [None] * len(clusters)
        if kwargs.get("frame_ensemble") is not None:
            check_frame_ensemble(kwargs["frame_ensemble"])  # a wrong value is the caller's, not a cluster's
        if kwargs.get("self_consistent", False) or kwargs.get("frame_ensemble") not in (None, 1):
            for i, frame in enumerate(tqdm(clusters, disable=not progress, unit="cluster", desc="reconstruct")):
                try:
                    obs = observations(frame) if callable(observations) else observations
                    out[i] = self.predict(obs, frame, **kwargs)
                except (ValueError, u.UnitsError) as exc:
                    log.warning(f"{frame.name or frame.center}: {exc}")
            return out
        unknown = set(kwargs) - {"r200_error", "tta", "max_iter", "rtol", "self_consistent", "frame_ensemble"}
        if unknown:
            raise TypeError(f"predict_catalog got unexpected keyword arguments {sorted(unknown)}")
        tta = bool(kwargs.get("tta", False))
        pending = []

        def flush():
            if not pending:
                return
            t0 = time.perf_counter()
            sigma = self._run_batch(np.stack([p.x for p in pending]), np.stack([p.mask for p in pending]),
                                    np.stack([p.cond for p in pending]), tta=tta)
            share = (time.perf_counter() - t0) / len(pending)
            for sig, p in zip(sigma, pending):
                out[p.index] = self._mass_map(sig, p.frame, p.prepared, p.r200_error,
                                              [float(p.frame.r200.to_value(u.kpc))], p.prep_seconds + share,
                                              {"FRAMEENS": 1})
            pending.clear()

        for i, frame in enumerate(tqdm(clusters, disable=not progress, unit="cluster", desc="reconstruct")):
            t0 = time.perf_counter()
            try:
                if not isinstance(frame, ClusterFrame):
                    raise TypeError(f"clusters must hold massrecon.ClusterFrame objects, got "
                                    f"{type(frame).__name__} at index {i}")
                frame_m, r200_error = self._check_request(frame, kwargs.get("r200_error"), False)
                obs = observations(frame) if callable(observations) else observations
                if _uncertain_background(obs) is not None:
                    # its widening repeats the prediction: made alone, not in the batch
                    out[i] = self.predict(obs, frame, **kwargs)
                    continue
                prepared = self._prepare(obs, frame_m)
                x, mask, cond = self._inputs(prepared, frame_m, r200_error)
            except (ValueError, u.UnitsError) as exc:
                log.warning(f"{frame.name or frame.center}: {exc}")
                continue
            pending.append(_Pending(i, frame_m, prepared, x, mask, cond, r200_error, time.perf_counter() - t0))
            if len(pending) >= batch_size:
                flush()
        flush()
        return out
