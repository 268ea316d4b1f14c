"""Member galaxies and stellar-mass images: the model's ``"stars"`` view.

The ``"stars"`` view is the stellar-mass surface density in :math:`M_\\odot\\,\\mathrm{kpc}^{-2}`
(physical) on the cluster frame.  From a list of member galaxies it is built by `members_to_map`,
the single function used both for real catalogues (`GalaxyMembers.prepare`) and for the
training maps of the simulator, so that both are made the same way:

1. galaxies below the stellar-mass limit `MEMBER_MAP_MASS_LIMIT` (:math:`10^{10} M_\\odot`, roughly
   the completeness of spectroscopic/photometric member catalogues out to z ~ 0.5) are dropped;
2. each galaxy's mass (times its membership probability, if given) is deposited at its position
   with cloud-in-cell weights (Hockney & Eastwood 1988, *Computer Simulation Using Particles*,
   ch. 5) and divided by the pixel area;
3. the map is smoothed with a Gaussian of FWHM `MEMBER_SMOOTHING_R200` (0.05) times
   :math:`R_{200c}`.

A catalogue with positions only gives every galaxy `MEMBER_DEFAULT_MASS`
(:math:`4 \\times 10^{10} M_\\odot`), the mean stellar mass above :math:`10^{10} M_\\odot` of a
Schechter stellar-mass function with :math:`\\log M^* = 10.9`, :math:`\\alpha = -1.2`, typical of
cluster galaxies (e.g. van der Burg et al. 2018, A&A 618, A140): the map then traces the
member number density.

Catalogue depth
---------------
The map means "stellar mass of the members above `MEMBER_MAP_MASS_LIMIT`" whatever catalogue
it is made from, if the catalogue's depth is told (`GalaxyMembers`' ``completeness_limit``, or
``magnitude_limit`` and ``magnitude_band``); `GalaxyMembers.depth_correction` says what is done:

* stellar masses, complete down to the map's limit or deeper: the galaxies below the limit are
  dropped (as without a stated depth, which is taken to mean complete above the limit);
* stellar masses, complete only above a higher limit :math:`M_c`: the galaxies below
  :math:`M_c` are dropped and the satellites above it (all but the central galaxy, the most
  massive within `CENTRAL_RADIUS_R200` of the centre) are scaled by the stellar mass of the
  satellite stellar-mass function above the map's limit over that above :math:`M_c`
  (`~massrecon.physics.schechter_depth_factor`, Schechter 1976 with the cluster parameters of
  `massrecon.physics.smf`);
* positions only, with a stated depth: each galaxy stands for the stellar mass above the map's
  limit per galaxy above :math:`M_c`, :math:`\\rho(>M_{map})/N(>M_c)` of the same function (or
  ``default_mass`` times :math:`\\rho(>M_{map})/\\rho(>M_c)`), so that a catalogue five times
  deeper in numbers gives the same map, not five times its mass;
* positions only, no stated depth: the map scales with the catalogue's depth.  It warns, and
  the prediction's header says ``STDEPTH = 'unknown'``.

A correction factor above `DEPTH_FACTOR_WARN` (2) warns, one above `DEPTH_FACTOR_MAX` (5, a
completeness limit near :math:`1.2 \\times 10^{11} M_\\odot`) is refused: most of the map would be
the assumed function.  The factor and its uncertainty (from the assumed uncertainties of the
function's parameters, not counting the shot noise of the few galaxies scaled) are in
`PreparedView.meta <massrecon.observations.PreparedView>` and the mass map's header (``STDEPTH``,
``STCOMPL``, ``STDFACT``, ``STDFERR``).
"""

import warnings
from dataclasses import dataclass

import astropy.units as u
import numpy as np
from astropy.coordinates import SkyCoord
from astropy.stats import gaussian_fwhm_to_sigma
from astropy.table import QTable, Table
from scipy.ndimage import gaussian_filter

from .._deposit import cic_deposit
from ..contract import (
    FRAME_SIZE_R200,
    MEMBER_DEFAULT_MASS,
    MEMBER_MAP_MASS_LIMIT,
    MEMBER_SMOOTHING_R200,
    SUPPORTED_BEAM_R200,
    VIEW_UNITS,
)
from ..exceptions import MassreconWarning, OutOfDistributionWarning
from ..logger import log
from ..physics import galaxies
from ..physics.smf import schechter_depth_factor, schechter_mass_above, schechter_number_above
from ._attributes import AngleOrR200Fraction, MassQuantity, msun_value
from ._inputs import angle_or_r200
from ._regrid import unit_vectors
from .base import Observation, ObservationBase, PreparedView, _check_frame

__all__ = [
    "CENTRAL_RADIUS_R200",
    "DEPTH_FACTOR_MAX",
    "DEPTH_FACTOR_WARN",
    "DepthCorrection",
    "GalaxyMembers",
    "StellarMassImage",
    "depth_corrected_masses",
    "members_to_map",
    "stellar_mass_from_magnitude",
]

# Catalogues at least this long are cone-searched with a k-d tree of unit vectors (built once);
# shorter ones with one dot product per galaxy, which is faster below ~10^4 galaxies.
_KDTREE_MIN_GALAXIES = 20_000

_MASS_COLUMNS = ("mstar", "stellar_mass", "m_star", "mass_star")
_RA_COLUMNS = ("ra", "raj2000", "radeg", "ra_deg", "alpha_j2000")
_DEC_COLUMNS = ("dec", "dej2000", "decj2000", "dedeg", "dec_deg", "delta_j2000")


#: A catalogue-depth correction factor above this warns (see "Catalogue depth" above).
DEPTH_FACTOR_WARN = 2.0
#: A catalogue-depth correction factor above this is refused: the map would mostly be the assumed SMF.
DEPTH_FACTOR_MAX = 5.0
#: The central galaxy (not scaled by a depth correction) is the most massive member within this
#: projected radius (in R200) of the frame's centre.
CENTRAL_RADIUS_R200 = 0.5


