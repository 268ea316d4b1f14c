"""The model's contract: what every part of massrecon must agree on, defined once.

A model is trained on simulated maps and used on observations; both sides must mean the same thing
by a view, its unit, the frame and the member-galaxy map, or every prediction is silently wrong.
This module is the one owner of those numbers.  It imports nothing heavy (no torch), so the
observation, simulation and command-line code can import it cheaply.

Names that differ in meaning have different names: `MEMBER_MAP_MASS_LIMIT` (galaxies that enter
the stars view) is not `MEMBER_CATALOGUE_MASS_LIMIT` (galaxies the simulator writes into its
member catalogue, a deeper cut so that a user can make maps with other limits).

Examples
--------
>>> from massrecon import contract
>>> contract.VIEWS
('sz', 'xray', 'stars')
>>> contract.FRAME_NPIX, contract.FRAME_SIZE_R200
(80, 2.0)
>>> contract.VIEW_UNITS["xray"].to_string()
'erg / (s kpc2)'
"""

import astropy.units as u

__all__ = [
    "VIEWS",
    "VIEW_MAPS",
    "VIEW_UNITS",
    "VIEW_SCALES",
    "TARGET_MAP",
    "TARGET_UNIT",
    "TARGET_REFERENCE",
    "FRAME_NPIX",
    "FRAME_SIZE_R200",
    "SUPPORTED_BEAM_R200",
    "R200_ERROR_MAX",
    "CONDITIONING_FEATURES",
    "OPTIONAL_CONDITIONING",
    "FRAME_INTEGRAL_REFERENCE",
    "MEMBER_SMOOTHING_R200",
    "MEMBER_MAP_MASS_LIMIT",
    "MEMBER_CATALOGUE_MASS_LIMIT",
    "MEMBER_DEFAULT_MASS",
]

# --- views -----------------------------------------------------------------------------------------

#: Names of the views, in the order in which they enter the network.
VIEWS = ("sz", "xray", "stars")

#: Simulated map behind each view (names of `massrecon.simulate.MAP_NAMES`).
VIEW_MAPS = {"sz": "compton_y", "xray": "xray_soft", "stars": "sigma_members"}

#: Unit of each view on the frame: Compton-y (dimensionless), rest-frame 0.5-2 keV X-ray
#: luminosity per unit projected physical area, stellar-mass surface density of member galaxies.
VIEW_UNITS = {
    "sz": u.dimensionless_unscaled,
    "xray": u.erg / (u.s * u.kpc**2),
    "stars": u.Msun / u.kpc**2,
}

#: Fixed scale of the view transform ``asinh(x / scale)``, in the units of `VIEW_UNITS`
#: (see `massrecon.models.transforms` for how they were chosen).
VIEW_SCALES = {"sz": 1e-6, "xray": 1e35, "stars": 1e5}

# --- target ----------------------------------------------------------------------------------------

#: Simulated map of the target: the projected total mass density.
TARGET_MAP = "sigma_total"

#: Unit of the target and of every `~massrecon.MassMap`.
TARGET_UNIT = u.Msun / u.kpc**2

#: Reference surface density (in `TARGET_UNIT`) of the target transform ``log10(Sigma / ref)``.
TARGET_REFERENCE = 1e8

# --- frame -----------------------------------------------------------------------------------------

#: Pixels across the model's frame (de Andres et al. 2024, MNRAS 528, 1517: 80 px over 2 R200).
FRAME_NPIX = 80

#: Width of the model's frame in units of :math:`R_{200c}`.
FRAME_SIZE_R200 = 2.0

#: Range of beam FWHM (the larger of beam and pixel), in units of R200, that the model accepts.
SUPPORTED_BEAM_R200 = (0.0, 1.5)

#: Largest fractional error of the assumed R200 that the conditioning describes (the frame-size
#: jitter of training): ``r200_error = 0.3`` means "R200 is an estimate, good to +-30%".
R200_ERROR_MAX = 0.3

#: Conditioning features per view, then global ones (see
#: `massrecon.models.transforms.encode_conditioning`).
CONDITIONING_FEATURES = {
    "per_view": ("log10_beam_fwhm_r200", "noise_asinh"),
    "global": ("log10_pixel_kpc", "redshift", "r200_error", "sz_highpass"),
    # offsets/scales applied so that typical values are O(1)
    "beam_offset": 1.0,
    "pixel_kpc_reference": 20.0,
    "redshift_scale": 10.0,
    "r200_error_scale": R200_ERROR_MAX,
    # the high-pass filter of a ground-based y map, told as reference / theta (theta: the dispersion
    # of the Gaussian high-pass, in frame R200; 0 for an unfiltered map), see TransferFunction
    "sz_highpass_reference_r200": 0.1,
}

#: Reference values of the integrals of each view within the frame's R200 disc, in the view's
#: physical unit times kpc^2 (sz: Y in kpc^2; xray: L_X in erg/s; stars: M* in Msun): the
#: generator's ``integral_features`` are ``asinh(integral / reference) / 5`` (about 0.5-2 over
#: the simulated population, 0 for a missing view); see `massrecon.models.UNetGenerator`.
FRAME_INTEGRAL_REFERENCE = {"sz": 1e-2, "xray": 1e41, "stars": 1e11}

#: Conditioning features that weights written before them may lack; a missing one is left out of
#: the vector given to such weights (they were trained without it: e.g. unfiltered y only).
OPTIONAL_CONDITIONING = ("sz_highpass",)

# --- member galaxies -------------------------------------------------------------------------------

#: FWHM of the Gaussian smoothing of member-galaxy maps (the stars view), in units of R200.
MEMBER_SMOOTHING_R200 = 0.05

#: Galaxies below this stellar mass are left out of the stars view (real and simulated alike):
#: roughly the completeness of SDSS spectroscopic members at z ~ 0.1.
MEMBER_MAP_MASS_LIMIT = 1e10 * u.Msun

#: Stellar-mass limit of the member catalogues the simulator writes (deeper than
#: `MEMBER_MAP_MASS_LIMIT`, so that maps with other limits can be made from them).
MEMBER_CATALOGUE_MASS_LIMIT = 1e9 * u.Msun

#: Stellar mass given to every galaxy of a catalogue without stellar masses.
MEMBER_DEFAULT_MASS = 4e10 * u.Msun
