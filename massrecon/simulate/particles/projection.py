"""Maps from particles: the maps of `~massrecon.simulate.project_halo`, made from a simulation.

Conventions:

* Positions are physical (not comoving); maps are in the frame of
  `~massrecon.simulate.project_halo`: ``npix`` pixels over ``size_r200`` R200, pixel ``j``
  centred at ``(j - (npix - 1) / 2)`` pixel widths from the centre, arrays indexed ``[iy, ix]``.
* The viewing basis for a line of sight :math:`\\hat e_z` is that of
  `~massrecon.simulate.projection_bases` (`~massrecon.simulate.population.viewing_basis`).
* Gas is deposited with the projected SPH kernel integrated over pixels
  (`~massrecon.simulate.particles.deposit.deposit_sph`); dark matter and stars cloud-in-cell
  or with the SPH kernel.
"""

import dataclasses
from typing import NamedTuple

import astropy.constants as const
import astropy.units as u
import numpy as np

from ..._deposit import cic_deposit
from ...contract import FRAME_NPIX, FRAME_SIZE_R200
from ..emission import MU_E, NE_OVER_NH, SIGMA_T_OVER_MEC2, cooling_function_bolometric, cooling_function_soft
from ..population import viewing_basis
from ..projection import _MAP_MASS_LIMIT_MSUN, MAP_NAMES, MAP_UNITS, _gaussian_smooth, members_map
from ._checks import as_quantity, positive_length
from .deposit import deposit_sph
from .particle_set import DENSITY_UNIT, HYDROGEN_MASS_FRACTION, ParticleSet
from .smoothing import N_NEIGHBOURS

__all__ = ["project_particles"]

_M_P_MSUN = const.m_p.to_value(u.Msun)
_KPC_CM = (1 * u.kpc).to_value(u.cm)
_K_B_KEV = const.k_B.to_value(u.keV / u.K)


def _basis(los):
    los = np.asarray(los, dtype=float)
    if los.shape != (3,) or not np.all(np.isfinite(los)) or np.linalg.norm(los) == 0:
        raise ValueError(f"los must be a finite, non-zero 3-vector, got {los!r}")
    return viewing_basis(los / np.linalg.norm(los))


def _check_set(ps, name, kind):
    if ps is None:
        return None
    if not isinstance(ps, ParticleSet):
        raise TypeError(f"{name} must be a ParticleSet, got {type(ps).__name__}")
    if ps.kind != kind:
        raise ValueError(f"{name} must be a ParticleSet of kind {kind!r}, got kind {ps.kind!r}")
    return ps


class _InView(NamedTuple):
    """Particles seen in a slab: which are inside, and their positions in pixel units."""

    keep: np.ndarray
    fx: np.ndarray
    fy: np.ndarray


@dataclasses.dataclass
class _Slab:
    """The projected slab: centre and viewing basis (kpc), half-depth, and the pixel grid."""

    center: np.ndarray
    basis: np.ndarray
    depth: float
    npix: int
    r200: float
    size_r200: float

    @property
    def width(self):
        return self.size_r200 * self.r200

    @property
    def pix(self):
        return self.width / self.npix

    def view(self, ps):
        """Where the particles of ``ps`` fall: `_InView`."""
        p = (ps.positions.to_value(u.kpc) - self.center) @ self.basis.T
        keep = np.abs(p[:, 2]) <= self.depth
        fx = p[:, 0] / self.pix + (self.npix - 1) / 2.0
        fy = p[:, 1] / self.pix + (self.npix - 1) / 2.0
        return _InView(keep, fx, fy)