@dataclass(frozen=True)
class DepthCorrection:
    """How a member catalogue's depth is turned into the stars view's (`GalaxyMembers.depth_correction`).

    Attributes
    ----------
    status : str
        ``"masses"`` (stellar masses, no stated depth: taken as complete above the map's limit),
        ``"complete"`` (masses complete down to the map's limit or deeper), ``"corrected"``
        (masses complete above a higher limit: satellites scaled by `factor`), ``"counts"``
        (positions only, stated depth), ``"assumed"`` (positions only, ``default_mass`` without a
        stated depth) or ``"unknown"`` (positions only, nothing stated: the map scales with the
        catalogue's depth).
    completeness_limit : `~astropy.units.Quantity` or None
        Stellar mass above which the catalogue is complete, where stated.
    factor, uncertainty : float
        Stellar mass above the map's limit over that above `completeness_limit`, and its
        uncertainty (1 and 0 where nothing is scaled).

    Examples
    --------
    >>> from massrecon.observations import DepthCorrection
    >>> DepthCorrection("masses", None, 1.0, 0.0).cards()
    {'STDEPTH': 'masses', 'STDFACT': 1.0, 'STDFERR': 0.0}
    """

    status: str
    completeness_limit: u.Quantity | None
    factor: float
    uncertainty: float

    def cards(self):
        """Header cards for the prediction (`~massrecon.MassMap` meta)."""
        cards = {"STDEPTH": self.status}
        if self.completeness_limit is not None:
            cards["STCOMPL"] = float(f"{self.completeness_limit.to_value(u.Msun):.4e}")
        cards.update(STDFACT=round(self.factor, 4), STDFERR=round(self.uncertainty, 4))
        return cards


#: Absolute magnitude of the Sun (AB) in SDSS bands (Willmer 2018, ApJS 236, 47, table 3).
SUN_ABS_MAG_AB = {"g": 5.11, "r": galaxies.SUN_ABSOLUTE_MAGNITUDE_R, "i": 4.53, "z": 4.50}

#: Colour-based mass-to-light relations log10(M/L) = a + b (g - r)_rest of Bell et al. 2003 (ApJS
#: 149, 289, table 7) for their "diet Salpeter" IMF; `stellar_mass_from_magnitude` adds the IMF offset.
BELL03_GR = {"g": (-0.499, 1.519), "r": galaxies.BELL03_R_GR, "i": (-0.222, 0.864), "z": (-0.223, 0.689)}
#: Default *rest-frame* g - r colour of red-sequence cluster members (e.g. Hogg et al. 2004).
DEFAULT_GR = 0.75


def _observed_gr_of_rest(z, gr_rest):
    """Observed g - r whose K-corrected colour (`massrecon.physics.rest_frame_gr`) is ``gr_rest``.

    Bisection over observed colours 0.3-2.2, where the rest-frame colour rises monotonically
    through the red sequence at every redshift of the K-correction fits (z <= 0.5).
    """
    z = np.asarray(z, dtype=np.float64)
    lo, hi = np.full(z.shape, 0.3), np.full(z.shape, 2.2)
    for _ in range(50):  # (2.2 - 0.3) / 2^50: far below any photometric error
        mid = 0.5 * (lo + hi)
        below = galaxies.rest_frame_gr(z, mid) < gr_rest
        lo, hi = np.where(below, mid, lo), np.where(below, hi, mid)
    return 0.5 * (lo + hi)


def stellar_mass_from_magnitude(mag, z, band="r", color_gr=None, cosmology=None,
                                imf_offset=galaxies.IMF_OFFSET_CHABRIER):
    r"""Stellar mass (Msun) of galaxies from apparent AB magnitudes and the observed g - r colour.

    :math:`\log_{10} M_* = \log_{10}(M/L) - 0.4 (M_{band} - M_{\odot,band})` with the absolute
    magnitude :math:`M = m - 5 \log_{10}(D_L / 10\,{\rm pc}) - K` and the colour-based
    mass-to-light ratio of Bell et al. (2003, table 7) of the *rest-frame* colour
    :math:`(g-r)_{rest} = (g-r) - K_g + K_r`.  The K-corrections are those of Chilingarian &
    Zolotukhin (2012) as functions of redshift and observed g - r
    (`massrecon.physics.kcorrection_gr`, valid for z <= 0.5); for ``band="r"`` this is
    `massrecon.physics.stellar_mass_from_gr`.  The i and z magnitudes have no K-correction here
    (only g and r are tabulated): a warning says so, and only the colour is K-corrected.

    Without a colour, every galaxy is given the red-sequence rest-frame ``g - r = 0.75``
    (`DEFAULT_GR`; M/L_r ~ 2.1 for Chabrier), and the observed colour that K-corrects to it.

    **IMF**: Bell et al. give :math:`M/L` for a "diet Salpeter" IMF.  The default ``imf_offset``
    of -0.093 dex (`massrecon.physics.IMF_OFFSET_CHABRIER`) converts it to a Chabrier (2003) IMF,
    the IMF of the stellar-mass-halo-mass relations of the simulator's training maps (e.g. Moster
    et al. 2013); use 0 for diet Salpeter, or -0.15 dex for a Kroupa (2001) IMF as Bell et al.
    (2003, sec. 2.4) state (`massrecon.physics.IMF_OFFSET_KROUPA`).

    Parameters
    ----------
    mag : float, array-like or `~astropy.units.Quantity`
        Apparent AB magnitudes in ``band`` (corrected for Galactic extinction).
    z : float or array-like
        Redshift, 0 < z <= 0.5: the cluster's, or each galaxy's.
    band : {"r", "g", "i", "z"}, optional
        SDSS band of ``mag``; default ``"r"``.
    color_gr : float or array-like, optional
        *Observed* g - r colours (AB); default the red sequence (see above).
    cosmology : `~astropy.cosmology.Cosmology`, optional
        For the luminosity distance; default `~astropy.cosmology.Planck18`.
    imf_offset : float, optional
        Added to :math:`\log_{10}(M/L)` (dex); default -0.093 (Chabrier).

    Returns
    -------
    mstar : `~astropy.units.Quantity`
        In Msun.

    Examples
    --------
    >>> from massrecon.observations.members import stellar_mass_from_magnitude
    >>> f"{stellar_mass_from_magnitude(17.0, 0.1, color_gr=0.8).value:.2e}"
    '6.03e+10'
    >>> f"{stellar_mass_from_magnitude(17.0, 0.05).value:.2e}"
    '1.68e+10'
    """
    from astropy.cosmology import Planck18

    if band not in BELL03_GR:
        raise ValueError(f"band must be one of {sorted(BELL03_GR)}, got {band!r}")
    cosmology = Planck18 if cosmology is None else cosmology
    mag = np.asarray(getattr(mag, "value", mag), dtype=np.float64)
    z = np.asarray(z, dtype=np.float64)
    if not np.all(np.isfinite(mag)):
        raise ValueError("mag must be finite")
    if not np.all(np.isfinite(z)) or np.any(z <= 0):
        raise ValueError("z must be finite and > 0")
    if np.any(z > galaxies.KCORRECTION_MAX_REDSHIFT):
        raise ValueError(f"z must be <= {galaxies.KCORRECTION_MAX_REDSHIFT} (range of the Chilingarian & "
                         f"Zolotukhin 2012 K-corrections), got {z}")
    gr = _observed_gr_of_rest(z, DEFAULT_GR) if color_gr is None else np.asarray(color_gr, dtype=np.float64)
    if band == "r":
        return galaxies.stellar_mass_from_gr(mag, gr, z, cosmology=cosmology, imf_offset=imf_offset)
    if band == "g":
        k = galaxies.kcorrection_gr("g", z, gr)
    else:
        warnings.warn(f"stellar_mass_from_magnitude: no K-correction of {band} magnitudes is available "
                      "(Chilingarian & Zolotukhin g and r only): the magnitude is used as rest-frame, "
                      "only the colour is K-corrected", MassreconWarning, stacklevel=2)
        k = 0.0
    absmag = mag - 5 * np.log10(cosmology.luminosity_distance(z).to_value(u.pc) / 10.0) - k
    a, b = BELL03_GR[band]
    log_ml = a + b * galaxies.rest_frame_gr(z, gr) + float(imf_offset)
    return 10 ** (log_ml - 0.4 * (absmag - SUN_ABS_MAG_AB[band])) * u.Msun


