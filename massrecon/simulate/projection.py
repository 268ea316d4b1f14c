"""Projection of a mock halo onto the cluster frame.

Two line-of-sight depths are used, because the model's target and its inputs are different
quantities:

* **the target** -- the surface densities ``sigma_total`` and its components ``sigma_dm``,
  ``sigma_gas``, ``sigma_stars`` -- is the mass in the slab :math:`|l| \\le` ``depth_r200`` R200
  (:math:`\\pm R_{200}` by default, the convention of de Andres et al. 2024);
* **the observables** -- ``compton_y``, ``xray_soft``, ``xray_bol``, ``sigma_members`` and the
  member catalogue -- hold the whole column through the halo model, :math:`|l| \\le`
  ``observable_depth_r200`` R200 (by default the model's extent, `MODEL_EXTENT_R200`), as a real
  SZ or X-ray map does, and as a spectroscopic member catalogue does, whose members are selected
  by velocity, not by their distance along the line of sight.  The gas of the host and of a
  merging companion ends where the model's radial tables end (``rmax_r200``, 6 R200 by
  default: about 9 R500, beyond the few R500 to which Arnaud et al. 2010 fitted their pressure
  profile; the extrapolated pressure beyond 6 R200 would add less than 4e-4 to a column at R200
  and 1e-5 to the central one).  Unrelated halos further along the line of sight
  (`add_los_neighbours`) add to the observables only.

Smooth components (triaxial dark matter and gas, intracluster light) are integrated along the
line of sight on a grid of columns, one per pixel centre plus a 4x4 super-sampled block over the
central pixels where the profiles are cuspy; the line-of-sight quadrature uses nodes
:math:`l = l_0 \\sinh u` (dense near the mid-plane, where the integrand of a central column
peaks) over the slab, and Gauss-Legendre nodes in :math:`\\ln l` from the slab's edge to the end
of the observables' column (the integrands fall there as power laws of :math:`l`).
Ellipsoidally stratified profiles are point-symmetric, so only :math:`l \\ge 0` is computed and
the other half is the image rotated by 180 degrees.  Compact components (subhalos, galaxies, the
BCG) are painted in two dimensions with their analytic projected profiles.

Maps (``MAP_NAMES``): total, dark-matter, gas and stellar surface densities, Compton-y, rest-frame
0.5-2 keV and bolometric X-ray surface emissivities, and the stellar-mass surface density of the
member galaxies above `~massrecon.contract.MEMBER_MAP_MASS_LIMIT` smoothed to
`~massrecon.contract.MEMBER_SMOOTHING_R200` (the stellar view of a member catalogue).
Units (the ``MAP_UNITS`` mapping): surface densities in Msun/kpc^2, Compton-y dimensionless, X-ray
surface emissivities (rest frame, luminosity per unit projected area) in erg s^-1 kpc^-2.
"""

import dataclasses
from typing import NamedTuple

import astropy.constants as const
import astropy.units as u
import numpy as np
from astropy.cosmology import Planck18
from astropy.stats import gaussian_fwhm_to_sigma
from scipy.ndimage import gaussian_filter

from .._deposit import cic_deposit
from ..contract import (
    FRAME_NPIX,
    FRAME_SIZE_R200,
    MEMBER_CATALOGUE_MASS_LIMIT,
    MEMBER_MAP_MASS_LIMIT,
    MEMBER_SMOOTHING_R200,
)
from ..observations.members import members_to_map
from .dark_matter import nfw_mass, truncated_nfw_projected_table
from .emission import (
    MU_E,
    NE_OVER_NH,
    compton_y_per_pressure_length,
    cooling_function_bolometric,
    cooling_function_soft,
)
from .gas import (
    DENSITY_PARAMETERS,
    clumping_factor,
    electron_pressure,
    gas_fraction_500,
    vikhlinin_shape,
)
from .physics_models import get_physics
from .stars import hernquist_projected_mass

__all__ = ["MAP_NAMES", "MAP_UNITS", "MODEL_EXTENT_R200", "HaloModel",
           "project_halo", "members_map", "add_los_neighbours"]

#: Maps made for every projection.  ``sigma_total`` is the model's target.
MAP_NAMES = ("sigma_total", "sigma_dm", "sigma_gas", "sigma_stars", "compton_y", "xray_soft", "xray_bol",
             "sigma_members")

# Stellar-mass limits (Msun, plain floats for the hot loops) of the member-galaxy map
# ``sigma_members`` and of the member catalogue: the model's contract (`massrecon.contract`) owns them.
_MAP_MASS_LIMIT_MSUN = float(MEMBER_MAP_MASS_LIMIT.to_value(u.Msun))
_CATALOGUE_MASS_LIMIT_MSUN = float(MEMBER_CATALOGUE_MASS_LIMIT.to_value(u.Msun))

#: Outer radius (R200) of a `HaloModel`'s radial tables by default: the extent of the mock halo,
#: and the default line-of-sight half-depth of the observables.
MODEL_EXTENT_R200 = 6.0

#: Physical unit of each map.
MAP_UNITS = {
    "sigma_total": u.Msun / u.kpc**2,
    "sigma_dm": u.Msun / u.kpc**2,
    "sigma_gas": u.Msun / u.kpc**2,
    "sigma_stars": u.Msun / u.kpc**2,
    "compton_y": u.dimensionless_unscaled,
    "xray_soft": u.erg / u.s / u.kpc**2,
    "xray_bol": u.erg / u.s / u.kpc**2,
    "sigma_members": u.Msun / u.kpc**2,
}

