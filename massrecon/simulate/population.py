"""The halo population of the mock universe and its physics variants.

Each halo is drawn from its own random stream, ``numpy.random.SeedSequence([seed, halo_id])``,
so a halo's properties depend only on the seed and its id: shards of a run, or a resumed run,
produce exactly the halos of a single uninterrupted run.
"""

import dataclasses
import json
import math

import astropy.units as u
import numpy as np
from astropy.cosmology import Planck18
from scipy.special import ndtri

from ..halo import (
    CM_RELATIONS,
    _colossus_cosmology,
    concentration_200c,
    m500c_from_m200c,
    radius_from_mass,
)
from .dark_matter import (
    random_rotation,
    sample_axis_ratios,
    sample_subhalo_masses,
    sample_subhalo_radii,
    tidal_radius,
)
from .gas import gas_fraction_500
from .stars import bcg_stellar_mass, moster13_stellar_mass

__all__ = ["PhysicsModel", "PHYSICS_MODELS", "get_physics", "SimulationConfig", "HaloProperties",
           "sample_halo"]


@dataclasses.dataclass(frozen=True)
class PhysicsModel:
    """Baryonic physics of a mock universe.

    The three named models mirror the three codes of The Three Hundred (Cui et al. 2018, MNRAS
    480, 2898): weak feedback (GADGET-MUSIC: supernova feedback only, overcooled cores, many
    stars), fiducial (GADGET-X: with AGN feedback) and strong feedback (GIZMO-SIMBA: strong AGN
    jets that empty groups of gas and puff up cores).
    """

    name: str
    #: f_gas,500 at 5e14 Msun and its slope with M500 (see `~massrecon.simulate.gas.gas_fraction_500`)
    fgas_norm: float = 0.125
    fgas_slope: float = 0.25
    #: log-normal scatter (dex) of the gas fraction and of the pressure normalisation
    fgas_scatter_dex: float = 0.04
    pressure_scatter_dex: float = 0.06
    #: fraction of cool-core clusters (SZ-selected samples: ~30%, Andrade-Santos et al. 2017)
    cool_core_fraction: float = 0.30
    #: multiplies the core radius of the gas density (a proxy for the core entropy)
    core_scale: float = 1.0
    #: multiplies the stellar-to-halo and BCG relations
    stellar_scale: float = 1.0
    #: range of the intracluster-light fraction of the total stellar mass
    icl_fraction: tuple = (0.2, 0.4)
    #: clumping factor at R200
    clumping_r200: float = 1.6
    #: fraction of halos with a major merger in progress
    merger_fraction: float = 0.15
    #: multiplies the subhalo mass function normalisation
    subhalo_norm: float = 1.0
    #: orphan galaxies (whose subhalos were disrupted) per surviving subhalo
    orphan_ratio: float = 1.5

    def to_dict(self):
        return dataclasses.asdict(self)


#: The named physics variants.
PHYSICS_MODELS = {
    "fiducial": PhysicsModel("fiducial"),
    "weak_feedback": PhysicsModel(
        "weak_feedback", fgas_norm=0.135, fgas_slope=0.12, cool_core_fraction=0.45, core_scale=0.7,
        stellar_scale=1.6, icl_fraction=(0.15, 0.3), clumping_r200=1.8,
    ),
    "strong_feedback": PhysicsModel(
        "strong_feedback", fgas_norm=0.115, fgas_slope=0.32, cool_core_fraction=0.15, core_scale=1.5,
        stellar_scale=0.7, icl_fraction=(0.25, 0.45), clumping_r200=1.4,
    ),
}


def get_physics(name):
    """The `PhysicsModel` called ``name`` (one of `PHYSICS_MODELS`), or a `PhysicsModel` as is."""
    if isinstance(name, PhysicsModel):
        return name
    if name not in PHYSICS_MODELS:
        raise ValueError(f"physics must be one of {sorted(PHYSICS_MODELS)}, got {name!r}")
    return PHYSICS_MODELS[name]


