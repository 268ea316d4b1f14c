"""Observing conditions of the validation: instruments (beams, noise) and the precision of R200.

Shared by the evaluation on held-out mocks (`massrecon.validation.evaluate`) and the
self-consistent R200 solve (`massrecon.validation.self_consistent`).

Examples
--------
>>> from massrecon.validation.instruments import CONDITIONS, INSTRUMENTS
>>> CONDITIONS["planck_like_r200_estimated"]
('planck_like', 0.3)
>>> INSTRUMENTS["planck_like"]["sz"]  # beam FWHM (R200), noise rms per pixel
(0.8, 1e-06)
"""

from ..contract import R200_ERROR_MAX

__all__ = ["INSTRUMENTS", "XRAY_BACKGROUND", "CONDITIONS"]

#: Instrument-like conditions for the degraded evaluation: per view, the beam FWHM (R200) and the
#: per-pixel noise rms in the view's unit (X-ray: at the reference level 1e35 erg/s/kpc^2, see
#: `~massrecon.models.transforms.xray_reference_noise`).  "planck_like": a 10 arcmin beam on a
#: cluster with theta200 ~ 12 arcmin (z ~ 0.15, M200 ~ 8e14 Msun), y noise 1e-6 per pixel;
#: eROSITA-survey-like X-ray (30 arcsec PSF, Poisson noise of source and background at the
#: depth of the bundled example, 2 ks of eFEDS: rms 1e37 at the reference level, background
#: `XRAY_BACKGROUND` 140 times the reference level); a shallow member catalogue.
INSTRUMENTS = {
    "ideal": {"sz": (0.01, 0.0), "xray": (0.01, 0.0), "stars": (0.05, 0.0)},
    "planck_like": {"sz": (0.8, 1e-6), "xray": (0.04, 1e37), "stars": (0.05, 1e4)},
}

#: X-ray background of each instrument, in units of the reference level 1e35 erg/s/kpc^2.
XRAY_BACKGROUND = {"ideal": 0.1, "planck_like": 140.0}


#: Evaluation conditions: instrument (`INSTRUMENTS`) and the precision of the frame's R200 told
#: to the network (``r200_error``; the frame itself is always the true 2 R200).  "ideal" is the
#: paper's setting (true R200 known); ``"*_r200_estimated"`` is a user's with an R200 from a scaling
#: relation (+-30%), the network having to find the amplitude from the maps alone.
CONDITIONS = {
    "ideal": ("ideal", 0.0),
    "planck_like": ("planck_like", 0.0),
    "ideal_r200_estimated": ("ideal", R200_ERROR_MAX),
    "planck_like_r200_estimated": ("planck_like", R200_ERROR_MAX),
}
