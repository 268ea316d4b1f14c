"""The self-consistent R200 solve measured on held-out mocks.

`MassReconstructor.predict(..., self_consistent=True)` starts from a guessed R200 (a catalogue
or scaling-relation value, often 20-30% off), predicts the map on that frame, and looks for the
frame whose M200 equals the M200 implied by the map predicted on it.  Here the same solve
(`massrecon.solvers.find_log_scale_roots`, the same consistency function) runs on test-split maps
in the model's own space: the stored maps span 2.6 R200, so a frame whose R200 is ``f`` true
R200 (``f <= 1.3``) is cut from them directly instead of being reprojected from the sky.

`relation_frame_masses` measures the default method (``self_consistent=True``, "relation"): the
frame of the weights' scaling-relation mass at its own R500, the map predicted on it.
`amplitude_response` checks the reconstructor's solve on observations (the tables of
`massrecon.validation.response`).
"""

import astropy.units as u
import numpy as np
import torch
from astropy.cosmology import Planck18

from ..apertures import aperture_weights
from ..contract import FRAME_NPIX, FRAME_SIZE_R200, R200_ERROR_MAX
from ..frame import ClusterFrame
from ..frame_ensemble import DEFAULT_FRAME_ENSEMBLE, frame_ensemble_scales
from ..halo import concentration_200c
from ..models.transforms import TargetTransform, ViewTransform, encode_conditioning, xray_noise_variance
from ..reconstruct import (
    MIN_APERTURE_FRACTION,
    Y_NOISE_CORRELATION_AREA,
    projected_to_m200_ratio,
    relation_frame_error,
)
from ..solvers import find_log_scale_roots, log_scale_grid
from .instruments import INSTRUMENTS, XRAY_BACKGROUND
from .metrics import scatter_difference, summarize

__all__ = ["self_consistent_masses", "relation_frame_masses", "amplitude_response", "EXPECTED_RESPONSE"]

#: :math:`d\ln M_{500}/d\ln A` expected when a view's amplitude ``A`` is scaled: the inverse
#: slopes of the scaling relations, :math:`Y \propto M^{5/3}` (self-similar; Arnaud et al. 2010,
#: eq. 22) and :math:`L_X \propto M^{1.6-1.7}` (Pratt et al. 2009, Table 2), both about 0.6.
#: The stellar mass has no entry: its slope with halo mass varies too much for a check.
EXPECTED_RESPONSE = {"sz": 0.6, "xray": 0.6}

#: Largest frame R200 (in true R200) that a stored map of 2.6 R200 can give.
_F_MAX = 1.3
_F_MIN = 0.5


def _frame_inputs(maps, views, subset, f, r200_kpc, z, beams, noise_fn, npix, size_r200, r200_error=R200_ERROR_MAX):
    from ..training.augment import resample_frame

    frame = resample_frame(np.stack([maps[v] for v in views]), size_r200, npix, f * FRAME_SIZE_R200 / 2)
    x = np.zeros((len(views), npix, npix), dtype=np.float32)
    for j, v in enumerate(views):
        if v in subset:
            x[j] = ViewTransform(v).forward(noise_fn(v, frame[j], f))
    present = {v: v in subset for v in views}
    noises = {v: noise_fn.rms.get(v, 0.0) for v in views}
    # the beam stated in units of the frame's R200, as the observation classes do
    cond = encode_conditioning(views, {v: max(beams[v] / f, 0.01) for v in views}, noises,
                               FRAME_SIZE_R200 * f * r200_kpc / npix, z, present=present, r200_error=r200_error)
    return x, np.array([present[v] for v in views], dtype=np.float32), cond


def _beamed_maps(data, i, views, instrument):
    """Map ``i`` of each view with the instrument's beam (on the stored field)."""
    from ..training.augment import gaussian_beam

    src_pix = data["size_r200"] / data["target"].shape[-1]
    maps = {}
    for v in views:
        fw = INSTRUMENTS[instrument][v][0]
        maps[v] = gaussian_beam(data[v][i], fw / src_pix) if fw > 0.011 else data[v][i]
    return maps


