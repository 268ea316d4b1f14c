"""Circular apertures on pixel grids: the one definition of "the mass inside R".

`MassMap.total_mass`, the self-consistent R200 solve of `~massrecon.MassReconstructor` and the
validation metrics all weight pixels by their exact overlap with the circle, computed by
`photutils.aperture.CircularAperture` (``to_mask(method="exact")``), so that a mass inside R200
means the same number everywhere.
"""

import functools

import numpy as np

__all__ = ["aperture_weights"]


def aperture_weights(shape, radius_pix, center=None):
    """Fraction of each pixel inside a circle of ``radius_pix`` pixels (exact overlap).

    The arrays are cached (and read-only), as the same apertures recur for every map of a frame.

    Parameters
    ----------
    shape : int or tuple of int
        ``npix`` of a square image, or its ``(ny, nx)``.
    radius_pix : float
        Radius of the circle in pixels.
    center : tuple of float, optional
        Zero-based ``(x, y)`` of the centre; default the centre of the image.

    Returns
    -------
    weights : `~numpy.ndarray`
        Read-only float array of ``shape`` with values in [0, 1].

    Examples
    --------
    The weights sum to the area of the circle:

    >>> import numpy as np
    >>> from massrecon.apertures import aperture_weights
    >>> w = aperture_weights(80, 20.0)
    >>> bool(np.isclose(w.sum(), np.pi * 20.0**2))
    True
    """
    shape = (int(shape), int(shape)) if np.ndim(shape) == 0 else tuple(int(n) for n in shape)
    if center is None:
        center = ((shape[1] - 1) / 2.0, (shape[0] - 1) / 2.0)
    radius_pix = float(radius_pix)
    if not (np.isfinite(radius_pix) and radius_pix > 0):
        raise ValueError(f"radius_pix must be finite and positive, got {radius_pix}")
    return _cached_weights(shape, (float(center[0]), float(center[1])), radius_pix)


@functools.lru_cache(maxsize=512)
def _cached_weights(shape, center, radius_pix):
    from photutils.aperture import CircularAperture

    w = CircularAperture(center, r=radius_pix).to_mask(method="exact").to_image(shape)
    if w is None:  # the circle misses the image
        w = np.zeros(shape)
    w = np.asarray(w, dtype=float)
    w.flags.writeable = False
    return w