def _frame_values(frame, npix, size_r200, r200):
    """R200 (kpc), pixels across and width in R200, from a frame or the arguments, checked."""
    if frame is not None:
        if r200 is not None:
            raise ValueError("give r200 or a frame, not both")
        r200_kpc = float(frame.r200.to_value(u.kpc))
        npix = frame.npix if npix is None else npix
        size_r200 = frame.size_r200 if size_r200 is None else size_r200
    else:
        if r200 is None:
            raise ValueError("r200 is required when no frame is given")
        r200_kpc = positive_length(r200, "r200")
    npix = FRAME_NPIX if npix is None else npix
    size_r200 = FRAME_SIZE_R200 if size_r200 is None else float(size_r200)
    if isinstance(npix, bool) or not isinstance(npix, (int, np.integer)) or npix < 1:
        raise ValueError(f"npix must be a positive integer, got {npix!r}")
    if not np.isfinite(size_r200) or size_r200 <= 0:
        raise ValueError(f"size_r200 must be finite and > 0, got {size_r200}")
    return r200_kpc, int(npix), size_r200


def _collisionless_map(ps, slab, method, n_ngb):
    """Surface density (Msun/kpc^2) of dark matter or stars: cloud-in-cell or SPH."""
    npix, pix = slab.npix, slab.pix
    keep, fx, fy = slab.view(ps)
    m = ps.masses.to_value(u.Msun)[keep][None, :]
    if method == "cic":
        img = cic_deposit(npix, fx[keep], fy[keep], m).reshape(1, -1)
    else:
        hs = ps.smoothing_lengths(n_ngb).to_value(u.kpc)[keep]
        img = deposit_sph(npix, fx[keep], fy[keep], hs / pix, m)
    return img[0].reshape(npix, npix) / (pix * pix)


def _gas_maps(gas, slab, n_ngb, tmin, nh_max):
    """Gas surface density, Compton-y and soft and bolometric X-ray maps (see `project_particles`)."""
    npix, pix = slab.npix, slab.pix
    zero = np.zeros((npix, npix))
    keep, fx, fy = slab.view(gas)
    if not np.any(keep):
        return zero, zero, zero, zero
    m = gas.masses.to_value(u.Msun)
    kt = gas.temperature.to_value(u.K) * _K_B_KEV  # keV
    if gas.electron_abundance is not None:
        xe = gas.electron_abundance
        n_e_per_msun = xe * HYDROGEN_MASS_FRACTION / _M_P_MSUN  # electrons per Msun of gas
        nh_over_ne = 1.0 / np.maximum(xe, 1e-30)
    else:
        n_e_per_msun = np.full(m.shape, 1.0 / (MU_E * _M_P_MSUN))
        nh_over_ne = np.full(m.shape, 1.0 / NE_OVER_NH)
    n_elec = m * n_e_per_msun  # number of electrons
    # y per particle times kpc^2: (sigma_T / m_e c^2) N_e kT  [cm^2 -> kpc^2]
    y_area = SIGMA_T_OVER_MEC2 * n_elec * kt / _KPC_CM**2
    # X-ray: n_e n_H Lambda V = N_e n_H Lambda, n_H = n_e (n_H/n_e), n_e = (N_e/m) rho
    rho = gas.densities(n_ngb).to_value(DENSITY_UNIT)
    n_e = n_e_per_msun * rho / _KPC_CM**3  # cm^-3
    n_h = n_e * nh_over_ne
    hot = (gas.temperature.to_value(u.K) >= tmin.value) & (n_h <= nh_max.value)
    base = np.where(hot, n_elec * n_h, 0.0)
    values = [m, y_area, base * cooling_function_soft(kt), base * cooling_function_bolometric(kt)]
    hs = gas.smoothing_lengths(n_ngb).to_value(u.kpc)
    vals = np.stack(values)[:, keep]
    img = deposit_sph(npix, fx[keep], fy[keep], hs[keep] / pix, vals) / (pix * pix)
    return tuple(img.reshape(4, npix, npix))


def _members_map(members, slab, mass_limit):
    """``sigma_members`` from member galaxies inside the slab and the frame."""
    npix, pix = slab.npix, slab.pix
    keep, fx, fy = slab.view(members)
    x = (fx - (npix - 1) / 2.0) * pix
    y = (fy - (npix - 1) / 2.0) * pix
    keep &= (np.abs(x) <= slab.width / 2) & (np.abs(y) <= slab.width / 2)
    return members_map(x[keep], y[keep], members.masses.to_value(u.Msun)[keep], npix, pix, slab.r200,
                       mass_limit=mass_limit)