class _Noise:
    """Noise of an instrument on the model frame, the same draw at every frame size."""

    def __init__(self, instrument, seed, npix):
        self.rms = {v: rn for v, (_, rn) in INSTRUMENTS[instrument].items()}
        self.fwhm = {v: fw for v, (fw, _) in INSTRUMENTS[instrument].items()}
        self.background = XRAY_BACKGROUND[instrument]
        rng = np.random.default_rng(seed)
        self.white = {v: rng.normal(size=(npix, npix)) for v in self.rms}
        self.npix = npix

    def __call__(self, view, phys, f):
        from ..training.augment import gaussian_beam

        rms = self.rms.get(view, 0.0)
        if rms <= 0:
            return phys
        w = self.white[view]
        if view == "xray":
            return phys + w * np.sqrt(xray_noise_variance(phys, rms, self.background))
        if view == "sz":
            fpx = self.fwhm[view] * self.npix / (FRAME_SIZE_R200 * f)
            if fpx > 1:
                w = gaussian_beam(w, fpx)
                w = w / w.std()
        return phys + rms * w


def self_consistent_masses(model, data, subsets, *, instrument="ideal", start_error=0.3, max_iter=10,
                           rtol=0.01, seed=0, npix=FRAME_NPIX, projected_ratio=None):
    """Solve for the self-consistent R200 of each test map from a wrong starting R200.

    Parameters
    ----------
    model : `~massrecon.models.UNetGenerator`
    data : dict
        A split read by `massrecon.validation.evaluate.load_split` (maps over 2.6 R200).
    subsets : list of tuple of str
        View sets to solve with.
    instrument : str
        A key of `massrecon.validation.instruments.INSTRUMENTS` (beams and noise).
    start_error : float
        Starting R200 drawn log-uniformly within a factor ``1 + start_error`` of the truth
        (0.3: masses off by up to a factor 2.2), capped at 1.3 R200 by the stored field.
    max_iter, rtol : int, float
        As in `MassReconstructor.predict`.
    projected_ratio : dict, optional
        The weights' calibration of :math:`M_{cyl}(<R_{200})/M_{200}` (metadata key
        ``"projected_ratio"``, `massrecon.validation.projected_ratio`), as the reconstructor
        uses it; None: the pure NFW ratio.

    Returns
    -------
    dict
        Per view set (``"sz+xray"``, ...): ``m200`` (bias and scatter of the self-consistent
        M200, `summarize`), ``m200_start`` (the same for the starting guesses), ``mcyl_r200``
        (projected mass inside the *true* R200 from the final map), ``converged`` (fraction),
        ``predictions`` (mean number per map) and ``f_max_hit`` (fraction of maps whose solve
        wanted a frame beyond 1.3 R200, where the field ends: no root below it).
    """
    views = tuple(model.views)
    size = data["size_r200"]
    n = data["target"].shape[0]
    rng = np.random.default_rng(seed)
    f0s = np.exp(rng.uniform(-np.log1p(start_error), np.log1p(start_error), n))
    disc = aperture_weights(npix, npix / FRAME_SIZE_R200)
    target = TargetTransform()
    beams = {v: max(INSTRUMENTS[instrument][v][0], data["smoothing_r200"]) for v in views}
    out = {}
    for subset in subsets:
        logm, logm0, logcyl, conv, npred, capped = [], [], [], [], [], []
        for i in range(n):
            maps = _beamed_maps(data, i, views, instrument)
            r200, z, m200 = float(data["r200"][i]), float(data["z"][i]), float(data["m200"][i])
            noise = _Noise(instrument, seed * 100003 + i, npix)
            f0 = min(f0s[i], _F_MAX)
            evals = {}
            hit = False

            def h(log_s, maps=maps, r200=r200, z=z, m200=m200, noise=noise, f0=f0, evals=evals, subset=subset):
                nonlocal hit
                f = f0 * np.exp(log_s)
                if f > _F_MAX or f < _F_MIN:
                    hit = hit or f > _F_MAX
                    f = float(np.clip(f, _F_MIN, _F_MAX))
                x, mask, cond = _frame_inputs(maps, views, subset, f, r200, z, beams, noise, npix, size)
                with torch.inference_mode():
                    t = model(torch.from_numpy(x[None]), torch.from_numpy(mask[None]),
                              torch.from_numpy(cond[None].astype(np.float32)))[0, 0].numpy()
                sigma = target.inverse(t.astype(np.float64))
                m_frame = m200 * f**3  # M200 of a frame of R200 = f R200_true (same z and cosmology)
                c = float(concentration_200c(m_frame * u.Msun, z))
                m_cyl = float((sigma * disc).sum()) * (FRAME_SIZE_R200 * f * r200 / npix) ** 2
                ratio = projected_to_m200_ratio(c, m200=m_frame * u.Msun, z=z, calibration=projected_ratio)
                val = float(np.log(m_cyl / float(np.squeeze(ratio)) / m_frame))
                evals[log_s] = (val, f, sigma)
                return val

            # the grid search of the reconstructor, over the frames the stored field allows
            grid = log_scale_grid(np.log(_F_MIN / f0), np.log(_F_MAX / f0), anchor=-np.log(f0))
            res = find_log_scale_roots(h, grid, rtol=rtol, max_iter=max_iter)
            conv.append(res.converged)
            if res.root is None:
                _, f, sigma = min(evals.values(), key=lambda e: abs(e[0]))
            else:
                _, f, sigma = evals[min(evals, key=lambda x: abs(x - res.root))]
            npred.append(len(evals))
            capped.append(hit or (res.root is None and res.values[-1] > 0))
            logm.append(3 * np.log10(f))
            logm0.append(3 * np.log10(f0))
            # the true R200 is 1/f frame-R200s
            w = aperture_weights(npix, npix / (FRAME_SIZE_R200 * f))
            true_cyl = float((target.inverse(_true_t(data, i, npix)) * disc).sum())
            logcyl.append(np.log10(float((sigma * w).sum()) * f**2 / true_cyl))
        out["+".join(subset)] = {"m200": summarize(logm), "m200_start": summarize(logm0),
                                 "mcyl_r200": summarize(logcyl), "converged": float(np.mean(conv)),
                                 "predictions": float(np.mean(npred)), "f_max_hit": float(np.mean(capped))}
    return out


