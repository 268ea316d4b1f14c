"""Putting an image on a cluster frame: cut-outs, block averaging, reprojection, smoothing."""

import functools

import astropy.units as u
import numpy as np
from astropy.convolution import Gaussian2DKernel, convolve_fft
from astropy.coordinates import ICRS, UnitSphericalRepresentation
from astropy.nddata import block_reduce
from astropy.stats import gaussian_fwhm_to_sigma
from astropy.wcs.utils import proj_plane_pixel_scales

__all__ = []


def _corner_pixels(shape):
    """Zero-based ``(x, y)`` of all pixel corners of a grid of ``shape``, flattened."""
    ny, nx = shape
    yy, xx = np.mgrid[-0.5 : ny + 0.5 : 1.0, -0.5 : nx + 0.5 : 1.0]
    return xx.ravel(), yy.ravel()


def frame_corner_grid(frame_wcs, shape):
    """World coordinates of all pixel corners of a grid (for footprints and cut-outs)."""
    return frame_wcs.pixel_to_world(*_corner_pixels(shape))


def unit_vectors(coord):
    """Cartesian unit vectors, shape ``(3, ...)``, of sky positions (distances are ignored).

    ``coord`` is a `~astropy.coordinates.SkyCoord`, a coordinate frame or a representation;
    this is ``SkyCoord.cartesian`` on the unit sphere, in the frame of ``coord``.
    """
    return coord.represent_as(UnitSphericalRepresentation).to_cartesian().xyz.value


def _lonlat_axes(wcs):
    return int(wcs.wcs.lng), int(wcs.wcs.lat)


def pixel_to_pixel(wcs_from, wcs_to, x, y):
    """Zero-based pixel positions in ``wcs_to`` of the pixels ``(x, y)`` of ``wcs_from``.

    Two undistorted celestial WCS in the same sky frame (the usual case: an image and a frame,
    both ICRS) are chained through wcslib directly, several times faster than astropy's
    high-level `~astropy.wcs.utils.pixel_to_pixel`, which builds a `~astropy.coordinates.SkyCoord`
    and is used otherwise (other frames, SIP or lookup-table distortions).  Positions that cannot
    be projected are NaN.
    """
    from astropy.wcs.utils import pixel_to_pixel as astropy_pixel_to_pixel
    from astropy.wcs.utils import wcs_to_celestial_frame

    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    try:
        same = (not wcs_from.has_distortion and not wcs_to.has_distortion
                and wcs_to_celestial_frame(wcs_from).is_equivalent_frame(wcs_to_celestial_frame(wcs_to)))
    except ValueError:  # a celestial frame astropy does not know
        same = False
    if same:
        with np.errstate(invalid="ignore"):
            world = wcs_from.wcs_pix2world(x, y, 0)
            lng, lat = _lonlat_axes(wcs_from)
            ordered = [None, None]
            lng_to, lat_to = _lonlat_axes(wcs_to)
            ordered[lng_to], ordered[lat_to] = world[lng], world[lat]
            px, py = wcs_to.wcs_world2pix(*ordered, 0)
        return px, py
    with np.errstate(invalid="ignore"):
        return astropy_pixel_to_pixel(wcs_from, wcs_to, x, y)


def interpolate_onto(arrays, wcs_in, wcs_out, shape_out, return_positions=False):
    """Bilinear interpolation of images on ``wcs_in`` onto the pixel grid of ``wcs_out``.

    ``arrays`` is ``(..., ny_in, nx_in)``; the result is ``(..., *shape_out)``, NaN outside the
    input and next to NaN input pixels (with ``return_positions``, also the positions
    ``(px, py)`` of the output pixels in input pixels, each of ``shape_out``).  This is what
    ``reproject.reproject_interp(..., order="bilinear", roundtrip_coords=False)`` computes,
    with reproject's edge convention (a position in the outer half of a border pixel takes that
    pixel's value) and `scipy.ndimage.map_coordinates`, equal to it to rounding (tested).  The pixel mapping goes
    through `pixel_to_pixel` instead of reproject's high-level coordinate path, which costs
    about 4 ms per 80x80 frame, a third of the budget of a whole prediction.
    """
    from scipy.ndimage import map_coordinates

    arrays = np.asarray(arrays, dtype=np.float64)
    ny, nx = shape_out
    yy, xx = np.mgrid[0:ny, 0:nx].astype(float)
    px, py = pixel_to_pixel(wcs_out, wcs_in, xx.ravel(), yy.ravel())
    coords = np.array([py, px])
    for axis, n in enumerate(arrays.shape[-2:]):
        c = coords[axis]
        c[(c < 0) & (c >= -0.5)] = 0
        c[(c < n - 0.5) & (c >= n - 1)] = n - 1
    coords[~np.isfinite(coords)] = -1.0  # outside: the constant NaN
    lead = arrays.shape[:-2]
    flat = arrays.reshape((-1, *arrays.shape[-2:]))
    out = np.stack([map_coordinates(a, coords, order=1, mode="constant", cval=np.nan) for a in flat])
    out = out.reshape((*lead, ny, nx))
    if return_positions:
        return out, (px.reshape(shape_out), py.reshape(shape_out))
    return out