def depth_corrected_masses(x_kpc, y_kpc, mstar_msun, completeness_limit, factor, r200_kpc):
    """Stellar masses of a catalogue complete above ``completeness_limit``, the satellites scaled by ``factor``.

    The satellites above the limit are multiplied by the depth factor
    (`~massrecon.physics.schechter_depth_factor`); the central galaxy (the most massive within
    `CENTRAL_RADIUS_R200` of the centre) is not, since the cluster stellar-mass function does not
    describe it.  `GalaxyMembers` does this for a ``completeness_limit`` or ``magnitude_limit``;
    `massrecon.validation.tracers` does it for its shallow catalogues.

    Parameters
    ----------
    x_kpc, y_kpc, mstar_msun : `~numpy.ndarray`
        Projected positions from the centre (kpc) and stellar masses (Msun).
    completeness_limit, factor, r200_kpc : float

    Returns
    -------
    `~numpy.ndarray`

    Examples
    --------
    >>> import numpy as np
    >>> from massrecon.observations.members import depth_corrected_masses
    >>> depth_corrected_masses(np.array([0.0, 500.0, 900.0]), np.zeros(3), np.array([1e12, 2e11, 5e10]),
    ...                        1e11, 1.5, 1500.0)
    array([1.e+12, 3.e+11, 5.e+10])
    """
    mstar = np.asarray(mstar_msun, dtype=float)
    if np.shape(x_kpc) != mstar.shape or np.shape(y_kpc) != mstar.shape:
        raise ValueError(f"x_kpc, y_kpc and mstar_msun must have one shape, got {np.shape(x_kpc)}, "
                         f"{np.shape(y_kpc)} and {mstar.shape}")
    for name, val in (("completeness_limit", completeness_limit), ("factor", factor), ("r200_kpc", r200_kpc)):
        if not np.isfinite(val) or val <= 0:
            raise ValueError(f"{name} must be finite and > 0, got {val}")
    scaled = np.where(mstar >= completeness_limit, mstar * factor, mstar)
    central = np.hypot(x_kpc, y_kpc) <= CENTRAL_RADIUS_R200 * r200_kpc
    if np.any(central & (mstar >= completeness_limit)):
        i = np.flatnonzero(central)[np.argmax(mstar[central])]
        scaled[i] = mstar[i]
    return scaled


