"""Dark matter: triaxial NFW hosts, subhalos and merging companions.

* Host: NFW (Navarro, Frenk & White 1997, ApJ 490, 493) with an ellipsoidal radius
  :math:`r_e^2 = x^2/a^2 + y^2/b^2 + z^2/c^2`, axis ratios ``q = b/a``, ``s = c/a`` and
  ``abc = 1``, so that the mass inside the ellipsoid :math:`r_e < R` equals the spherical one.
  Axis ratios follow Jing & Suto 2002 (ApJ 574, 538, eq. 17-18): ``s`` Gaussian with mean
  ``0.54 (M/M*)^(-0.07 Omega_m(z)^0.7)`` and width 0.113, and ``q`` from their conditional
  distribution given ``s``; massive halos are the most elongated.
* Subhalos: the subhalo mass function of Giocoli, Tormen, Sheth & van den Bosch 2010 (MNRAS 404,
  502, eq. 2), :math:`dN/d\\ln m = (1+z)^{1/2} A_0 M^{1-\\alpha} m^{-\\alpha}
  \\exp[-\\beta (m/M)^3]` (masses in h^-1 Msun), with alpha = 0.9, beta = 12.2715,
  A0 = 9.33e-4; radial distribution of Gao et al. 2004 (MNRAS 355, 819, eq. 2),
  :math:`N(<x)/N_{200} = (1 + a c) x^\\beta / (1 + a c x^\\alpha)` with a = 0.244, alpha = 2,
  beta = 2.75; profiles are NFW truncated at the tidal radius
  :math:`r_t = r [m / ((2 - d\\ln M/d\\ln r) M(<r))]^{1/3}` (King 1962; Tormen et al. 1998)
  with the smooth truncation of Baltz, Marshall & Oguri 2009 (JCAP 01, 015, eq. 10, n = 2).
* Major mergers: a companion NFW halo inside ~2 R200 whose gas is displaced from its dark
  matter along the merger axis by 50-300 kpc, as in the Bullet cluster (Clowe et al. 2006,
  ApJ 648, L109).
"""

import numpy as np
from scipy.integrate import quad

from ..halo import nfw_enclosed_mass_shape

__all__ = [
    "nfw_mass",
    "sample_axis_ratios",
    "random_rotation",
    "subhalo_mass_function_count",
    "sample_subhalo_masses",
    "sample_subhalo_radii",
    "tidal_radius",
    "truncated_nfw_projected_table",
]

_GIOCOLI = dict(a0=9.33e-4, alpha=0.9, beta=12.2715)
_GAO = dict(a=0.244, alpha=2.0, beta=2.75)


def nfw_mass(r, rs):
    """NFW enclosed-mass shape at radius ``r``: `~massrecon.halo.nfw_enclosed_mass_shape` of
    :math:`r/r_s`, :math:`m(r/r_s) = \\ln(1 + r/r_s) - (r/r_s)/(1 + r/r_s)`.

    Examples
    --------
    >>> from massrecon.simulate.dark_matter import nfw_mass
    >>> round(float(nfw_mass(300.0, 300.0)), 4)
    0.1931
    """
    return nfw_enclosed_mass_shape(np.asarray(r, dtype=float) / rs)


def sample_axis_ratios(rng, m_over_mstar, omega_m_z):
    """Draw triaxial axis ratios ``(q, s)`` (``1 >= q >= s``) following Jing & Suto 2002.

    ``s`` is Gaussian with mean ``0.54 (M/M*)^(-0.07 Omega_m(z)^0.7)``, sigma 0.113 (their eq.
    17, rescaled by the mass term); ``q`` follows their eq. 18 given ``s``, with
    ``r_min = max(s, 0.5)``.  Values are kept within ``[0.3, 1]``.
    """
    mean = 0.54 * m_over_mstar ** (-0.07 * omega_m_z**0.7)
    while True:
        s_scaled = rng.normal(0.54, 0.113)
        s = s_scaled * mean / 0.54
        if 0.3 <= s <= 0.98:
            break
    rmin = max(s, 0.5)
    # p(q|s) = 3/[2(1-rmin)] {1 - [(2q - 1 - rmin)/(1 - rmin)]^2} on [rmin, 1]: a parabola; draw
    # by rejection.
    while True:
        q = rng.uniform(rmin, 1.0)
        t = (2 * q - 1 - rmin) / (1 - rmin)
        if rng.uniform() < 1 - t * t:
            break
    return float(max(q, s)), float(s)


