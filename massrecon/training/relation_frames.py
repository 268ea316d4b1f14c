"""Training frames placed as ``predict(..., self_consistent=True)`` places them: at the relation mass.

At inference the default self-consistent method (`~massrecon.MassReconstructor.relation_mass`)
puts the frame at the :math:`M_{500}` that the weights' scaling relations give for the
observations' own integrals within :math:`R_{500}`, and tells the network the frame's precision
(`~massrecon.reconstruct.relation_frame_error`).  Such a frame is not independent of the maps: a
cluster bright for its mass gets a frame too large.  A network trained only on frames whose
error is drawn independently of the maps counts that information twice, and regresses towards
the training mean where the maps are noisy (the X-ray shrinkage of docs/validation.rst).
`RelationFrameSolver` gives training the same frames: the fixed point of the relations on the
sample's own beamed, filtered and noisy maps (`massrecon.training.augment.make_sample` with
``relation_frame_probability``).

It is the arithmetic of `~massrecon.MassReconstructor.relation_mass` on the stored maps' true
frame, with the slow parts tabulated once per process: the :math:`M_{200}/M_{500}` and
concentration of the Diemer & Joyce (2019) c-M relation (`massrecon.halo.m200c_from_m500c`) on a
grid of mass and redshift, and the aperture fractions of the beam and the filter
(`massrecon.relations.aperture_fraction`) on a grid of concentration, beam and filter scale.
"""

import math

import astropy.units as u
import numpy as np
from astropy.cosmology import Planck18
from scipy import interpolate, optimize

from ..apertures import aperture_weights
from ..contract import FRAME_SIZE_R200
from ..halo import m200c_from_m500c
from ..reconstruct import _MIN_BEAM_R200, MIN_APERTURE_FRACTION, Y_NOISE_CORRELATION_AREA, relation_frame_error
from ..relations import ScalingRelation, aperture_fraction, combine_log_masses

__all__ = ["RelationFrameSolver"]

#: Grids of the tables: log10 M500 (Msun), z, c200, log10 beam FWHM and high-pass dispersion (R200).
_LOG_M500 = np.arange(12.0, 16.01, 0.1)
_Z = np.arange(0.0, 2.01, 0.1)
_C200 = np.array([2.0, 2.75, 3.5, 4.25, 5.0, 6.0, 7.5, 9.0])
_LOG_BEAM = np.log10(np.geomspace(0.005, 2.0, 14))  # the first point stands for "no beam"
_LOG_HP = np.log10(np.geomspace(0.04, 40.0, 31))  # the last point stands for "unfiltered"


def _nfw_r500_r200(c200):
    """:math:`R_{500}/R_{200}` of an NFW halo of concentration ``c200``."""
    def m(y):
        return math.log1p(y) - y / (1 + y)

    return optimize.brentq(lambda x: m(c200 * x) / m(c200) / x**3 - 2.5, 0.3, 1.0, xtol=1e-10)


