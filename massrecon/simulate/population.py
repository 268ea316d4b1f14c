"""The halo population of the mock universe.

`sample_halo` draws a halo's properties (`HaloProperties`) in named steps: mass and redshift,
the host's structure, its gas and stars, subhalos and orphan galaxies, a merging companion.
`projection_bases` gives the fixed lines of sight.  The physics variants live in
`massrecon.simulate.physics_models` and the configuration in `massrecon.simulate.config`; both
are importable from here as before.

Each halo is drawn from its own random stream, ``numpy.random.SeedSequence([seed, halo_id])``,
so a halo's properties depend only on the seed and its id: shards of a run, or a resumed run,
produce exactly the halos of a single uninterrupted run.
"""

import dataclasses

import astropy.units as u
import numpy as np
from astropy.cosmology import Planck18
from scipy.special import ndtri

from ..halo import (
    _colossus_cosmology,
    concentration_200c,
    m500c_from_m200c,
    nfw_enclosed_mass_shape,
    radius_from_mass,
)
from .config import SimulationConfig
from .dark_matter import (
    random_rotation,
    sample_axis_ratios,
    sample_subhalo_masses,
    sample_subhalo_radii,
    tidal_radius,
)
from .gas import gas_fraction_500
from .physics_models import PHYSICS_MODELS, PhysicsModel, get_physics
from .stars import bcg_stellar_mass, moster13_stellar_mass

__all__ = ["PhysicsModel", "PHYSICS_MODELS", "get_physics", "SimulationConfig", "HaloProperties",
           "sample_halo", "projection_bases", "viewing_basis"]


@dataclasses.dataclass
class HaloProperties:
    """Everything drawn for one mock halo (masses in Msun, lengths in kpc, physical)."""

    halo_id: int
    z: float
    m200: float
    r200: float
    c200: float
    m500: float
    r500: float
    q: float
    s: float
    rotation: np.ndarray
    q_gas: float
    s_gas: float
    relaxedness: float
    cool_core: bool
    f_gas500: float
    pressure_factor: float
    m_bcg: float
    icl_fraction: float
    # subhalos: arrays (n,) masses, (n, 3) positions [kpc], tidal radii, scale radii, stellar masses;
    # orphan galaxies are entries with zero subhalo mass (sub_orphan True)
    sub_mass: np.ndarray
    sub_pos: np.ndarray
    sub_rt: np.ndarray
    sub_rs: np.ndarray
    sub_mstar: np.ndarray
    sub_vel: np.ndarray
    sub_orphan: np.ndarray
    merger: bool
    comp_mass: float
    comp_c200: float
    comp_pos: np.ndarray
    comp_gas_offset: np.ndarray
    bcg_offset: np.ndarray
    seed_entropy: int

    @property
    def dynamical_chi(self):
        """Dynamical-state indicator of de Andres et al. 2024 (their eq. 1; Haggar et al. 2020).

        :math:`\\chi = \\sqrt{2 / [(\\Delta/0.1)^2 + (f_s/0.1)^2]}` with the centre-of-mass offset
        :math:`\\Delta` (units of R200) and the substructure mass fraction :math:`f_s` inside R200;
        relaxed halos have :math:`\\chi > 1`.
        """
        fs, delta = self.substructure_fraction, self.centre_offset
        return float(np.sqrt(2.0 / ((delta / 0.1) ** 2 + (fs / 0.1) ** 2)))

    @property
    def substructure_fraction(self):
        inside = np.linalg.norm(self.sub_pos, axis=1) < self.r200 if len(self.sub_mass) else []
        mass = float(np.sum(self.sub_mass[inside])) if len(self.sub_mass) else 0.0
        if self.merger and np.linalg.norm(self.comp_pos) < self.r200:
            mass += self.comp_mass
        return max(mass / self.m200, 1e-4)

    @property
    def centre_offset(self):
        num = np.zeros(3)
        if len(self.sub_mass):
            inside = np.linalg.norm(self.sub_pos, axis=1) < self.r200
            num += (self.sub_mass[inside, None] * self.sub_pos[inside]).sum(axis=0)
        if self.merger and np.linalg.norm(self.comp_pos) < self.r200:
            num += self.comp_mass * self.comp_pos
        return max(float(np.linalg.norm(num) / self.m200 / self.r200), 1e-4)


