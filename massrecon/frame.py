"""The model's R200 frame around one cluster.

massrecon's model sees every cluster in the same physical frame: a square map centred on the
cluster, ``size_r200`` times :math:`R_{200c}` across (2 by default, as in de Andres et al. 2024,
MNRAS 528, 1517), sampled with ``npix`` pixels (80 by default).  `ClusterFrame` holds that frame:
the cluster's sky position, redshift, cosmology and mass, and the gnomonic (TAN) WCS onto which
observations are reprojected and in which mass maps are returned.
"""

import astropy.cosmology.units as cu
import astropy.units as u
import numpy as np
from astropy.coordinates import ICRS, SkyCoord
from astropy.cosmology import Cosmology, Planck18
from astropy.io import fits
from astropy.wcs import WCS

from .contract import FRAME_NPIX, FRAME_SIZE_R200
from .halo import (
    CM_RELATIONS,
    _validate_mass,
    _validate_redshift,
    m200c_from_m500c,
    m500c_from_m200c,
    mass_from_radius,
    radius_from_mass,
)

__all__ = ["ClusterFrame"]

_MIN_NPIX = 8


def _read_only(q):
    """``q`` (a Quantity) made read-only: a frame hands out its own values, which must not change."""
    q = q.copy()
    q.flags.writeable = False
    return q


