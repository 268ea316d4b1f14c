"""`MassMap`: a projected total-mass map with its WCS, uncertainty and provenance.

A `MassMap` is a `~astropy.nddata.CCDData` subclass, so it keeps an astropy WCS when sliced,
writes to and reads from FITS with its unit, WCS, uncertainty and mask, and works directly with
`photutils.aperture.aperture_photometry`, ``reproject`` and ``regions``.

Its geometry lives in sky coordinates, so that it survives slicing, cut-outs and reprojection:
the cluster centre is the sky position ``CLUSTRA``/``CLUSTDEC`` (ICRS degrees) and the physical
scale at the cluster is ``KPCARCS`` (kpc per arcsec); the pixel size (``PIXKPC``) follows the
WCS.  Files written before these cards existed fall back to the WCS reference pixel as the centre
and to ``REDSHIFT``/``COSMO`` (or ``PIXKPC``) for the scale.

The analysis itself is in `massrecon.analysis` (masses with errors, profile fits, lensing,
comparison, plots); the methods here are thin wrappers over it.
"""

import warnings

import astropy.units as u
import numpy as np
from astropy.coordinates import SkyCoord
from astropy.nddata import CCDData, NDData, StdDevUncertainty, ccddata
from astropy.utils.decorators import sharedmethod
from astropy.utils.exceptions import AstropyUserWarning

from .analysis import compare, lensing, mapfit, masses, plotting
from .analysis.profiles import ProjectedNFW
from .apertures import annulus_weights, aperture_weights, region_weights
from .contract import TARGET_UNIT
from .exceptions import MassTensionWarning

__all__ = ["MassMap", "SIGMA_UNIT", "TENSION_SIGMA"]

#: Unit of surface mass density maps (`massrecon.contract.TARGET_UNIT`).
SIGMA_UNIT = TARGET_UNIT

#: Disagreement (in units of the two uncertainties in quadrature, in ln of the mass) beyond which
#: `MassMap.spherical_mass` warns (`~massrecon.MassTensionWarning`) that a map's :math:`M_{500c}`
#: and the scaling-relation :math:`M_{500c}` that placed its frame (``self_consistent=True``) are in
#: tension.  The two share their inputs, so they disagree less than independent estimates would:
#: on the relation frames of 600 test maps of the bundled weights the pull exceeds 1.5 for 0.2-4.7%
#: of the maps (members alone the most; ideal and Planck-like inputs) and 2 for at most 0.3%
#: (``python tools/measure_docs_numbers.py tension``), so 1.5 keeps the false alarms near 5%.
TENSION_SIGMA = 1.5