def members_to_map(x_kpc, y_kpc, mstar_msun, frame_npix, pixel_kpc, *, r200_kpc=None,
                   smoothing_r200=MEMBER_SMOOTHING_R200, mass_limit=MEMBER_MAP_MASS_LIMIT, weights=None):
    """Stellar-mass surface density map of member galaxies (pure numpy; Msun/kpc^2).

    Positions are physical offsets from the frame centre along the frame's pixel axes: ``x``
    along the array's second axis (columns), ``y`` along its first axis (rows), so that pixel
    ``[j, i]`` has its centre at ``x = (i - (npix - 1) / 2) * pixel_kpc``,
    ``y = (j - (npix - 1) / 2) * pixel_kpc``.

    Parameters
    ----------
    x_kpc, y_kpc : array-like
        Positions (kpc, physical).
    mstar_msun : array-like or float
        Stellar masses (Msun; a Quantity in mass units is accepted).
    frame_npix : int
        Pixels across the (square) frame.
    pixel_kpc : float
        Pixel size (kpc).
    r200_kpc : float, optional
        :math:`R_{200c}` (kpc) setting the smoothing; default
        ``frame_npix * pixel_kpc / FRAME_SIZE_R200`` (the model's frame,
        `~massrecon.contract.FRAME_SIZE_R200` across).
    smoothing_r200 : float, optional
        FWHM of the Gaussian smoothing in units of R200; default `MEMBER_SMOOTHING_R200`.
        0 switches smoothing off.
    mass_limit : float or `~astropy.units.Quantity`, optional
        Galaxies with ``mstar_msun`` below it (Msun) are dropped; default `MEMBER_MAP_MASS_LIMIT`.
    weights : array-like, optional
        Membership probabilities in [0, 1] multiplying the masses.

    Returns
    -------
    sigma_star : `~numpy.ndarray`
        float64 array ``(frame_npix, frame_npix)`` in Msun/kpc^2.  The deposit conserves mass:
        ``sigma_star.sum() * pixel_kpc**2`` is the total (weighted) mass of the galaxies kept,
        apart from what the smoothing spreads beyond the frame's edge.

    Examples
    --------
    >>> import numpy as np
    >>> from massrecon.observations import members_to_map
    >>> sig = members_to_map([0.0, 100.0], [0.0, -50.0], [1e11, 5e10], 40, 50.0)
    >>> round(float(sig.sum() * 50.0**2 / 1.5e11), 6)
    1.0
    """
    x = np.atleast_1d(np.asarray(x_kpc, dtype=np.float64))
    y = np.atleast_1d(np.asarray(y_kpc, dtype=np.float64))
    m = np.broadcast_to(np.atleast_1d(msun_value(mstar_msun, "mstar_msun")), x.shape).astype(np.float64)
    if x.shape != y.shape or x.ndim != 1:
        raise ValueError(
            f"x_kpc and y_kpc must be 1-D arrays of the same length, got {x.shape} and {y.shape}"
        )
    if isinstance(frame_npix, bool) or int(frame_npix) != frame_npix or frame_npix < 1:
        raise ValueError(f"frame_npix must be a positive integer, got {frame_npix!r}")
    npix = int(frame_npix)
    pixel_kpc = float(pixel_kpc)
    if not np.isfinite(pixel_kpc) or pixel_kpc <= 0:
        raise ValueError(f"pixel_kpc must be finite and > 0, got {pixel_kpc}")
    if r200_kpc is None:
        r200 = npix * pixel_kpc / FRAME_SIZE_R200
    elif isinstance(r200_kpc, u.Quantity):
        r200 = float(r200_kpc.to_value(u.kpc))
    else:
        r200 = float(r200_kpc)
    if not np.isfinite(r200) or r200 <= 0:
        raise ValueError(f"r200_kpc must be finite and > 0, got {r200_kpc}")
    smoothing_r200 = float(smoothing_r200)
    if not np.isfinite(smoothing_r200) or smoothing_r200 < 0:
        raise ValueError(f"smoothing_r200 must be finite and >= 0, got {smoothing_r200}")
    limit = float(msun_value(mass_limit, "mass_limit"))
    if not (np.all(np.isfinite(x)) and np.all(np.isfinite(y)) and np.all(np.isfinite(m))):
        raise ValueError("member positions and masses must be finite")
    if np.any(m < 0):
        raise ValueError("stellar masses must be >= 0")
    keep = m >= limit  # the limit applies to the galaxies' stellar masses, before any weighting
    if weights is not None:
        w = np.broadcast_to(np.asarray(weights, dtype=np.float64), x.shape)
        if not np.all(np.isfinite(w)) or np.any(w < 0) or np.any(w > 1):
            raise ValueError("weights (membership probabilities) must lie in [0, 1]")
        m = m * w
    x, y, m = x[keep], y[keep], m[keep]

    sigma_pix = smoothing_r200 * r200 * gaussian_fwhm_to_sigma / pixel_kpc
    pad = int(np.ceil(4.0 * sigma_pix)) + 2
    n = npix + 2 * pad
    fx = x / pixel_kpc + (npix - 1) / 2.0 + pad
    fy = y / pixel_kpc + (npix - 1) / 2.0 + pad
    grid = cic_deposit(n, fx, fy, m)
    grid /= pixel_kpc**2
    if sigma_pix > 0:
        grid = gaussian_filter(grid, sigma_pix, mode="constant", cval=0.0, truncate=4.0)
    return grid[pad : pad + npix, pad : pad + npix].astype(np.float64)


def _find_column(table, requested, candidates):
    names = {c.lower(): c for c in table.colnames}
    for cand in ((requested,) if requested else ()) + tuple(candidates):
        if cand is not None and cand.lower() in names:
            return names[cand.lower()]
    return None


def _named_column(table, requested, argument, owner):
    """The table's column named ``requested`` (case-insensitive), None if none was requested."""
    if requested is None:
        return None
    column = _find_column(table, requested, ())
    if column is None:
        raise ValueError(f"{owner}: {argument} {requested!r} is not in the table (columns: {table.colnames})")
    return column


