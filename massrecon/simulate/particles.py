"""Maps from simulation particles.

The analytic mock (`~massrecon.simulate.project_halo`) has a particle counterpart here: a
`ParticleSet` holds dark-matter, gas or star particles (positions and masses, and for gas the
density, temperature or internal energy, electron abundance, metallicity and smoothing
length), `project_particles` builds the same maps as the analytic projection from them, and
`read_gadget_hdf5` reads GADGET-3 / GADGET-X / GIZMO-style HDF5 snapshots (The Three Hundred
and the like).

Conventions:

* Positions are physical (not comoving) and carry length units; maps are in the frame of
  `project_halo`: ``npix`` pixels over ``size_r200`` R200, pixel ``j`` centred at
  ``(j - (npix - 1) / 2)`` pixel widths from the centre, arrays indexed ``[iy, ix]``.
* The viewing basis for a line of sight :math:`\\hat e_z` is built as in
  `~massrecon.simulate.projection_bases`: :math:`\\hat e_x = \\hat r \\times \\hat e_z / |\\cdot|`,
  :math:`\\hat e_y = \\hat e_z \\times \\hat e_x`, with :math:`\\hat r` the z axis unless
  :math:`|e_{z,z}| \\ge 0.9`, then the x axis.
* SPH kernel: the cubic spline M4 (Monaghan & Lattanzio 1985) in the GADGET convention, where the
  smoothing length :math:`H` is the radius of compact support,
  :math:`W(r, H) = \\frac{8}{\\pi H^3} w(r/H)` with :math:`w(q) = 1 - 6q^2 + 6q^3` for
  :math:`q \\le 1/2`, :math:`2(1-q)^3` for :math:`1/2 < q \\le 1`, 0 beyond.  In the notation of
  Price 2012 (JCP 231, 759) :math:`H = 2h`.  Its line-of-sight integral is tabulated once, then
  integrated over each pixel by sub-pixel sampling (see `project_particles`).
"""

import dataclasses
from pathlib import Path

import astropy.constants as const
import astropy.units as u
import numpy as np
from scipy.ndimage import gaussian_filter

from .._deposit import cic_deposit
from .emission import (
    MU,
    MU_E,
    NE_OVER_NH,
    SIGMA_T_OVER_MEC2,
    cooling_function_bolometric,
    cooling_function_soft,
)
from .projection import _MAP_MASS_LIMIT_MSUN, MAP_NAMES, MAP_UNITS, members_map

__all__ = [
    "HYDROGEN_MASS_FRACTION",
    "N_NEIGHBOURS",
    "ParticleSet",
    "project_particles",
    "read_gadget_hdf5",
    "sph_kernel",
    "sph_kernel_projected",
    "temperature_from_internal_energy",
]

#: Hydrogen mass fraction X used with electron abundances (n_e / n_H).
HYDROGEN_MASS_FRACTION = 0.76

#: Neighbour number defining smoothing lengths that are not given:
#: :math:`\frac{4\pi}{3} H^3 \rho = N_{ngb}\, m`.
N_NEIGHBOURS = 32

_GAMMA = 5.0 / 3.0
_KINDS = ("dm", "gas", "stars")
_M_P_MSUN = const.m_p.to_value(u.Msun)
_M_P_G = const.m_p.cgs.value
_KPC_CM = (1 * u.kpc).to_value(u.cm)
_K_B_KEV = const.k_B.to_value(u.keV / u.K)
_MSUN_KPC3_TO_G_CM3 = (1 * u.Msun / u.kpc**3).to_value(u.g / u.cm**3)
_DENSITY_UNIT = u.Msun / u.kpc**3
_ENERGY_UNIT = u.km**2 / u.s**2


# --------------------------------------------------------------------------------------------
# kernel
# --------------------------------------------------------------------------------------------
def sph_kernel(q):
    """Cubic-spline kernel :math:`W` for a unit support radius (GADGET convention), 3D-normalised.

    Parameters
    ----------
    q : array_like
        Distance in units of the smoothing length :math:`H` (the kernel vanishes at ``q >= 1``).

    Returns
    -------
    w : `~numpy.ndarray`
        :math:`H^3 W(qH, H)`; integrates to 1 over the unit ball.

    Examples
    --------
    >>> from massrecon.simulate.particles import sph_kernel
    >>> round(float(sph_kernel(0.0)), 4), float(sph_kernel(1.0))
    (2.5465, 0.0)
    """
    q = np.asarray(q, dtype=float)
    w = np.where(q <= 0.5, 1 - 6 * q**2 + 6 * q**3, 2 * np.clip(1 - q, 0, None) ** 3)
    return 8.0 / np.pi * w