_MF_CACHE = {}


def _mass_function_sampler(config, cosmology):
    key = (config.log_m200_range, config.z_range, id(cosmology))
    if key not in _MF_CACHE:
        from colossus.lss import mass_function

        _colossus_cosmology(cosmology)  # make the colossus cosmology current
        lm = np.linspace(*config.log_m200_range, 200)
        zs = np.linspace(*config.z_range, 12)
        # dn/dlnM per comoving volume, times dV/dz: number of halos per (lnM, z) cell
        w = np.empty((zs.size, lm.size))
        for i, zi in enumerate(zs):
            dndlnm = mass_function.massFunction(10**lm, zi, mdef="200c", model="tinker08",
                                                q_out="dndlnM")
            dvdz = cosmology.differential_comoving_volume(zi).value if zi > 0 else 0.0
            w[i] = dndlnm * dvdz
        w = np.nan_to_num(w)
        cdf = np.cumsum(w.ravel())
        cdf /= cdf[-1]
        _MF_CACHE[key] = (cdf, lm, zs, None)
    return _MF_CACHE[key]


def _fibonacci_hemisphere(n):
    i = np.arange(n) + 0.5
    cos_t = 1 - i / n  # z in (0, 1]: one hemisphere (opposite views are mirror images)
    phi = np.pi * (1 + 5**0.5) * i
    sin_t = np.sqrt(1 - cos_t**2)
    return np.stack([sin_t * np.cos(phi), sin_t * np.sin(phi), cos_t], axis=1)


def projection_bases(n):
    """``n`` fixed viewing bases ``(e_x, e_y, e_los)`` spread over a hemisphere (shape (n, 3, 3)).

    Row ``k`` of ``bases[i]`` is the world-frame direction of observer axis ``k``; like the 29
    fixed lines of sight of The Three Hundred maps, they are the same for every halo (whose
    orientation is random).
    """
    los = _fibonacci_hemisphere(n)
    out = np.empty((n, 3, 3))
    for i, ez in enumerate(los):
        out[i] = viewing_basis(ez)
    return out


def viewing_basis(ez):
    """The viewing basis ``(e_x, e_y, e_los)`` (rows) of the unit line of sight ``ez``.

    :math:`\\hat e_x = \\hat r \\times \\hat e_z / |\\cdot|`, :math:`\\hat e_y = \\hat e_z \\times \\hat e_x`,
    with :math:`\\hat r` the z axis unless :math:`|e_{z,z}| \\ge 0.9`, then the x axis.

    Examples
    --------
    >>> from massrecon.simulate.population import viewing_basis
    >>> import numpy as np
    >>> viewing_basis(np.array([1.0, 0.0, 0.0]))
    array([[0., 1., 0.],
           [0., 0., 1.],
           [1., 0., 0.]])
    """
    ref = np.array([0.0, 0.0, 1.0]) if abs(ez[2]) < 0.9 else np.array([1.0, 0.0, 0.0])
    ex = np.cross(ref, ez)
    ex /= np.linalg.norm(ex)
    ey = np.cross(ez, ex)
    return np.stack([ex, ey, ez])


@dataclasses.dataclass
class _Host:
    """The host's mass, size, concentration and shape: what its satellites are drawn around."""

    z: float
    m200: float
    r200: float
    c200: float
    m500: float
    r500: float
    q: float
    s: float
    rotation: np.ndarray

    @property
    def axes(self):
        """Semi-axes of the host's ellipsoid (``abc = 1``) in the halo frame."""
        a_ax = (self.q * self.s) ** (-1.0 / 3.0)
        return np.array([a_ax, self.q * a_ax, self.s * a_ax])


@dataclasses.dataclass
class _Satellites:
    """Subhalos and orphan galaxies (orphans have zero subhalo mass and tidal radius)."""

    mass: np.ndarray
    pos: np.ndarray
    rt: np.ndarray
    rs: np.ndarray
    mstar: np.ndarray
    vel: np.ndarray
    orphan: np.ndarray
    #: mass at infall (Msun), before tidal stripping
    infall_mass: np.ndarray

    def __add__(self, other):
        return _Satellites(*(np.concatenate([a, b]) for a, b in
                             zip(dataclasses.astuple(self), dataclasses.astuple(other))))