def relation_frame_masses(model, data, subsets, relations, *, instrument="ideal", seed=0, npix=FRAME_NPIX,
                          n_iter=60, rtol=1e-4, frame_ensemble=DEFAULT_FRAME_ENSEMBLE, per_map=False):
    """The ``"relation"`` self-consistent method on test maps: the relation mass, and the map on its frame.

    For each map, the views' integrals within :math:`R_{500}` (of the mass being iterated) on the
    true frame, with the instrument's beams and noise, divided by the beam's
    `~massrecon.relations.aperture_fraction`, give the relations' combined :math:`M_{500}` at its
    own :math:`R_{500}` (as `~massrecon.MassReconstructor.relation_mass`, without its damping of
    oscillations: the stored maps are not resampled from the sky); the network then
    predicts the map on the frame of that mass (R200 ``f`` true R200, ``0.5 <= f <= 1.3``, the
    stored field's limit), told the frame's precision from the relations' scatter
    (`~massrecon.reconstruct.relation_frame_error`), as ``predict(..., self_consistent=True)``.

    Parameters
    ----------
    model : `~massrecon.models.UNetGenerator`
    data : dict
        A split read by `massrecon.validation.evaluate.load_split` (maps over 2.6 R200).
    subsets : list of tuple of str
    relations : dict
        ``{view: ScalingRelation}`` (the weights' ``"scaling_relations"``).
    instrument : str
        A key of `massrecon.validation.instruments.INSTRUMENTS`.
    seed : int
    n_iter, rtol : int, float
        Of the relation's fixed-point iteration.
    frame_ensemble : int
        The maps of this many frames within `~massrecon.frame_ensemble.FRAME_ENSEMBLE_SPREAD` of
        the relation frame, their masses within the true :math:`R_{500}` averaged, as
        ``predict(..., self_consistent=True)`` does by default (frames beyond the stored field,
        1.3 true R200, left out); the noise is the same draw in every frame's pixels,
        where on the sky it would be resampled differently, so the ensemble's gain on noisy
        inputs is underestimated.
    per_map : bool
        Also return the masses of every map (``per_map`` below).

    Returns
    -------
    dict
        Per view set: ``m500_relation`` (the relation's M500 against the true one, `summarize`),
        ``mcyl_r500`` (the map's projected mass inside the true R500 against the true map's),
        ``map_minus_relation`` (the map's scatter minus the relation's on the same maps, with its
        paired-bootstrap error, `~massrecon.validation.metrics.scatter_difference`),
        ``frame_clipped`` (fraction of maps whose relation frame fell outside 0.5-1.3 R200),
        ``failed`` (fraction of maps where no view had a positive integral within R500, which the
        reconstructor refuses with a ValueError; left out of the statistics); with ``per_map``
        also ``per_map``: the arrays ``index`` (of the map in ``data``), ``relation_dex`` and
        ``map_dex`` (log10 of the relation's M500 and of the map's M(<true R500) over the truth)
        and ``relation_scatter_dex`` (the relation's precision that the frame was told) of every
        map that gave a relation mass.
    """
    from ..halo import m200c_from_m500c
    from ..relations import aperture_fraction, combine_log_masses

    views = tuple(model.views)
    size = data["size_r200"]
    n = data["target"].shape[0]
    target = TargetTransform()
    beams = {v: max(INSTRUMENTS[instrument][v][0], data["smoothing_r200"]) for v in views}
    rows = {"+".join(s): {"rel": [], "cyl": [], "sd": [], "idx": [], "clip": [], "failed": 0} for s in subsets}
    for i in range(n):
        maps = _beamed_maps(data, i, views, instrument)
        r200, z, m500 = float(data["r200"][i]), float(data["z"][i]), float(data["m500"][i])
        k500 = float(data["r500"][i] / data["r200"][i]) / m500 ** (1 / 3)  # R500 / M^(1/3), true R200
        noise = _Noise(instrument, seed * 100003 + i, npix)
        x1, _, _ = _frame_inputs(maps, views, views, 1.0, r200, z, beams, noise, npix, size)
        phys = {v: ViewTransform(v).inverse(x1[j].astype(np.float64)) for j, v in enumerate(views)}
        var = {}
        for v in views:  # per-pixel noise variance (a y map's is correlated over its beam)
            rms = noise.rms.get(v, 0.0)
            if v == "xray" and rms > 0:
                var[v] = xray_noise_variance(phys[v], rms, noise.background)
            elif v == "sz":
                area = Y_NOISE_CORRELATION_AREA * (beams[v] * npix / FRAME_SIZE_R200) ** 2
                var[v] = np.full((npix, npix), rms**2 * max(1.0, area))
            else:
                var[v] = np.full((npix, npix), rms**2)
        pix_kpc = FRAME_SIZE_R200 * r200 / npix
        ez = float(Planck18.efunc(z))
        true_map = target.inverse(_true_t(data, i, npix))
        true_cyl = float((true_map * aperture_weights(npix, float(data["r500"][i] / data["r200"][i]) * npix
                                                      / FRAME_SIZE_R200)).sum())
        for subset in subsets:
            key = "+".join(subset)
            m = 1e14
            for _ in range(n_iter):
                r5 = k500 * m ** (1 / 3)
                w = aperture_weights(npix, round(r5 * npix / FRAME_SIZE_R200 * 50) / 50)
                logs, scat = [], []
                c200 = float(m200c_from_m500c(m * u.Msun, z)[1])  # the members' template, as the frame's
                for v in subset:
                    frac = aperture_fraction(v, r5, beams[v] if beams[v] > 0.011 else 0.0, c200=c200)
                    s_v = float((phys[v] * w).sum()) * pix_kpc**2 / frac
                    # left out, as the reconstructor does (`relation_mass`; it judges the aperture
                    # fraction at the fixed point, here at every step: the same for these small beams)
                    if not s_v > 0 or frac < MIN_APERTURE_FRACTION:
                        continue
                    logs.append(float(relations[v].log10_m500(s_v, ez)))
                    # the relation's scatter, the integral's noise and a third of the aperture
                    # correction, as the reconstructor weighs them
                    err = float(np.sqrt((var[v] * w**2).sum())) * pix_kpc**2 / frac
                    b = relations[v].coef[1]
                    meas, template = b * err / (s_v * np.log(10)), b * abs(np.log10(frac)) / 3
                    scat.append(float(np.sqrt(relations[v].scatter_dex**2 + meas**2 + template**2)))
                if not logs:
                    break
                lm, sd = combine_log_masses(logs, scat)
                new = float(np.clip(10**lm, 1e12, 1e16))
                done = abs(new / m - 1) < rtol
                m = new
                if done:
                    break
            if not logs:  # no view with a positive integral: the reconstructor raises ValueError
                rows[key]["failed"] += 1
                continue
            f_raw = (m / m500) ** (1 / 3)
            f = float(np.clip(f_raw, _F_MIN, _F_MAX))
            cyl = _ensemble_mcyl(model, maps, views, subset, f, (r200, z, float(data["r500"][i] / r200)), beams,
                                 noise, npix, size, relation_frame_error(sd), frame_ensemble)
            rows[key]["rel"].append(np.log10(m / m500))
            rows[key]["cyl"].append(np.log10(cyl / true_cyl))
            rows[key]["clip"].append(f != f_raw)
            rows[key]["sd"].append(sd)
            rows[key]["idx"].append(i)
    out = {k: {"m500_relation": summarize(r["rel"]), "mcyl_r500": summarize(r["cyl"]),
               "map_minus_relation": scatter_difference(r["cyl"], r["rel"]),
               "frame_clipped": float(np.mean(r["clip"])), "failed": r["failed"] / n} for k, r in rows.items()}
    if per_map:
        for k, r in rows.items():
            out[k]["per_map"] = {"index": np.array(r["idx"], dtype=int), "relation_dex": np.array(r["rel"]),
                                 "map_dex": np.array(r["cyl"]), "relation_scatter_dex": np.array(r["sd"])}
    return out