#: Sky frames of HEALPix maps that are a fixed rotation of ICRS (no epoch, no E-terms).
_ROTATED_FRAMES = ("icrs", "galactic", "fk5")


@functools.cache
def _rotation_from_icrs(frame_name):
    """3x3 matrix taking ICRS unit vectors to ``frame_name`` (one astropy transformation)."""
    from astropy.coordinates import CartesianRepresentation, SkyCoord

    basis = SkyCoord(CartesianRepresentation(np.eye(3)), frame="icrs").transform_to(frame_name)
    return basis.cartesian.xyz.value


def healpix_onto(arrays, coordsys, nested, wcs_out, shape_out):
    """Bilinear interpolation of HEALPix maps onto the pixel grid of ``wcs_out``.

    ``arrays`` is a list of maps sharing one pixelisation in the sky frame ``coordsys``.  This
    is what ``reproject.reproject_from_healpix(..., order="bilinear")`` computes (astropy-healpix's
    bilinear weights; equal to rounding, tested), with two savings that matter when a catalogue
    cuts thousands of clusters from one map: an undistorted ICRS frame is rotated into the map's
    sky frame with a fixed matrix instead of astropy's coordinate machinery, and the maps share
    one set of weights.  Other frames go through reproject.
    """
    from astropy.wcs.utils import wcs_to_celestial_frame
    from astropy_healpix import bilinear_interpolation_weights, npix_to_nside

    try:
        icrs = (not wcs_out.has_distortion and str(coordsys) in _ROTATED_FRAMES
                and wcs_to_celestial_frame(wcs_out).is_equivalent_frame(ICRS()))
    except ValueError:
        icrs = False
    if not icrs:
        from reproject import reproject_from_healpix

        return [reproject_from_healpix((a, coordsys), wcs_out, shape_out=shape_out, nested=nested)[0]
                for a in arrays]
    ny, nx = shape_out
    yy, xx = np.mgrid[0:ny, 0:nx].astype(float)
    lng, lat = _lonlat_axes(wcs_out)
    world = wcs_out.wcs_pix2world(xx, yy, 0)
    vec = unit_vectors(UnitSphericalRepresentation(world[lng] * u.deg, world[lat] * u.deg, copy=False))
    v = np.tensordot(_rotation_from_icrs(str(coordsys)), vec, axes=1)
    lon = np.mod(np.arctan2(v[1], v[0]), 2 * np.pi) * u.rad  # astropy-healpix wants [0, 2 pi)
    lat_out = np.arcsin(np.clip(v[2], -1.0, 1.0)) * u.rad
    nside = npix_to_nside(len(arrays[0]))
    with np.errstate(invalid="ignore", divide="ignore"):
        index, weight = bilinear_interpolation_weights(lon, lat_out, nside, order="nested" if nested else "ring")
        return [(np.asarray(a)[index] * weight).sum(axis=0) for a in arrays]


def cutout_slices(wcs_in, shape_in, frame_wcs, shape_out, margin):
    """Slices of the input array covering the output grid with ``margin`` input pixels to spare.

    Returns ``(slices, local)``, or None when the output grid does not overlap the input array
    at all.  ``local`` is False when part of the grid cannot be projected onto the input (e.g.
    behind a zenithal projection): the slices then keep the whole array.  Every pixel corner is
    projected, not only the grid's border: a pole of a cylindrical input inside the frame maps
    to an extreme input row that the border never reaches.
    """
    px, py = pixel_to_pixel(frame_wcs, wcs_in, *_corner_pixels(shape_out))
    ok = np.isfinite(px) & np.isfinite(py)
    if not np.any(ok):
        return None
    if not np.all(ok):
        return (slice(0, shape_in[0]), slice(0, shape_in[1])), False
    x0 = int(np.floor(px.min())) - margin
    x1 = int(np.ceil(px.max())) + margin + 1
    y0 = int(np.floor(py.min())) - margin
    y1 = int(np.ceil(py.max())) + margin + 1
    x0, y0 = max(x0, 0), max(y0, 0)
    x1, y1 = min(x1, shape_in[1]), min(y1, shape_in[0])
    if x1 <= x0 or y1 <= y0:
        return None
    return (slice(y0, y1), slice(x0, x1)), True