class ClusterFrame:
    """The square R200 frame around one galaxy cluster.

    Give the cluster's position, redshift and exactly one of ``m200``, ``m500``, ``r200``,
    ``r500`` (all spherical overdensities with respect to the critical density at ``z``).  The
    other three follow from an NFW profile whose concentration comes from the
    concentration-mass relation ``cm_relation`` (see `massrecon.halo`).

    Parameters
    ----------
    center : `~astropy.coordinates.SkyCoord`
        Sky position of the cluster centre, in any celestial frame (stored as ICRS).
    z : float
        Redshift, finite and > 0.
    m200, m500 : `~astropy.units.Quantity`, optional
        :math:`M_{200c}` or :math:`M_{500c}` (mass units, no factors of h).
    r200, r500 : `~astropy.units.Quantity`, optional
        :math:`R_{200c}` or :math:`R_{500c}` (length units, physical).
    cosmology : `~astropy.cosmology.Cosmology`, optional
        Defaults to `~astropy.cosmology.Planck18`.
    npix : int, optional
        Pixels across the frame (>= 8).  Default 80.
    size_r200 : float, optional
        Full width of the frame in units of :math:`R_{200c}`.  Default 2.
    cm_relation : str, optional
        Concentration-mass relation for mass conversions, one of
        `~massrecon.halo.CM_RELATIONS`.  Default ``"diemer19"``.
    name : str, optional
        Cluster name, carried into results.

    Raises
    ------
    ValueError
        For a non-finite or non-positive redshift, mass or radius, zero or several mass
        definitions, ``npix < 8`` or a non-positive ``size_r200``.
    astropy.units.UnitsError
        For masses or radii without units or with units of the wrong physical type.

    Examples
    --------
    >>> import astropy.units as u
    >>> from astropy.coordinates import SkyCoord
    >>> from massrecon import ClusterFrame
    >>> frame = ClusterFrame(SkyCoord(194.95, 27.98, unit="deg"), z=0.0231,
    ...                      m500=6.0e14 * u.Msun, name="Coma")
    >>> frame.r200.round(0)
    <Quantity 2006. kpc>
    >>> frame.array_shape
    (80, 80)
    >>> frame.pixel_scale_kpc.round(2)
    <Quantity 50.15 kpc>
    """

    def __init__(
        self,
        center,
        z,
        *,
        m200=None,
        m500=None,
        r200=None,
        r500=None,
        cosmology=None,
        npix=FRAME_NPIX,
        size_r200=FRAME_SIZE_R200,
        cm_relation="diemer19",
        name=None,
    ):
        self._center = self._validate_center(center)
        self._z = self._validate_z(z)
        if cosmology is None:
            cosmology = Planck18
        if not isinstance(cosmology, Cosmology):
            raise TypeError(f"cosmology must be an astropy Cosmology, got {cosmology!r}")
        self._cosmology = cosmology
        if isinstance(npix, bool) or not isinstance(npix, (int, np.integer)):
            raise TypeError(f"npix must be an integer, got {npix!r}")
        if npix < _MIN_NPIX:
            raise ValueError(f"npix must be at least {_MIN_NPIX} pixels, got {npix}")
        self._npix = int(npix)
        size_r200 = float(size_r200)
        if not np.isfinite(size_r200) or size_r200 <= 0:
            raise ValueError(f"size_r200 must be finite and > 0, got {size_r200}")
        self._size_r200 = size_r200
        if cm_relation not in CM_RELATIONS:
            raise ValueError(f"cm_relation must be one of {CM_RELATIONS}, got {cm_relation!r}")
        self._cm_relation = cm_relation
        self.name = name

        given = {k: v for k, v in dict(m200=m200, m500=m500, r200=r200, r500=r500).items() if v is not None}
        if len(given) != 1:
            raise ValueError(
                "give exactly one of m200, m500, r200, r500; "
                + (f"got {sorted(given)}" if given else "got none")
            )
        (kind, value), = given.items()
        for key, val in given.items():
            if np.ndim(val) != 0:
                raise ValueError(f"{key} must be a scalar Quantity, got shape {np.shape(val)}")
        if kind in ("r200", "r500"):
            if not isinstance(value, u.Quantity) or not value.unit.is_equivalent(u.kpc):
                raise u.UnitsError(f"{kind} must be a Quantity with length units (e.g. kpc), got {value!r}")
            if not np.isfinite(value.value) or value.value <= 0:
                raise ValueError(f"{kind} must be finite and positive, got {value}")
            delta = 200 if kind == "r200" else 500
            mass = mass_from_radius(value, delta, self._z, cosmology)
            kind = "m200" if kind == "r200" else "m500"
        else:
            _validate_mass(value, kind)
            mass = value.to(u.Msun)
        if kind == "m200":
            self._m200 = mass
            self._m500, self._c200 = m500c_from_m200c(mass, self._z, cosmology, cm_relation)
        else:
            self._m500 = mass
            self._m200, self._c200 = m200c_from_m500c(mass, self._z, cosmology, cm_relation)
        self._r200 = radius_from_mass(self._m200, 200, self._z, cosmology)
        self._r500 = radius_from_mass(self._m500, 500, self._z, cosmology)
        self._m200, self._m500, self._r200, self._r500 = map(_read_only, (self._m200, self._m500, self._r200,
                                                                           self._r500))
        self._wcs = None
        self._da = None
        self._theta200 = None

    @staticmethod
    def _validate_z(z):
        if z is None or isinstance(z, (str, bytes, bool)):
            raise TypeError(f"z must be a number (the cluster redshift), got {z!r}")
        if isinstance(z, u.Quantity):
            if z.unit.physical_type != "dimensionless" and z.unit != cu.redshift:
                raise u.UnitsError(f"z must be dimensionless (a redshift), got unit '{z.unit}'")
            z = z.value
        if np.ndim(z) != 0:
            raise ValueError(f"z must be a scalar redshift, got an array of shape {np.shape(z)}")
        try:
            value = _validate_redshift(z)
        except TypeError as exc:
            raise TypeError(f"z must be a number (the cluster redshift), got {z!r}") from exc
        return float(value)

    @staticmethod
    def _validate_center(center):
        if not isinstance(center, SkyCoord):
            raise TypeError(f"center must be an astropy SkyCoord, got {type(center).__name__}")
        if not center.isscalar:
            raise ValueError(f"center must be a scalar SkyCoord, got shape {center.shape}")
        try:
            icrs = center.transform_to(ICRS())
        except Exception as exc:  # non-celestial frames cannot be transformed to ICRS
            raise ValueError(f"center must be in a celestial frame, got {center.frame.name}") from exc
        if not (np.isfinite(icrs.ra.deg) and np.isfinite(icrs.dec.deg)):
            raise ValueError(f"center must have finite coordinates, got {center}")
        return SkyCoord(icrs.ra, icrs.dec, frame="icrs")

    # --- derived frames -------------------------------------------------------------------
    def _kwargs(self):
        return dict(
            cosmology=self._cosmology,
            npix=self._npix,
            size_r200=self._size_r200,
            cm_relation=self._cm_relation,
            name=self.name,
        )

    def with_r200(self, r200):
        """A new frame identical to this one but for :math:`R_{200c}` (and hence every mass).

        Used to iterate the frame size until it agrees with the mass in a predicted map.

        Examples
        --------
        >>> import astropy.units as u
        >>> from astropy.coordinates import SkyCoord
        >>> from massrecon import ClusterFrame
        >>> f = ClusterFrame(SkyCoord(0, 0, unit="deg"), 0.1, m200=1e15 * u.Msun)
        >>> f.with_r200(1.1 * f.r200).r200 / f.r200
        <Quantity 1.1>
        """
        return ClusterFrame(self._center, self._z, r200=r200, **self._kwargs())

    def with_mass(self, *, m200=None, m500=None):
        """A new frame identical to this one but for its mass (give ``m200`` or ``m500``)."""
        return ClusterFrame(self._center, self._z, m200=m200, m500=m500, **self._kwargs())

    def with_npix(self, npix, size_r200=None):
        """A new frame with another sampling (and optionally another width in R200)."""
        kw = self._kwargs()
        kw["npix"] = npix
        if size_r200 is not None:
            kw["size_r200"] = size_r200
        return ClusterFrame(self._center, self._z, m200=self._m200, **kw)

    # --- the cluster ----------------------------------------------------------------------
    @property
    def center(self):
        """Cluster centre (`~astropy.coordinates.SkyCoord`, ICRS)."""
        return self._center

    @property
    def z(self):
        """Redshift."""
        return self._z

    @property
    def cosmology(self):
        """The astropy cosmology of the frame."""
        return self._cosmology

    @property
    def cm_relation(self):
        """Name of the concentration-mass relation used for mass conversions."""
        return self._cm_relation

    @property
    def m200(self):
        """:math:`M_{200c}` in Msun."""
        return self._m200

    @property
    def m500(self):
        """:math:`M_{500c}` in Msun."""
        return self._m500

    @property
    def r200(self):
        """:math:`R_{200c}` in kpc (physical)."""
        return self._r200

    @property
    def r500(self):
        """:math:`R_{500c}` in kpc (physical)."""
        return self._r500

    @property
    def c200(self):
        """NFW concentration :math:`R_{200c} / r_s` from the c-M relation."""
        return self._c200

    @property
    def angular_diameter_distance(self):
        """Angular-diameter distance to the cluster (Mpc)."""
        if self._da is None:  # a frame is immutable; the integral is the costliest part of theta200
            self._da = _read_only(self._cosmology.angular_diameter_distance(self._z).to(u.Mpc))
        return self._da

    @property
    def theta200(self):
        """Angle subtended by :math:`R_{200c}`, :math:`R_{200c} / D_A` (arcmin)."""
        if self._theta200 is None:  # asked for several times per observation when preparing a view
            self._theta200 = _read_only((self._r200 / self.angular_diameter_distance).to(
                u.arcmin, u.dimensionless_angles()))
        return self._theta200

    @property
    def theta500(self):
        """Angle subtended by :math:`R_{500c}` (arcmin)."""
        return (self._r500 / self.angular_diameter_distance).to(u.arcmin, u.dimensionless_angles())

    # --- the grid -------------------------------------------------------------------------
    @property
    def npix(self):
        """Pixels across the frame."""
        return self._npix

    @property
    def size_r200(self):
        """Full width of the frame in units of :math:`R_{200c}`."""
        return self._size_r200

    @property
    def array_shape(self):
        """Shape ``(ny, nx)`` of maps on this frame."""
        return (self._npix, self._npix)

    @property
    def width_kpc(self):
        """Full physical width of the frame (kpc)."""
        return self._size_r200 * self._r200

    @property
    def pixel_scale_kpc(self):
        """Physical size of one pixel (kpc)."""
        return self.width_kpc / self._npix

    @property
    def pixel_scale(self):
        """Angular size of one pixel (arcsec)."""
        return (self.pixel_scale_kpc / self.angular_diameter_distance).to(
            u.arcsec, u.dimensionless_angles()
        )

    @property
    def pixel_area(self):
        """Physical area of one pixel (kpc^2)."""
        return self.pixel_scale_kpc**2

    @property
    def pixel_solid_angle(self):
        """Solid angle of one pixel at the frame centre (sr)."""
        return (self.pixel_scale.to(u.rad) ** 2).to(u.sr)

    @property
    def center_pixel(self):
        """Zero-based ``(x, y)`` pixel position of the cluster centre."""
        c = (self._npix - 1) / 2.0
        return (c, c)

    @property
    def wcs(self):
        """Celestial gnomonic (TAN) `~astropy.wcs.WCS` of the frame, ICRS, north up, east left."""
        if self._wcs is None:
            w = WCS(naxis=2)
            w.wcs.ctype = ["RA---TAN", "DEC--TAN"]
            w.wcs.radesys = "ICRS"
            w.wcs.crval = [self._center.ra.deg, self._center.dec.deg]
            w.wcs.crpix = [(self._npix + 1) / 2.0, (self._npix + 1) / 2.0]
            scale = self.pixel_scale.to_value(u.deg)
            w.wcs.cdelt = [-scale, scale]
            w.wcs.cunit = ["deg", "deg"]
            w.wcs.set()
            w.pixel_shape = (self._npix, self._npix)
            self._wcs = w
        return self._wcs

    def radius_grid(self):
        """Projected distance of every pixel centre from the cluster centre, in units of R200.

        Returns
        -------
        r : `~numpy.ndarray`
            Array of shape `array_shape`.
        """
        idx = np.arange(self._npix) - (self._npix - 1) / 2.0
        xx, yy = np.meshgrid(idx, idx)
        return np.hypot(xx, yy) * self._size_r200 / self._npix

    def to_header(self):
        """FITS header with the WCS and the frame's cluster parameters."""
        hdr = self.wcs.to_header()
        hdr.update(self._cluster_cards())
        return hdr

    def _cluster_cards(self):
        """The cluster's cards of `to_header` (no WCS)."""
        hdr = fits.Header()
        hdr["OBJECT"] = (self.name or "", "cluster name")
        hdr["REDSHIFT"] = (self._z, "cluster redshift")
        hdr["M200C"] = (self._m200.to_value(u.Msun), "[Msun] M200c")
        hdr["M500C"] = (self._m500.to_value(u.Msun), "[Msun] M500c")
        hdr["R200C"] = (self._r200.to_value(u.kpc), "[kpc] R200c")
        hdr["R500C"] = (self._r500.to_value(u.kpc), "[kpc] R500c")
        hdr["C200"] = (float(self._c200), f"NFW concentration ({self._cm_relation})")
        hdr["FOVR200"] = (self._size_r200, "frame width in units of R200c")
        hdr["COSMO"] = (str(getattr(self._cosmology, "name", "") or ""), "astropy cosmology")
        return hdr

    def __repr__(self):
        name = f"{self.name!r}, " if self.name else ""
        return (
            f"<ClusterFrame {name}ra={self._center.ra.deg:.5f} deg, dec={self._center.dec.deg:.5f} deg, "
            f"z={self._z:.4g}, M200={self._m200.value:.3e} Msun, R200={self._r200.value:.1f} kpc, "
            f"theta200={self.theta200.value:.3f} arcmin, {self._npix}x{self._npix} px over "
            f"{self._size_r200:g} R200>"
        )