_PROJ_TABLE = None
_NTAB = 4097


def _projected_table():
    """Projected kernel on a uniform grid in q^2 (unit support), normalised to 1 in 2D."""
    global _PROJ_TABLE
    if _PROJ_TABLE is None:
        q2 = np.linspace(0.0, 1.0, _NTAB)
        rr = np.sqrt(q2)
        x, wgl = np.polynomial.legendre.leggauss(48)
        out = np.zeros(_NTAB)
        # split the line of sight at the kink r = 1/2 of the kernel
        zk = np.sqrt(np.clip(0.25 - q2, 0, None))
        zmax = np.sqrt(np.clip(1 - q2, 0, None))
        for lo, hi in ((np.zeros(_NTAB), zk), (zk, zmax)):
            z = 0.5 * (hi - lo)[:, None] * (x + 1)[None, :] + lo[:, None]
            r = np.sqrt(rr[:, None] ** 2 + z**2)
            out += 2 * 0.5 * (hi - lo) * (sph_kernel(r) @ wgl)
        # exact 2D normalisation of the tabulated (piecewise-linear in q^2) kernel
        norm = np.pi * np.sum(0.5 * (out[1:] + out[:-1]) * np.diff(q2))
        _PROJ_TABLE = out / norm
    return _PROJ_TABLE


def sph_kernel_projected(q):
    """Line-of-sight integral of `sph_kernel`, normalised to 1 over the unit disc.

    Parameters
    ----------
    q : array_like
        Projected distance in units of the smoothing length (support radius).

    Returns
    -------
    f : `~numpy.ndarray`
        :math:`H^2 \\int W\\,dl` (0 for ``q >= 1``).

    Examples
    --------
    >>> from massrecon.simulate.particles import sph_kernel_projected
    >>> round(float(sph_kernel_projected(0.0)), 3)
    1.91
    """
    q2 = np.asarray(q, dtype=float) ** 2
    tab = _projected_table()
    return np.interp(q2, np.linspace(0.0, 1.0, _NTAB), tab, right=0.0)


# --------------------------------------------------------------------------------------------
# particle container
# --------------------------------------------------------------------------------------------
def _as_quantity(value, name, unit, n=None, shape=None, positive=True, allow_zero=False, equivalencies=()):
    if not isinstance(value, u.Quantity):
        raise u.UnitsError(f"{name} must be an astropy Quantity with units of {unit.physical_type} "
                           f"(e.g. {unit}), got {type(value).__name__}")
    try:
        out = value.to(unit, equivalencies=list(equivalencies))
    except u.UnitConversionError as exc:
        raise u.UnitsError(f"{name} must have units of {unit.physical_type} (e.g. {unit}), "
                           f"got {value.unit}") from exc
    out = np.array(out.value, dtype=float) * unit
    if n is not None and out.ndim == 0:
        out = np.full(n, out.value) * unit
    _check_values(out.value, name, n, shape, positive, allow_zero)
    return out


def _check_values(arr, name, n, shape, positive, allow_zero):
    if shape is not None and arr.shape != shape:
        raise ValueError(f"{name} must have shape {shape}, got {arr.shape}")
    if shape is None and n is not None and arr.shape != (n,):
        raise ValueError(f"{name} must have length {n} (one value per particle), got shape {arr.shape}")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} must be finite; {int(np.sum(~np.isfinite(arr)))} values are not")
    if positive:
        bad = arr < 0 if allow_zero else arr <= 0
        if np.any(bad):
            raise ValueError(f"{name} must be {'>= 0' if allow_zero else '> 0'}; "
                             f"{int(np.sum(bad))} values are not")


def _as_dimensionless(value, name, n):
    if isinstance(value, u.Quantity):
        try:
            value = value.to_value(u.dimensionless_unscaled)
        except u.UnitConversionError as exc:
            raise u.UnitsError(f"{name} must be dimensionless, got {value.unit}") from exc
    arr = np.array(value, dtype=float)
    if arr.ndim == 0:
        arr = np.full(n, float(arr))
    _check_values(arr, name, n, None, True, True)
    return arr