def project_particles(frame=None, *, dm=None, gas=None, stars=None, members=None, center=None,
                      los=(0.0, 0.0, 1.0), depth=None, npix=None, size_r200=None, r200=None,
                      smoothing_r200=0.01, collisionless="cic", n_ngb=N_NEIGHBOURS,
                      xray_tmin=1e6 * u.K, xray_nh_max=0.1 * u.cm**-3,
                      map_mass_limit=_MAP_MASS_LIMIT_MSUN):
    """Project simulation particles onto the cluster frame: the maps of
    `~massrecon.simulate.project_halo`.

    Parameters
    ----------
    frame : `~massrecon.ClusterFrame`, optional
        Gives ``r200``, ``npix`` and ``size_r200``.  Without it, give ``r200``.
    dm, gas, stars : `ParticleSet`, optional
        Particles of kinds ``"dm"``, ``"gas"`` and ``"stars"`` (physical positions).
    members : `ParticleSet`, optional
        Member galaxies (kind ``"stars"``, one entry per galaxy, ``masses`` = stellar masses),
        e.g. from the simulation's subhalo catalogue: the ``sigma_members`` map is made from
        them with `~massrecon.simulate.projection.members_map`, as for the analytic mock.
        Without them ``sigma_members`` is zero (galaxies are not identified in the particles).
    center : `~astropy.units.Quantity`, shape (3,), optional
        Cluster centre in the particles' coordinates (default: the origin).
    los : array_like, shape (3,)
        Line of sight (normalised here); the image axes follow from it as in
        `~massrecon.simulate.projection_bases`.  Default: the z axis.
    depth : `~astropy.units.Quantity`, optional
        Half-depth of the projected slab: particles with :math:`|l| \\le` ``depth`` are kept.
        Default R200 (the :math:`\\pm R_{200}` slab of de Andres et al. 2024).
    npix, size_r200 : int, float, optional
        Pixels across and width in R200 (default: the frame's, else the model's frame,
        `~massrecon.contract.FRAME_NPIX` and `~massrecon.contract.FRAME_SIZE_R200`).
    r200 : `~astropy.units.Quantity`, optional
        :math:`R_{200c}` (physical length), when no frame is given.
    smoothing_r200 : float
        FWHM of a final Gaussian smoothing in R200 as in `~massrecon.simulate.project_halo` (0: none).
    collisionless : {"cic", "sph"}
        Deposit of dark matter and stars: cloud-in-cell (default), or the SPH kernel with
        `ParticleSet.smoothing_lengths` (adaptive smoothing).
    n_ngb : int
        Neighbour number for smoothing lengths that are not given.
    xray_tmin, xray_nh_max : `~astropy.units.Quantity`
        Gas colder than ``xray_tmin`` (1e6 K) or denser than ``xray_nh_max`` in hydrogen
        number density (0.1 cm^-3, the star-formation threshold of Springel & Hernquist 2003,
        MNRAS 339, 289) is left out of the X-ray maps, as is standard: it stands for cold,
        multiphase or star-forming gas whose emission the simulation does not model.
    map_mass_limit : float
        Stellar-mass limit (Msun) of the members in ``sigma_members``; default
        `~massrecon.contract.MEMBER_MAP_MASS_LIMIT`.

    Returns
    -------
    maps : dict of `~astropy.units.Quantity`
        One (npix, npix) map per name in `~massrecon.simulate.MAP_NAMES`, in the units of
        `~massrecon.simulate.MAP_UNITS`.

    Notes
    -----
    * Dark matter and stars: mass / pixel area, deposited cloud-in-cell (or SPH).
    * Gas: the projected cubic-spline kernel (see the module notes) integrated over each pixel
      by sub-pixel sampling, each particle's weights normalised to 1 so that its mass is
      conserved when its kernel lies in the map.
    * Compton-y: each particle carries :math:`(\\sigma_T / m_e c^2) P_e V = (\\sigma_T / m_e
      c^2) N_e kT`, with :math:`V = m/\\rho`, :math:`P_e = n_e kT` and :math:`n_e = x_e X \\rho /
      m_p` (or :math:`\\rho / (\\mu_e m_p)` without an electron abundance), divided by the pixel
      area.
    * X-ray: each particle carries :math:`L = n_e n_H \\Lambda(T) V` with the cooling functions
      of `massrecon.simulate.emission` (0.5-2 keV and bolometric), :math:`n_H = X\\rho/m_p`
      (or :math:`n_e / 1.17`); maps in erg s^-1 kpc^-2.

    Raises
    ------
    ValueError
        For no particles, missing ``r200`` (or a frame), or out-of-range arguments.

    Examples
    --------
    >>> import astropy.units as u
    >>> import numpy as np
    >>> from massrecon.simulate.particles import ParticleSet, project_particles
    >>> rng = np.random.default_rng(1)
    >>> dm = ParticleSet(rng.normal(0, 100, (500, 3)) * u.kpc, 1e10 * u.Msun)
    >>> maps = project_particles(dm=dm, r200=1 * u.Mpc, npix=16, depth=5 * u.Mpc, smoothing_r200=0)
    >>> total = maps["sigma_dm"].sum() * (2 * u.Mpc / 16) ** 2
    >>> round(float(total.to_value(u.Msun) / 5e12), 3)
    1.0
    """
    dm = _check_set(dm, "dm", "dm")
    gas = _check_set(gas, "gas", "gas")
    stars = _check_set(stars, "stars", "stars")
    members = _check_set(members, "members", "stars")
    if dm is None and gas is None and stars is None:
        raise ValueError("give at least one of dm, gas, stars")
    r200_kpc, npix, size_r200 = _frame_values(frame, npix, size_r200, r200)
    smoothing_r200 = float(smoothing_r200)
    if not np.isfinite(smoothing_r200) or smoothing_r200 < 0:
        raise ValueError(f"smoothing_r200 must be finite and >= 0, got {smoothing_r200}")
    if collisionless not in ("cic", "sph"):
        raise ValueError(f"collisionless must be 'cic' or 'sph', got {collisionless!r}")
    depth_kpc = r200_kpc if depth is None else positive_length(depth, "depth")
    c = np.zeros(3) if center is None else as_quantity(center, "center", u.kpc, shape=(3,), positive=False).value
    slab = _Slab(center=c, basis=_basis(los), depth=depth_kpc, npix=npix, r200=r200_kpc, size_r200=size_r200)
    tmin = as_quantity(xray_tmin, "xray_tmin", u.K, positive=False, equivalencies=u.temperature_energy())
    nh_max = as_quantity(xray_nh_max, "xray_nh_max", u.cm**-3, positive=False)

    zero = np.zeros((npix, npix))
    sig_dm = _collisionless_map(dm, slab, collisionless, n_ngb) if dm is not None else zero
    sig_stars = _collisionless_map(stars, slab, collisionless, n_ngb) if stars is not None else zero
    sig_gas, ymap, soft, bol = (zero, zero, zero, zero) if gas is None else _gas_maps(gas, slab, n_ngb, tmin, nh_max)
    maps = {
        "sigma_total": sig_dm + sig_gas + sig_stars,
        "sigma_dm": sig_dm,
        "sigma_gas": sig_gas,
        "sigma_stars": sig_stars,
        "compton_y": ymap,
        "xray_soft": soft,
        "xray_bol": bol,
    }
    if smoothing_r200 > 0:
        maps = _gaussian_smooth(maps, smoothing_r200 * r200_kpc / slab.pix)
    maps["sigma_members"] = zero if members is None else _members_map(members, slab, map_mass_limit)
    return {k: maps[k] * MAP_UNITS[k] for k in MAP_NAMES}
