"""Analytic baselines that any learnt model must beat.

* `ScalingRelationBaseline`: the observable integrated inside R500 (Y, L_X or stellar mass) gives
  M500 through a power-law scaling relation, and the map is a projected NFW halo of that mass
  with the concentration of a c-M relation (the classical way of "painting" a cluster).  The
  relation's normalisation and slope are fitted on the training split (in log space), so the
  baseline is as good as a scaling relation can be on these mocks.  Measured inside the *true*
  R500, it knows more than an observer does; `ScalingRelationBaseline.predict_m500_iterated`
  is what an observer does without it: the aperture R500 follows the mass that the relation
  gives, to the fixed point (e.g. Arnaud et al. 2010, A&A 517, A92, section 6; Planck 2013
  results XX, section 3.2), from any start.
* `PowerLawBaseline`: a per-pixel power law :math:`\\Sigma = A \\prod_v x_v^{\\alpha_v}` of the
  (positive, smoothed) input maps, fitted by least squares on the training split.
"""

import astropy.units as u
import numpy as np

from ..apertures import aperture_weights
from ..contract import FRAME_NPIX, FRAME_SIZE_R200

__all__ = ["ScalingRelationBaseline", "PowerLawBaseline"]


def _aperture_sum(maps, radius_pix):
    maps = np.asarray(maps, dtype=float)
    # radii rounded to 0.02 pixel: the cached weights are re-used across maps (a 0.1% effect on the sum)
    w = aperture_weights(maps.shape[-1], round(float(radius_pix) * 50) / 50)
    return (maps * w).sum(axis=(-2, -1))


class ScalingRelationBaseline:
    """Scaling relation -> M500 -> projected NFW map.

    Parameters
    ----------
    npix, size_r200 : int, float
        The frame of the maps.
    cm_relation : str
        Concentration-mass relation of the painted halo.

    Examples
    --------
    Uniform mock maps whose signal scales as ``M500**1.5``: the fitted slope of ``log M500``
    against ``log S`` is 1/1.5, and the masses are recovered:

    >>> import numpy as np
    >>> from massrecon.validation.baselines import ScalingRelationBaseline
    >>> m500 = np.array([1e14, 2e14, 4e14, 8e14])
    >>> z = np.array([0.1, 0.2, 0.3, 0.4])
    >>> maps = np.ones((4, 16, 16)) * (m500 / 1e14)[:, None, None] ** 1.5
    >>> r500_over_r200 = np.full(4, 0.65)
    >>> b = ScalingRelationBaseline(npix=16).fit(maps, m500, r500_over_r200, 10.0, z)
    >>> round(float(b.coef[1]), 3)
    0.667
    >>> np.round(b.predict_m500(maps, r500_over_r200, 10.0, z) / 1e14, 3)
    array([1., 2., 4., 8.])

    `predict` paints the projected NFW map of each predicted mass on the frame of the map:

    >>> sigma = b.predict(maps[:1], r500_over_r200[:1], 10.0, z[:1], r200_kpc=[1500.0])
    >>> sigma.shape, bool(sigma[0, 8, 8] > sigma[0, 0, 0] > 0)
    ((1, 16, 16), True)
    """

    def __init__(self, npix=FRAME_NPIX, size_r200=FRAME_SIZE_R200, cm_relation="diemer19"):
        self.npix = npix
        self.size_r200 = size_r200
        self.cm_relation = cm_relation
        self.coef = None

    def _signal(self, view_map, r500_over_r200, pixel_kpc):
        radius_pix = np.asarray(r500_over_r200) * self.npix / self.size_r200
        sums = np.array([_aperture_sum(m, rp) for m, rp in zip(view_map, radius_pix)])
        return np.maximum(sums * np.asarray(pixel_kpc) ** 2, 1e-300)

    def fit(self, view_map, m500, r500_over_r200, pixel_kpc, z):
        """Fit ``log M500 = a + b log S + c log E(z)`` on training maps (S: signal inside R500;
        `massrecon.relations.relation_coefficients`, as the weights' relations are fitted)."""
        from ..relations import relation_coefficients

        self.coef, _ = relation_coefficients(self._signal(view_map, r500_over_r200, pixel_kpc), m500, z)
        return self

    def predict_m500(self, view_map, r500_over_r200, pixel_kpc, z):
        from astropy.cosmology import Planck18

        if self.coef is None:
            raise ValueError("fit the baseline first")
        s = np.log10(self._signal(view_map, r500_over_r200, pixel_kpc))
        ez = np.log10(Planck18.efunc(np.asarray(z)))
        return 10 ** (self.coef[0] + self.coef[1] * s + self.coef[2] * ez)

    def predict_m500_iterated(self, view_map, r500_per_mass, pixel_kpc, z, *, m500_start=None, n_iter=100,
                              rtol=1e-4):
        r"""M500 from the relation with the aperture R500 set by the mass itself (no R500 given).

        Iterates :math:`M \to f(S(<R_{500}(M)))` to its fixed point, with
        :math:`R_{500}(M) = k\,M^{1/3}` at the map's redshift (``k``: ``r500_per_mass``).  The
        step changes :math:`\ln M` by about ``slope x (d ln S / d ln R) / 3`` (~0.2-0.5) of the
        previous change, so the iteration converges from any start.

        Parameters
        ----------
        view_map : array (n, npix, npix)
            The observable's maps on their frames.
        r500_per_mass : array (n,)
            :math:`R_{500} / M_{500}^{1/3}` in frame R200 per Msun^(1/3): a function of the redshift
            and the cosmology only, :math:`(3 / (4\pi\,500\,\rho_c(z)))^{1/3}` divided by the
            frame's R200.
        pixel_kpc, z : array (n,)
            As for `predict_m500`.
        m500_start : array (n,), optional
            Starting masses (default 1e14 Msun).
        n_iter : int
            Most iterations.
        rtol : float
            Convergence: the largest relative change of the masses.

        Returns
        -------
        `numpy.ndarray`
            M500 in Msun.

        Examples
        --------
        Maps with :math:`S(<r) \propto r` (a :math:`\Sigma \propto 1/r` profile) and a relation
        fitted inside the true R500: from starts 3 times off either way the iteration returns the
        true masses.

        >>> import numpy as np
        >>> from massrecon.validation.baselines import ScalingRelationBaseline
        >>> npix = 64
        >>> m500 = np.array([1e14, 3e14, 8e14])
        >>> c = np.arange(npix) - (npix - 1) / 2
        >>> r = np.hypot(*np.meshgrid(c, c))
        >>> maps = np.array([(m / 1e14) ** 1.2 / r for m in m500])
        >>> k = 0.3 / 1e14 ** (1 / 3)  # R500 = 0.3 (M500 / 1e14 Msun)^(1/3) frame R200
        >>> r5 = k * m500 ** (1 / 3)
        >>> z = np.full(3, 0.2)
        >>> b = ScalingRelationBaseline(npix=npix, size_r200=10.0).fit(maps, m500, r5, 10.0, z)
        >>> for start in (m500 / 3, m500 * 3):
        ...     m = b.predict_m500_iterated(maps, np.full(3, k), 10.0, z, m500_start=start)
        ...     print(np.allclose(m, m500, rtol=0.01))  # to the pixelisation of the apertures
        True
        True
        """
        m = np.full(len(view_map), 1e14) if m500_start is None else np.array(m500_start, dtype=float)
        k = np.asarray(r500_per_mass, dtype=float)
        for _ in range(n_iter):
            new = self.predict_m500(view_map, k * m ** (1 / 3), pixel_kpc, z)
            done = np.all(np.abs(new / m - 1) < rtol)
            m = new
            if done:
                break
        return m

    def paint(self, m500, z, r200_frame_kpc):
        """Projected (slab +-R200) NFW map of a halo of ``m500`` on a frame of given R200 (kpc)."""
        import dataclasses

        from ..halo import m200c_from_m500c, radius_from_mass
        from ..simulate import HaloModel, SimulationConfig, project_halo, sample_halo

        m200, c200 = m200c_from_m500c(m500 * u.Msun, z, relation=self.cm_relation)
        r200 = float(radius_from_mass(m200, 200, z).value)
        template = sample_halo(0, SimulationConfig())
        halo = dataclasses.replace(template, m200=float(m200.value), r200=r200, c200=float(c200), z=float(z),
                                   q=1.0, s=1.0, merger=False)
        model = HaloModel(halo, include={"dm"})
        # the map is on the given frame: scale the frame width from the frame's R200 to this halo's
        size = self.size_r200 * r200_frame_kpc / r200
        maps, _ = project_halo(model, np.eye(3), npix=self.npix, size_r200=size,
                               depth_r200=r200_frame_kpc / r200, smoothing_r200=0.0)
        return maps["sigma_dm"]

    def predict(self, view_map, r500_over_r200, pixel_kpc, z, r200_kpc):
        m500 = self.predict_m500(view_map, r500_over_r200, pixel_kpc, z)
        return np.array([self.paint(m, zi, r) for m, zi, r in zip(m500, np.asarray(z), np.asarray(r200_kpc))])