@dataclasses.dataclass(eq=False)
class ParticleSet:
    """Particles of one kind: dark matter, gas or stars.

    All quantities are physical (no factors of h or of the scale factor), one value per
    particle; a scalar ``masses`` (or electron abundance, metallicity) is broadcast.  Values
    are converted to kpc, Msun, Msun kpc^-3, K and km^2 s^-2 on construction.

    Parameters
    ----------
    positions : `~astropy.units.Quantity`, shape (N, 3)
        Positions (length).
    masses : `~astropy.units.Quantity`, shape (N,) or scalar
        Particle masses (mass), > 0.
    kind : {"dm", "gas", "stars"}
        Particle kind.  Gas needs ``temperature`` or ``internal_energy``.
    density : `~astropy.units.Quantity`, optional
        Gas mass density (mass / length^3).  When absent it is estimated by an SPH sum over
        the `N_NEIGHBOURS` nearest neighbours (see `smoothing_lengths`).
    temperature : `~astropy.units.Quantity`, optional
        Gas temperature, in K or as an energy :math:`kT` (e.g. keV).
    internal_energy : `~astropy.units.Quantity`, optional
        Specific internal energy :math:`u` (e.g. km^2 s^-2), used when ``temperature`` is not
        given: :math:`T = (\\gamma - 1)\\mu m_p u / k_B`, :math:`\\gamma = 5/3`, with
        :math:`\\mu = 4 / (1 + 3X + 4 X x_e)` (X = `HYDROGEN_MASS_FRACTION`) when the electron
        abundance :math:`x_e` is given, else :math:`\\mu` = `~massrecon.simulate.emission.MU`
        (0.59, fully ionised).
    electron_abundance : array_like, optional
        :math:`x_e = n_e / n_H` (GADGET's ``ElectronAbundance``), >= 0.
    metallicity : array_like, optional
        Metal mass fraction, >= 0 (carried along; the analytic cooling functions assume
        Z = 0.3 Zsun).
    smoothing_length : `~astropy.units.Quantity`, optional
        SPH smoothing length :math:`H`, the kernel's radius of compact support (GADGET
        convention).  See `smoothing_lengths` for the default.

    Raises
    ------
    ValueError
        For a missing required field, a wrong shape or length, non-finite or out-of-range
        values, or an unknown ``kind``; the message names the field.
    astropy.units.UnitsError
        For a field without units or with units of the wrong physical type.

    Examples
    --------
    >>> import astropy.units as u
    >>> import numpy as np
    >>> from massrecon.simulate.particles import ParticleSet
    >>> gas = ParticleSet(np.zeros((2, 3)) * u.kpc, 1e8 * u.Msun, kind="gas",
    ...                   density=[1e5, 2e5] * u.Msun / u.kpc**3, temperature=5 * u.keV)
    >>> len(gas), gas.temperature.to(u.K).round(-5)
    (2, <Quantity [58000000., 58000000.] K>)
    """

    positions: u.Quantity
    masses: u.Quantity
    kind: str = "dm"
    density: u.Quantity = None
    temperature: u.Quantity = None
    internal_energy: u.Quantity = None
    electron_abundance: np.ndarray = None
    metallicity: np.ndarray = None
    smoothing_length: u.Quantity = None

    def __post_init__(self):
        if self.kind not in _KINDS:
            raise ValueError(f"kind must be one of {_KINDS}, got {self.kind!r}")
        if self.positions is None:
            raise ValueError("positions is required")
        if self.masses is None:
            raise ValueError("masses is required")
        pos = _as_quantity(self.positions, "positions", u.kpc, positive=False)
        if pos.ndim != 2 or pos.shape[1] != 3:
            raise ValueError(f"positions must have shape (N, 3), got {pos.shape}")
        n = pos.shape[0]
        self.positions = pos
        self.masses = _as_quantity(self.masses, "masses", u.Msun, n=n)
        if self.density is not None:
            self.density = _as_quantity(self.density, "density", _DENSITY_UNIT, n=n)
        if self.smoothing_length is not None:
            self.smoothing_length = _as_quantity(self.smoothing_length, "smoothing_length", u.kpc, n=n)
        if self.electron_abundance is not None:
            self.electron_abundance = _as_dimensionless(self.electron_abundance, "electron_abundance", n)
        if self.metallicity is not None:
            self.metallicity = _as_dimensionless(self.metallicity, "metallicity", n)
        if self.internal_energy is not None:
            self.internal_energy = _as_quantity(self.internal_energy, "internal_energy", _ENERGY_UNIT, n=n)
        if self.temperature is not None:
            self.temperature = _as_quantity(self.temperature, "temperature", u.K, n=n,
                                            equivalencies=u.temperature_energy())
        elif self.internal_energy is not None:
            self.temperature = temperature_from_internal_energy(self.internal_energy, self.electron_abundance)
        if self.kind == "gas" and self.temperature is None:
            raise ValueError("gas particles need 'temperature' or 'internal_energy' (both are missing)")

    def __len__(self):
        return self.positions.shape[0]

    def smoothing_lengths(self, n_ngb=N_NEIGHBOURS):
        """Smoothing lengths :math:`H` (kpc): the given ones, else estimated.

        With a density, :math:`H = [N_{ngb}\\, m / (\\tfrac{4}{3}\\pi\\rho)]^{1/3}` (the
        sphere that holds ``n_ngb`` particle masses, GADGET's definition); without one, the
        distance to the ``n_ngb``-th nearest particle (itself included), from a
        `scipy.spatial.cKDTree`.
        """
        if self.smoothing_length is not None:
            return self.smoothing_length
        m = self.masses.to_value(u.Msun)
        if self.density is not None:
            rho = self.density.to_value(_DENSITY_UNIT)
            return (n_ngb * m / (4.0 / 3.0 * np.pi * rho)) ** (1.0 / 3.0) * u.kpc
        return _knn(self.positions.to_value(u.kpc), m, n_ngb)[0] * u.kpc

    def densities(self, n_ngb=N_NEIGHBOURS):
        """Mass densities (Msun kpc^-3): the given ones, else the SPH estimate
        :math:`\\rho_i = \\sum_j m_j W(r_{ij}, H_i)` over the ``n_ngb`` nearest neighbours."""
        if self.density is not None:
            return self.density
        return _knn(self.positions.to_value(u.kpc), self.masses.to_value(u.Msun), n_ngb)[1] * _DENSITY_UNIT