#: Proton mass in Msun (astropy.constants: the CODATA value of the installed astropy).
_M_P_MSUN = const.m_p.to_value(u.Msun)
_KPC_CM = (1 * u.kpc).to_value(u.cm)
_NTAB = 640
_NFINE = 4096
#: Points of the companion's gas tables over its whole extent (the spacing of its slab tables).
_NCOMP = 2200
_ORIGIN = np.zeros(3)
#: Slope of the gas core radius with M500 (see `gas_tables`).
CORE_MASS_SLOPE = -0.5
_TAU_GRID = np.logspace(-0.5, 2.0, 24)
_X_GRID = np.concatenate([[0.0], np.logspace(-3, 3, 240)])
_SUB_TABLE = None


def _sub_table():
    global _SUB_TABLE
    if _SUB_TABLE is None:
        _SUB_TABLE = truncated_nfw_projected_table(_TAU_GRID, _X_GRID)
    return _SUB_TABLE


class HaloModel:
    """Radial tables of one mock halo's 3D components.

    Parameters
    ----------
    halo : `~massrecon.simulate.HaloProperties`
    physics : str or `~massrecon.simulate.PhysicsModel`
    cosmology : `~astropy.cosmology.Cosmology`, optional
    rmax_r200 : float
        Outer radius of the tables in units of R200: the host's gas (and, in units of its own
        R200, the companion's) ends there.
    include : set of str, optional
        Components to include (``"dm"``, ``"gas"``, ``"stars"``, ``"subhalos"``,
        ``"companion"``); all by default.  ``{"dm"}`` gives a pure NFW halo (used in tests
        against the analytic projection).
    """

    def __init__(self, halo, physics="fiducial", cosmology=None, rmax_r200=MODEL_EXTENT_R200, include=None):
        self.halo = halo
        self.rmax_r200 = float(rmax_r200)
        self.physics = get_physics(physics)
        self.cosmology = Planck18 if cosmology is None else cosmology
        self.include = (set(include) if include is not None
                        else {"dm", "gas", "stars", "subhalos", "companion"})
        h = halo
        self.lnr = np.linspace(np.log(1e-4 * h.r200), np.log(rmax_r200 * h.r200), _NTAB)
        r = np.exp(self.lnr)
        self.r = r

        # --- gas ---------------------------------------------------------------------------
        self.m_gas200 = 0.0
        if "gas" in self.include:
            gas = gas_tables(r, h.m500, h.r500, h.r200, h.z, self.cosmology, h.cool_core,
                             h.f_gas500, h.pressure_factor, self.physics)
            self.rho_gas, self.pe, self.eps_soft, self.eps_bol, self.kt = gas
            self.m_gas200 = _enclosed(r, self.rho_gas, h.r200)
        # --- stars (smooth) ------------------------------------------------------------------
        self.m_icl = 0.0
        self.m_bcg = 0.0
        if "stars" in self.include:
            m_sat = float(np.sum(h.sub_mstar)) if "subhalos" in self.include else 0.0
            self.m_bcg = h.m_bcg
            self.m_icl = h.icl_fraction / (1 - h.icl_fraction) * (h.m_bcg + m_sat)
        self.a_bcg = 0.015 * h.r200 / (1 + np.sqrt(2))
        self.a_icl = 0.15 * h.r200 / (1 + np.sqrt(2))
        # --- dark matter -----------------------------------------------------------------------
        m_sub200 = 0.0
        if "subhalos" in self.include and len(h.sub_mass):
            inside = np.linalg.norm(h.sub_pos, axis=1) < h.r200
            m_sub200 = float(np.sum(h.sub_mass[inside]))
        m_star200 = (self.m_bcg * hernquist_3d_fraction(h.r200, self.a_bcg)
                     + self.m_icl * hernquist_3d_fraction(h.r200, self.a_icl))
        if "subhalos" in self.include and "stars" in self.include and len(h.sub_mass):
            # orphan galaxies' stars are not part of any subhalo mass
            orph_in = h.sub_orphan & (np.linalg.norm(h.sub_pos, axis=1) < h.r200)
            m_star200 += float(np.sum(h.sub_mstar[orph_in]))
        self.m_dm_smooth200 = h.m200 - self.m_gas200 - m_star200 - m_sub200
        if self.m_dm_smooth200 <= 0.2 * h.m200:
            raise ValueError(f"halo {h.halo_id}: baryons and subhalos exceed M200; check the physics")
        rs = h.r200 / h.c200
        rho_s = self.m_dm_smooth200 / (4 * np.pi * rs**3 * nfw_mass(h.r200, rs))
        x = r / rs
        self.rho_dm = rho_s / (x * (1 + x) ** 2) if "dm" in self.include else np.zeros_like(r)

        # ellipsoid matrices: observer -> scaled halo frame; abc = 1
        a = (h.q * h.s) ** (-1.0 / 3.0)
        self.scale_dm = 1.0 / np.array([a, h.q * a, h.s * a])
        ag = (h.q_gas * h.s_gas) ** (-1.0 / 3.0)
        self.scale_gas = 1.0 / np.array([ag, h.q_gas * ag, h.s_gas * ag])

        # companion (spherical NFW + gas of its own)
        self.companion = None
        if "companion" in self.include and h.merger:
            from ..halo import m500c_from_m200c, radius_from_mass

            zc = h.z
            r200c = float(radius_from_mass(h.comp_mass * u.Msun, 200, zc, self.cosmology).value)
            m500c = float(m500c_from_m200c(h.comp_mass * u.Msun, zc, self.cosmology,
                                           c200=h.comp_c200)[0].value)
            r500c = float(radius_from_mass(m500c * u.Msun, 500, zc, self.cosmology).value)
            rc = np.exp(np.linspace(np.log(1e-4 * r200c), np.log(3 * r200c), 2048))
            fg = float(gas_fraction_500(m500c, self.physics.fgas_norm, self.physics.fgas_slope))
            cg = gas_tables(rc, m500c, r500c, r200c, zc, self.cosmology, False, fg, 1.0, self.physics)
            mg = _enclosed(rc, cg[0], r200c)
            rsc = r200c / h.comp_c200
            rho_sc = (h.comp_mass - mg) / (4 * np.pi * rsc**3 * nfw_mass(r200c, rsc))
            xc = rc / rsc
            rho_dmc = rho_sc / (xc * (1 + xc) ** 2) * np.exp(-((rc / (2 * r200c)) ** 4))
            self.companion = dict(lnr=np.log(rc), rho_dm=rho_dmc, gas=cg, r200=r200c)
            # The tables above end at 3 R200c (those of the slab, kept as they were); the
            # observables' column needs the companion's gas out to the model's extent.
            rcf = np.exp(np.linspace(np.log(1e-4 * r200c), np.log(max(rmax_r200, 3.0) * r200c), _NCOMP))
            cgf = gas_tables(rcf, m500c, r500c, r200c, zc, self.cosmology, False, fg, 1.0, self.physics)
            self.companion.update(lnr_full=np.log(rcf), gas_full=cgf)

    # -------------------------------------------------------------------------------------
    def _smooth_tables(self):
        """Linear-value tables on a fine uniform grid in ln r (float32, shape (fields, n)).

        On the DM ellipsoid [rho_dm]; on the gas ellipsoid [rho_gas, pe, soft, bol].  A fine grid
        with linear interpolation of the values (error ~ (d ln r)^2 / 8 times the curvature,
        < 1e-4) avoids an exponential per point.
        """
        if getattr(self, "_fine", None) is None:
            lnr = np.linspace(self.lnr[0], self.lnr[-1], _NFINE)
            dm = np.exp(np.interp(lnr, self.lnr, np.log(np.maximum(self.rho_dm, 1e-300))))[:, None]
            gas = None
            if "gas" in self.include:
                cols = [self.rho_gas, self.pe, self.eps_soft, self.eps_bol]
                gas = np.stack([np.exp(np.interp(lnr, self.lnr, np.log(np.maximum(c, 1e-300))))
                                for c in cols], axis=1)
                # pressure in keV cm^-3 and emissivities ~1e39 erg/s/kpc^3: rescale so float32
                # keeps its precision; undone after the integration.
                self._gas_scale = np.maximum(gas.max(axis=0), 1e-300)
                gas = gas / self._gas_scale
            self._dm_scale = np.array([max(dm.max(), 1e-300)])
            self._fine = (lnr[0], lnr[1] - lnr[0],
                          np.ascontiguousarray((dm / self._dm_scale).T.astype(np.float32)),
                          None if gas is None else np.ascontiguousarray(gas.T.astype(np.float32)))
        return self._fine


