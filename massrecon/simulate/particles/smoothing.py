"""Smoothing lengths and densities of particles from their nearest neighbours.

GADGET's definition: the smoothing length :math:`H` of a particle is the radius of the sphere that
holds :math:`N_{ngb}` neighbours, :math:`\\frac{4\\pi}{3} H^3 \\rho = N_{ngb}\\, m`, and the density
is the SPH sum :math:`\\rho_i = \\sum_j m_j W(r_{ij}, H_i)` over those neighbours (`sph_kernel`).
"""

from typing import NamedTuple

import numpy as np

from .kernel import sph_kernel

__all__ = ["N_NEIGHBOURS", "NeighbourEstimate", "neighbour_estimate"]

#: Neighbour number defining smoothing lengths that are not given:
#: :math:`\frac{4\pi}{3} H^3 \rho = N_{ngb}\, m`.
N_NEIGHBOURS = 32


class NeighbourEstimate(NamedTuple):
    """Smoothing lengths and SPH densities estimated from the nearest neighbours."""

    #: distance to the ``n_ngb``-th nearest particle (itself included), in the positions' unit
    smoothing_length: np.ndarray
    #: :math:`\sum_j m_j W(r_{ij}, H_i)`, in the masses' unit over the positions' unit cubed
    density: np.ndarray


def neighbour_estimate(pos, m, n_ngb=N_NEIGHBOURS):
    """Smoothing lengths and densities from the ``n_ngb`` nearest neighbours.

    Parameters
    ----------
    pos : `~numpy.ndarray`, shape (N, 3)
        Positions (plain numbers, e.g. kpc).
    m : `~numpy.ndarray`, shape (N,)
        Masses (plain numbers, e.g. Msun).
    n_ngb : int
        Neighbour number (at most N are used).

    Returns
    -------
    estimate : `NeighbourEstimate`
        Neighbours found with a `scipy.spatial.cKDTree`.

    Raises
    ------
    ValueError
        For fewer than 2 particles, or coincident particles.

    Examples
    --------
    >>> import numpy as np
    >>> from massrecon.simulate.particles.smoothing import neighbour_estimate
    >>> pos = np.random.default_rng(0).uniform(0, 1, (1000, 3))
    >>> est = neighbour_estimate(pos, np.full(1000, 1e-3))
    >>> bool(0.5 < np.median(est.density) < 1.5)
    True
    """
    from scipy.spatial import cKDTree

    n = pos.shape[0]
    k = int(min(n_ngb, n))
    if k < 2:
        raise ValueError(f"at least 2 particles are needed to estimate smoothing lengths, got {n}")
    dist, idx = cKDTree(pos).query(pos, k=k, workers=-1)
    hs = dist[:, -1]
    if np.any(hs <= 0):
        raise ValueError("positions: coincident particles; give smoothing_length explicitly")
    rho = np.sum(m[idx] * sph_kernel(dist / hs[:, None]), axis=1) / hs**3
    return NeighbourEstimate(hs, rho)