class PowerLawBaseline:
    """Per-pixel power law :math:`\\log \\Sigma = a + \\sum_v \\alpha_v \\log(\\max(x_v, f_v))`.

    ``floor`` per view keeps the logarithm defined for noisy, non-positive pixels.

    Examples
    --------
    Two views and a target that is an exact power law of them, :math:`5\\,x_0^{0.5} x_1^2`:

    >>> import numpy as np
    >>> from massrecon.validation.baselines import PowerLawBaseline
    >>> rng = np.random.default_rng(0)
    >>> views = rng.uniform(1.0, 10.0, size=(2, 3, 8, 8))  # (n_views, n_maps, npix, npix)
    >>> sigma = 5.0 * views[0] ** 0.5 * views[1] ** 2
    >>> b = PowerLawBaseline(floors=[1e-3, 1e-3]).fit(views, sigma)
    >>> np.round(b.coef, 3)  # log10(5), then the exponents
    array([0.699, 0.5  , 2.   ])
    >>> bool(np.allclose(b.predict(views), sigma))
    True
    """

    def __init__(self, floors):
        self.floors = np.asarray(floors, dtype=float)
        self.coef = None

    def _design(self, views):
        views = np.asarray(views, dtype=float)  # (n_views, n_maps, npix, npix)
        cols = [np.ones(views[0].size)]
        for v, f in zip(views, self.floors):
            cols.append(np.log10(np.maximum(v, f)).ravel())
        return np.vstack(cols).T

    def fit(self, views, sigma, max_pixels=2_000_000, seed=0):
        a = self._design(views)
        b = np.log10(np.asarray(sigma, dtype=float)).ravel()
        if a.shape[0] > max_pixels:
            idx = np.random.default_rng(seed).choice(a.shape[0], max_pixels, replace=False)
            a, b = a[idx], b[idx]
        self.coef = np.linalg.lstsq(a, b, rcond=None)[0]
        return self

    def predict(self, views):
        if self.coef is None:
            raise ValueError("fit the baseline first")
        views = np.asarray(views, dtype=float)
        return 10 ** (self._design(views) @ self.coef).reshape(views.shape[1:])