def hernquist_3d_fraction(r, a):
    """Fraction of a Hernquist sphere's mass inside radius ``r``: :math:`r^2/(r+a)^2`."""
    return r**2 / (r + a) ** 2


def _enclosed(r, rho, rmax):
    sel = r <= rmax
    rr = np.append(r[sel], rmax)
    rh = np.append(rho[sel], np.interp(np.log(rmax), np.log(r), rho))
    integrand = 4 * np.pi * rr**3 * rh  # d M / d ln r
    return float(np.trapezoid(integrand, np.log(rr)) + 4 * np.pi / 3 * rr[0] ** 3 * rh[0])


def gas_tables(r, m500, r500, r200, z, cosmology, cool_core, f_gas500, pressure_factor, physics):
    """Radial tables of the gas: density (Msun/kpc^3), electron pressure (keV/cm^3), soft and
    bolometric X-ray emissivities (erg s^-1 kpc^-3, clumping included) and temperature (keV)."""
    key = "cool_core" if cool_core else "non_cool_core"
    rc, alpha, beta, rs, eps, gamma = DENSITY_PARAMETERS[key]
    # Feedback raises the core entropy of groups more than that of clusters, so their gas is
    # less concentrated: core radii grow towards low mass (e.g. Sun et al. 2009, ApJ 693, 1142;
    # Lovisari et al. 2015).  The exponent, the variants' core_scale and f_gas are calibrated so the
    # fiducial population follows the soft-band L_X-M500 relation of Vikhlinin et al. 2009
    # (docs/simulate.rst).
    core = physics.core_scale * float(np.clip((m500 / 5e14) ** CORE_MASS_SLOPE, 1.0, 4.0))
    params = (rc * core, alpha, beta, rs, eps, gamma)
    shape = vikhlinin_shape(r / r500, params)
    # normalise: M_gas(<R500) = f_gas M500
    norm = f_gas500 * m500 / _enclosed(r, shape, r500)
    rho_gas = norm * shape  # Msun / kpc^3
    pname = "arnaud10_cc" if cool_core else "arnaud10_disturbed"
    pe = pressure_factor * electron_pressure(r, m500, r500, z, cosmology, pname)  # keV / cm^3
    ne = rho_gas / (MU_E * _M_P_MSUN) / _KPC_CM**3  # cm^-3
    kt = np.clip(pe / np.maximum(ne, 1e-30), 0.05, 50.0)  # keV
    clump = clumping_factor(r / r200, physics.clumping_r200)
    nenh = ne**2 / NE_OVER_NH * clump
    eps_soft = nenh * cooling_function_soft(kt) * _KPC_CM**3  # erg s^-1 kpc^-3
    eps_bol = nenh * cooling_function_bolometric(kt) * _KPC_CM**3
    return rho_gas, pe, eps_soft, eps_bol, kt


def _los_nodes(depth, l0, n):
    """Gauss-Legendre nodes in ``u`` with ``l = l0 sinh(u)`` over ``0 <= l <= depth``."""
    umax = np.arcsinh(depth / l0)
    x, w = np.polynomial.legendre.leggauss(n)
    uu = 0.5 * umax * (x + 1)
    return l0 * np.sinh(uu), 0.5 * umax * w * l0 * np.cosh(uu)