def native_pixel_scale(wcs):
    """Smallest pixel side of a celestial WCS at its reference point, as an angle Quantity."""
    return float(np.min(proj_plane_pixel_scales(wcs))) * u.deg


def binning_factor(wcs_in, out_pixel_scale):
    """Integer block size that brings the input pixels closest to (not above) the output pixel."""
    ratio = float((out_pixel_scale / native_pixel_scale(wcs_in)).decompose())
    return max(int(np.floor(ratio + 1e-9)), 1)


def block_mean(data, std, factor):
    """NaN-aware block mean of ``data`` and the standard deviation of that mean.

    NaN marks masked pixels; a block is NaN only when all its pixels are.  Blocks are
    ``factor`` x ``factor`` pixels summed by `astropy.nddata.block_reduce`, which drops the
    partial blocks at the far edges; the mean equals ``block_reduce(data, factor, np.nanmean)``
    (tested), but the number of valid pixels per block is needed for the noise anyway.
    """
    valid = np.isfinite(data)
    n = block_reduce(valid.astype(float), factor)
    total = block_reduce(np.where(valid, data, 0.0), factor)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.where(n > 0, total / n, np.nan)
        if std is None:
            out_std = None
        else:
            var = block_reduce(np.where(valid, np.nan_to_num(std, nan=0.0) ** 2, 0.0), factor)
            out_std = np.where(n > 0, np.sqrt(var) / n, np.nan)
    return mean, out_std


def rebinned_wcs(wcs, factor):
    """WCS of an image binned by ``factor`` (astropy's strided slicing centres the new pixels)."""
    ny, nx = wcs.pixel_shape[1], wcs.pixel_shape[0]
    new = wcs[0:ny:factor, 0:nx:factor]
    new.pixel_shape = (nx // factor, ny // factor)
    return new


def pixel_solid_angle(wcs, shape):
    """Solid angle of every pixel of an image (sr), from the sky positions of its corners.

    Exact to second order in the pixel size for any projection, including pixels far from the
    projection's reference point (where the projection-plane pixel area is biased).
    """
    ny, nx = shape
    vec = np.moveaxis(unit_vectors(frame_corner_grid(wcs, shape)), 0, -1).reshape(ny + 1, nx + 1, 3)
    # quadrilateral area = |d1 x d2| / 2 with the two diagonals d1, d2
    d1 = vec[1:, 1:] - vec[:-1, :-1]
    d2 = vec[1:, :-1] - vec[:-1, 1:]
    return 0.5 * np.linalg.norm(np.cross(d1, d2), axis=-1)


def padded_frame_wcs(frame, pad):
    """The frame's WCS and shape enlarged by ``pad`` pixels on every side."""
    wcs = frame.wcs.deepcopy()
    if pad:
        wcs.wcs.crpix = wcs.wcs.crpix + pad
        wcs.wcs.set()
    ny, nx = frame.array_shape
    shape = (ny + 2 * pad, nx + 2 * pad)
    wcs.pixel_shape = (shape[1], shape[0])
    return wcs, shape


def smoothing_sigma_pixels(target, beam, pixel_scale):
    """Gaussian sigma (output pixels) that turns a beam of FWHM ``beam`` into one of ``target``."""
    fwhm = np.sqrt(max(target.to_value(u.arcmin) ** 2 - beam.to_value(u.arcmin) ** 2, 0.0)) * u.arcmin
    return float((fwhm * gaussian_fwhm_to_sigma / pixel_scale).decompose())


def smooth(data, std, sigma_pix):
    """Gaussian smoothing of a map with NaN holes (kept), and of its per-pixel noise.

    The noise is propagated as for independent pixels: the variance is convolved with the
    square of the normalised kernel.
    """
    kernel = Gaussian2DKernel(sigma_pix, mode="oversample", factor=10)
    kernel.normalize("integral")
    opts = dict(nan_treatment="interpolate", preserve_nan=True, boundary="fill", fill_value=np.nan)
    out = convolve_fft(data, kernel, **opts)
    out_std = None
    if std is not None:
        k2 = kernel.array**2
        # mean of the variance weighted by K^2 over the valid pixels, times sum(K^2): the variance
        # of sum(K x) for independent pixels when all pixels are valid.  K^2 is normalised here
        # because convolve_fft refuses to normalise a kernel whose sum is below 0.01 (sigma > ~3 px).
        var = convolve_fft(std**2, k2 / k2.sum(), normalize_kernel=False, **opts) * k2.sum()
        out_std = np.sqrt(var)
    return out, out_std
