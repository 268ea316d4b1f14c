"""The SPH kernel: the cubic spline M4 and its line-of-sight integral.

The cubic spline of Monaghan & Lattanzio 1985 (A&A 149, 135) in the GADGET convention, where the
smoothing length :math:`H` is the radius of compact support:
:math:`W(r, H) = \\frac{8}{\\pi H^3} w(r/H)` with :math:`w(q) = 1 - 6q^2 + 6q^3` for
:math:`q \\le 1/2`, :math:`2(1-q)^3` for :math:`1/2 < q \\le 1`, 0 beyond.  In the notation of
Price 2012 (JCP 231, 759) :math:`H = 2h`.  Its line-of-sight integral is tabulated once on a grid
uniform in :math:`q^2`.
"""

import numpy as np

__all__ = ["sph_kernel", "sph_kernel_projected", "projected_kernel_table"]


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


def projected_kernel_table():
    """`sph_kernel_projected` tabulated on a uniform grid of ``q**2`` from 0 to 1 (computed once).

    The line-of-sight integral is done by Gauss-Legendre quadrature on either side of the kernel's
    kink at :math:`q = 1/2`; the table is normalised so that its piecewise-linear interpolation in
    :math:`q^2` integrates to 1 over the unit disc.

    Returns
    -------
    table : `~numpy.ndarray`
        Values at ``q**2 = linspace(0, 1, table.size)``.

    Examples
    --------
    >>> from massrecon.simulate.particles.kernel import projected_kernel_table
    >>> tab = projected_kernel_table()
    >>> tab.size, float(tab[-1])
    (4097, 0.0)
    """
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
    tab = projected_kernel_table()
    return np.interp(q2, np.linspace(0.0, 1.0, _NTAB), tab, right=0.0)