class GalaxyMembers(ObservationBase):
    """Member galaxies of a cluster: positions, stellar masses and membership probabilities.

    A thin wrapper over an astropy table.  `prepare` turns it into the ``"stars"`` view with
    `members_to_map`.

    Parameters
    ----------
    table : `~astropy.table.Table` or `~astropy.table.QTable`
        One row per galaxy, with either a `~astropy.coordinates.SkyCoord` column or RA/Dec
        columns (angle units; columns without a unit are taken in degrees).
    coord_column : str, optional
        Name of the SkyCoord column; default the first SkyCoord column.
    ra_column, dec_column : str, optional
        RA/Dec column names (case-insensitive); default ``"ra"``/``"dec"`` or common variants
        (``RAJ2000``, ``RAdeg``, ...).
    mass_column : str, optional
        Stellar-mass column (mass units, or a ``u.dex(u.Msun)`` logarithm).  Default: the first of
        ``mstar``, ``stellar_mass``, ``m_star``, ``mass_star``; if none, every galaxy gets
        ``default_mass``.
    probability_column : str, optional
        Membership probabilities in [0, 1] (weights on the masses).
    redshift_column, velocity_column : str, optional
        Columns kept for the user (`z`, `velocity`); not used by the map.
    default_mass : `~astropy.units.Quantity`, optional
        Mean stellar mass of a catalogued galaxy when there is no mass column.  With a stated
        depth (``completeness_limit`` or ``magnitude_limit``) each galaxy then stands for
        ``default_mass`` times the depth factor (see `depth_correction`); without one it is
        taken to mean a catalogue complete above `~massrecon.contract.MEMBER_MAP_MASS_LIMIT`
        and no deeper, and a `~massrecon.MassreconWarning` asks for the depth.  A
        positions-only catalogue with neither warns (`~massrecon.OutOfDistributionWarning`: its
        amplitude scales with the catalogue's depth), every galaxy gets
        `~massrecon.contract.MEMBER_DEFAULT_MASS` and the prediction is flagged
        (``STDEPTH = 'unknown'``).
    completeness_limit : `~astropy.units.Quantity`, optional
        Stellar mass above which the catalogue is complete (see "Catalogue depth" in
        :doc:`/observations`): deeper than the map's limit, the fainter galaxies are
        dropped (masses) or discounted (positions only); shallower, the missing satellite mass
        is added from the cluster stellar-mass function (`~massrecon.physics.schechter_depth_factor`),
        with a warning when the factor exceeds ``DEPTH_FACTOR_WARN`` (2) and an error above
        ``DEPTH_FACTOR_MAX`` (5).  Default: not stated.
    magnitude_limit : float or `~astropy.units.Quantity`, optional
        Instead of ``completeness_limit``: the catalogue's apparent AB magnitude limit in
        ``magnitude_band``.  The completeness limit is the stellar mass of a red-sequence
        galaxy at that magnitude at the frame's redshift (`stellar_mass_from_magnitude`
        without a colour): red galaxies have the largest mass-to-light ratio, so every galaxy
        above that mass is brighter than the limit.  Needs the frame's z <= 0.5 (the range of
        the K-corrections).
    magnitude_band : {"r", "g", "i", "z"}, optional
        SDSS band of ``magnitude_limit``; default ``"r"``.
    mass_limit : `~astropy.units.Quantity`, optional
        Default `MEMBER_MAP_MASS_LIMIT`.
    smoothing : float or `~astropy.units.Quantity`, optional
        FWHM of the smoothing: a fraction of R200 or an angle.  Default `MEMBER_SMOOTHING_R200`.
    name : str, optional
        Name used in messages.

    Raises
    ------
    ValueError
        No coordinate columns (the message names the missing columns), a missing named column,
        probabilities outside [0, 1].
    astropy.units.UnitsError
        Stellar masses without mass units, coordinates without angle units.

    Examples
    --------
    >>> import numpy as np, astropy.units as u
    >>> from astropy.coordinates import SkyCoord
    >>> from astropy.table import QTable
    >>> from massrecon import ClusterFrame
    >>> from massrecon.observations import GalaxyMembers
    >>> frame = ClusterFrame(SkyCoord(150.0, 2.0, unit="deg"), 0.2, m500=5e14 * u.Msun, npix=40)
    >>> t = QTable({"ra": [150.0, 150.01] * u.deg, "dec": [2.0, 2.01] * u.deg,
    ...             "mstar": [2e11, 5e10] * u.Msun})
    >>> view = GalaxyMembers(t).prepare(frame)
    >>> mass = view.data.sum() * frame.pixel_area.value
    >>> round(float(mass / 2.5e11), 4), view.unit
    (1.0, Unit("solMass / kpc2"))
    """

    view = "stars"

    mass_limit = MassQuantity("Stellar-mass limit (Msun).")
    smoothing = AngleOrR200Fraction("FWHM of the smoothing: a float (fraction of R200) or an angle (arcmin).")

    def __init__(self, table, *, coord_column=None, ra_column=None, dec_column=None, mass_column=None,
                 probability_column=None, redshift_column=None, velocity_column=None,
                 default_mass=None, mass_limit=MEMBER_MAP_MASS_LIMIT,
                 smoothing=MEMBER_SMOOTHING_R200, name=None, completeness_limit=None, magnitude_limit=None,
                 magnitude_band="r"):
        owner = type(self).__name__
        if not isinstance(table, Table):
            raise TypeError(f"{owner}: table must be an astropy Table or QTable, got {type(table).__name__}")
        table = QTable(table, copy=False)
        self.name = name
        self._coords = self._read_coords(table, coord_column, ra_column, dec_column, owner)
        icrs = self._coords.icrs
        # kept once: ICRS degrees for the frame's (ICRS TAN) projection, unit vectors for the
        # cone search that keeps a large catalogue's per-cluster work to the galaxies nearby
        self._ra_deg, self._dec_deg = icrs.ra.deg, icrs.dec.deg
        lost = ~(np.isfinite(self._ra_deg) & np.isfinite(self._dec_deg))
        if lost.any():
            warnings.warn(f"{owner}: {int(lost.sum())} of {lost.size} galaxies have non-finite coordinates (NaN RA "
                          "or Dec); they are left out of the stars view", MassreconWarning)
        self._xyz = np.ascontiguousarray(unit_vectors(icrs).T)
        self._tree = None
        self._mstar, self._positions_only = self._read_masses(table, mass_column, default_mass, owner)
        self._default_mass = None if default_mass is None else float(msun_value(default_mass, "default_mass", owner))
        self._set_depth(completeness_limit, magnitude_limit, magnitude_band, owner)

        self._prob = None
        pcol = _named_column(table, probability_column, "probability_column", owner)
        if pcol is not None:
            self._prob = np.asarray(u.Quantity(table[pcol]).to_value(u.one), dtype=np.float64)
            if not np.all(np.isfinite(self._prob)) or np.any(self._prob < 0) or np.any(self._prob > 1):
                raise ValueError(f"{owner}: membership probabilities ({pcol!r}) must lie in [0, 1]")
        zcol = _named_column(table, redshift_column, "redshift_column", owner)
        self._z = None if zcol is None else np.asarray(u.Quantity(table[zcol]).to_value(u.one), dtype=np.float64)
        self._velocity = None
        vcol = _named_column(table, velocity_column, "velocity_column", owner)
        if vcol is not None:
            v = table[vcol]
            if not isinstance(v, u.Quantity) or not v.unit.is_equivalent(u.km / u.s):
                raise u.UnitsError(f"{owner}: velocity column {vcol!r} must have velocity units (e.g. km/s)")
            self._velocity = v.to(u.km / u.s)
        self.mass_limit = mass_limit
        self.smoothing = smoothing
        self._table = table
        stated = self._completeness_msun is not None or self._magnitude_limit is not None
        if self._positions_only and not stated and default_mass is None:
            warnings.warn(
                f"stars: {owner} has no stellar masses and no stated depth, so every galaxy gets "
                f"{MEMBER_DEFAULT_MASS:.1e} and the stars view scales with how deep the catalogue goes (a catalogue "
                "with 5 times more faint galaxies reads as a cluster 5 times heavier): the mass from this view is "
                "not trustworthy, and the prediction is flagged (STDEPTH = 'unknown').  Give stellar masses (or "
                "magnitudes: GalaxyMembers.from_magnitudes), or the catalogue's depth: completeness_limit= (a "
                "stellar mass) or magnitude_limit=", OutOfDistributionWarning)
        elif self._positions_only and not stated:
            warnings.warn(
                f"stars: {owner} has no stellar masses and no stated depth: default_mass is taken to mean a "
                f"catalogue complete above {MEMBER_MAP_MASS_LIMIT:.0e} and no deeper (a deeper one reads as a "
                "heavier cluster); state it with completeness_limit= (a stellar mass) or magnitude_limit=",
                MassreconWarning)

    def _set_depth(self, completeness_limit, magnitude_limit, magnitude_band, owner):
        """Keep the stated depth: a completeness limit (Msun) or a magnitude limit and band."""
        if completeness_limit is not None and magnitude_limit is not None:
            raise ValueError(f"{owner}: give completeness_limit or magnitude_limit, not both")
        self._completeness_msun = None
        if completeness_limit is not None:
            if not isinstance(completeness_limit, u.Quantity):
                raise u.UnitsError(f"{owner}: completeness_limit must be a Quantity with mass units (e.g. Msun)")
            c = float(msun_value(completeness_limit, "completeness_limit", owner))
            if not np.isfinite(c) or c <= 0:
                raise ValueError(f"{owner}: completeness_limit must be finite and > 0, got {completeness_limit}")
            self._completeness_msun = c
        self._magnitude_limit = None
        if magnitude_limit is not None:
            if magnitude_band not in BELL03_GR:
                raise ValueError(f"{owner}: magnitude_band must be one of {sorted(BELL03_GR)}, got {magnitude_band!r}")
            mag = float(getattr(magnitude_limit, "value", magnitude_limit))
            if not np.isfinite(mag):
                raise ValueError(f"{owner}: magnitude_limit must be finite, got {magnitude_limit}")
            self._magnitude_limit = mag
        self._magnitude_band = magnitude_band

    def completeness_limit(self, frame=None):
        """The stated completeness limit (Msun), None if not stated.

        With ``magnitude_limit`` it depends on the redshift: ``frame`` (a `~massrecon.ClusterFrame`)
        is then required.

        Examples
        --------
        >>> import astropy.units as u
        >>> from astropy.coordinates import SkyCoord
        >>> from massrecon import ClusterFrame
        >>> from massrecon.observations import GalaxyMembers
        >>> m = GalaxyMembers.from_arrays(SkyCoord([10], [5], unit="deg"), [6e10] * u.Msun, magnitude_limit=17.77)
        >>> frame = ClusterFrame(SkyCoord(10, 5, unit="deg"), 0.1, m500=5e14 * u.Msun, npix=16)
        >>> f"{m.completeness_limit(frame):.2e}"
        '3.67e+10 solMass'
        """
        if self._magnitude_limit is None:
            return None if self._completeness_msun is None else self._completeness_msun * u.Msun
        if frame is None:
            raise ValueError(f"{type(self).__name__}: a magnitude_limit needs the frame (its redshift) to give "
                             "a stellar-mass completeness limit")
        return stellar_mass_from_magnitude(self._magnitude_limit, frame.z, band=self._magnitude_band)

    def depth_correction(self, frame=None):
        """How the catalogue's depth is turned into the stars view's: a `DepthCorrection`.

        See "Catalogue depth" in :doc:`/observations`.  ``frame`` is needed for a
        ``magnitude_limit`` only.

        Examples
        --------
        >>> import astropy.units as u
        >>> from astropy.coordinates import SkyCoord
        >>> from massrecon.observations import GalaxyMembers
        >>> m = GalaxyMembers.from_arrays(SkyCoord([10], [5], unit="deg"), [2e11] * u.Msun,
        ...                               completeness_limit=5e10 * u.Msun)
        >>> dc = m.depth_correction()
        >>> dc.status, round(dc.factor, 2), round(dc.uncertainty, 2)
        ('corrected', 1.88, 0.46)
        """
        c = self.completeness_limit(frame)
        limit = float(self.mass_limit.to_value(u.Msun))
        if c is None:
            if not self._positions_only:
                return DepthCorrection("masses", None, 1.0, 0.0)
            return DepthCorrection("unknown" if self._default_mass is None else "assumed", None, 1.0, 0.0)
        c_msun = float(c.to_value(u.Msun))
        if not self._positions_only and c_msun <= limit:
            return DepthCorrection("complete", c, 1.0, 0.0)
        factor, err = schechter_depth_factor(c_msun, limit)
        return DepthCorrection("counts" if self._positions_only else "corrected", c, factor, err)

    def _checked_depth(self, frame):
        """`depth_correction` on ``frame``, warning for a large factor and refusing a too large one."""
        dc = self.depth_correction(frame)
        if dc.factor > DEPTH_FACTOR_MAX:
            raise ValueError(
                f"{type(self).__name__}: the catalogue is complete only above {dc.completeness_limit:.3g} (its "
                f"{'magnitude_limit' if self._magnitude_limit is not None else 'completeness_limit'}): the stellar "
                f"mass above {self.mass_limit:.0e} would be {dc.factor:.2g} times that observed (more than "
                f"{DEPTH_FACTOR_MAX:g}), mostly the assumed stellar-mass function; use a deeper catalogue")
        if dc.factor > DEPTH_FACTOR_WARN:
            warnings.warn(
                f"stars: the catalogue is complete only above {dc.completeness_limit:.3g}: the satellites' stellar "
                f"mass is scaled by {dc.factor:.2f} +- {dc.uncertainty:.2f} to that above {self.mass_limit:.0e}, "
                "mostly from the assumed stellar-mass function (massrecon.physics.smf)", MassreconWarning)
        return dc

    def _depth_masses(self, dc, frame, x, y, mstar):
        """Masses (Msun) to deposit and the mass limit to apply, for the depth correction ``dc``."""
        limit = float(self.mass_limit.to_value(u.Msun))
        if dc.status == "counts":
            # each galaxy stands for the stellar mass above the map's limit per catalogued galaxy
            c = float(dc.completeness_limit.to_value(u.Msun))
            mean = self._default_mass if self._default_mass is not None else (
                schechter_mass_above(c) / schechter_number_above(c))
            return np.full(mstar.shape, mean * dc.factor), 0.0
        if dc.status != "corrected":
            return mstar, limit
        c = float(dc.completeness_limit.to_value(u.Msun))
        return depth_corrected_masses(x, y, mstar, c, dc.factor, frame.r200.to_value(u.kpc)), c

    @staticmethod
    def _read_masses(table, mass_column, default_mass, owner):
        """Stellar masses (Msun, float64) from the mass column, or ``default_mass`` for all, and
        whether they are the default (the table has no mass column).

        A catalogue of positions only, without a ``default_mass`` that states what each galaxy
        stands for, warns: the stars view is then a count of galaxies times a guess, and a deeper
        catalogue (more faint galaxies) would read as a heavier cluster (issue 15).
        """
        mcol = _find_column(table, mass_column, () if mass_column else _MASS_COLUMNS)
        if mass_column is not None and mcol is None:
            raise ValueError(
                f"{owner}: mass_column {mass_column!r} is not in the table (columns: {table.colnames})"
            )
        if mcol is None:
            default_mass = MEMBER_DEFAULT_MASS if default_mass is None else default_mass
            log.debug(f"{owner}: no stellar-mass column; every galaxy gets {default_mass}")
            mstar = np.full(len(table), msun_value(default_mass, "default_mass", owner))
        else:
            col = table[mcol]
            if isinstance(col.unit, u.DexUnit) or isinstance(col, u.Dex):
                col = u.Dex(col).physical
            if not isinstance(col, u.Quantity) or col.unit is None or col.unit == u.one:
                raise u.UnitsError(
                    f"{owner}: stellar-mass column {mcol!r} has no unit; give masses in Msun "
                    "(e.g. table[name].unit = u.Msun, or u.dex(u.Msun) for log10 masses)"
                )
            mstar = msun_value(col, f"stellar-mass column {mcol!r}", owner)
        mstar = np.array(mstar, dtype=np.float64)
        if not np.all(np.isfinite(mstar)) or np.any(mstar < 0):
            raise ValueError(f"{owner}: stellar masses must be finite and >= 0")
        return mstar, mcol is None

    @staticmethod
    def _read_coords(table, coord_column, ra_column, dec_column, owner):
        if coord_column is not None:
            if coord_column not in table.colnames or not isinstance(table[coord_column], SkyCoord):
                raise ValueError(
                    f"{owner}: coord_column {coord_column!r} is not a SkyCoord column of the table"
                )
            return table[coord_column]
        for name in table.colnames:
            if isinstance(table[name], SkyCoord):
                return table[name]
        ra = _find_column(table, ra_column, _RA_COLUMNS)
        dec = _find_column(table, dec_column, _DEC_COLUMNS)
        if ra is None or dec is None:
            wanted = ((ra_column or "ra", ra), (dec_column or "dec", dec))
            missing = [want for want, got in wanted if got is None]
            raise ValueError(
                f"{owner}: the members table has no SkyCoord column and no coordinate column(s) {missing} "
                f"(columns: {table.colnames}); give coord_column=, or ra_column= and dec_column="
            )
        values = []
        for cname in (ra, dec):
            col = table[cname]
            if isinstance(col, u.Quantity):
                if not col.unit.is_equivalent(u.deg):
                    raise u.UnitsError(f"{owner}: coordinate column {cname!r} must have angle units, "
                                       f"got unit '{col.unit}'")
                values.append(col.to(u.deg))
            else:
                values.append(np.asarray(col, dtype=np.float64) * u.deg)
        return SkyCoord(values[0], values[1], frame="icrs")

    @classmethod
    def from_arrays(cls, coords, mstar=None, probability=None, **kwargs):
        """Members from a `~astropy.coordinates.SkyCoord` array and optional masses/probabilities.

        Examples
        --------
        >>> import astropy.units as u
        >>> from astropy.coordinates import SkyCoord
        >>> from massrecon.observations import GalaxyMembers
        >>> m = GalaxyMembers.from_arrays(SkyCoord([10, 10.01], [5, 5], unit="deg"), [6e10, 2e10] * u.Msun)
        >>> len(m), m.mstar[0]
        (2, <Quantity 6.e+10 solMass>)
        """
        if not isinstance(coords, SkyCoord):
            raise TypeError(f"coords must be a SkyCoord array, got {type(coords).__name__}")
        cols = {"coord": coords.reshape(-1)}
        if mstar is not None:
            if not isinstance(mstar, u.Quantity):
                raise u.UnitsError("mstar must be a Quantity with mass units (e.g. Msun)")
            cols["mstar"] = np.broadcast_to(mstar, (len(cols["coord"]),), subok=True)
        if probability is not None:
            prob = np.asarray(probability, dtype=np.float64)
            cols["p_member"] = np.broadcast_to(prob, (len(cols["coord"]),))
            kwargs.setdefault("probability_column", "p_member")
        return cls(QTable(cols), **kwargs)

    @classmethod
    def from_magnitudes(cls, coords, mag, z, band="r", color_gr=None, probability=None, cosmology=None,
                        imf_offset=galaxies.IMF_OFFSET_CHABRIER, **kwargs):
        """Members from apparent AB magnitudes, with stellar masses from `stellar_mass_from_magnitude`.

        ``z`` is the cluster redshift (or each galaxy's), which sets the K-corrections;
        ``color_gr`` the observed g - r colours; ``imf_offset`` the IMF (default Chabrier): see
        `stellar_mass_from_magnitude`.

        Examples
        --------
        >>> from astropy.coordinates import SkyCoord
        >>> from massrecon.observations import GalaxyMembers
        >>> m = GalaxyMembers.from_magnitudes(SkyCoord([10, 10.01], [5, 5], unit="deg"), [16.5, 18.0], 0.05)
        >>> len(m)
        2
        """
        mstar = stellar_mass_from_magnitude(mag, z, band=band, color_gr=color_gr, cosmology=cosmology,
                                            imf_offset=imf_offset)
        return cls.from_arrays(coords, mstar=mstar, probability=probability, **kwargs)

    def __len__(self):
        return len(self._mstar)

    def __repr__(self):
        name = f" {self.name!r}" if self.name else ""
        return f"<{type(self).__name__}{name} view={self.view!r} {len(self)} galaxies>"

    @property
    def table(self):
        """The underlying `~astropy.table.QTable`."""
        return self._table

    @property
    def coords(self):
        """Positions (`~astropy.coordinates.SkyCoord`)."""
        return self._coords

    @property
    def mstar(self):
        """Stellar masses (Msun)."""
        return self._mstar * u.Msun

    @property
    def probability(self):
        """Membership probabilities, or None."""
        return self._prob

    @property
    def z(self):
        """Member redshifts, or None."""
        return self._z

    @property
    def velocity(self):
        """Member velocities (km/s), or None."""
        return self._velocity

    @property
    def beam(self):
        """The resolution of the stars view: `smoothing` (a fraction of R200 or an angle)."""
        return self.smoothing

    def pixel_offsets(self, frame):
        """Physical offsets ``(x_kpc, y_kpc)`` of the galaxies along the frame's pixel axes."""
        _check_frame(frame)
        return self._offsets(frame, slice(None))

    def _offsets(self, frame, index):
        # the frame's WCS is an undistorted ICRS TAN projection, so wcslib takes ICRS degrees as is
        with np.errstate(invalid="ignore"):
            px, py = frame.wcs.wcs_world2pix(self._ra_deg[index], self._dec_deg[index], 0)
        c = (frame.npix - 1) / 2.0
        scale = frame.pixel_scale_kpc.to_value(u.kpc)
        return (np.asarray(px) - c) * scale, (np.asarray(py) - c) * scale

    def _near(self, frame, reach_kpc):
        """Indices of the galaxies within ``reach_kpc`` (projected at the cluster) of the centre."""
        angle = reach_kpc / frame.angular_diameter_distance.to_value(u.kpc)
        if angle >= np.pi / 2:
            return np.arange(len(self._ra_deg))
        centre = unit_vectors(frame.center.icrs)
        if len(self._xyz) < _KDTREE_MIN_GALAXIES:
            return np.nonzero(self._xyz @ centre >= np.cos(angle))[0]
        if self._tree is None:  # built on first use: a survey catalogue serves many clusters
            from scipy.spatial import cKDTree

            self._tree = cKDTree(self._xyz)
        chord = 2.0 * np.sin(angle / 2.0)
        return np.sort(np.asarray(self._tree.query_ball_point(centre, chord * (1 + 1e-9)), dtype=np.intp))

    def prepare(self, frame, target_beam=None):
        """The ``"stars"`` view on ``frame`` (Msun/kpc^2), via `members_to_map`.

        Parameters
        ----------
        frame : `~massrecon.ClusterFrame`
            The cluster frame.
        target_beam : float or `~astropy.units.Quantity`, optional
            Smoothing FWHM (fraction of R200 or angle) instead of `smoothing`.

        Returns
        -------
        view : `~massrecon.observations.PreparedView`
            With ``noise=None`` and no masked pixel.
        """
        _check_frame(frame)
        if target_beam is None:
            smoothing_r200 = self.beam_r200(frame)
        else:
            smoothing_r200 = float((angle_or_r200(target_beam, frame, "smoothing") / frame.theta200).decompose())
        lo, hi = SUPPORTED_BEAM_R200
        if not lo * (1 - 1e-6) <= smoothing_r200 <= hi * (1 + 1e-6):  # the round trip via theta200
            raise ValueError(f"{type(self).__name__}: smoothing of {smoothing_r200:.3g} R200 is outside the "
                             f"supported range {lo:g} to {hi:g} R200")
        # galaxies that can reach the frame: the smoothing kernel is truncated at 4 sigma per axis
        # (a square, as `members_to_map` pads), so a galaxy up to (half + 4 sigma) off along both
        # axes still reaches a corner pixel; with room to spare for the deposit
        half = frame.width_kpc.to_value(u.kpc) / 2
        kernel = 4.0 * smoothing_r200 * frame.r200.to_value(u.kpc) * gaussian_fwhm_to_sigma
        near = self._near(frame, 1.2 * np.sqrt(2.0) * (half + kernel) + 3 * frame.pixel_scale_kpc.to_value(u.kpc))
        x, y = self._offsets(frame, near)
        ok = np.isfinite(x) & np.isfinite(y)
        if not ok.all():
            log.debug(f"{type(self).__name__}: {int((~ok).sum())} galaxies cannot be projected on the frame")
        dc = self._checked_depth(frame)
        mstar, limit = self._depth_masses(dc, frame, x[ok], y[ok], self._mstar[near][ok])
        inside = (np.abs(x[ok]) <= half) & (np.abs(y[ok]) <= half) & (mstar >= limit)
        if not inside.any():
            warnings.warn(
                f"{type(self).__name__}: no galaxy above {self.mass_limit:.3g} lies in the frame around "
                f"{frame.center.to_string('decimal')}: the stellar-mass map is empty",
                MassreconWarning,
            )
        data = members_to_map(
            x[ok], y[ok], mstar, frame.npix, frame.pixel_scale_kpc.to_value(u.kpc),
            r200_kpc=frame.r200.to_value(u.kpc), smoothing_r200=smoothing_r200, mass_limit=limit,
            weights=None if self._prob is None else self._prob[near][ok],
        )
        return PreparedView(view=self.view, data=data, unit=VIEW_UNITS[self.view], noise=None,
                            mask=np.zeros(frame.array_shape, dtype=bool), beam_fwhm_r200=smoothing_r200,
                            meta=dc.cards())