def _ensemble_mcyl(model, maps, views, subset, f, halo, beams, noise, npix, size, r200_error, frame_ensemble):
    """The mean over the frame ensemble around the frame of ``f`` true R200 of the maps' projected
    mass within the true :math:`R_{500}`, in units of the true frame's pixel area; ``halo`` is
    (R200 in kpc, z, R500/R200).  Frames beyond the stored field (``f q > 1.3``) are left out, as
    `~massrecon.MassReconstructor.predict` leaves out frames the observations cannot fill."""
    r200, z, r500_r200 = halo
    fs = [f * q for q in frame_ensemble_scales(frame_ensemble) if f * q <= _F_MAX * (1 + 1e-9)] or [f]
    xs, masks, conds = zip(*(_frame_inputs(maps, views, subset, fq, r200, z, beams, noise, npix, size,
                                           r200_error=r200_error) for fq in fs))
    with torch.inference_mode():
        t = model(torch.from_numpy(np.stack(xs)), torch.from_numpy(np.stack(masks)),
                  torch.from_numpy(np.stack(conds).astype(np.float32)))[:, 0].numpy()
    target = TargetTransform()
    cyl = 0.0
    for fq, tq in zip(fs, t):
        sigma = target.inverse(tq.astype(np.float64))
        # the true R500 is r500/r200/f frame-R200s; the frame's pixels are f^2 the true frame's
        w = aperture_weights(npix, r500_r200 / fq * npix / FRAME_SIZE_R200)
        cyl += float((sigma * w).sum()) * fq**2 / len(fs)
    return cyl