@dataclasses.dataclass
class _Companion:
    """The merging companion (zero mass without a merger)."""

    mass: float = 0.0
    c200: float = 0.0
    pos: np.ndarray = dataclasses.field(default_factory=lambda: np.zeros(3))
    gas_offset: np.ndarray = dataclasses.field(default_factory=lambda: np.zeros(3))


def _draw_mass_redshift(rng, config, cosmology):
    """``log10 M200`` (h^-1 Msun) and the redshift: flat, or from the mass function."""
    if config.mass_sampling == "flat":
        log_m = rng.uniform(*config.log_m200_range)
        z = rng.uniform(*config.z_range)
        return log_m, z
    cdf, lm, zs, _ = _mass_function_sampler(config, cosmology)
    k = int(np.searchsorted(cdf, rng.uniform()))
    iz, im = divmod(min(k, cdf.size - 1), lm.size)
    log_m = lm[im] + rng.uniform(-0.5, 0.5) * (lm[1] - lm[0])
    z = float(np.clip(zs[iz] + rng.uniform(-0.5, 0.5) * (zs[1] - zs[0]), *config.z_range))
    return log_m, z


def _draw_host(rng, m200, z, relax, config, cosmology):
    """Concentration, M500, radii, axis ratios and orientation of the host."""
    h = cosmology.h
    # Concentration: c-M median with the peak height capped at nu = 4, where diemer19 turns up
    # (physics.md; such halos hardly exist), then log-normal scatter correlated with the
    # dynamical state (relaxed halos are more concentrated; Neto et al. 2007).
    _colossus_cosmology(cosmology)  # make the colossus cosmology current
    from colossus.lss import peaks

    m_cap = peaks.massFromPeakHeight(4.0, z) / h
    c_med = concentration_200c(min(m200, m_cap) * u.Msun, z, cosmology, config.cm_relation)
    zc = ndtri(np.clip(relax, 1e-6, 1 - 1e-6))
    c200 = float(c_med * 10 ** (config.cm_scatter_dex * (0.5 * zc + np.sqrt(0.75) * rng.normal())))
    c200 = float(np.clip(c200, 1.5, 15.0))
    m500q, _ = m500c_from_m200c(m200 * u.Msun, z, cosmology, c200=c200)
    m500 = float(m500q.to_value(u.Msun))
    r200 = float(radius_from_mass(m200 * u.Msun, 200, z, cosmology).value)
    r500 = float(radius_from_mass(m500 * u.Msun, 500, z, cosmology).value)
    # Shape and orientation.
    mstar_nl = peaks.massFromPeakHeight(1.0, z) / h
    q, s = sample_axis_ratios(rng, m200 / mstar_nl, float(cosmology.Om(z)))
    rot = random_rotation(rng)
    return _Host(z=z, m200=m200, r200=r200, c200=c200, m500=m500, r500=r500, q=q, s=s, rotation=rot)


def _velocity_dispersion(m200, z, cosmology):
    """Dark-matter velocity dispersion (km/s) of Evrard et al. 2008 (ApJ 672, 122, eq. 6):
    sigma = 1082.9 km/s [h(z) M200 / 1e15 Msun]^0.3361."""
    hz = cosmology.H(z).value / 100.0
    return 1082.9 * (hz * m200 / 1e15) ** 0.3361


