"""Comparison of a mass map with another map of the cluster (lensing, X-ray, SZ, another mass map)."""

import dataclasses

import astropy.units as u
import numpy as np
from astropy.coordinates import SkyCoord

from ..contract import TARGET_UNIT

__all__ = ["MapComparison", "compare_maps", "peak_position"]


@dataclasses.dataclass(frozen=True)
class MapComparison:
    """The result of `~massrecon.MassMap.compare_to`.

    Attributes
    ----------
    pearson_r : float
        Pearson correlation coefficient of the two maps over the pixels both cover.
    peak_offset : `~astropy.units.Quantity`
        Projected distance (kpc, at the cluster) between the peaks of the two maps.
    peak, other_peak : `~astropy.coordinates.SkyCoord`
        The peaks (maxima, refined to a fraction of a pixel by a quadratic fit).
    scale, offset : `~astropy.units.Quantity`
        :math:`a, b` of the least-squares :math:`\\Sigma \\approx a\\,X + b` of the mass map
        :math:`\\Sigma` against the other map :math:`X` (:math:`a = 1, b = 0` when :math:`X` is a
        surface density already; :math:`a \\approx \\Sigma_{\\rm cr}` for a convergence map).
    residual : `~massrecon.MassMap`
        :math:`\\Sigma - (a X + b)` on the mass map's grid (NaN where the other map has no data).
    n_pixels : int
        Number of pixels compared.
    """

    pearson_r: float
    peak_offset: u.Quantity
    peak: SkyCoord
    other_peak: SkyCoord
    scale: u.Quantity
    offset: u.Quantity
    residual: object
    n_pixels: int


def _as_input(other):
    """``other`` as something `reproject` takes, and its unit (None when it has none)."""
    if isinstance(other, tuple) and len(other) == 2:
        data, wcs = other
        unit = data.unit if isinstance(data, u.Quantity) else None
        return (np.asarray(getattr(data, "value", data), dtype=float), wcs), unit
    if hasattr(other, "wcs") and hasattr(other, "data"):
        if other.wcs is None:
            raise ValueError("other has no WCS: it cannot be put on the mass map's grid")
        unit = getattr(other, "unit", None)
        data = np.array(other.data, dtype=float)
        if getattr(other, "mask", None) is not None:
            data[np.asarray(other.mask, bool)] = np.nan
        return (data, other.wcs.celestial), (u.Unit(unit) if unit is not None else None)
    if hasattr(other, "header") and hasattr(other, "data"):  # a FITS HDU
        bunit = other.header.get("BUNIT")
        return other, (u.Unit(bunit) if bunit else None)
    raise TypeError(f"other must be an NDData/CCDData/MassMap with a WCS, a FITS image HDU or a (data, wcs) "
                    f"tuple, got {type(other).__name__}")


def _smoothed(data, good, sigma_pixels):
    """Gaussian smoothing that ignores bad pixels (normalised convolution)."""
    from scipy.ndimage import gaussian_filter

    if sigma_pixels <= 0:
        return data
    w = gaussian_filter(good.astype(float), sigma_pixels, mode="constant")
    v = gaussian_filter(np.where(good, data, 0.0), sigma_pixels, mode="constant")
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(w > 0.2, v / w, np.nan)


