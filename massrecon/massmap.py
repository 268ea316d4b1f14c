"""`MassMap`: a projected total-mass map with its WCS, uncertainty and provenance.

A `MassMap` is a `~astropy.nddata.CCDData` subclass, so it keeps an astropy WCS when sliced,
writes to and reads from FITS with its unit, WCS, uncertainty and mask, and works directly with
`photutils.aperture.aperture_photometry`, ``reproject`` and ``regions``.
"""

import astropy.units as u
import numpy as np
from astropy.nddata import CCDData, StdDevUncertainty

from .apertures import aperture_weights
from .contract import TARGET_UNIT

__all__ = ["MassMap", "SIGMA_UNIT"]

#: Unit of surface mass density maps (`massrecon.contract.TARGET_UNIT`).
SIGMA_UNIT = TARGET_UNIT

_META_KEYS = {
    "OBJECT": "cluster name",
    "REDSHIFT": "cluster redshift",
    "PIXKPC": "[kpc] physical pixel size at the cluster",
    "R200C": "[kpc] R200c of the frame",
    "M200C": "[Msun] M200c of the frame",
    "R500C": "[kpc] R500c of the frame",
    "M500C": "[Msun] M500c of the frame",
    "COSMO": "astropy cosmology",
    "MODEL": "model name",
    "MODELVER": "model version",
    "VIEWS": "views used",
}