class StellarMassImage(Observation):
    """A stellar-mass surface-density image (e.g. from multi-band photometry and SED fitting).

    Parameters
    ----------
    data : `~astropy.units.Quantity`
        2-D stellar-mass surface density: physical (Msun/kpc^2) or per solid angle
        (Msun/sr, Msun/arcsec^2), converted with the frame's angular-diameter distance.
    wcs : `~astropy.wcs.WCS`
        Celestial WCS.
    beam : `~astropy.units.Quantity`
        FWHM of the image's resolution (angle).
    noise, mask, unit, meta, name, mask_invalid
        See `~massrecon.observations.Observation`.

    Notes
    -----
    The model's member maps are smoothed by `MEMBER_SMOOTHING_R200`; by default `prepare`
    smooths an image with a finer beam to that FWHM (pass ``target_beam`` to choose another).

    Examples
    --------
    >>> import numpy as np, astropy.units as u
    >>> from astropy.coordinates import SkyCoord
    >>> from massrecon import ClusterFrame
    >>> from massrecon.observations import StellarMassImage
    >>> frame = ClusterFrame(SkyCoord(150.0, 2.0, unit="deg"), 0.2, m500=5e14 * u.Msun, npix=16)
    >>> img = StellarMassImage(np.full((30, 30), 1e6) * u.Msun / u.kpc**2,
    ...                        wcs=frame.with_npix(30, 3.0).wcs, beam=2 * u.arcsec)
    >>> view = img.prepare(frame)
    >>> round(view.beam_fwhm_r200, 3), float(np.nanmedian(view.data))
    (0.05, 1000000.0)
    """

    view = "stars"
    _unit_description = "a stellar-mass surface density (e.g. Msun / kpc2, or Msun / arcsec2 on the sky)"
    _default_target_r200 = MEMBER_SMOOTHING_R200

    @classmethod
    def _unit_ok(cls, unit):
        return unit.is_equivalent(VIEW_UNITS[cls.view]) or unit.is_equivalent(u.Msun / u.sr)

    def _model_factor(self, frame):
        if self.unit.is_equivalent(VIEW_UNITS[self.view]):
            return float((1.0 * self.unit).to_value(VIEW_UNITS[self.view]))
        # a solid angle of 1 sr covers D_A^2 of physical area at the cluster
        per_sr = (1.0 * self.unit).to_value(u.Msun / u.sr)
        return float(per_sr / frame.angular_diameter_distance.to_value(u.kpc) ** 2)