_META_KEYS = {
    "OBJECT": "cluster name",
    "REDSHIFT": "cluster redshift",
    "CLUSTRA": "[deg] cluster centre, ICRS right ascension",
    "CLUSTDEC": "[deg] cluster centre, ICRS declination",
    "KPCARCS": "[kpc/arcsec] physical scale at the cluster",
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


def _pixel_scale_arcsec(wcs):
    """Square root of the pixel area of a celestial WCS (arcsec), or None without one."""
    if wcs is None or not getattr(wcs, "has_celestial", False):
        return None
    from astropy.wcs.utils import proj_plane_pixel_area

    return float(np.sqrt(proj_plane_pixel_area(wcs.celestial)) * 3600.0)


def _cosmology(meta):
    """The named astropy cosmology of ``COSMO`` (default Planck18), or None for an unknown name."""
    import astropy.cosmology as cosmo

    name = str(meta.get("COSMO", "") or "Planck18")
    return getattr(cosmo, name) if name in cosmo.realizations.available else None


def _operand(value):
    """An arithmetic operand as NDData or Quantity: numbers are dimensionless, MassMaps plain CCDData."""
    if isinstance(value, MassMap):
        return value._plain()
    if isinstance(value, (NDData, u.Quantity)):
        return value
    return u.Quantity(value, u.dimensionless_unscaled)


def _arithmetic(name):
    def method(self_or_cls, operand, operand2=None, **kwargs):
        if operand2 is None:
            if isinstance(self_or_cls, type):
                raise TypeError(f"operand2 must be given when {name} is called on the class")
            first, second = self_or_cls, operand
        else:
            first, second = operand, operand2
        kwargs.setdefault("handle_meta", "first_found")
        first = _operand(first)
        if not isinstance(first, NDData):
            first = CCDData(first)
        try:
            result = getattr(CCDData, name)(first, _operand(second), **kwargs)
        finally:
            # CCDData's arithmetic switches its unit check off and only back on when it succeeds:
            # after a failed operation (a UnitsError) every later CCDData would accept no unit.
            ccddata._config_ccd_requires_unit = True
        return MassMap._wrap(result)

    method.__name__ = name
    method.__doc__ = (f"{name.capitalize()} like `astropy.nddata.CCDData.{name}`, keeping the metadata.\n\n"
                      "Numbers are dimensionless.  The result is a `MassMap` while its unit is a surface "
                      "density, a `~astropy.nddata.CCDData` otherwise (a convergence, a ratio).")
    return sharedmethod(method)


class MassMap(CCDData):
    """Projected total-mass surface density :math:`\\Sigma` (Msun/kpc^2) on a celestial WCS.

    Parameters
    ----------
    data : array-like or `~astropy.units.Quantity`
        Surface density; a Quantity must be convertible to Msun/kpc^2.
    wcs : `~astropy.wcs.WCS`
        Celestial WCS of the map.
    pixel_kpc : `~astropy.units.Quantity`
        Physical size of one pixel at the cluster (used for masses); stored as kpc per arcsec
        (``KPCARCS``), so the pixel size follows the WCS.
    unit : unit-like, optional
        Unit of ``data`` when it is not a Quantity (default Msun/kpc^2).
    uncertainty : `~astropy.nddata.StdDevUncertainty` or array, optional
        1-sigma uncertainty per pixel (same unit).
    mask : bool array, optional
    meta : dict, optional
        Provenance (cluster, centre, redshift, R200, model, views, beams, ...).

    Notes
    -----
    Arithmetic (``2 * m``, ``m + m``, ``m / sigma_cr``, or the ``add``, ``subtract``,
    ``multiply`` and ``divide`` methods) keeps the metadata of the first operand that has any and
    returns a `MassMap` while the unit is a surface density, a plain `~astropy.nddata.CCDData`
    otherwise.  Masses (`projected_mass`, `region_mass`, `spherical_mass`) carry a per-pixel and a
    correlated model error (`massrecon.analysis.masses`).

    Examples
    --------
    >>> import numpy as np, astropy.units as u
    >>> from astropy.coordinates import SkyCoord
    >>> from massrecon import ClusterFrame, MassMap
    >>> frame = ClusterFrame(SkyCoord(150, 2, unit="deg"), 0.2, m200=1e15 * u.Msun, npix=20)
    >>> m = MassMap.from_frame(np.full(frame.array_shape, 1e8) * u.Msun / u.kpc**2, frame)
    >>> f"{m.total_mass():.3e}"   # pi R200^2 x 1e8 Msun/kpc^2
    '1.221e+15 solMass'
    >>> float((2 * m).total_mass() / m.total_mass())
    2.0
    """

    # numpy scalars and arrays defer to MassMap's operators instead of broadcasting over it.
    __array_ufunc__ = None

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
            pixel_kpc = float(pixel_kpc.to_value(u.kpc))
            if not (np.isfinite(pixel_kpc) and pixel_kpc > 0):
                raise ValueError(f"pixel_kpc must be finite and positive, got {pixel_kpc} kpc")
        self._set_scale(pixel_kpc)

    def _set_scale(self, pixel_kpc):
        """``KPCARCS`` from ``pixel_kpc``, else kept, else from ``REDSHIFT``/``COSMO``, else ``PIXKPC``."""
        scale = _pixel_scale_arcsec(self.wcs)
        meta = self.meta
        if scale is not None:
            if pixel_kpc is not None:
                meta["KPCARCS"] = pixel_kpc / scale
            elif "KPCARCS" not in meta:
                cosmo = _cosmology(meta)
                if "REDSHIFT" in meta and cosmo is not None and float(meta["REDSHIFT"]) > 0:
                    d_a = cosmo.angular_diameter_distance(float(meta["REDSHIFT"]))
                    meta["KPCARCS"] = float((d_a * (1 * u.arcsec).to_value(u.rad)).to_value(u.kpc))
                elif "PIXKPC" in meta:
                    meta["KPCARCS"] = float(meta["PIXKPC"]) / scale
            if "KPCARCS" in meta:
                meta["PIXKPC"] = float(meta["KPCARCS"]) * scale
        elif pixel_kpc is not None:
            meta["PIXKPC"] = pixel_kpc

    def _plain(self):
        return CCDData(self.data, unit=self.unit, wcs=self.wcs, uncertainty=self.uncertainty, mask=self.mask,
                       meta=self.meta)

    @staticmethod
    def _wrap(result):
        if result.unit is not None and u.Unit(result.unit).is_equivalent(SIGMA_UNIT):
            return MassMap(result.data, wcs=result.wcs, unit=result.unit, uncertainty=result.uncertainty,
                           mask=result.mask, meta=result.meta)
        return result

    add = _arithmetic("add")
    subtract = _arithmetic("subtract")
    multiply = _arithmetic("multiply")
    divide = _arithmetic("divide")

    def __add__(self, other):
        return self.add(other)

    def __radd__(self, other):
        return MassMap.add(other, self)

    def __sub__(self, other):
        return self.subtract(other)

    def __rsub__(self, other):
        return MassMap.subtract(other, self)

    def __mul__(self, other):
        return self.multiply(other)

    def __rmul__(self, other):
        return MassMap.multiply(other, self)

    def __truediv__(self, other):
        return self.divide(other)

    def __rtruediv__(self, other):
        return MassMap.divide(other, self)

    def __neg__(self):
        return self.multiply(-1)

    @classmethod
    def from_frame(cls, sigma, frame, *, uncertainty=None, mask=None, meta=None):
        """A `MassMap` on a `~massrecon.ClusterFrame`, with the frame's WCS and cluster metadata."""
        if np.shape(sigma) != frame.array_shape:
            raise ValueError(f"sigma must have the frame's shape {frame.array_shape}, got {np.shape(sigma)}")
        hdr = {k: v for k, v in frame._cluster_cards().items() if k in _META_KEYS or k in ("C200", "FOVR200")}
        centre = frame.center.icrs
        hdr["CLUSTRA"], hdr["CLUSTDEC"] = float(centre.ra.deg), float(centre.dec.deg)
        hdr.update(meta or {})
        return cls(sigma, wcs=frame.wcs, uncertainty=uncertainty, mask=mask, meta=hdr,
                   pixel_kpc=frame.pixel_scale_kpc)

    @classmethod
    def read(cls, filename, **kwargs):
        """Read a `MassMap` written with `write` (FITS).

        Raises
        ------
        OSError
            The file is missing, truncated or not FITS.
        astropy.units.UnitsError
            The image is not a surface density (e.g. a counts image).
        """
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("error", u.UnitsWarning)
                # astropy only warns about a truncated file and then reads garbage or fails later
                warnings.filterwarnings("error", message=".*truncated", category=AstropyUserWarning)
                ccd = CCDData.read(filename, **kwargs)
        except (OSError, EOFError, TypeError, IndexError, u.UnitsWarning, AstropyUserWarning) as exc:
            raise OSError(f"cannot read a MassMap from {filename}: {exc}") from exc
        except ValueError as exc:
            raise OSError(f"cannot read a MassMap from {filename}: {exc} (a MassMap needs BUNIT = "
                          f"'{SIGMA_UNIT}')") from exc
        if not u.Unit(ccd.unit).is_equivalent(SIGMA_UNIT):
            raise u.UnitsError(f"{filename} is not a mass map: its unit (BUNIT) is '{ccd.unit}', not a surface "
                               "density such as Msun / kpc2")
        return cls(ccd.data, wcs=ccd.wcs, unit=ccd.unit, uncertainty=ccd.uncertainty, mask=ccd.mask,
                   meta=ccd.meta)

    # --- geometry -----------------------------------------------------------------------------
    @property
    def pixel_kpc(self):
        """Physical pixel size at the cluster (kpc): ``KPCARCS`` times the WCS pixel scale."""
        scale = _pixel_scale_arcsec(self.wcs)
        if scale is not None and "KPCARCS" in self.meta:
            return float(self.meta["KPCARCS"]) * scale * u.kpc
        if "PIXKPC" not in self.meta:
            raise ValueError("this MassMap has no PIXKPC (nor KPCARCS) in its meta: give pixel_kpc when creating it")
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

    @property
    def center(self):
        """Sky position of the cluster centre (``CLUSTRA``/``CLUSTDEC``; else the WCS reference point)."""
        if "CLUSTRA" in self.meta and "CLUSTDEC" in self.meta:
            return SkyCoord(float(self.meta["CLUSTRA"]), float(self.meta["CLUSTDEC"]), unit="deg", frame="icrs")
        if self.wcs is None:
            raise ValueError("this MassMap has neither a centre (CLUSTRA/CLUSTDEC) nor a WCS")
        return self.wcs.celestial.pixel_to_world(*(self.wcs.celestial.wcs.crpix - 1))

    def center_pixel(self):
        """Zero-based (x, y) pixel of the cluster centre (from its sky position)."""
        if "CLUSTRA" in self.meta and self.wcs is not None:
            x, y = self.wcs.celestial.world_to_pixel(self.center)
        else:  # files without the centre's sky position: the centre was the reference pixel
            x, y = self.wcs.wcs.crpix[:2] - 1
        return float(x), float(y)

    def pixel_radius(self, radius, name="radius"):
        """A physical (kpc) or angular radius in pixels of this map.

        Examples
        --------
        >>> import numpy as np, astropy.units as u
        >>> from astropy.coordinates import SkyCoord
        >>> from massrecon import ClusterFrame, MassMap
        >>> frame = ClusterFrame(SkyCoord(150, 2, unit="deg"), 0.2, m200=1e15 * u.Msun, npix=20)
        >>> m = MassMap.from_frame(np.ones(frame.array_shape) * u.Msun / u.kpc**2, frame)
        >>> round(m.pixel_radius(frame.r200), 6)
        10.0
        """
        radius = masses.check_radius(radius, name)
        if radius.unit.is_equivalent(u.kpc):
            return float((radius / self.pixel_kpc).decompose())
        scale = _pixel_scale_arcsec(self.wcs)
        if scale is None:
            raise ValueError(f"an angular {name} needs a celestial WCS")
        return float(radius.to_value(u.arcsec) / scale)

    _radius_pixels = pixel_radius  # the name used before 0.1

    def _default_radius(self, radius):
        if radius is not None:
            return radius
        if "R200C" not in self.meta:
            raise ValueError("radius must be given: this map has no R200C in its meta")
        return float(self.meta["R200C"]) * u.kpc

    def _errors(self, error_model):
        if error_model is False:
            return None
        return masses.ModelErrors.from_meta(self.meta, setting=error_model)

    # --- masses -------------------------------------------------------------------------------
    def total_mass(self, radius=None):
        """Projected mass inside a circle of ``radius`` around the centre (default R200), no errors.

        The value of `projected_mass` (which also gives its errors).  Pixels are weighted by their
        exact overlap with the circle (`~massrecon.apertures.aperture_weights`, the aperture of
        the whole package); masked pixels count as zero.  A circle reaching beyond the map issues
        an `~massrecon.ApertureWarning` (its mass is a lower limit).

        Parameters
        ----------
        radius : `~astropy.units.Quantity`, optional
            Physical (kpc) or angular radius, scalar, positive.

        Returns
        -------
        mass : `~astropy.units.Quantity`
            Msun.
        """
        return self.projected_mass(radius, error_model=False).mass

    def projected_mass(self, radius=None, *, inner_radius=None, error_model=None):
        """Projected mass in a circle (or annulus) around the centre, with its errors.

        Parameters
        ----------
        radius : `~astropy.units.Quantity`, optional
            Outer radius, physical (kpc) or angular; default R200.
        inner_radius : `~astropy.units.Quantity`, optional
            Inner radius of an annulus.
        error_model : str or False, optional
            Test condition of the model term (`~massrecon.analysis.ModelErrors.from_meta`;
            default from the map's meta); False for the pixel term only.

        Returns
        -------
        mass : `~massrecon.analysis.MassMeasurement`
            ``mass``, ``error`` (total), ``pixel_error``, ``model_error``, ``coverage``.
            Apertures reaching beyond the map (or onto masked pixels) issue an
            `~massrecon.ApertureWarning`: the mass counts only the pixels inside.

        Examples
        --------
        >>> import numpy as np, astropy.units as u
        >>> from astropy.coordinates import SkyCoord
        >>> from massrecon import ClusterFrame, MassMap
        >>> frame = ClusterFrame(SkyCoord(150, 2, unit="deg"), 0.2, m200=1e15 * u.Msun, npix=40)
        >>> sigma = np.full(frame.array_shape, 1e8) * u.Msun / u.kpc**2
        >>> m = MassMap.from_frame(sigma, frame, uncertainty=0.1 * sigma, meta={"VIEWS": "sz,xray"})
        >>> mass = m.projected_mass(frame.r500)
        >>> bool(mass.error > mass.pixel_error)
        True
        """
        r_out = self.pixel_radius(self._default_radius(radius))
        centre = self.center_pixel()
        if inner_radius is None:
            weights, area, kind = aperture_weights(self.data.shape, r_out, centre), np.pi * r_out**2, "circle"
        else:
            r_in = self.pixel_radius(inner_radius, "inner_radius")
            if r_in >= r_out:
                raise ValueError(f"inner_radius ({inner_radius}) must be smaller than radius ({radius})")
            weights, area, kind = annulus_weights(self.data.shape, r_in, r_out, centre), np.pi * (r_out**2 - r_in**2), \
                "annulus"
        return masses.map_mass(self, weights, area, kind, errors=self._errors(error_model), radius_pix=r_out,
                               what=f"{kind} of radius {r_out * self.pixel_kpc:.4g}")

    def region_mass(self, region, *, error_model=None):
        """Projected mass in any `regions` sky or pixel region (exact overlap), with its errors.

        See `projected_mass`; the model term of a region sums the correlated profile errors over
        the radii it covers (`massrecon.analysis.masses`).

        Parameters
        ----------
        region : `regions.SkyRegion` or `regions.PixelRegion`
        error_model : str or False, optional
            As for `projected_mass`.

        Returns
        -------
        mass : `~massrecon.analysis.MassMeasurement`
        """
        import regions

        wcs = self.wcs.celestial if self.wcs is not None else None
        if isinstance(region, regions.SkyRegion) and wcs is not None:
            region = region.to_pixel(wcs)
        if isinstance(region, regions.CirclePixelRegion):
            # a circle on the cluster's centre is the aperture of projected_mass, with its errors
            cx, cy = self.center_pixel()
            if np.hypot(region.center.x - cx, region.center.y - cy) < 1e-3:
                return self.projected_mass(region.radius * self.pixel_kpc, error_model=error_model)
        weights, area = region_weights(self.data.shape, region, wcs)
        return masses.map_mass(self, weights, area, "region", errors=self._errors(error_model),
                               what=f"region {type(region).__name__}")

    def spherical_mass(self, delta=500, *, edges=None, error_model=None, **fit_kwargs):
        """Spherical :math:`M_{\\Delta c}` through an NFW fit to the map's profile (`fit_nfw`).

        :math:`M_{\\Delta c}` is the mass inside the sphere of radius :math:`R_{\\Delta c}` within
        which the mean density is :math:`\\Delta \\rho_c(z)` (the *critical* density at the
        cluster's redshift, cosmology ``COSMO``), of the NFW halo whose projection in the
        :math:`\\pm R_{200}` slab best fits the map's profile.  Its errors come from the fit's
        covariance (pixel term + correlated model term of the profile), with the weights' physics
        systematic, if any, in quadrature (`massrecon.analysis.masses`).

        Parameters
        ----------
        delta : float
            Overdensity, e.g. 200, 500 or 2500.
        edges, error_model, **fit_kwargs
            As for `fit_nfw`.

        Returns
        -------
        mass : `~massrecon.analysis.MassMeasurement`
            With ``radius`` :math:`R_{\\Delta c}`.

        Warns
        -----
        MassTensionWarning
            For ``delta=500`` on a map of ``self_consistent=True`` (header card ``RELM500``),
            when its :math:`M_{500c}` and the scaling-relation mass that placed the frame
            disagree by more than ``massrecon.massmap.TENSION_SIGMA`` times their uncertainties in quadrature.
        """
        delta = float(delta)
        if not (np.isfinite(delta) and delta > 0):
            raise ValueError(f"delta must be a positive overdensity (e.g. 500), got {delta}")
        fit, pixel_cov = self._fit(None, edges, error_model, fit_kwargs)
        errors = self._errors(error_model)
        mass = mapfit.spherical_mass(fit, pixel_cov, delta, 0.0 if errors is None else errors.mass_scale)
        if delta == 500 and errors is not None:  # without the model term the map's error is too small to judge
            self._check_relation_tension(mass)
        return mass

    def _check_relation_tension(self, mass):
        """Warn when the map's M500c and the scaling-relation M500c that placed its frame
        (header cards ``RELM500``, ``RELSCAT`` of ``self_consistent=True``) disagree by more than
        `TENSION_SIGMA` times their uncertainties in quadrature (in ln of the mass)."""
        try:
            rel, scat = float(self.meta["RELM500"]), float(self.meta["RELSCAT"])
        except (KeyError, TypeError, ValueError):
            return
        m, err = mass.mass.to_value(u.Msun), mass.error.to_value(u.Msun)
        if not (rel > 0 and m > 0 and np.isfinite(err) and np.isfinite(scat)):
            return
        sigma = float(np.hypot(err / m, scat * np.log(10)))
        pull = float(np.log(m / rel)) / sigma if sigma > 0 else 0.0
        if abs(pull) > TENSION_SIGMA:
            warnings.warn(f"the map's M500c, {m:.3g} Msun, is {m / rel:.2f} times the scaling-relation mass that "
                          f"placed its frame ({rel:.3g} Msun), {abs(pull):.1f} sigma apart (their uncertainties in "
                          "quadrature): the inputs are unlike the training clusters of either mass (e.g. a brighter "
                          "core or fainter outskirts than the mocks, or a misjudged background); quote both",
                          MassTensionWarning)

    # --- profiles and fits --------------------------------------------------------------------
    def _edges_pixels(self, edges):
        if edges is None:
            if "R200C" not in self.meta:
                raise ValueError("edges must be given: this map has no R200C in its meta")
            # the bins of the test metrics, so that their errors apply as measured
            edges = np.geomspace(0.1, 1.0, 9) * float(self.meta["R200C"]) * u.kpc
        if not isinstance(edges, u.Quantity) or np.ndim(edges) != 1 or len(edges) < 2:
            raise ValueError(f"edges must be a 1-D length or angle Quantity of at least two radii, got {edges!r}")
        value = edges.value
        if not np.all(np.isfinite(value)) or np.any(value < 0):
            raise ValueError(f"edges must be finite and non-negative, got {edges}")
        if np.any(np.diff(value) <= 0):
            raise ValueError(f"edges must be strictly increasing, got {edges}")
        if value[0] == 0:
            return np.concatenate([[0.0], [self.pixel_radius(e, "edges") for e in edges[1:]]])
        return np.array([self.pixel_radius(e, "edges") for e in edges])

    def profile(self, edges=None, *, error_model=None):
        """Azimuthally averaged :math:`\\Sigma(R)` with its full covariance.

        Parameters
        ----------
        edges : `~astropy.units.Quantity`, optional
            Increasing annulus edges, physical or angular; default the 8 logarithmic bins from
            0.1 to 1 R200 of the test metrics.
        error_model : str or False, optional
            As for `projected_mass`.

        Returns
        -------
        profile : `~massrecon.analysis.ProfileMeasurement`
        """
        return masses.map_profile(self, self._edges_pixels(edges), self._errors(error_model))

    def radial_profile(self, edges):
        """Azimuthally averaged :math:`\\Sigma(R)` in annuli (photutils ``RadialProfile``).

        Parameters
        ----------
        edges : `~astropy.units.Quantity`
            Increasing annulus edges, physical (kpc) or angular.

        Returns
        -------
        radius : `~astropy.units.Quantity`
            Bin centres (kpc).
        profile : `~astropy.units.Quantity`
            Mean surface density (Msun/kpc^2).
        error : `~astropy.units.Quantity` or None
            Its uncertainty from the map's uncertainty (pixel term), if any; `profile` gives the
            model term and the covariance too.
        """
        prof = masses.map_profile(self, self._edges_pixels(edges), None)
        return prof.radius, prof.sigma, (prof.pixel_error if self.uncertainty is not None else None)

    def _fit(self, model, edges, error_model, fit_kwargs):
        redshift = self.meta.get("REDSHIFT")
        if model is None:
            if redshift is None:
                raise ValueError("fitting a halo needs the map's REDSHIFT (meta)")
            fit_kwargs = dict(fit_kwargs)
            m200 = fit_kwargs.pop("m200", float(self.meta.get("M200C", 1e14)) * u.Msun)
            fixed = {"c200": bool(fit_kwargs.pop("fix_c200", False))}
            model = ProjectedNFW(log_m200=np.log10(m200.to_value(u.Msun)), c200=fit_kwargs.pop("c200", 4.0),
                                 redshift=float(redshift), cosmology=_cosmology(self.meta),
                                 depth=fit_kwargs.pop("depth", 1), fixed=fixed)
            if fit_kwargs:
                raise TypeError(f"unexpected keyword arguments {sorted(fit_kwargs)}")
        fit, _, pixel_cov = mapfit.fit_map_profile(self, model, self._edges_pixels(edges), self._errors(error_model))
        return fit, pixel_cov

    def fit_profile(self, model, edges=None, *, error_model=None):
        """Fit a halo model to the map's profile (`~massrecon.analysis.fit_profile`).

        The profile (`profile`) has a full covariance: the pixel term plus the model term,
        correlated between bins as :math:`\\exp(-|\\ln R_i/R_j|)` (`massrecon.analysis.masses`).

        Parameters
        ----------
        model : `~massrecon.analysis.ProjectedNFW` or `~massrecon.analysis.ProjectedEinasto`
            Starting point (with the slab ``depth=1`` of the map's target); not modified.
        edges, error_model
            As for `profile`.

        Returns
        -------
        fit : `~massrecon.analysis.ProfileFit`
            Parameters with covariance; :math:`M_{200c}`, :math:`c_{200c}`, :math:`M_{500c}` with errors.
        """
        return self._fit(model, edges, error_model, {})[0]

    def fit_nfw(self, edges=None, *, error_model=None, **kwargs):
        """Fit an NFW halo projected in the :math:`\\pm R_{200}` slab to the map's profile.

        Parameters
        ----------
        edges, error_model
            As for `profile`.
        **kwargs
            ``m200`` (start, default ``M200C``), ``c200`` (start, default 4), ``fix_c200``,
            ``depth`` (default 1, the slab of the map's target, in units of the model's R200).

        Returns
        -------
        fit : `~massrecon.analysis.ProfileFit`
            ``m200``, ``c200``, ``m500`` with errors and covariance.
        """
        return self._fit(None, edges, error_model, kwargs)[0]

    # --- lensing and comparison ---------------------------------------------------------------
    def convergence(self, z_source, cosmology=None, *, weights=None):
        """Convergence :math:`\\kappa = \\Sigma / \\Sigma_{\\rm cr}` as a dimensionless CCDData with the WCS.

        Parameters
        ----------
        z_source : float or array-like
            Source redshift, or a sample (`~massrecon.analysis.sigma_crit`).
        cosmology : `~astropy.cosmology.Cosmology`, optional
            Default that of ``COSMO``.
        weights : array-like, optional
            Weights of a source sample.

        Returns
        -------
        kappa : `~astropy.nddata.CCDData`
        """
        if "REDSHIFT" not in self.meta:
            raise ValueError("the convergence needs the map's REDSHIFT (meta)")
        cosmology = _cosmology(self.meta) if cosmology is None else cosmology
        crit = lensing.sigma_crit(float(self.meta["REDSHIFT"]), z_source, cosmology, weights=weights)
        return self.divide(crit).convert_unit_to(u.dimensionless_unscaled)

    def tangential_shear(self, z_source, edges, cosmology=None, *, weights=None):
        """Tangential shear profile of the map (`~massrecon.analysis.tangential_shear_profile`)."""
        cosmology = _cosmology(self.meta) if cosmology is None else cosmology
        edges_kpc = self._edges_pixels(edges) * self.pixel_kpc
        return lensing.tangential_shear_profile(self, edges=edges_kpc, z_source=z_source, cosmology=cosmology,
                                                weights=weights)

    def compare_to(self, other, order="bilinear", peak_smoothing=compare.PEAK_SMOOTHING_PIXELS):
        """Compare with another map of the cluster (`~massrecon.analysis.compare.compare_maps`).

        ``other`` (a lensing convergence or mass map, an X-ray or SZ image: any NDData with a
        celestial WCS, FITS HDU or (data, wcs)) is reprojected onto this map's grid; the peaks are
        located on both maps smoothed by ``peak_smoothing`` pixels (Gaussian sigma).

        Returns
        -------
        comparison : `~massrecon.analysis.MapComparison`
            Pearson r, peak offset (kpc), the scaling and the residual map.
        """
        return compare.compare_maps(self, other, order=order, peak_smoothing=peak_smoothing)

    # --- plots --------------------------------------------------------------------------------
    def plot(self, ax=None, log=True, **kwargs):
        """Show the map on its WCS with a colour bar and R500/R200 circles (`~massrecon.analysis.plot_map`)."""
        return plotting.plot_map(self, ax, log=log, **kwargs)

    def plot_contours(self, ax=None, **kwargs):
        """Mass contours over any WCS image (`~massrecon.analysis.plot_contours`)."""
        return plotting.plot_contours(self, ax, **kwargs)

    def plot_profile(self, edges=None, ax=None, *, fit=False, error_model=None, **kwargs):
        """Profile with its pixel and total error bands, optionally with the NFW fit (`fit=True`)."""
        prof = self.profile(edges, error_model=error_model)
        best = self.fit_nfw(edges, error_model=error_model) if fit else None
        return plotting.plot_profile(prof, ax, fit=best, **kwargs)