def peak_position(data, good, sigma_pixels=0.0):
    """Zero-based (x, y) of the maximum of the smoothed map, refined by a parabola on each axis.

    A single bright pixel (a cusp, a subhalo, a noise spike) is not the main mass peak: the map is
    smoothed first, as peaks of lensing maps are found on smoothed maps.

    Parameters
    ----------
    data : `~numpy.ndarray`
        2-D map.
    good : `~numpy.ndarray` of bool
        Pixels to use (same shape).
    sigma_pixels : float
        Dispersion of the Gaussian smoothing, pixels (0: none).

    Returns
    -------
    tuple of float

    Examples
    --------
    >>> import numpy as np
    >>> from massrecon.analysis.compare import peak_position
    >>> yy, xx = np.indices((21, 21))
    >>> blob = np.exp(-((xx - 12.3) ** 2 + (yy - 7.0) ** 2) / 8.0)
    >>> [round(float(v), 1) for v in peak_position(blob, np.ones_like(blob, bool))]
    [12.3, 7.0]
    """
    data = _smoothed(data, good, sigma_pixels)
    good = good & np.isfinite(data)
    filled = np.where(good, data, -np.inf)
    y, x = np.unravel_index(int(np.argmax(filled)), data.shape)
    out = []
    for pos, line in ((x, filled[y, :]), (y, filled[:, x])):
        shift = 0.0
        if 0 < pos < line.size - 1 and np.all(np.isfinite(line[pos - 1:pos + 2])):
            lo, mid, hi = line[pos - 1:pos + 2]
            curvature = lo - 2.0 * mid + hi
            if curvature < 0:
                shift = float(np.clip(0.5 * (lo - hi) / curvature, -0.5, 0.5))
        out.append(pos + shift)
    return out[0], out[1]


#: Default Gaussian smoothing (sigma, pixels) of both maps before their peaks are located.
PEAK_SMOOTHING_PIXELS = 2.0


def compare_maps(mass_map, other, order="bilinear", peak_smoothing=PEAK_SMOOTHING_PIXELS):
    """Reproject ``other`` onto ``mass_map``'s grid and compare them (see `MapComparison`).

    Parameters
    ----------
    mass_map : `~massrecon.MassMap`
    other : NDData-like with a WCS, FITS HDU or (data, wcs) tuple
        Any celestial image of the cluster.
    order : str
        Interpolation order of `reproject.reproject_interp`.
    peak_smoothing : float
        Gaussian sigma (pixels of the mass map) applied to both maps before their peaks are
        located (default `PEAK_SMOOTHING_PIXELS`; 0 for the raw maxima).

    Returns
    -------
    comparison : `MapComparison`
    """
    from reproject import reproject_interp

    source, unit = _as_input(other)
    wcs = mass_map.wcs.celestial
    values, footprint = reproject_interp(source, wcs, shape_out=mass_map.data.shape, order=order)
    sigma = mass_map.sigma.to_value(TARGET_UNIT)
    good = (footprint > 0) & np.isfinite(values) & np.isfinite(sigma)
    if good.sum() < 3:
        raise ValueError("other does not overlap the mass map (fewer than 3 common pixels)")
    if unit is not None and unit.is_equivalent(TARGET_UNIT):
        a, b = 1.0, 0.0
        values = values * unit.to(TARGET_UNIT)
        a_unit = u.dimensionless_unscaled
    else:
        a, b = np.polyfit(values[good], sigma[good], 1)
        a_unit = TARGET_UNIT / (unit if unit is not None else u.dimensionless_unscaled)
    r = float(np.corrcoef(values[good], sigma[good])[0, 1])
    if not (np.isfinite(peak_smoothing) and peak_smoothing >= 0):
        raise ValueError(f"peak_smoothing must be finite and >= 0 (pixels), got {peak_smoothing}")
    p_self, p_other = peak_position(sigma, good, peak_smoothing), peak_position(values, good, peak_smoothing)
    offset = float(np.hypot(p_self[0] - p_other[0], p_self[1] - p_other[1])) * mass_map.pixel_kpc
    residual = np.where(good, sigma - (a * values + b), np.nan)
    res_map = type(mass_map)(residual * TARGET_UNIT, wcs=mass_map.wcs, meta=dict(mass_map.meta))
    return MapComparison(pearson_r=r, peak_offset=offset.to(u.kpc), peak=wcs.pixel_to_world(*p_self),
                         other_peak=wcs.pixel_to_world(*p_other), scale=a * a_unit, offset=b * TARGET_UNIT,
                         residual=res_map, n_pixels=int(good.sum()))
