"""Circular apertures on pixel grids: the one definition of "the mass inside R".

`MassMap.total_mass`, the self-consistent R200 solve of `~massrecon.MassReconstructor` and the
validation metrics all weight pixels by their exact overlap with the circle, computed by
`photutils.aperture.CircularAperture` (``to_mask(method="exact")``), so that a mass inside R200
means the same number everywhere.
"""

import functools

import numpy as np

__all__ = ["aperture_weights", "annulus_weights", "region_weights"]


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


def annulus_weights(shape, inner_pix, outer_pix, center=None):
    """Fraction of each pixel inside an annulus (exact overlap): the outer circle minus the inner one.

    Parameters
    ----------
    shape : int or tuple of int
        As for `aperture_weights`.
    inner_pix, outer_pix : float
        Inner (>= 0) and outer radii in pixels, ``inner_pix < outer_pix``.
    center : tuple of float, optional
        Zero-based ``(x, y)`` of the centre; default the centre of the image.

    Returns
    -------
    weights : `~numpy.ndarray`

    Examples
    --------
    >>> import numpy as np
    >>> from massrecon.apertures import annulus_weights
    >>> w = annulus_weights(80, 10.0, 20.0)
    >>> bool(np.isclose(w.sum(), np.pi * (20.0**2 - 10.0**2)))
    True
    """
    inner_pix, outer_pix = float(inner_pix), float(outer_pix)
    if not (np.isfinite(inner_pix) and inner_pix >= 0):
        raise ValueError(f"inner_pix must be finite and >= 0, got {inner_pix}")
    if not outer_pix > inner_pix:
        raise ValueError(f"outer_pix must be larger than inner_pix ({inner_pix}), got {outer_pix}")
    outer = aperture_weights(shape, outer_pix, center)
    if inner_pix == 0:
        return outer
    # Both circles have exact overlaps, so their difference is the exact annulus (clipped at 0
    # against round-off where both are 1).
    return np.clip(outer - aperture_weights(shape, inner_pix, center), 0.0, 1.0)


def region_weights(shape, region, wcs=None):
    """Fraction of each pixel inside a ``regions`` region, and the region's whole area in pixels.

    Sky regions are converted to pixels with ``wcs``.  Circles, ellipses, rectangles and polygons
    use the exact overlap of ``regions`` (``mode="exact"``); circular annuli are the difference of
    two exact circles (`annulus_weights`); other shapes fall back to 16 x 16 sub-pixels.

    Parameters
    ----------
    shape : tuple of int
        ``(ny, nx)`` of the image.
    region : `regions.PixelRegion` or `regions.SkyRegion`
    wcs : `~astropy.wcs.WCS`, optional
        Needed for a sky region.

    Returns
    -------
    weights : `~numpy.ndarray`
        The overlap fractions on the image (zero where the region misses it).
    area_pix : float
        Area of the whole region in pixels, also the part off the image.

    Examples
    --------
    >>> import numpy as np
    >>> from regions import CirclePixelRegion, PixCoord
    >>> from massrecon.apertures import aperture_weights, region_weights
    >>> w, area = region_weights((40, 40), CirclePixelRegion(PixCoord(19.5, 19.5), 10.0))
    >>> bool(np.allclose(w, aperture_weights(40, 10.0))), bool(np.isclose(area, np.pi * 100))
    (True, True)
    """
    import regions

    shape = tuple(int(n) for n in shape)
    if isinstance(region, regions.SkyRegion):
        if wcs is None:
            raise ValueError("a wcs is needed to place a sky region on the image")
        region = region.to_pixel(wcs)
    if not isinstance(region, regions.PixelRegion):
        raise TypeError(f"region must be a regions.PixelRegion or SkyRegion, got {type(region).__name__}")
    if isinstance(region, regions.CircleAnnulusPixelRegion):
        center = (float(region.center.x), float(region.center.y))
        w = annulus_weights(shape, region.inner_radius, region.outer_radius, center)
        return np.array(w), float(np.pi * (region.outer_radius**2 - region.inner_radius**2))
    try:
        mask = region.to_mask(mode="exact")
    except (NotImplementedError, ValueError):
        mask = region.to_mask(mode="subpixels", subpixels=16)
    image = mask.to_image(shape)
    w = np.zeros(shape) if image is None else np.asarray(image, dtype=float)
    return w, float(np.sum(mask.data))
