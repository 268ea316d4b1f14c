"""Private cloud-in-cell deposit shared by the simulator, the particle projector and the member maps."""

import numpy as np

__all__ = []


def cic_deposit(npix, fx, fy, values):
    """Cloud-in-cell sums of ``values`` on an ``npix`` x ``npix`` grid.

    Parameters
    ----------
    npix : int
        Size of the square grid.
    fx, fy : array_like
        Positions in pixel units, pixel ``i`` centred on ``i`` (so ``0 <= f <= npix - 1`` lies
        inside the grid).
    values : array_like
        ``(N,)`` or ``(fields, N)`` quantities to deposit (any extensive quantity; divide by the
        pixel area afterwards for a surface density).

    Returns
    -------
    grid : ndarray
        ``(npix, npix)`` or ``(fields, npix, npix)`` sums; weight that falls outside the grid is
        dropped.
    """
    values = np.asarray(values, dtype=np.float64)
    single = values.ndim == 1
    values = np.atleast_2d(values)
    fx = np.asarray(fx, dtype=np.float64)
    fy = np.asarray(fy, dtype=np.float64)
    # np.bincount is ~10x faster than np.add.at; out-of-grid weight goes to an overflow bin
    out = np.zeros((values.shape[0], npix * npix + 1))
    ix = np.floor(fx).astype(np.int64)
    iy = np.floor(fy).astype(np.int64)
    tx = fx - ix
    ty = fy - iy
    for dx, wx in ((0, 1 - tx), (1, tx)):
        for dy, wy in ((0, 1 - ty), (1, ty)):
            jx, jy = ix + dx, iy + dy
            ok = (jx >= 0) & (jx < npix) & (jy >= 0) & (jy < npix)
            flat = np.where(ok, jy * npix + jx, npix * npix)
            w = wx * wy
            for k in range(values.shape[0]):
                out[k] += np.bincount(flat, weights=values[k] * w, minlength=npix * npix + 1)
    grid = out[:, :-1].reshape(-1, npix, npix)
    return grid[0] if single else grid