class RelationFrameSolver:
    """The scaling-relation frame of a training sample, as the reconstructor finds it for real maps.

    Parameters
    ----------
    relations : dict
        ``{view: ScalingRelation}``: the relations the weights will carry (metadata
        ``"scaling_relations"``, `massrecon.validation.scaling_relations.calibrate_relations`).

    Examples
    --------
    A uniform y map whose relation says :math:`M_{500} = 3\\times 10^{14}` in an aperture of
    radius :math:`R_{500}(3\\times 10^{14})` sits at that mass (to the pixels' rounding):

    >>> import numpy as np
    >>> from massrecon.relations import ScalingRelation
    >>> from massrecon.training.relation_frames import RelationFrameSolver
    >>> r5 = (0.4 * 3e14 / 6e14) ** (1 / 3)   # R500 of 3e14 in the R200 of a 6e14 halo
    >>> area = np.pi * (r5 * 1000.0) ** 2      # kpc^2, R200 = 1000 kpc
    >>> rel = ScalingRelation("sz", (np.log10(3e14) - np.log10(1e-5 * area), 1.0, 0.0), 0.05)
    >>> solver = RelationFrameSolver({"sz": rel})
    >>> m500, sd, f = solver.solve({"sz": np.full((80, 80), 1e-5)}, {"sz": np.zeros((80, 80))}, ["sz"],
    ...                            {"sz": 0.0}, None, m200=6e14, r200_kpc=1000.0, z=0.0)
    >>> round(m500 / 3e14, 2), round(sd, 3)
    (1.0, 0.05)
    """

    def __init__(self, relations):
        self.relations = dict(relations)
        if not self.relations:
            raise ValueError("relations must hold at least one view's ScalingRelation")
        for v, rel in self.relations.items():
            if not isinstance(rel, ScalingRelation):
                raise TypeError(f"relations[{v!r}] must be a ScalingRelation, got {type(rel).__name__}")
        self._conv = self._mass_tables()
        self._frac = {}  # built on first need, or by `build_tables` (about 2 minutes for y)

    @classmethod
    def from_data(cls, data_path, views=("sz", "xray", "stars")):
        """The solver of the relations fitted on a data set's training maps, as the weights' metadata will be.

        The same call (`~massrecon.validation.scaling_relations.calibrate_relations`, 1500 maps,
        seed 2) writes the relations into the weights after training, so the network is trained
        on the frames of the relations it ships with.
        """
        from ..validation.scaling_relations import calibrate_relations

        entry = calibrate_relations(data_path, views=tuple(views))
        return cls({v: ScalingRelation.from_dict(v, entry[v]) for v in views})

    @staticmethod
    def _mass_tables():
        ratio = np.empty((_LOG_M500.size, _Z.size))
        conc = np.empty_like(ratio)
        for j, z in enumerate(_Z):
            m200, c = m200c_from_m500c(10**_LOG_M500 * u.Msun, max(z, 1e-3))
            ratio[:, j] = np.log10(m200.to_value(u.Msun)) - _LOG_M500
            conc[:, j] = c
        grid = (_LOG_M500, _Z)
        return (interpolate.RegularGridInterpolator(grid, ratio, bounds_error=False, fill_value=None),
                interpolate.RegularGridInterpolator(grid, conc, bounds_error=False, fill_value=None))

    @staticmethod
    def _fraction_table(view):
        r5 = [_nfw_r500_r200(c) for c in _C200]
        hps = _LOG_HP if view == "sz" else _LOG_HP[-1:]
        tab = np.empty((_C200.size, _LOG_BEAM.size, hps.size))
        for i, (c, r) in enumerate(zip(_C200, r5, strict=True)):
            for j, lb in enumerate(_LOG_BEAM):
                beam = 0.0 if j == 0 else 10**lb
                for k, lh in enumerate(hps):
                    hp = None if k == hps.size - 1 else 10**lh
                    tab[i, j, k] = aperture_fraction(view, r, beam, hp, c200=c)
        if view != "sz":
            tab = np.concatenate([tab, tab], axis=2)
            hps = _LOG_HP[[0, -1]]
        # interpolated in log: the fraction of a filtered map falls steeply with the filter scale
        return interpolate.RegularGridInterpolator((_C200, _LOG_BEAM, hps), np.log(np.maximum(tab, 1e-6)),
                                                   bounds_error=False, fill_value=None)

    def build_tables(self):
        """Tabulate the aperture fractions of every view now (before data-loader workers fork)."""
        for v in self.relations:
            if v not in self._frac:
                self._frac[v] = self._fraction_table(v)

    def _fraction(self, view, c200, beam, highpass):
        if beam <= _MIN_BEAM_R200 and highpass is None:
            return 1.0
        if view not in self._frac:
            self._frac[view] = self._fraction_table(view)
        lb = _LOG_BEAM[0] if beam <= _MIN_BEAM_R200 else float(np.clip(np.log10(beam), _LOG_BEAM[0], _LOG_BEAM[-1]))
        lh = _LOG_HP[-1] if highpass is None else float(np.clip(np.log10(highpass), _LOG_HP[0], _LOG_HP[-1]))
        c = float(np.clip(c200, _C200[0], _C200[-1]))
        return float(np.exp(self._frac[view]([c, lb, lh])[0]))

    def solve(self, maps, variance, present, beams, highpass, *, m200, r200_kpc, z, size_r200=FRAME_SIZE_R200,
              max_iter=40, rtol=1e-3):
        """The relation mass of maps on the true frame, and the frame it gives.

        Parameters
        ----------
        maps, variance : dict
            Per view: the map in physical units and its per-pixel noise variance, square, over
            ``size_r200`` true R200 (centred on the halo, or on the sample's centre offset).
        present : iterable of str
            The views observed (those without a relation are left out).
        beams : dict
            Beam FWHM per view, true R200.
        highpass : float or None
            The y map's high-pass dispersion, true R200.
        m200, r200_kpc, z : float
            The halo's true M200 (Msun), R200 (kpc) and redshift.

        Returns
        -------
        m500 : float
            The relations' combined :math:`M_{500}` (Msun) at its own :math:`R_{500}`; NaN when
            no view gives a mass (integrals not positive, or filtered away).
        scatter_dex : float
            Its uncertainty (relation scatter, noise and template), as the reconstructor states it.
        scale : float
            The frame's R200 over the true R200.
        """
        views = [v for v in present if v in self.relations]
        npix = next(iter(maps.values())).shape[-1] if maps else 0
        geometry = dict(npix=npix, pix_area=(size_r200 * r200_kpc / npix) ** 2 if npix else 0.0,
                        ez=float(Planck18.efunc(z)), zz=float(np.clip(z, _Z[0], _Z[-1])), m200=m200,
                        size_r200=size_r200)
        lm, sd = math.log10(m200) - 0.15, math.nan  # start: a typical M500/M200
        while views:
            lm, sd, fracs = self._iterate(lm, views, maps, variance, beams, highpass, geometry, max_iter, rtol)
            # as `relation_mass`: a view that its beam and filter leave too weak *at the fixed point*
            # is dropped and the iteration continues without it
            weak = [v for v, f in fracs.items() if f < MIN_APERTURE_FRACTION]
            if not weak:
                break
            views = [v for v in views if v not in weak]
        if not views or not math.isfinite(lm):
            return math.nan, math.nan, math.nan
        log_ratio = float(self._conv[0]([lm, geometry["zz"]])[0])
        return 10**lm, float(sd), float((10**lm * 10**log_ratio / m200) ** (1 / 3))

    def _iterate(self, lm, views, maps, variance, beams, highpass, g, max_iter, rtol):
        """Fixed point of the relations for ``views`` from ``log10 M500 = lm``: ``(lm, sd, fractions)``
        (``lm`` NaN when no view has a positive integral)."""
        npix, size = g["npix"], g["size_r200"]
        sd, damp, last, fracs = math.nan, 1.0, 0.0, {}
        for _ in range(max_iter):
            m = 10**lm
            log_ratio = float(self._conv[0]([lm, g["zz"]])[0])
            c200 = float(self._conv[1]([lm, g["zz"]])[0])
            scale = (m * 10**log_ratio / g["m200"]) ** (1 / 3)  # the frame of this mass, in true R200
            r5 = (0.4 * m / g["m200"]) ** (1 / 3)  # its R500 in true R200
            w = aperture_weights(npix, round(r5 * npix / size * 50) / 50)
            logs, scat, fracs = [], [], {}
            for v in views:
                hp = highpass / scale if (v == "sz" and highpass is not None) else None
                frac = fracs[v] = self._fraction(v, c200, beams.get(v, 0.0) / scale, hp)
                s = float((maps[v] * w).sum()) * g["pix_area"]
                if not s > 0:
                    continue
                s /= frac
                rel = self.relations[v]
                logs.append(float(rel.log10_m500(s, g["ez"])))
                # the sample's noise is drawn per pixel of its own frame, whose pixels are `scale` times
                # these: its aperture integral's noise is `scale` times this one's
                err = math.sqrt(float((variance[v] * w**2).sum())) * g["pix_area"] / frac * scale
                if v == "sz":  # correlated over the beam (in the sample's pixels), as the reconstructor counts it
                    beam_px = beams.get(v, 0.0) * npix / size / scale
                    err *= max(1.0, Y_NOISE_CORRELATION_AREA * beam_px**2) ** 0.5
                b = rel.coef[1]
                meas, template = b * err / (s * math.log(10)), b * abs(math.log10(frac)) / 3
                scat.append(math.sqrt(rel.scatter_dex**2 + meas**2 + template**2))
            if not logs:
                return math.nan, math.nan, fracs
            new, sd = combine_log_masses(logs, scat)
            new = float(np.clip(new, _LOG_M500[0], _LOG_M500[-1]))
            step = new - lm
            if step * last < 0:  # damp oscillations, as `relation_mass` does
                damp *= 0.5
            lm, last = lm + damp * step, step
            if abs(step) < 3 * rtol / math.log(10):
                break
        return lm, sd, fracs

    def frame_error(self, scatter_dex):
        """The ``r200_error`` told for a relation frame (`~massrecon.reconstruct.relation_frame_error`)."""
        return relation_frame_error(scatter_dex)