def _true_t(data, i, npix):
    from ..training.augment import resample_frame

    sig = resample_frame(data["target"][i][None], data["size_r200"], npix, FRAME_SIZE_R200 / 2)[0]
    return TargetTransform().forward(np.maximum(sig, 1e-30))


class _Scaled:
    """An observation whose prepared view (data and noise) is multiplied by ``factor``."""

    def __init__(self, obs, factor):
        self._obs, self._factor = obs, float(factor)

    def __getattr__(self, name):
        return getattr(self._obs, name)

    def prepare(self, frame, target_beam=None):
        import dataclasses

        pv = self._obs.prepare(frame, target_beam)
        noise = None if pv.noise is None else pv.noise * self._factor
        return dataclasses.replace(pv, data=pv.data * self._factor, noise=noise)


def _solve(rec, observations, frame, **kwargs):
    """The self-consistent map, its spherical M500 (Msun) and the names of the warnings of both
    (the mass's `~massrecon.MassTensionWarning` included)."""
    import warnings

    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        m = rec.predict(observations, frame, self_consistent=True, **kwargs)
        mass = _map_m500(m)
    names = sorted({w.category.__name__ for w in seen})
    return m, mass, names


def _map_m500(mass_map):
    """The spherical M500 (Msun) of a predicted map (the masses of the validation tables)."""
    import astropy.units as u

    return float(mass_map.spherical_mass(500).mass.to_value(u.Msun))