def _knn(pos, m, n_ngb):
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
    return hs, rho


def temperature_from_internal_energy(internal_energy, electron_abundance=None):
    """Temperature from the specific internal energy, :math:`T = (\\gamma-1)\\mu m_p u / k_B`.

    Parameters
    ----------
    internal_energy : `~astropy.units.Quantity`
        Specific internal energy (e.g. km^2 s^-2).
    electron_abundance : array_like, optional
        :math:`x_e = n_e/n_H`; gives :math:`\\mu = 4/(1 + 3X + 4X x_e)`, else :math:`\\mu = 0.59`.

    Returns
    -------
    temperature : `~astropy.units.Quantity`
        In K.

    Examples
    --------
    >>> import astropy.units as u
    >>> from massrecon.simulate.particles import temperature_from_internal_energy
    >>> temperature_from_internal_energy(1e5 * u.km**2 / u.s**2).round(-3)
    <Quantity 4765000. K>
    """
    if electron_abundance is None:
        mu = MU
    else:
        x = HYDROGEN_MASS_FRACTION
        mu = 4.0 / (1.0 + 3.0 * x + 4.0 * x * np.asarray(electron_abundance, dtype=float))
    return ((_GAMMA - 1.0) * mu * const.m_p * internal_energy / const.k_B).to(u.K)


# --------------------------------------------------------------------------------------------
# deposition
# --------------------------------------------------------------------------------------------
_CHUNK = 2_000_000