class MassMap(CCDData):
    """Projected total-mass surface density :math:`\\Sigma` (Msun/kpc^2) on a celestial WCS.

    Parameters
    ----------
    data : array-like or `~astropy.units.Quantity`
        Surface density; a Quantity must be convertible to Msun/kpc^2.
    wcs : `~astropy.wcs.WCS`
        Celestial WCS of the map.
    pixel_kpc : `~astropy.units.Quantity`
        Physical size of one pixel at the cluster (used for masses).
    unit : unit-like, optional
        Unit of ``data`` when it is not a Quantity (default Msun/kpc^2).
    uncertainty : `~astropy.nddata.StdDevUncertainty` or array, optional
        1-sigma uncertainty per pixel (same unit).
    mask : bool array, optional
    meta : dict, optional
        Provenance (cluster, redshift, R200, model, views, beams, ...).

    Examples
    --------
    >>> import numpy as np, astropy.units as u
    >>> from astropy.coordinates import SkyCoord
    >>> from massrecon import ClusterFrame, MassMap
    >>> frame = ClusterFrame(SkyCoord(150, 2, unit="deg"), 0.2, m200=1e15 * u.Msun, npix=20)
    >>> m = MassMap.from_frame(np.full(frame.array_shape, 1e8) * u.Msun / u.kpc**2, frame)
    >>> f"{m.total_mass():.3e}"   # pi R200^2 x 1e8 Msun/kpc^2
    '1.221e+15 solMass'

    """

    def __init__(self, data, *args, pixel_kpc=None, **kwargs):
        if isinstance(data, u.Quantity) and "unit" not in kwargs:
            if not data.unit.is_equivalent(SIGMA_UNIT):
                raise u.UnitsError(
                    f"data must be a surface density (e.g. Msun/kpc^2), got unit '{data.unit}'")
            data = data.to(SIGMA_UNIT)
        kwargs.setdefault("unit", SIGMA_UNIT)
        unc = kwargs.get("uncertainty")
        if unc is not None and not isinstance(unc, StdDevUncertainty):
            if isinstance(unc, u.Quantity):
                unc = unc.to_value(u.Unit(kwargs["unit"]))
            kwargs["uncertainty"] = StdDevUncertainty(np.asarray(unc))
        super().__init__(data, *args, **kwargs)
        if not u.Unit(self.unit).is_equivalent(SIGMA_UNIT):
            raise u.UnitsError(f"unit must be a surface density (e.g. Msun/kpc^2), got '{self.unit}'")
        if pixel_kpc is not None:
            if not isinstance(pixel_kpc, u.Quantity) or not pixel_kpc.unit.is_equivalent(u.kpc):
                raise u.UnitsError(f"pixel_kpc must be a Quantity with length units, got {pixel_kpc!r}")
            self.meta["PIXKPC"] = float(pixel_kpc.to_value(u.kpc))

    @classmethod
    def from_frame(cls, sigma, frame, *, uncertainty=None, mask=None, meta=None):
        """A `MassMap` on a `~massrecon.ClusterFrame`, with the frame's WCS and cluster metadata."""
        if np.shape(sigma) != frame.array_shape:
            raise ValueError(f"sigma must have the frame's shape {frame.array_shape}, got {np.shape(sigma)}")
        hdr = {k: v for k, v in frame._cluster_cards().items() if k in _META_KEYS or k in ("C200", "FOVR200")}
        hdr.update(meta or {})
        return cls(sigma, wcs=frame.wcs, uncertainty=uncertainty, mask=mask, meta=hdr,
                   pixel_kpc=frame.pixel_scale_kpc)

    @classmethod
    def read(cls, filename, **kwargs):
        """Read a `MassMap` written with `write` (FITS)."""
        ccd = CCDData.read(filename, **kwargs)
        return cls(ccd.data, wcs=ccd.wcs, unit=ccd.unit, uncertainty=ccd.uncertainty, mask=ccd.mask,
                   meta=ccd.meta)

    # --- physical quantities ------------------------------------------------------------------
    @property
    def pixel_kpc(self):
        """Physical pixel size at the cluster (kpc)."""
        if "PIXKPC" not in self.meta:
            raise ValueError("this MassMap has no PIXKPC in its meta: give pixel_kpc when creating it")
        return float(self.meta["PIXKPC"]) * u.kpc

    @property
    def pixel_area(self):
        """Physical area of one pixel (kpc^2)."""
        return self.pixel_kpc**2

    @property
    def sigma(self):
        """The surface density as a Quantity (masked pixels as NaN)."""
        data = np.array(self.data, dtype=float)
        if self.mask is not None:
            data[np.asarray(self.mask, bool)] = np.nan
        return data * self.unit

    def center_pixel(self):
        """Zero-based (x, y) pixel of the cluster centre (the WCS reference point)."""
        x, y = self.wcs.wcs.crpix - 1
        return float(x), float(y)

    def _radius_pixels(self, radius):
        if radius is None:
            r200 = self.meta.get("R200C")
            if r200 is None:
                raise ValueError("radius must be given: this map has no R200C in its meta")
            radius = float(r200) * u.kpc
        if not isinstance(radius, u.Quantity):
            raise u.UnitsError(f"radius must be a Quantity (length at the cluster or angle), got {radius!r}")
        if radius.unit.is_equivalent(u.kpc):
            return float((radius / self.pixel_kpc).decompose())
        if radius.unit.is_equivalent(u.deg):
            from astropy.wcs.utils import proj_plane_pixel_scales

            scale = np.mean(proj_plane_pixel_scales(self.wcs.celestial)) * u.deg
            return float((radius / scale).decompose())
        raise u.UnitsError(f"radius must have length or angle units, got '{radius.unit}'")

    def total_mass(self, radius=None):
        """Projected mass inside a circle of ``radius`` around the centre (default R200).

        Pixels are weighted by their exact overlap with the circle
        (`~massrecon.apertures.aperture_weights`, the aperture of the whole package); masked
        pixels count as zero.

        Parameters
        ----------
        radius : `~astropy.units.Quantity`, optional
            Physical (kpc) or angular radius.

        Returns
        -------
        mass : `~astropy.units.Quantity`
            Msun.
        """
        r = self._radius_pixels(radius)
        data = np.nan_to_num(self.sigma.to_value(SIGMA_UNIT))
        w = aperture_weights(data.shape, r, center=self.center_pixel())
        return (float((data * w).sum()) * SIGMA_UNIT * self.pixel_area).to(u.Msun)

    def radial_profile(self, edges):
        """Azimuthally averaged :math:`\\Sigma(R)` in annuli (photutils ``RadialProfile``).

        Parameters
        ----------
        edges : `~astropy.units.Quantity`
            Annulus edges, physical (kpc) or angular.

        Returns
        -------
        radius : `~astropy.units.Quantity`
            Bin centres (kpc).
        profile : `~astropy.units.Quantity`
            Mean surface density (Msun/kpc^2).
        error : `~astropy.units.Quantity` or None
            Its uncertainty from the map's uncertainty, if any.
        """
        from photutils.profiles import RadialProfile

        edges_pix = np.array([self._radius_pixels(e) for e in np.atleast_1d(edges)])
        data = self.sigma.to_value(SIGMA_UNIT)
        mask = ~np.isfinite(data)
        err = None
        if self.uncertainty is not None:
            err = np.asarray(self.uncertainty.array, dtype=float)
            mask |= ~np.isfinite(err)
            err = np.where(mask, 0.0, err)
        data = np.where(mask, 0.0, data)
        rp = RadialProfile(data, self.center_pixel(), edges_pix, error=err, mask=mask)
        radius = rp.radius * self.pixel_kpc
        prof = rp.profile * SIGMA_UNIT
        perr = rp.profile_error * SIGMA_UNIT if err is not None else None
        return radius, prof, perr

    def plot(self, ax=None, log=True, **kwargs):
        """Show the map on its WCS (matplotlib); returns the image artist."""
        import matplotlib.pyplot as plt

        if ax is None:
            fig = plt.figure()
            ax = fig.add_subplot(projection=self.wcs.celestial)
        data = self.sigma.to_value(SIGMA_UNIT)
        if log:
            data = np.log10(np.where(data > 0, data, np.nan))
        im = ax.imshow(data, origin="lower", **kwargs)
        ax.set_title(f"{self.meta.get('OBJECT', '')} " + (r"$\log_{10}\Sigma$" if log else r"$\Sigma$")
                     + " [M$_\\odot$ kpc$^{-2}$]")
        return im