@dataclasses.dataclass(frozen=True)
class SimulationConfig:
    """Everything that defines a mock data set (apart from the number of halos).

    Masses are :math:`M_{200c}` in :math:`h^{-1} M_\\odot` as in de Andres et al. 2024.
    """

    physics: str = "fiducial"
    seed: int = 1
    projections: int = 29
    log_m200_range: tuple = (13.5, 15.5)
    z_range: tuple = (0.01, 0.12)
    mass_sampling: str = "flat"
    npix: int = 80
    size_r200: float = 2.0
    depth_r200: float = 1.0
    smoothing_r200: float = 0.01
    cm_relation: str = "diemer19"
    cm_scatter_dex: float = 0.12
    los_nodes: int = 24
    member_mass_limit: float = 1e9
    #: maps to store (a subset of `~massrecon.simulate.MAP_NAMES`); all by default
    maps: tuple = ()
    #: mean number of unrelated halos (M200 > 10^13 h^-1 Msun) along each line of sight beyond the
    #: slab; they add to the observables (y, X-ray) but not to the target (see `add_los_neighbours`)
    los_neighbours: float = 0.0

    def __post_init__(self):
        get_physics(self.physics)
        from .projection import MAP_NAMES

        if not self.maps:
            object.__setattr__(self, "maps", tuple(MAP_NAMES))
        unknown = [m for m in self.maps if m not in MAP_NAMES]
        if unknown or "sigma_total" not in self.maps:
            raise ValueError(f"maps must be names from {MAP_NAMES} including 'sigma_total', got {self.maps}")
        lo, hi = self.log_m200_range
        if not (math.isfinite(lo) and math.isfinite(hi) and 12.0 <= lo < hi <= 16.0):
            raise ValueError(f"log_m200_range must satisfy 12 <= min < max <= 16, got {self.log_m200_range}")
        zlo, zhi = self.z_range
        if not (math.isfinite(zlo) and math.isfinite(zhi) and 0 < zlo <= zhi <= 1.0):
            raise ValueError(f"z_range must satisfy 0 < min <= max <= 1, got {self.z_range}")
        if self.mass_sampling not in ("flat", "mass_function"):
            raise ValueError(f"mass_sampling must be 'flat' or 'mass_function', got {self.mass_sampling!r}")
        if int(self.npix) != self.npix or self.npix < 8:
            raise ValueError(f"npix must be an integer >= 8, got {self.npix}")
        if int(self.projections) != self.projections or self.projections < 1:
            raise ValueError(f"projections must be a positive integer, got {self.projections}")
        for name in ("size_r200", "depth_r200"):
            val = getattr(self, name)
            if not (math.isfinite(val) and val > 0):
                raise ValueError(f"{name} must be finite and > 0, got {val}")
        if not (math.isfinite(self.smoothing_r200) and self.smoothing_r200 >= 0):
            raise ValueError(f"smoothing_r200 must be finite and >= 0, got {self.smoothing_r200}")
        if self.cm_relation not in CM_RELATIONS:
            raise ValueError(f"cm_relation must be one of {CM_RELATIONS}, got {self.cm_relation!r}")
        if not (math.isfinite(self.los_neighbours) and self.los_neighbours >= 0):
            raise ValueError(f"los_neighbours must be finite and >= 0, got {self.los_neighbours}")
        if self.los_nodes < 8:
            raise ValueError(f"los_nodes must be >= 8, got {self.los_nodes}")

    @property
    def physics_model(self):
        return get_physics(self.physics)

    def to_json(self):
        d = dataclasses.asdict(self)
        d["physics_model"] = self.physics_model.to_dict()
        return json.dumps(d, sort_keys=True)

    @classmethod
    def from_json(cls, text):
        d = json.loads(text)
        d.pop("physics_model", None)
        for key in ("log_m200_range", "z_range", "maps"):
            d[key] = tuple(d[key])
        return cls(**d)


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
        ref = np.array([0.0, 0.0, 1.0]) if abs(ez[2]) < 0.9 else np.array([1.0, 0.0, 0.0])
        ex = np.cross(ref, ez)
        ex /= np.linalg.norm(ex)
        ey = np.cross(ez, ex)
        out[i] = np.stack([ex, ey, ez])
    return out


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
    """
    cosmology = Planck18 if cosmology is None else cosmology
    phys = config.physics_model
    ss = np.random.SeedSequence([int(config.seed), int(halo_id)])
    rng = np.random.default_rng(ss)
    h = cosmology.h

    if config.mass_sampling == "flat":
        log_m = rng.uniform(*config.log_m200_range)
        z = rng.uniform(*config.z_range)
    else:
        cdf, lm, zs, _ = _mass_function_sampler(config, cosmology)
        k = int(np.searchsorted(cdf, rng.uniform()))
        iz, im = divmod(min(k, cdf.size - 1), lm.size)
        log_m = lm[im] + rng.uniform(-0.5, 0.5) * (lm[1] - lm[0])
        z = float(np.clip(zs[iz] + rng.uniform(-0.5, 0.5) * (zs[1] - zs[0]), *config.z_range))
    m200 = 10**log_m / h  # Msun

    # Dynamical state: uniform "relaxedness" in [0, 1]; mergers are the least relaxed halos.
    relax = rng.uniform()
    merger = relax < phys.merger_fraction

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
    # Gas traces the potential, rounder than the mass (e.g. Lau et al. 2011): halve the ellipticity.
    q_gas, s_gas = 1 - 0.5 * (1 - q), 1 - 0.5 * (1 - s)

    cool_core = bool(rng.uniform() < np.clip(2 * phys.cool_core_fraction * relax, 0, 1)) and not merger
    f_gas = float(min(gas_fraction_500(m500, phys.fgas_norm, phys.fgas_slope)
                      * 10 ** (phys.fgas_scatter_dex * rng.normal()), 0.155))
    p_fac = float(10 ** (phys.pressure_scatter_dex * rng.normal()))

    # Stars.
    m_bcg = float(phys.stellar_scale * bcg_stellar_mass(m500) * 10 ** (0.2 * rng.normal()))
    f_icl = float(rng.uniform(*phys.icl_fraction))

    # Subhalos (Giocoli+10 mass function on m/M200 down to 1e-4, or to the mass that hosts a galaxy
    # above the member limit, whichever is larger): more substructure in unrelaxed halos.
    xmin = max(1e-4, 3e10 / m200)
    norm = phys.subhalo_norm * (1.5 - relax)
    x_sub = sample_subhalo_masses(rng, m200 * h, xmin, z, norm) if xmin < 0.5 else np.zeros(0)
    n_sub = x_sub.size
    r_sub = sample_subhalo_radii(rng, n_sub, c200) * r200
    dirs = rng.normal(size=(n_sub, 3))
    dirs /= np.linalg.norm(dirs, axis=1, keepdims=True) + 1e-300
    # follow the host's triaxial shape (abc = 1 axes) in the host frame, then rotate
    a_ax = (q * s) ** (-1.0 / 3.0)
    axes = np.array([a_ax, q * a_ax, s * a_ax])
    pos = (dirs * r_sub[:, None] * axes[None, :]) @ rot.T
    m_sub = x_sub * m200
    rt = tidal_radius(np.maximum(np.linalg.norm(pos, axis=1), 1e-3 * r200), m_sub, m200, r200, c200)
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
    # Velocities: isotropic Gaussian with the Evrard et al. 2008 (ApJ 672, 122, eq. 6) dark-matter
    # dispersion, sigma = 1082.9 km/s [h(z) M200 / 1e15 Msun]^0.3361.
    hz = cosmology.H(z).value / 100.0
    sigma_v = 1082.9 * (hz * m200 / 1e15) ** 0.3361
    vel = rng.normal(scale=sigma_v, size=(n_sub, 3))
    orphan = np.zeros(n_sub, dtype=bool)
    # Orphan galaxies: satellites whose subhalos were tidally disrupted keep their stars (e.g.
    # Guo et al. 2011, MNRAS 413, 101; Pujol et al. 2017); they follow the host's mass more
    # closely than surviving subhalos.  Their infall masses are drawn from those of the subhalos.
    n_orph = int(rng.poisson(phys.orphan_ratio * n_sub)) if n_sub else 0
    if n_orph:
        mi = rng.choice(m_inf, size=n_orph)
        ms_o = phys.stellar_scale * moster13_stellar_mass(mi, z) * 10 ** (0.15 * rng.normal(size=n_orph))
        xg = np.linspace(1e-3, 1.0, 400)
        cdf = np.log1p(c200 * xg) - c200 * xg / (1 + c200 * xg)
        r_o = np.interp(rng.uniform(size=n_orph), cdf / cdf[-1], xg) * r200
        d_o = rng.normal(size=(n_orph, 3))
        d_o /= np.linalg.norm(d_o, axis=1, keepdims=True) + 1e-300
        pos = np.concatenate([pos, (d_o * r_o[:, None] * axes[None, :]) @ rot.T])
        m_sub = np.concatenate([m_sub, np.zeros(n_orph)])
        rt = np.concatenate([rt, np.zeros(n_orph)])
        rs_sub = np.concatenate([rs_sub, np.full(n_orph, 1.0)])
        mstar_sub = np.concatenate([mstar_sub, ms_o])
        vel = np.concatenate([vel, rng.normal(scale=sigma_v, size=(n_orph, 3))])
        orphan = np.concatenate([orphan, np.ones(n_orph, dtype=bool)])

    # Merging companion.
    if merger:
        mu = rng.uniform(0.1, 0.5)
        comp_mass = mu * m200
        comp_c = float(concentration_200c(comp_mass * u.Msun, z, cosmology, config.cm_relation))
        d = rng.uniform(0.5, 1.5) * r200
        axis = rng.normal(size=3)
        axis /= np.linalg.norm(axis)
        comp_pos = axis * d
        # gas lags behind its dark matter, towards the main halo after the first passage
        comp_gas_offset = -axis * rng.uniform(50.0, 300.0)
    else:
        comp_mass, comp_c = 0.0, 0.0
        comp_pos = np.zeros(3)
        comp_gas_offset = np.zeros(3)
    # BCG offsets from the potential minimum: small in relaxed halos (Lauer et al. 2014).
    bcg_offset = rng.normal(size=3) * (0.002 + 0.02 * (1 - relax)) * r200

    return HaloProperties(
        halo_id=int(halo_id), z=float(z), m200=m200, r200=r200, c200=c200, m500=m500, r500=r500,
        q=q, s=s, rotation=rot, q_gas=q_gas, s_gas=s_gas, relaxedness=float(relax),
        cool_core=cool_core, f_gas500=f_gas, pressure_factor=p_fac, m_bcg=m_bcg, icl_fraction=f_icl,
        sub_mass=m_sub, sub_pos=pos, sub_rt=rt, sub_rs=rs_sub, sub_mstar=mstar_sub, sub_vel=vel,
        sub_orphan=orphan,
        merger=bool(merger), comp_mass=comp_mass, comp_c200=comp_c, comp_pos=comp_pos,
        comp_gas_offset=comp_gas_offset, bcg_offset=bcg_offset, seed_entropy=int(config.seed),
    )