def _draw_subhalos(rng, host, relax, phys, config, cosmology):
    """Surviving subhalos: masses, positions, tidal and scale radii, stellar masses, velocities."""
    m200, r200, z = host.m200, host.r200, host.z
    # Giocoli+10 mass function on m/M200 down to 1e-4, or to the mass that hosts a galaxy above
    # the member limit, whichever is larger: more substructure in unrelaxed halos.
    xmin = max(1e-4, 3e10 / m200)
    norm = phys.subhalo_norm * (1.5 - relax)
    x_sub = sample_subhalo_masses(rng, m200 * cosmology.h, xmin, z, norm) if xmin < 0.5 else np.zeros(0)
    n_sub = x_sub.size
    r_sub = sample_subhalo_radii(rng, n_sub, host.c200) * r200
    dirs = rng.normal(size=(n_sub, 3))
    dirs /= np.linalg.norm(dirs, axis=1, keepdims=True) + 1e-300
    # follow the host's triaxial shape (abc = 1 axes) in the host frame, then rotate
    pos = (dirs * r_sub[:, None] * host.axes[None, :]) @ host.rotation.T
    m_sub = x_sub * m200
    rt = tidal_radius(np.maximum(np.linalg.norm(pos, axis=1), 1e-3 * r200), m_sub, m200, r200, host.c200)
    # Subhalo scale radius from its infall mass and the c-M relation; stripping has removed
    # mass outside r_t (more inside the host core): m_infall = m / f_bound,
    # f_bound = 0.1 + 0.6 r/R200 (an engineering fit to the stripping in Gao et al. 2004, whose
    # subhalos near the centre keep ~10% of their infall mass).
    f_bound = np.clip(0.1 + 0.6 * np.linalg.norm(pos, axis=1) / r200, 0.1, 0.8)
    m_inf = m_sub / f_bound
    if n_sub:
        c_sub = concentration_200c(m_inf * u.Msun, z, cosmology, config.cm_relation) * 1.3
        r200_sub = radius_from_mass(m_inf * u.Msun, 200, z, cosmology).value
        rs_sub = r200_sub / c_sub
        mstar_sub = (phys.stellar_scale * moster13_stellar_mass(m_inf, z)
                     * 10 ** (0.15 * rng.normal(size=n_sub)))
    else:
        rs_sub = np.zeros(0)
        mstar_sub = np.zeros(0)
    # Velocities: isotropic Gaussian with the host's dark-matter dispersion.
    vel = rng.normal(scale=_velocity_dispersion(m200, z, cosmology), size=(n_sub, 3))
    return _Satellites(mass=m_sub, pos=pos, rt=rt, rs=rs_sub, mstar=mstar_sub, vel=vel,
                       orphan=np.zeros(n_sub, dtype=bool), infall_mass=m_inf)


def _draw_orphans(rng, host, subhalos, phys, cosmology):
    """Orphan galaxies: satellites whose subhalos were tidally disrupted keep their stars (e.g.
    Guo et al. 2011, MNRAS 413, 101; Pujol et al. 2017); they follow the host's mass more closely
    than surviving subhalos.  Their infall masses are drawn from those of the subhalos.  None
    (nothing drawn) without subhalos or when the Poisson draw is zero."""
    n_sub = subhalos.mass.size
    n_orph = int(rng.poisson(phys.orphan_ratio * n_sub)) if n_sub else 0
    if not n_orph:
        return None
    z, r200 = host.z, host.r200
    mi = rng.choice(subhalos.infall_mass, size=n_orph)
    ms_o = phys.stellar_scale * moster13_stellar_mass(mi, z) * 10 ** (0.15 * rng.normal(size=n_orph))
    # radii from the host's NFW enclosed mass (NFW 1997), by inverse transform
    xg = np.linspace(1e-3, 1.0, 400)
    cdf = nfw_enclosed_mass_shape(host.c200 * xg)
    r_o = np.interp(rng.uniform(size=n_orph), cdf / cdf[-1], xg) * r200
    d_o = rng.normal(size=(n_orph, 3))
    d_o /= np.linalg.norm(d_o, axis=1, keepdims=True) + 1e-300
    pos = (d_o * r_o[:, None] * host.axes[None, :]) @ host.rotation.T
    vel = rng.normal(scale=_velocity_dispersion(host.m200, z, cosmology), size=(n_orph, 3))
    return _Satellites(mass=np.zeros(n_orph), pos=pos, rt=np.zeros(n_orph), rs=np.full(n_orph, 1.0), mstar=ms_o,
                       vel=vel, orphan=np.ones(n_orph, dtype=bool), infall_mass=mi)