def _los_outer_nodes(inner, outer, n):
    """Gauss-Legendre nodes in ``ln l`` over ``inner <= l <= outer`` and their weights in ``l``.

    Beyond a few hundred kpc the integrands (pressure, emissivity) fall as power laws of ``l``,
    which are smooth functions of ``ln l``.
    """
    x, w = np.polynomial.legendre.leggauss(n)
    half = 0.5 * np.log(outer / inner)
    ll = inner * np.exp(half * (x + 1))
    return ll, half * w * ll


def _outer_nodes(los_nodes):
    """Nodes of the observables' column beyond the slab, for ``los_nodes`` over the slab."""
    return max(8, los_nodes // 3)


def _interp_lin(table, lnr0, dlnr, lnr, zero_beyond=False):
    """Linear interpolation of ``table`` (fields, n) at ``lnr`` (any shape) -> (fields, ...).

    One ``np.take`` per field on contiguous rows with a precomputed table of differences:
    several times faster than fancy-indexing a (n, fields) table.  Beyond the table's end the
    last value is repeated, or, with ``zero_beyond``, zero is returned: the component ends there.
    """
    pos = (lnr - np.float32(lnr0)) * np.float32(1.0 / dlnr)
    beyond = pos > table.shape[1] - 1 if zero_beyond else None
    np.clip(pos, 0.0, table.shape[1] - 1.001, out=pos)
    i0 = pos.astype(np.int32)
    t = pos - i0
    diff = np.diff(table, axis=1, append=table[:, -1:])
    out = np.empty((table.shape[0],) + lnr.shape, dtype=np.float32)
    for f in range(table.shape[0]):
        out[f] = np.take(table[f], i0) + np.take(diff[f], i0) * t
    if zero_beyond:
        out[:, beyond] = 0.0
    return out


class _CentralBlock(NamedTuple):
    """The super-sampled central block of a column grid: first pixel, pixels across, samples per pixel."""

    start: int
    size: int
    sub: int


@dataclasses.dataclass
class _ColumnGrid:
    """Line-of-sight columns of one frame: pixel centres, then a super-sampled central block."""

    npix: int
    pix: float
    x: np.ndarray
    y: np.ndarray
    block: _CentralBlock
    x32: np.ndarray
    y32: np.ndarray

    @classmethod
    def make(cls, npix, width):
        cols_x, cols_y, block = _columns(npix, width)
        return cls(npix, width / npix, cols_x, cols_y, block, cols_x.astype(np.float32), cols_y.astype(np.float32))

    @property
    def n_pixel_columns(self):
        return self.npix * self.npix

    def ellipsoidal_lnr(self, scale, l_nodes, mat, centre=_ORIGIN):
        """``ln r_e`` (float32, shape (columns, nodes)) at the nodes ``l_nodes`` along each column.

        ``mat`` maps observer coordinates to the component's frame, where ``scale`` divides its
        axes; ``centre`` is the component's centre in observer coordinates.
        """
        m = (mat * scale[:, None]).astype(np.float32)
        dx = self.x32 - np.float32(centre[0])
        dy = self.y32 - np.float32(centre[1])
        dl = (l_nodes - centre[2]).astype(np.float32)
        r2 = None
        for k in range(3):
            pk = (m[k, 0] * dx + m[k, 1] * dy)[:, None] + m[k, 2] * dl[None, :]
            r2 = pk * pk if r2 is None else r2 + pk * pk
        np.maximum(r2, np.float32(1e-12), out=r2)
        return np.float32(0.5) * np.log(r2)

    def image(self, values):
        """Column values (..., columns) -> images (..., npix, npix); see `_assemble`."""
        return _assemble(values, self.npix, self.block)


def _columns(npix, width):
    """Column positions (kpc): pixel centres, then a 4x4-subsampled central block."""
    pix = width / npix
    c = (np.arange(npix) - (npix - 1) / 2.0) * pix
    xx, yy = np.meshgrid(c, c)
    nb = 8 if npix % 2 == 0 else 7
    nb = min(nb, npix)
    sub = 4
    i0 = (npix - nb) // 2
    cb = c[i0:i0 + nb]
    offs = (np.arange(sub) - (sub - 1) / 2.0) * pix / sub
    cs = (cb[:, None] + offs[None, :]).ravel()
    sx, sy = np.meshgrid(cs, cs)
    cols_x = np.concatenate([xx.ravel(), sx.ravel()])
    cols_y = np.concatenate([yy.ravel(), sy.ravel()])
    return cols_x, cols_y, _CentralBlock(i0, nb, sub)


def _assemble(values, npix, block):
    """Columns -> image; replace the central block by its super-sampled mean."""
    i0, nb, sub = block
    n = npix * npix
    img = values[..., :n].reshape(values.shape[:-1] + (npix, npix)).copy()
    blk = values[..., n:].reshape(values.shape[:-1] + (nb, sub, nb, sub)).mean(axis=(-3, -1))
    img[..., i0:i0 + nb, i0:i0 + nb] = blk
    return img


class _SmoothMaps(NamedTuple):
    """Projected smooth components: surface densities (Msun/kpc^2), the line-of-sight integral of
    the electron pressure (keV cm^-3 kpc) and the X-ray surface emissivities (erg s^-1 kpc^-2)."""

    sigma_dm: np.ndarray
    sigma_gas: np.ndarray
    pressure: np.ndarray
    xray_soft: np.ndarray
    xray_bol: np.ndarray


def _host_smooth_maps(model, basis, grid, depth, obs_depth, los_nodes):
    """The host's triaxial dark matter and gas: surface densities over the slab :math:`|l| \\le`
    ``depth``, the observables' integrals over :math:`|l| \\le` ``obs_depth`` (>= ``depth``)."""
    h = model.halo
    # observer -> halo frame: p_world = B^T p_obs; p_halo = R^T p_world
    a_mat = h.rotation.T @ basis.T  # (3, 3): p_halo = a_mat @ p_obs
    ll, wl = _los_nodes(depth, min(0.003 * h.r200, 0.25 * grid.pix), los_nodes)
    lnr0, dlnr, dm_tab, gas_tab = model._smooth_tables()
    wl32 = wl.astype(np.float32)
    out = np.zeros((5, grid.x.size))
    if "dm" in model.include:
        vals = _interp_lin(dm_tab, lnr0, dlnr, grid.ellipsoidal_lnr(model.scale_dm, ll, a_mat))
        out[0] = (vals[0] @ wl32) * model._dm_scale[0]
    if gas_tab is not None:
        vals = _interp_lin(gas_tab, lnr0, dlnr, grid.ellipsoidal_lnr(model.scale_gas, ll, a_mat))
        out[1:] = (vals @ wl32) * model._gas_scale[:, None]
        if obs_depth > depth:
            # the observables' column beyond the slab; the gas ends with the tables
            lo, wo = _los_outer_nodes(depth, obs_depth, _outer_nodes(los_nodes))
            lnr = grid.ellipsoidal_lnr(model.scale_gas, lo, a_mat)
            vals = _interp_lin(gas_tab[1:], lnr0, dlnr, lnr, zero_beyond=True)
            out[2:] += (vals @ wo.astype(np.float32)) * model._gas_scale[1:, None]
    img = grid.image(out)
    img = img + img[:, ::-1, ::-1]  # the l < 0 half: point symmetry
    return _SmoothMaps(*img)


def _companion_maps(model, basis, grid, depth, obs_depth, los_nodes):
    """The merging companion's dark matter and gas: images (npix, npix) and (4, npix, npix) of
    `_SmoothMaps` fields after the first, surface densities over the slab :math:`|l| \\le`
    ``depth``, the observables over :math:`|l| \\le` ``obs_depth``."""
    h, comp = model.halo, model.companion
    lnrc0 = comp["lnr"][0]
    dlc = comp["lnr"][1] - comp["lnr"][0]

    def columns_through(centre, depth=depth, n=los_nodes):
        lc = np.clip(centre[2], -depth, depth)
        lp, wp = _los_nodes(depth - lc, 0.01 * comp["r200"], n)
        lm, wm = _los_nodes(depth + lc, 0.01 * comp["r200"], n)
        nodes = np.concatenate([lc + lp, lc - lm])
        weights = np.concatenate([wp, wm])
        # spherical: the observer frame will do
        lnr = grid.ellipsoidal_lnr(np.ones(3), nodes, np.eye(3), centre=centre)
        return lnr, weights.astype(np.float32)

    dscale = max(comp["rho_dm"].max(), 1e-300)
    lnr, w32 = columns_through(basis @ h.comp_pos)
    tab = (comp["rho_dm"] / dscale).astype(np.float32)[None, :]
    dm = grid.image((_interp_lin(tab, lnrc0, dlc, lnr) @ w32) * dscale)[0]

    gas_c = np.stack(comp["gas"][:4], axis=1)
    gscale = np.maximum(gas_c.max(axis=0), 1e-300)
    lnr, w32 = columns_through(basis @ (h.comp_pos + h.comp_gas_offset))
    tab = np.ascontiguousarray((gas_c / gscale).T.astype(np.float32))
    # over the slab, only the gas's surface density if the observables come from the whole column
    fields = 1 if obs_depth > depth else 4
    gas = np.zeros((4, grid.npix, grid.npix))
    gas[:fields] = grid.image((_interp_lin(tab[:fields], lnrc0, dlc, lnr) @ w32) * gscale[:fields, None])
    if obs_depth > depth:
        # the observables over the whole column, from the tables that reach the model's extent
        gas_c = np.stack(comp["gas_full"][1:4], axis=1)
        gscale = np.maximum(gas_c.max(axis=0), 1e-300)
        lnr, w32 = columns_through(basis @ (h.comp_pos + h.comp_gas_offset), obs_depth,
                                   los_nodes + _outer_nodes(los_nodes))
        tab = np.ascontiguousarray((gas_c / gscale).T.astype(np.float32))
        lnr0, dl = comp["lnr_full"][0], comp["lnr_full"][1] - comp["lnr_full"][0]
        vals = _interp_lin(tab, lnr0, dl, lnr, zero_beyond=True)
        gas[1:] = grid.image((vals @ w32) * gscale[:, None])
    return dm, gas


def _member_catalogue(x=(), y=(), mstar=(), v_los=()):
    return dict(x=np.asarray(x, dtype=float), y=np.asarray(y, dtype=float),
                mstar=np.asarray(mstar, dtype=float), v_los=np.asarray(v_los, dtype=float))


def _smooth_stars(model, basis, grid):
    """BCG (at its offset) and ICL (host centre): spherical Hernquist, projected analytically and
    averaged over each column's pixel through the enclosed projected mass.  Returns the image and
    the BCG's member entry."""
    h = model.halo
    off = basis @ h.bcg_offset
    widths = np.where(np.arange(grid.x.size) < grid.n_pixel_columns, grid.pix, grid.pix / grid.block.sub)
    img = np.zeros((grid.npix, grid.npix))
    for mass, a, centre in ((model.m_bcg, model.a_bcg, off), (model.m_icl, model.a_icl, np.zeros(3))):
        if mass <= 0:
            continue
        rr = np.hypot(grid.x - centre[0], grid.y - centre[1])
        sig = _hernquist_sigma(rr, mass, a, widths)
        img += grid.image(sig[None])[0]
    return img, _member_catalogue([off[0]], [off[1]], [model.m_bcg], [0.0])


class _SubhaloMaps(NamedTuple):
    """Subhalos and satellites in the slab: painted subhalo mass, satellite stars, the stars of
    surviving subhalos (part of the painted mass), all in Msun/kpc^2; and the member catalogue of
    the satellites in the observables' column."""

    mass: np.ndarray
    stars: np.ndarray
    bound_stars: np.ndarray
    members: dict


def _subhalo_mass_map(h, pos, in_slab, pix, npix):
    """Projected mass of the surviving subhalos in the slab (orphans carry no subhalo mass)."""
    img = np.zeros((npix, npix))
    # Subhalos whose tidal radius is under 1.5 pixels hold most of their mass inside half a
    # pixel: deposit them as points; paint the others with their projected profiles.
    small = in_slab & (h.sub_rt < 1.5 * pix) & ~h.sub_orphan
    _cic(img, pos[small, 0], pos[small, 1], h.sub_mass[small] / pix**2, pix)
    big = np.nonzero(in_slab & ~small & ~h.sub_orphan)[0]
    # group by stamp size so that each vectorised batch has stamps of similar size
    reach = np.ceil(2 * h.sub_rt[big] / pix).astype(int) + 1
    table = _sub_table()
    for lo, hi in ((0, 4), (4, 8), (8, 16), (16, 10**6)):
        sel = big[(reach >= lo) & (reach < hi)]
        if sel.size:
            _paint_tnfw_many(img, pos[sel, 0], pos[sel, 1], h.sub_mass[sel], h.sub_rs[sel],
                             h.sub_rt[sel] / h.sub_rs[sel], pix, table)
    return img


def _subhalo_maps(model, basis, grid, depth, obs_depth, catalogue_mass_limit):
    h = model.halo
    pix, npix = grid.pix, grid.npix
    pos = h.sub_pos @ basis.T
    vel = h.sub_vel @ basis.T
    in_slab = np.abs(pos[:, 2]) <= depth
    # a spectroscopic catalogue selects members by velocity, whatever their depth in the halo
    in_column = np.abs(pos[:, 2]) <= obs_depth
    mass = _subhalo_mass_map(h, pos, in_slab, pix, npix)
    stars = np.zeros((npix, npix))
    bound_stars = np.zeros((npix, npix))
    members = _member_catalogue()
    if "stars" in model.include:
        ms = h.sub_mstar
        _cic(stars, pos[in_slab, 0], pos[in_slab, 1], ms[in_slab] / pix**2, pix)
        sel = in_column & (ms >= catalogue_mass_limit)
        members = _member_catalogue(pos[sel, 0], pos[sel, 1], ms[sel], vel[sel, 2])
        # stars of surviving subhalos are part of their painted mass: not dark matter
        bound = in_slab & ~h.sub_orphan
        _cic(bound_stars, pos[bound, 0], pos[bound, 1], h.sub_mstar[bound] / pix**2, pix)
    return _SubhaloMaps(mass, stars, bound_stars, members)


def _gaussian_smooth(maps, fwhm_pix):
    """Each map of ``maps`` smoothed with a Gaussian of FWHM ``fwhm_pix`` pixels."""
    sigma_pix = fwhm_pix * gaussian_fwhm_to_sigma
    return {k: gaussian_filter(v, sigma_pix, mode="nearest") for k, v in maps.items()}


def project_halo(model, basis, *, npix=FRAME_NPIX, size_r200=FRAME_SIZE_R200, depth_r200=1.0,
                 observable_depth_r200=None, smoothing_r200=0.01, los_nodes=24,
                 catalogue_mass_limit=_CATALOGUE_MASS_LIMIT_MSUN):
    """Project a `HaloModel` along one viewing basis.

    Parameters
    ----------
    model : `HaloModel`
    basis : array of shape (3, 3)
        Rows: world-frame directions of the image x axis, image y axis and line of sight.
    npix, size_r200 : int, float
        The frame: ``npix`` pixels over ``size_r200`` R200 (default: the model's frame,
        `~massrecon.contract.FRAME_NPIX` and `~massrecon.contract.FRAME_SIZE_R200`).
    depth_r200 : float
        Half-depth in R200 of the slab whose mass makes the surface densities (the target
        ``sigma_total`` and its components).
    observable_depth_r200 : float, optional
        Half-depth in R200 of the column that makes the observables (``compton_y``,
        ``xray_soft``, ``xray_bol``, ``sigma_members`` and the member catalogue); at least
        ``depth_r200``.  Default: the whole model, ``max(depth_r200, model.rmax_r200)``.  Equal
        to ``depth_r200``, the observables are those of the slab (before massrecon's whole-column
        observables, stored configurations meant that).
    smoothing_r200 : float
        FWHM of the Gaussian smoothing in R200 (0: none).
    los_nodes : int
        Quadrature nodes along the half line of sight.
    catalogue_mass_limit : float
        Stellar-mass limit (Msun) of the member catalogue returned (not of the ``sigma_members``
        map, whose limit is `~massrecon.contract.MEMBER_MAP_MASS_LIMIT`).

    Returns
    -------
    maps : dict of `~numpy.ndarray`
        One float64 image per name in `MAP_NAMES`, in the units of `MAP_UNITS`.
    members : dict of `~numpy.ndarray`
        Member galaxies: ``x``, ``y`` (kpc, image axes), ``mstar`` (Msun), ``v_los`` (km/s).

    Examples
    --------
    >>> import numpy as np
    >>> from massrecon.simulate import HaloModel, SimulationConfig, project_halo, sample_halo
    >>> model = HaloModel(sample_halo(0, SimulationConfig(seed=1)))
    >>> maps, members = project_halo(model, np.eye(3), npix=16)
    >>> maps["sigma_total"].shape, sorted(members)
    ((16, 16), ['mstar', 'v_los', 'x', 'y'])

    The gas beyond the slab adds to the Compton-y map, not to the target:

    >>> slab, _ = project_halo(model, np.eye(3), npix=16, observable_depth_r200=1.0)
    >>> bool(np.all(maps["compton_y"] > slab["compton_y"]))
    True
    >>> bool(np.array_equal(maps["sigma_total"], slab["sigma_total"]))
    True
    """
    h = model.halo
    basis = np.asarray(basis)
    width = size_r200 * h.r200
    grid = _ColumnGrid.make(npix, width)
    depth = depth_r200 * h.r200
    if observable_depth_r200 is None:
        observable_depth_r200 = max(depth_r200, model.rmax_r200)
    if not observable_depth_r200 >= depth_r200:
        raise ValueError(f"observable_depth_r200 ({observable_depth_r200}) must be >= depth_r200 ({depth_r200})")
    obs_depth = observable_depth_r200 * h.r200
    sig_dm, sig_gas, ype, soft, bol = _host_smooth_maps(model, basis, grid, depth, obs_depth, los_nodes)
    if model.companion is not None:
        dm_c, gas_c = _companion_maps(model, basis, grid, depth, obs_depth, los_nodes)
        sig_dm = sig_dm + dm_c
        sig_gas, ype, soft, bol = sig_gas + gas_c[0], ype + gas_c[1], soft + gas_c[2], bol + gas_c[3]

    sig_stars = np.zeros((npix, npix))
    members = [_member_catalogue()]
    if "stars" in model.include:
        sig_stars, bcg = _smooth_stars(model, basis, grid)
        members.append(bcg)
    if "subhalos" in model.include and len(h.sub_mass):
        subs = _subhalo_maps(model, basis, grid, depth, obs_depth, catalogue_mass_limit)
        sig_stars += subs.stars
        members.append(subs.members)
        sig_dm = sig_dm + subs.mass - subs.bound_stars

    maps = {
        "sigma_total": sig_dm + sig_gas + sig_stars,
        "sigma_dm": sig_dm,
        "sigma_gas": sig_gas,
        "sigma_stars": sig_stars,
        "compton_y": ype * compton_y_per_pressure_length(),
        "xray_soft": soft,
        "xray_bol": bol,
    }
    if smoothing_r200 > 0:
        maps = _gaussian_smooth(maps, smoothing_r200 * h.r200 / grid.pix)
    members = {k: np.concatenate([m[k] for m in members]) for k in members[0]}
    keep = (np.abs(members["x"]) <= width / 2) & (np.abs(members["y"]) <= width / 2)
    members = {k: v[keep] for k, v in members.items()}
    maps["sigma_members"] = members_map(members["x"], members["y"], members["mstar"], npix, grid.pix, h.r200)
    return maps, members


def members_map(x_kpc, y_kpc, mstar, npix, pixel_kpc, r200_kpc, mass_limit=_MAP_MASS_LIMIT_MSUN,
                smoothing_r200=MEMBER_SMOOTHING_R200):
    """Stellar-mass surface density (Msun/kpc^2) of member galaxies above ``mass_limit``.

    Galaxies are deposited with cloud-in-cell at their projected positions (kpc from the centre
    along the image axes) and smoothed with a Gaussian of FWHM ``smoothing_r200`` R200, by
    `massrecon.observations.members_to_map`: the same function turns real member catalogues into
    the model's stellar view.
    """
    return members_to_map(x_kpc, y_kpc, mstar, npix, pixel_kpc, r200_kpc=r200_kpc,
                          smoothing_r200=smoothing_r200, mass_limit=mass_limit)


def _hernquist_sigma(rr, mass, a, sub):
    # Column-averaged Sigma from the projected enclosed mass over a thin annulus: robust at the
    # cusp where Sigma(R) diverges logarithmically.
    r1 = np.maximum(rr - 0.5 * sub, 0.0)
    r2 = rr + 0.5 * sub
    m1 = np.where(r1 > 0, hernquist_projected_mass(np.maximum(r1, 1e-9), mass, a), 0.0)
    m2 = hernquist_projected_mass(r2, mass, a)
    return (m2 - m1) / (np.pi * (r2**2 - r1**2))


def _cic(img, x, y, values, pix):
    """Add a cloud-in-cell deposit of ``values`` (already per unit area) at positions in kpc."""
    npix = img.shape[0]
    img += cic_deposit(npix, x / pix + (npix - 1) / 2.0, y / pix + (npix - 1) / 2.0, values)


def _paint_tnfw_many(img, x, y, mass, rs, tau, pix, table):
    """Add projected truncated-NFW subhalos (positions in kpc) to ``img`` (Msun/kpc^2).

    Each subhalo is evaluated on a stamp reaching 2 tidal radii with 3x3 super-sampling per
    pixel, all subhalos at once; the stamp is renormalised to the subhalo's mass (the table is
    for unit mass) unless it is cut by the frame's edge.
    """
    npix = img.shape[0]
    half = int(min(np.ceil(2 * np.max(tau * rs) / pix) + 1, npix))
    n = x.size
    fx = x / pix + (npix - 1) / 2.0
    fy = y / pix + (npix - 1) / 2.0
    jx0 = np.rint(fx).astype(int)
    jy0 = np.rint(fy).astype(int)
    k = np.arange(-half, half + 1)
    offs = np.array([-1 / 3, 0.0, 1 / 3])
    sub = (k[:, None] + offs[None, :]).ravel()  # (m*3,)
    gx = (jx0 - fx)[:, None] + sub[None, :]
    gy = (jy0 - fy)[:, None] + sub[None, :]
    rr = np.hypot(gx[:, None, :], gy[:, :, None]) * (pix / rs)[:, None, None]  # (n, my, mx)
    lx = np.log(np.maximum(rr, 1e-3))
    lx0, dlx = np.log(_X_GRID[1]), np.log(_X_GRID[2] / _X_GRID[1])
    pos = np.clip((lx - lx0) / dlx, 0, _X_GRID.size - 3)
    i0 = pos.astype(int)
    t = pos - i0
    it = np.clip(np.searchsorted(_TAU_GRID, tau) - 1, 0, len(_TAU_GRID) - 2)
    wt = np.clip(np.log(tau / _TAU_GRID[it]) / np.log(_TAU_GRID[it + 1] / _TAU_GRID[it]), 0, 1)
    prof = (1 - wt)[:, None] * table[it, 1:] + wt[:, None] * table[it + 1, 1:]  # (n, nx-1)
    rows = np.arange(n)[:, None, None]
    sig = (1 - t) * prof[rows, i0] + t * prof[rows, np.minimum(i0 + 1, prof.shape[1] - 1)]
    sig = sig * (mass / rs**2)[:, None, None]
    m = k.size
    sig = sig.reshape(n, m, 3, m, 3).mean(axis=(2, 4))
    # stamp pixel indices
    px = jx0[:, None] + k[None, :]
    py = jy0[:, None] + k[None, :]
    inside = (px >= 0) & (px < npix)
    insidey = (py >= 0) & (py < npix)
    total = sig.sum(axis=(1, 2)) * pix**2
    whole = inside.all(axis=1) & insidey.all(axis=1) & (total > 0)
    sig[whole] *= (mass[whole] / total[whole])[:, None, None]
    ok = insidey[:, :, None] & inside[:, None, :]
    yy = np.broadcast_to(py[:, :, None], sig.shape)
    xx = np.broadcast_to(px[:, None, :], sig.shape)
    np.add.at(img, (yy[ok], xx[ok]), sig[ok])


#: Maps to which matter beyond the slab contributes: observables integrate the whole line of
#: sight, the target (the slab's surface densities) does not.  (The member catalogue and
#: ``sigma_members`` hold the halo's whole column too; unrelated halos add no members.)
LOS_OBSERVABLES = ("compton_y", "xray_soft", "xray_bol")


def add_los_neighbours(maps, host, rate, rng, *, npix, size_r200, physics="fiducial", cosmology=None,
                       max_distance_r200=10.0, column_r200=None):
    r"""Add unrelated halos along the line of sight, beyond the host, to the observable maps.

    A Poisson number (mean ``rate``) of spherical halos with :math:`M_{200}` from a power law
    :math:`dN/d\ln M \propto M^{-0.9}` (the slope of the halo mass function at group masses,
    e.g. Tinker et al. 2008) between :math:`10^{13} h^{-1} M_\odot` and half the host's mass, at
    line-of-sight distances out to ``max_distance_r200`` R200 (the same redshift to within
    ~0.005), uniformly over the frame.  Their Compton-y and X-ray emission is added in place;
    surface densities (the target) are untouched.

    ``column_r200`` is the half-depth, in the neighbour's own R200, of the column of each
    neighbour that is projected: by default its whole model (8 R200).  Data sets stored before
    the observables held the whole column used 3.

    Returns
    -------
    n : int
        Number of halos added.
    """
    from ..halo import concentration_200c, m500c_from_m200c, radius_from_mass
    from .gas import gas_fraction_500

    cosmology = Planck18 if cosmology is None else cosmology
    n = int(rng.poisson(rate)) if rate > 0 else 0
    h = cosmology.h
    lo, hi = 1e13 / h, 0.5 * host.m200
    if n == 0 or hi <= lo:
        return 0
    pix = size_r200 * host.r200 / npix
    phys = get_physics(physics)
    for _ in range(n):
        u_ = rng.uniform()
        a = -0.9
        m200 = (lo**a + u_ * (hi**a - lo**a)) ** (1 / a)
        c200 = float(concentration_200c(m200 * u.Msun, host.z, cosmology))
        m500 = float(m500c_from_m200c(m200 * u.Msun, host.z, cosmology, c200=c200)[0].value)
        r200 = float(radius_from_mass(m200 * u.Msun, 200, host.z, cosmology).value)
        r500 = float(radius_from_mass(m500 * u.Msun, 500, host.z, cosmology).value)
        nb = dataclasses.replace(
            host, m200=m200, r200=r200, c200=c200, m500=m500, r500=r500, q=1.0, s=1.0, q_gas=1.0, s_gas=1.0,
            cool_core=False, merger=False, f_gas500=float(gas_fraction_500(m500, phys.fgas_norm, phys.fgas_slope)),
            pressure_factor=1.0, sub_mass=np.zeros(0), sub_pos=np.zeros((0, 3)), sub_rt=np.zeros(0),
            sub_rs=np.zeros(0), sub_mstar=np.zeros(0), sub_vel=np.zeros((0, 3)), sub_orphan=np.zeros(0, bool))
        model = HaloModel(nb, phys, cosmology, include={"dm", "gas"}, rmax_r200=8.0)
        # the neighbour's own frame, with the host's pixels, then pasted at its position
        column = model.rmax_r200 if column_r200 is None else column_r200
        nmaps, _ = project_halo(model, np.eye(3), npix=npix, size_r200=npix * pix / r200,
                                depth_r200=min(3.0, column), observable_depth_r200=column, smoothing_r200=0.0)
        dx, dy = (int(round(v)) for v in rng.uniform(-npix / 2, npix / 2, size=2))
        src = (slice(max(0, -dy), npix - max(0, dy)), slice(max(0, -dx), npix - max(0, dx)))
        dst = (slice(max(0, dy), npix - max(0, -dy)), slice(max(0, dx), npix - max(0, -dx)))
        _ = max_distance_r200  # the distance only sets the (negligible) redshift difference
        for k in LOS_OBSERVABLES:
            if k in maps:
                maps[k][dst] += nmaps[k][src]
    return n
