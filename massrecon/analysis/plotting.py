"""Figures of a mass map: the map on its WCS, mass contours over any image, the profile with errors.

Every function draws into the axes it is given (and then opens no figure of its own); without
one, it makes a new pyplot figure.  Maps are drawn on `~astropy.visualization.wcsaxes.WCSAxes`
(``projection=mass_map.wcs``), contours over another image through
``ax.get_transform(mass_map.wcs)``, so that the two need not share a grid.
"""

import astropy.units as u
import numpy as np

from ..contract import TARGET_UNIT

__all__ = ["plot_map", "plot_contours", "plot_profile", "label_sky_axes", "SIGMA_LABEL"]

#: Axis / colour-bar label of surface densities.
SIGMA_LABEL = r"$\Sigma$ [M$_\odot$ kpc$^{-2}$]"


def _new_axes(wcs):
    import matplotlib.pyplot as plt

    fig = plt.figure()
    return fig.add_subplot(projection=wcs) if wcs is not None else fig.add_subplot()


def _pixel_transform(ax, wcs):
    """Transform from ``wcs``'s pixels to the display, on WCSAxes (of any WCS) or plain axes."""
    if hasattr(ax, "get_transform") and hasattr(ax, "wcs"):
        return ax.get_transform(wcs)
    return ax.transData


def label_sky_axes(ax):
    """Label the axes of a WCSAxes "RA"/"Dec" (or Galactic longitude/latitude) instead of the
    IVOA names (``pos.eq.ra``) WCSAxes uses by default.

    Examples
    --------
    >>> from matplotlib.figure import Figure
    >>> from astropy.wcs import WCS
    >>> from massrecon.analysis.plotting import label_sky_axes
    >>> w = WCS(naxis=2); w.wcs.ctype = ["RA---TAN", "DEC--TAN"]
    >>> ax = Figure().add_subplot(projection=w)
    >>> label_sky_axes(ax); [c.get_axislabel() for c in ax.coords]
    ['RA', 'Dec']
    """
    names = {"ra": "RA", "dec": "Dec", "glon": "Galactic longitude", "glat": "Galactic latitude"}
    for coord in ax.coords:
        kind = getattr(coord, "default_label", "") or coord.coord_type
        label = next((v for k, v in names.items() if k in str(kind).lower()), None)
        if label:
            coord.set_axislabel(label)


def plot_map(mass_map, ax=None, *, log=True, circles=True, colorbar=True, **kwargs):
    """Show :math:`\\Sigma` on the map's WCS, with a colour bar in Msun/kpc\\ :sup:`2`.

    Parameters
    ----------
    mass_map : `~massrecon.MassMap`
    ax : `~astropy.visualization.wcsaxes.WCSAxes`, optional
        Axes to draw into (best made with ``projection=mass_map.wcs``); default a new figure.
    log : bool
        Logarithmic colour scale (`~matplotlib.colors.LogNorm`; pixels <= 0 are left blank).
    circles : bool
        Draw the :math:`R_{500c}` and :math:`R_{200c}` circles of the map's meta.
    colorbar : bool
        Add a colour bar.
    **kwargs
        Passed to `~matplotlib.axes.Axes.imshow` (``cmap``, ``vmin``, ``vmax``, ...).

    Returns
    -------
    image : `~matplotlib.image.AxesImage`
    """
    from matplotlib.colors import LogNorm, Normalize
    from matplotlib.patches import Circle

    if ax is None:
        ax = _new_axes(mass_map.wcs.celestial if mass_map.wcs is not None else None)
    data = mass_map.sigma.to_value(TARGET_UNIT)
    finite = np.isfinite(data)
    if not np.any(finite):
        raise ValueError("the map has no finite unmasked pixel to plot")
    vmin, vmax = kwargs.pop("vmin", None), kwargs.pop("vmax", None)
    if log:
        positive = finite & (data > 0)
        if not np.any(positive):
            raise ValueError("log=True needs positive pixels, but every pixel of the map is <= 0 (or masked): "
                             "give log=False")
        data = np.where(positive, data, np.nan)
        norm = LogNorm(vmin=vmin or np.nanmin(data), vmax=vmax or np.nanmax(data))
    else:
        norm = Normalize(vmin=vmin, vmax=vmax)
    kwargs.setdefault("cmap", "viridis")
    image = ax.imshow(data, origin="lower", norm=norm, **kwargs)
    if hasattr(ax, "coords"):  # WCSAxes labels sky axes with IVOA names (pos.eq.ra) by default
        label_sky_axes(ax)
    if colorbar:
        ax.figure.colorbar(image, ax=ax, label=SIGMA_LABEL)
    if circles:
        transform = _pixel_transform(ax, mass_map.wcs.celestial) if mass_map.wcs is not None else ax.transData
        centre = mass_map.center_pixel()
        for key, style in (("R500C", "--"), ("R200C", "-")):
            if key in mass_map.meta:
                radius = float(mass_map.meta[key]) / mass_map.pixel_kpc.to_value(u.kpc)
                ax.add_patch(Circle(centre, radius, fill=False, ls=style, color="white", lw=1,
                                    transform=transform, label=f"{key[:-1]}c"))
    name = mass_map.meta.get("OBJECT", "")
    if name:
        ax.set_title(str(name))
    return image