def _draw_companion(rng, host, config, cosmology):
    """A merging companion of 10-50% of the host's mass at 0.5-1.5 R200."""
    mu = rng.uniform(0.1, 0.5)
    comp_mass = mu * host.m200
    comp_c = float(concentration_200c(comp_mass * u.Msun, host.z, cosmology, config.cm_relation))
    d = rng.uniform(0.5, 1.5) * host.r200
    axis = rng.normal(size=3)
    axis /= np.linalg.norm(axis)
    # gas lags behind its dark matter, towards the main halo after the first passage
    return _Companion(mass=comp_mass, c200=comp_c, pos=axis * d, gas_offset=-axis * rng.uniform(50.0, 300.0))


def sample_halo(halo_id, config, cosmology=None):
    """Draw the properties of halo ``halo_id`` of a mock universe.

    Parameters
    ----------
    halo_id : int
        Index of the halo; with ``config.seed`` it fixes the random stream.
    config : `SimulationConfig`
    cosmology : `~astropy.cosmology.Cosmology`, optional
        Defaults to `~astropy.cosmology.Planck18`.

    Returns
    -------
    halo : `HaloProperties`

    Examples
    --------
    >>> from massrecon.simulate import SimulationConfig, sample_halo
    >>> halo = sample_halo(0, SimulationConfig(seed=1))
    >>> halo.halo_id, 0.3 <= halo.s <= halo.q <= 1
    (0, True)
    """
    cosmology = Planck18 if cosmology is None else cosmology
    phys = config.physics_model
    rng = np.random.default_rng(np.random.SeedSequence([int(config.seed), int(halo_id)]))
    log_m, z = _draw_mass_redshift(rng, config, cosmology)
    m200 = 10**log_m / cosmology.h  # Msun
    # Dynamical state: uniform "relaxedness" in [0, 1]; mergers are the least relaxed halos.
    relax = rng.uniform()
    merger = relax < phys.merger_fraction
    host = _draw_host(rng, m200, z, relax, config, cosmology)
    q, s = host.q, host.s
    # Gas traces the potential, rounder than the mass (e.g. Lau et al. 2011): halve the ellipticity.
    q_gas, s_gas = 1 - 0.5 * (1 - q), 1 - 0.5 * (1 - s)
    cool_core = bool(rng.uniform() < np.clip(2 * phys.cool_core_fraction * relax, 0, 1)) and not merger
    f_gas = float(min(gas_fraction_500(host.m500, phys.fgas_norm, phys.fgas_slope)
                      * 10 ** (phys.fgas_scatter_dex * rng.normal()), 0.155))
    p_fac = float(10 ** (phys.pressure_scatter_dex * rng.normal()))
    # Stars.
    m_bcg = float(phys.stellar_scale * bcg_stellar_mass(host.m500) * 10 ** (0.2 * rng.normal()))
    f_icl = float(rng.uniform(*phys.icl_fraction))
    sats = _draw_subhalos(rng, host, relax, phys, config, cosmology)
    orphans = _draw_orphans(rng, host, sats, phys, cosmology)
    if orphans is not None:
        sats = sats + orphans
    comp = _draw_companion(rng, host, config, cosmology) if merger else _Companion()
    # BCG offsets from the potential minimum: small in relaxed halos (Lauer et al. 2014).
    bcg_offset = rng.normal(size=3) * (0.002 + 0.02 * (1 - relax)) * host.r200

    return HaloProperties(
        halo_id=int(halo_id), z=float(z), m200=m200, r200=host.r200, c200=host.c200, m500=host.m500,
        r500=host.r500, q=q, s=s, rotation=host.rotation, q_gas=q_gas, s_gas=s_gas, relaxedness=float(relax),
        cool_core=cool_core, f_gas500=f_gas, pressure_factor=p_fac, m_bcg=m_bcg, icl_fraction=f_icl,
        sub_mass=sats.mass, sub_pos=sats.pos, sub_rt=sats.rt, sub_rs=sats.rs, sub_mstar=sats.mstar,
        sub_vel=sats.vel, sub_orphan=sats.orphan,
        merger=bool(merger), comp_mass=comp.mass, comp_c200=comp.c200, comp_pos=comp.pos,
        comp_gas_offset=comp.gas_offset, bcg_offset=bcg_offset, seed_entropy=int(config.seed),
    )