def amplitude_response(rec, observations, frame, *, factor=4.0, starts=(0.5, 2.0), **kwargs):
    r"""The self-consistent mass from two starts and its response to the inputs' amplitude.

    Two checks of ``rec.predict(observations, frame, self_consistent=True)`` (issue 15):
    *convergence*, the self-consistent R200 from frames of ``starts`` times the M500 of
    ``frame``; and *response*, :math:`d\ln M_{500}/d\ln A` when the amplitude ``A`` of every
    observation's prepared view (data and noise, so the signal-to-noise is kept) is multiplied
    by ``factor``, to compare with the scaling relations (`EXPECTED_RESPONSE`).

    Parameters
    ----------
    rec : `~massrecon.MassReconstructor`
    observations : list of observations
    frame : `~massrecon.ClusterFrame`
        The catalogue frame (its M500 is the reference of ``starts``).
    factor : float
        Amplitude scaling.
    starts : tuple of float
        Starting M500 in units of the frame's.
    **kwargs
        Passed on to `~massrecon.MassReconstructor.predict` (``max_iter``, ``rtol``, ``tta``, ``frame_ensemble``).

    Returns
    -------
    dict
        ``r200`` and ``m500`` (kpc, Msun) from each start, ``r200_ratio`` (largest over smallest),
        ``m500_scaled`` (from the first start, inputs scaled), ``response`` (the measured
        :math:`d\ln M_{500}/d\ln A`), ``relation_m500``, ``relation_m500_scaled`` and
        ``relation_response`` (the same for the scaling-relation mass of the ``"relation"``
        method, header card ``RELM500``; NaN for the ``"roots"`` method; a solve that raises
        ``ValueError`` gives NaN masses and the flag ``failed``), ``expected`` (of the views
        given, if all have one, else None), ``flags`` (the ``SCFLAG`` card of each solve),
        ``warnings`` (warning class names of each solve) and ``seconds`` (mean time per
        self-consistent prediction).

    Examples
    --------
    >>> import tempfile
    >>> from astropy.coordinates import SkyCoord
    >>> from massrecon import ClusterFrame, MassReconstructor
    >>> from massrecon.datasets import make_example_observations, read_example_observations
    >>> from massrecon.validation.self_consistent import amplitude_response
    >>> obs, row = read_example_observations(make_example_observations(tempfile.mkdtemp()))
    >>> frame = ClusterFrame(SkyCoord(row["ra"], row["dec"]), float(row["z"]), m500=row["m500"])  # doctest: +SKIP
    >>> out = amplitude_response(MassReconstructor.pretrained(), [obs["sz"]], frame)   # doctest: +SKIP
    >>> out["r200_ratio"] < 1.05, abs(out["response"] - 0.6) < 0.12   # doctest: +SKIP
    (True, True)
    """
    import time

    if not isinstance(frame, ClusterFrame):
        raise TypeError(f"frame must be a massrecon.ClusterFrame, got {type(frame).__name__}")
    t0 = time.perf_counter()
    out = {"r200": [], "m500": [], "relation_m500": [], "flags": [], "warnings": []}
    for start in (*starts, None):
        fr = frame.with_mass(m500=frame.m500 * (starts[0] if start is None else start))
        obs = observations if start is not None else [_Scaled(o, factor) for o in observations]
        try:
            m, mass, names = _solve(rec, obs, fr, **kwargs)
        except (ValueError, RuntimeError) as exc:
            # e.g. a filtered y map scaled up: its larger frame leaves too little of Y500 to the
            # filter; or the NFW fit of the map fails
            m, mass, names = None, np.nan, [f"failed: {' '.join(str(exc).split())}"]
        out["flags"].append("failed" if m is None else str(m.meta.get("SCFLAG")))
        out["warnings"].append(names)
        rel = np.nan if m is None else float(m.meta.get("RELM500", np.nan))
        if start is None:
            out["m500_scaled"], out["relation_m500_scaled"] = mass, rel
        else:
            out["r200"].append(np.nan if m is None else float(m.meta["R200C"]))
            out["m500"].append(mass)
            out["relation_m500"].append(rel)
    out["seconds"] = (time.perf_counter() - t0) / (len(starts) + 1)
    # NaN when a start failed: never "one answer" by default
    out["r200_ratio"] = float(np.max(out["r200"]) / np.min(out["r200"]))
    out["response"] = float(np.log(out["m500_scaled"] / out["m500"][0]) / np.log(factor))
    out["relation_response"] = float(np.log(out["relation_m500_scaled"] / out["relation_m500"][0]) / np.log(factor))
    views = {o.view for o in observations}
    exp = [EXPECTED_RESPONSE.get(v) for v in views]
    out["expected"] = exp[0] if len(set(exp)) == 1 and exp[0] is not None else None
    return out