def plot_contours(mass_map, ax=None, *, image=None, wcs=None, levels=None, **kwargs):
    """Draw contours of :math:`\\Sigma` over any image with a celestial WCS.

    Parameters
    ----------
    mass_map : `~massrecon.MassMap`
    ax : `~astropy.visualization.wcsaxes.WCSAxes`, optional
        Axes showing the image (any WCS); default new axes showing ``image``.
    image : NDData-like or `~numpy.ndarray`, optional
        Image to show when ``ax`` is not given (an array needs ``wcs``).
    wcs : `~astropy.wcs.WCS`, optional
        WCS of an array ``image``.
    levels : `~astropy.units.Quantity` or array-like, optional
        Contour levels (surface densities; numbers are Msun/kpc\\ :sup:`2`); default six levels
        spaced logarithmically from 1/32 to 1/2 of the peak.
    **kwargs
        Passed to `~matplotlib.axes.Axes.contour` (default ``colors="white"``).

    Returns
    -------
    contours : `~matplotlib.contour.QuadContourSet`
    """
    if ax is None:
        if image is None:
            raise ValueError("give ax (a WCSAxes showing an image) or image (with wcs for an array)")
        img_wcs = getattr(image, "wcs", None) or wcs
        if img_wcs is None:
            raise ValueError("image has no WCS: give wcs")
        ax = _new_axes(img_wcs.celestial)
        ax.imshow(np.asarray(getattr(image, "data", image), dtype=float), origin="lower", cmap="gray")
    if not (hasattr(ax, "get_transform") and hasattr(ax, "wcs")):
        raise TypeError("ax must be a WCSAxes (e.g. fig.add_subplot(projection=image_wcs)) to place the "
                        "contours on its sky coordinates")
    data = mass_map.sigma.to_value(TARGET_UNIT)
    if levels is None:
        peak = np.nanmax(data)
        if not peak > 0:
            raise ValueError("the map has no positive pixel: give levels")
        levels = np.geomspace(peak / 32, peak / 2, 6)
    elif isinstance(levels, u.Quantity):
        levels = levels.to_value(TARGET_UNIT)
    kwargs.setdefault("colors", "white")
    return ax.contour(data, levels=np.sort(np.asarray(levels, dtype=float)),
                      transform=ax.get_transform(mass_map.wcs.celestial), **kwargs)


def plot_profile(profile, ax=None, *, fit=None, **kwargs):
    """Plot a `~massrecon.analysis.ProfileMeasurement` with its error bands (log-log).

    The dark band is the pixel term, the light band the total error (pixel and model terms).

    Parameters
    ----------
    profile : `~massrecon.analysis.ProfileMeasurement`
    ax : `~matplotlib.axes.Axes`, optional
    fit : `~massrecon.analysis.ProfileFit`, optional
        A fit to draw over the points.
    **kwargs
        Passed to the `~matplotlib.axes.Axes.plot` of the profile.

    Returns
    -------
    ax : `~matplotlib.axes.Axes`
    """
    if ax is None:
        ax = _new_axes(None)
    r = profile.radius.to_value(u.kpc)
    s = profile.sigma.to_value(TARGET_UNIT)
    total = profile.error.to_value(TARGET_UNIT)
    pix = profile.pixel_error.to_value(TARGET_UNIT)
    (line,) = ax.plot(r, s, marker="o", label="map", **kwargs)
    ax.fill_between(r, np.maximum(s - total, s * 1e-3), s + total, color=line.get_color(), alpha=0.2,
                    lw=0, label="total error")
    ax.fill_between(r, np.maximum(s - pix, s * 1e-3), s + pix, color=line.get_color(), alpha=0.4, lw=0,
                    label="pixel error")
    if fit is not None:
        grid = np.geomspace(r.min(), r.max(), 100)
        ax.plot(grid, fit.model.evaluate(grid, *fit.model.parameters), color="k", ls="--",
                label=f"{type(fit.model).__name__} fit")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("R [kpc]")
    ax.set_ylabel(SIGMA_LABEL)
    ax.legend()
    return ax