def _deposit_sph(npix, fx, fy, hpix, values):
    """SPH deposit integrated over pixels; positions and support radii in pixel units.

    Each particle is sampled on a square lattice of spacing ``1/s`` pixel with ``s`` an
    integer, so that every pixel holds exactly ``s x s`` lattice points whatever the particle's
    sub-pixel position: the binned sum is the midpoint rule for the pixel integral of the
    projected kernel.  ``s = max(1, ceil(4/H))`` keeps at least 8 points across the kernel
    (tiny kernels then fall in one pixel, the exact limit) and at least 1 per pixel for large
    ones.  The weights of each particle are normalised to 1 before the points outside the map
    are dropped, so a particle's whole mass lands in the map when its kernel lies inside it.
    """
    nf = values.shape[0]
    out = np.zeros((nf, npix * npix + 1))
    # only kernels that overlap the map
    hpix = np.maximum(hpix, 1e-3)
    lo, hi = -0.5, npix - 0.5
    sel = (fx + hpix >= lo) & (fx - hpix <= hi) & (fy + hpix >= lo) & (fy - hpix <= hi)
    if not np.all(sel):
        fx, fy, hpix, values = fx[sel], fy[sel], hpix[sel], values[:, sel]
    # float32 weights: rescale each field so that its values are O(1)
    vscale = np.max(np.abs(values), axis=1) if values.shape[1] else np.ones(nf)
    vscale = np.where(vscale > 0, vscale, 1.0)
    values32 = (values / vscale[:, None]).astype(np.float32)
    s = np.maximum(1.0, np.ceil(4.0 / hpix))
    nside = np.ceil(2.0 * hpix * s - 1e-9).astype(np.int64)
    nside += nside % 2  # even: a symmetric lattice
    tab = _projected_table().astype(np.float32)
    scale = np.float32(_NTAB - 1)
    order = np.argsort(nside, kind="stable")
    ns_sorted = nside[order]
    bounds = np.flatnonzero(np.diff(ns_sorted)) + 1
    for grp in np.split(order, bounds):
        if grp.size == 0:
            continue
        n = int(nside[grp[0]])
        o = (np.arange(n) + 0.5 - n / 2.0).astype(np.float32)
        o2 = o[:, None] ** 2 + o[None, :] ** 2  # (n, n) lattice units
        step = max(1, _CHUNK // (n * n))
        for c0 in range(0, grp.size, step):
            sel = grp[c0:c0 + step]
            delta = (1.0 / s[sel]).astype(np.float32)
            c2 = (delta / hpix[sel].astype(np.float32)) ** 2  # (lattice step / H)^2
            pos = np.minimum(o2[None, :, :] * c2[:, None, None], np.float32(1.0)) * scale
            i0 = pos.astype(np.int32)
            np.minimum(i0, _NTAB - 2, out=i0)
            t = pos - i0
            w = tab[i0]
            w += t * (tab[i0 + 1] - w)
            w /= w.sum(axis=(1, 2), keepdims=True)
            ix = np.floor(fx[sel, None] + o[None, :] * delta[:, None] + 0.5).astype(np.int64)
            iy = np.floor(fy[sel, None] + o[None, :] * delta[:, None] + 0.5).astype(np.int64)
            okx = (ix >= 0) & (ix < npix)
            oky = (iy >= 0) & (iy < npix)
            flat = iy[:, :, None] * npix + ix[:, None, :]
            flat = np.where(oky[:, :, None] & okx[:, None, :], flat, npix * npix).ravel()
            for k in range(nf):
                wk = (w * values32[k, sel, None, None]).ravel()
                out[k] += np.bincount(flat, weights=wk, minlength=npix * npix + 1)
    return out[:, :-1] * vscale[:, None]


# --------------------------------------------------------------------------------------------
# projection
# --------------------------------------------------------------------------------------------
def _basis(los):
    los = np.asarray(los, dtype=float)
    if los.shape != (3,) or not np.all(np.isfinite(los)) or np.linalg.norm(los) == 0:
        raise ValueError(f"los must be a finite, non-zero 3-vector, got {los!r}")
    ez = los / np.linalg.norm(los)
    ref = np.array([0.0, 0.0, 1.0]) if abs(ez[2]) < 0.9 else np.array([1.0, 0.0, 0.0])
    ex = np.cross(ref, ez)
    ex /= np.linalg.norm(ex)
    ey = np.cross(ez, ex)
    return np.stack([ex, ey, ez])


def _check_set(ps, name, kind):
    if ps is None:
        return None
    if not isinstance(ps, ParticleSet):
        raise TypeError(f"{name} must be a ParticleSet, got {type(ps).__name__}")
    if ps.kind != kind:
        raise ValueError(f"{name} must be a ParticleSet of kind {kind!r}, got kind {ps.kind!r}")
    return ps


def _positive_length(value, name):
    q = _as_quantity(value, name, u.kpc)
    if q.ndim != 0:
        raise ValueError(f"{name} must be a scalar Quantity, got shape {q.shape}")
    return float(q.value)


def project_particles(frame=None, *, dm=None, gas=None, stars=None, members=None, center=None,
                      los=(0.0, 0.0, 1.0), depth=None, npix=None, size_r200=None, r200=None,
                      smoothing_r200=0.01, collisionless="cic", n_ngb=N_NEIGHBOURS,
                      xray_tmin=1e6 * u.K, xray_nh_max=0.1 * u.cm**-3,
                      map_mass_limit=_MAP_MASS_LIMIT_MSUN):
    """Project simulation particles onto the cluster frame: the maps of `project_halo`.

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
        Pixels across and width in R200 (default: the frame's, else 80 and 2).
    r200 : `~astropy.units.Quantity`, optional
        :math:`R_{200c}` (physical length), when no frame is given.
    smoothing_r200 : float
        FWHM of a final Gaussian smoothing in R200 as in `project_halo` (0: none).
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
    if frame is not None:
        if r200 is not None:
            raise ValueError("give r200 or a frame, not both")
        r200_kpc = float(frame.r200.to_value(u.kpc))
        npix = frame.npix if npix is None else npix
        size_r200 = frame.size_r200 if size_r200 is None else size_r200
    else:
        if r200 is None:
            raise ValueError("r200 is required when no frame is given")
        r200_kpc = _positive_length(r200, "r200")
    npix = 80 if npix is None else npix
    size_r200 = 2.0 if size_r200 is None else float(size_r200)
    if isinstance(npix, bool) or not isinstance(npix, (int, np.integer)) or npix < 1:
        raise ValueError(f"npix must be a positive integer, got {npix!r}")
    npix = int(npix)
    if not np.isfinite(size_r200) or size_r200 <= 0:
        raise ValueError(f"size_r200 must be finite and > 0, got {size_r200}")
    smoothing_r200 = float(smoothing_r200)
    if not np.isfinite(smoothing_r200) or smoothing_r200 < 0:
        raise ValueError(f"smoothing_r200 must be finite and >= 0, got {smoothing_r200}")
    if collisionless not in ("cic", "sph"):
        raise ValueError(f"collisionless must be 'cic' or 'sph', got {collisionless!r}")
    depth_kpc = r200_kpc if depth is None else _positive_length(depth, "depth")
    if center is None:
        c = np.zeros(3)
    else:
        c = _as_quantity(center, "center", u.kpc, shape=(3,), positive=False).value
    basis = _basis(los)
    tmin = _as_quantity(xray_tmin, "xray_tmin", u.K, positive=False, equivalencies=u.temperature_energy())
    nh_max = _as_quantity(xray_nh_max, "xray_nh_max", u.cm**-3, positive=False)

    width = size_r200 * r200_kpc
    pix = width / npix
    area = pix * pix

    def view(ps):
        p = (ps.positions.to_value(u.kpc) - c) @ basis.T
        keep = np.abs(p[:, 2]) <= depth_kpc
        fx = p[:, 0] / pix + (npix - 1) / 2.0
        fy = p[:, 1] / pix + (npix - 1) / 2.0
        return keep, fx, fy

    def collisionless_map(ps):
        keep, fx, fy = view(ps)
        m = ps.masses.to_value(u.Msun)[keep][None, :]
        if collisionless == "cic":
            img = cic_deposit(npix, fx[keep], fy[keep], m).reshape(1, -1)
        else:
            hs = ps.smoothing_lengths(n_ngb).to_value(u.kpc)[keep]
            img = _deposit_sph(npix, fx[keep], fy[keep], hs / pix, m)
        return img[0].reshape(npix, npix) / area

    zero = np.zeros((npix, npix))
    sig_dm = collisionless_map(dm) if dm is not None else zero
    sig_stars = collisionless_map(stars) if stars is not None else zero
    sig_gas, ymap, soft, bol = zero, zero, zero, zero
    if gas is not None:
        keep, fx, fy = view(gas)
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
        values = [m, y_area]
        if np.any(keep):
            rho = gas.densities(n_ngb).to_value(_DENSITY_UNIT)
            n_e = n_e_per_msun * rho / _KPC_CM**3  # cm^-3
            n_h = n_e * nh_over_ne
            hot = (gas.temperature.to_value(u.K) >= tmin.value) & (n_h <= nh_max.value)
            base = np.where(hot, n_elec * n_h, 0.0)
            values += [base * cooling_function_soft(kt), base * cooling_function_bolometric(kt)]
            hs = gas.smoothing_lengths(n_ngb).to_value(u.kpc)
            vals = np.stack(values)[:, keep]
            img = _deposit_sph(npix, fx[keep], fy[keep], hs[keep] / pix, vals) / area
            sig_gas, ymap, soft, bol = img.reshape(4, npix, npix)

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
        sigma_pix = smoothing_r200 * r200_kpc / pix / (2 * np.sqrt(2 * np.log(2)))
        maps = {k: gaussian_filter(v, sigma_pix, mode="nearest") for k, v in maps.items()}
    maps["sigma_members"] = zero
    if members is not None:
        keep, fx, fy = view(members)
        x = (fx - (npix - 1) / 2.0) * pix
        y = (fy - (npix - 1) / 2.0) * pix
        keep &= (np.abs(x) <= width / 2) & (np.abs(y) <= width / 2)
        maps["sigma_members"] = members_map(x[keep], y[keep], members.masses.to_value(u.Msun)[keep], npix,
                                            pix, r200_kpc, mass_limit=map_mass_limit)
    return {k: maps[k] * MAP_UNITS[k] for k in MAP_NAMES}


# --------------------------------------------------------------------------------------------
# GADGET / GIZMO HDF5 snapshots
# --------------------------------------------------------------------------------------------
_PART_TYPES = {"gas": 0, "dm": 1, "stars": 4}
_DEFAULT_UNITS = dict(length=u.kpc, mass=1e10 * u.Msun, velocity=u.km / u.s)


def _unit_scale(value, name, physical):
    q = value if isinstance(value, u.Quantity) else (1.0 * value if isinstance(value, u.UnitBase) else None)
    if q is None or q.unit.physical_type != physical:
        raise ValueError(f"units[{name!r}] must be an astropy unit or Quantity of {physical}, got {value!r}")
    return q


def read_gadget_hdf5(path, *, center=None, radius=None, h=None, a=None, units=None, kinds=_KINDS):
    """Read a GADGET-3 / GADGET-X / GIZMO-style HDF5 snapshot into `ParticleSet` objects.

    Groups ``PartType0`` (gas: ``Coordinates``, ``Masses``, ``Density``, ``InternalEnergy``,
    optional ``ElectronAbundance``, ``Metallicity`` and ``SmoothingLength``), ``PartType1``
    (dark matter) and ``PartType4`` (stars) are read; masses come from the header's
    ``MassTable`` where a group has no ``Masses``.  A 2D ``Metallicity`` (GIZMO: total first)
    contributes its first column.

    Code units are comoving ``length``/h, ``mass``/h and ``velocity`` (GADGET: kpc/h,
    1e10 Msun/h, km/s; the internal energy is in velocity^2); they are converted to physical
    units with the scale factor ``a`` and ``h``: positions and smoothing lengths times a/h,
    masses times 1/h, densities times h^2/a^3.

    Parameters
    ----------
    path : str, `~pathlib.Path` or list of them
        Snapshot file(s); the particles of several files (a multi-file snapshot) are
        concatenated.
    center : array_like or `~astropy.units.Quantity`, shape (3,), optional
        Centre of the region to keep: a Quantity is physical, plain numbers are in code units
        (comoving length/h, as in halo catalogues).  With a ``BoxSize`` in the header,
        positions are wrapped periodically to the nearest image of the centre.
    radius : array_like or `~astropy.units.Quantity`, optional
        Keep particles within this distance of ``center`` (same unit rules as ``center``).
    h, a : float, optional
        Hubble parameter and scale factor; default the header's ``HubbleParam`` and ``Time``
        (or ``1 / (1 + Redshift)``).
    units : dict, optional
        Code units, keys ``length``, ``mass``, ``velocity`` (astropy units or Quantities),
        without the factors of h; defaults as in GADGET.
    kinds : sequence of str
        Kinds to read, among ``"dm"``, ``"gas"``, ``"stars"``.

    Returns
    -------
    particles : dict
        Kind -> `ParticleSet` for each kind present in the snapshot, physical units.  The
        dict also holds ``"header"``: ``redshift``, ``a``, ``h``, ``box_size`` and ``center``
        (physical kpc; the centre to pass to `project_particles`, None without one).

    Raises
    ------
    ValueError
        For a missing dataset (named as ``PartType0/Density``), mismatched lengths, or bad
        ``center``, ``radius`` or ``units``.

    Examples
    --------
    >>> from massrecon.simulate.particles import read_gadget_hdf5
    >>> read_gadget_hdf5("missing.hdf5")  # doctest: +IGNORE_EXCEPTION_DETAIL
    Traceback (most recent call last):
    FileNotFoundError: missing.hdf5
    """
    import h5py

    units = dict(_DEFAULT_UNITS, **(units or {}))
    unknown = set(units) - set(_DEFAULT_UNITS)
    if unknown:
        raise ValueError(f"units has unknown keys {sorted(unknown)}; use length, mass, velocity")
    lu = _unit_scale(units["length"], "length", "length")
    mu_ = _unit_scale(units["mass"], "mass", "mass")
    vu = _unit_scale(units["velocity"], "velocity", "speed")
    for k in kinds:
        if k not in _KINDS:
            raise ValueError(f"kinds must be among {_KINDS}, got {k!r}")
    paths = [path] if isinstance(path, (str, Path)) else list(path)
    if not paths:
        raise ValueError("path: no files given")
    for p in paths:
        if not Path(p).is_file():
            raise FileNotFoundError(str(p))

    raw = {k: {} for k in kinds}
    header = None
    for p in paths:
        with h5py.File(p, "r") as f:
            if "Header" not in f:
                raise ValueError(f"{p}: no Header group; not a GADGET-style HDF5 snapshot")
            attrs = dict(f["Header"].attrs)
            if header is None:
                header = attrs
            mtab = np.atleast_1d(np.asarray(attrs.get("MassTable", np.zeros(6)), dtype=float))
            for kind in kinds:
                t = _PART_TYPES[kind]
                grp_name = f"PartType{t}"
                if grp_name not in f:
                    continue
                g = f[grp_name]
                d = raw[kind]
                fields = _read_group(g, kind, grp_name, mtab[t] if t < mtab.size else 0.0)
                for key, val in fields.items():
                    d.setdefault(key, []).append(val)

    redshift = float(np.asarray(header.get("Redshift", np.nan)))
    if a is None:
        if "Time" in header:
            a = float(np.asarray(header["Time"]))
        elif np.isfinite(redshift):
            a = 1.0 / (1.0 + redshift)
        else:
            raise ValueError("a is not given and the header has neither Time nor Redshift")
    if h is None:
        if "HubbleParam" not in header:
            raise ValueError("h is not given and the header has no HubbleParam")
        h = float(np.asarray(header["HubbleParam"]))
    a, h = float(a), float(h)
    if not (np.isfinite(a) and a > 0):
        raise ValueError(f"a must be finite and > 0, got {a}")
    if not (np.isfinite(h) and h > 0):
        raise ValueError(f"h must be finite and > 0, got {h}")
    box = float(np.asarray(header.get("BoxSize", 0.0)))

    len_kpc = lu.to_value(u.kpc) * a / h  # code length -> physical kpc
    mass_msun = mu_.to_value(u.Msun) / h
    rho_conv = mass_msun / len_kpc**3
    u_conv = vu.to_value(u.km / u.s) ** 2

    def code_length(value, name, shape):
        if isinstance(value, u.Quantity):
            q = _as_quantity(value, name, u.kpc, shape=shape, positive=False)
            return q.value / len_kpc
        arr = np.array(value, dtype=float)
        _check_values(arr, name, None, shape, False, False)
        return arr

    c_code = None if center is None else code_length(center, "center", (3,))
    r_code = None if radius is None else code_length(radius, "radius", ())
    if r_code is not None and c_code is None:
        raise ValueError("radius needs a center")
    if r_code is not None and r_code <= 0:
        raise ValueError(f"radius must be > 0, got {radius}")

    out = {}
    for kind in kinds:
        d = raw[kind]
        if not d:
            continue
        cols = {k: np.concatenate(v) for k, v in d.items()}
        pos = cols["Coordinates"]
        if c_code is not None:
            dx = pos - c_code
            if box > 0:
                dx = (dx + 0.5 * box) % box - 0.5 * box
            pos = c_code + dx
            if r_code is not None:
                sel = np.einsum("ij,ij->i", dx, dx) <= r_code**2
                cols = {k: v[sel] for k, v in cols.items()}
                pos = pos[sel]
        kw = dict(kind=kind)
        if kind == "gas":
            kw["density"] = cols["Density"] * rho_conv * _DENSITY_UNIT
            kw["internal_energy"] = cols["InternalEnergy"] * u_conv * _ENERGY_UNIT
            if "ElectronAbundance" in cols:
                kw["electron_abundance"] = cols["ElectronAbundance"]
            if "Metallicity" in cols:
                kw["metallicity"] = cols["Metallicity"]
            if "SmoothingLength" in cols:
                kw["smoothing_length"] = cols["SmoothingLength"] * len_kpc * u.kpc
        out[kind] = ParticleSet(pos * len_kpc * u.kpc, cols["Masses"] * mass_msun * u.Msun, **kw)
    out["header"] = dict(redshift=redshift, a=a, h=h, box_size=box * len_kpc * u.kpc,
                         center=None if c_code is None else c_code * len_kpc * u.kpc)
    return out


def _read_group(g, kind, grp_name, table_mass):
    def need(name):
        if name not in g:
            raise ValueError(f"{grp_name}/{name} is missing from the snapshot")
        return np.asarray(g[name][...], dtype=float)

    pos = need("Coordinates")
    if pos.ndim != 2 or pos.shape[1] != 3:
        raise ValueError(f"{grp_name}/Coordinates must have shape (N, 3), got {pos.shape}")
    n = pos.shape[0]
    fields = {"Coordinates": pos}
    if "Masses" in g:
        fields["Masses"] = need("Masses")
    elif table_mass > 0:
        fields["Masses"] = np.full(n, table_mass)
    else:
        raise ValueError(f"{grp_name}/Masses is missing and the header MassTable entry is 0")
    if kind == "gas":
        fields["Density"] = need("Density")
        fields["InternalEnergy"] = need("InternalEnergy")
        for name in ("ElectronAbundance", "Metallicity"):
            if name in g:
                fields[name] = need(name)
        for name in ("SmoothingLength", "Hsml"):
            if name in g:
                fields["SmoothingLength"] = need(name)
                break
        if "Metallicity" in fields and fields["Metallicity"].ndim == 2:
            fields["Metallicity"] = fields["Metallicity"][:, 0]
    for name, val in fields.items():
        if val.shape[0] != n:
            raise ValueError(f"{grp_name}/{name} has {val.shape[0]} entries but "
                             f"{grp_name}/Coordinates has {n}")
    return fields