def random_rotation(rng):
    """A rotation matrix uniformly distributed on SO(3) (from a random unit quaternion)."""
    qv = rng.normal(size=4)
    qv /= np.linalg.norm(qv)
    w, x, y, z = qv
    return np.array(
        [
            [1 - 2 * (y * y + z * z), 2 * (x * y - z * w), 2 * (x * z + y * w)],
            [2 * (x * y + z * w), 1 - 2 * (x * x + z * z), 2 * (y * z - x * w)],
            [2 * (x * z - y * w), 2 * (y * z + x * w), 1 - 2 * (x * x + y * y)],
        ]
    )


def subhalo_mass_function_count(m200_h, xmin, z, norm=1.0, xmax=0.2):
    """Expected number of subhalos with ``xmin < m/M < xmax`` (Giocoli et al. 2010, eq. 2).

    ``m200_h`` is the host mass in h^-1 Msun.  Subhalos above ``xmax`` (default 0.2) are major
    mergers, modelled separately as companions.
    """
    a0, alpha, beta = _GIOCOLI["a0"], _GIOCOLI["alpha"], _GIOCOLI["beta"]
    amp = norm * (1 + z) ** 0.5 * a0 * m200_h ** (1 - alpha)
    val, _ = quad(lambda lx: np.exp(-alpha * lx) * np.exp(-beta * np.exp(3 * lx)), np.log(xmin), np.log(xmax))
    return amp * val


def sample_subhalo_masses(rng, m200_h, xmin, z, norm=1.0, xmax=0.2):
    """Draw subhalo mass ratios ``xmin < m/M < xmax`` from the Giocoli et al. 2010 mass function."""
    n_mean = subhalo_mass_function_count(m200_h, xmin, z, norm, xmax)
    n = rng.poisson(n_mean)
    alpha, beta = _GIOCOLI["alpha"], _GIOCOLI["beta"]
    out = []
    # power law m^-alpha in dN/dlnm -> inverse transform, then the exponential cut by rejection
    while len(out) < n:
        u_ = rng.uniform(size=2 * (n - len(out)) + 4)
        x = (xmin ** (-alpha) - u_ * (xmin ** (-alpha) - xmax ** (-alpha))) ** (-1.0 / alpha)
        keep = rng.uniform(size=x.size) < np.exp(-beta * x**3)
        out.extend(x[keep].tolist())
    return np.sort(np.array(out[:n]))[::-1]


def sample_subhalo_radii(rng, n, c200, rmax=1.0):
    """Draw 3D host-centric radii (units of R200) from the Gao et al. 2004 distribution."""
    a, alpha, beta = _GAO["a"], _GAO["alpha"], _GAO["beta"]
    xg = np.linspace(1e-3, rmax, 400)
    cdf = (1 + a * c200) * xg**beta / (1 + a * c200 * xg**alpha)
    cdf = cdf / cdf[-1]
    return np.interp(rng.uniform(size=n), cdf, xg)


def tidal_radius(r, m_sub, m200, r200, c200):
    """Jacobi (tidal) radius of a subhalo of mass ``m_sub`` at radius ``r`` in an NFW host.

    :math:`r_t = r [m / ((2 - d\\ln M/d\\ln r) M(<r))]^{1/3}` (e.g. Tormen, Diaferio & Syer 1998).
    """
    rs = r200 / c200
    x = np.asarray(r, dtype=float) / rs
    mr = m200 * nfw_mass(r, rs) / nfw_mass(r200, rs)
    dlnm = x**2 / (1 + x) ** 2 / nfw_mass(r, rs)
    return r * (m_sub / ((2 - dlnm) * mr)) ** (1.0 / 3.0)


def truncated_nfw_projected_table(taus, x_grid):
    """Projected, unit-mass profiles of BMO09 truncated NFW halos (n = 2).

    :math:`\\rho \\propto [x (1+x)^2]^{-1} [\\tau^2 / (\\tau^2 + x^2)]^2` (Baltz, Marshall & Oguri
    2009, eq. 10).  Returns ``table[i_tau, i_x]``: surface density in units of ``m / r_s^2`` at
    projected ``x = R / r_s`` for total mass ``m``.
    """
    table = np.empty((len(taus), len(x_grid)))
    lgrid = np.concatenate([[0.0], np.logspace(-4, 3, 700)])
    for i, tau in enumerate(taus):
        def rho(r, tau=tau):
            r = np.maximum(r, 1e-8)
            return 1.0 / (r * (1 + r) ** 2) * (tau**2 / (tau**2 + r**2)) ** 2

        mtot, _ = quad(lambda r: 4 * np.pi * r**2 * rho(r), 0, np.inf, limit=200)
        rr = np.sqrt(x_grid[:, None] ** 2 + lgrid[None, :] ** 2)
        sig = 2 * np.trapezoid(rho(rr), lgrid, axis=1)
        table[i] = sig / mtot
    return table
