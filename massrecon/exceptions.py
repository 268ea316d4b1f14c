"""Warnings issued by massrecon.

All massrecon warnings subclass `~astropy.utils.exceptions.AstropyUserWarning`, so
``warnings.filterwarnings("ignore", category=AstropyUserWarning)`` silences them together with
astropy's own.
"""

from astropy.utils.exceptions import AstropyUserWarning

__all__ = ["MassreconWarning", "NotConvergedWarning", "AmbiguousMassWarning", "OutOfDistributionWarning",
           "ApertureWarning"]


class MassreconWarning(AstropyUserWarning):
    """Base class of all warnings issued by massrecon."""


class OutOfDistributionWarning(MassreconWarning):
    """A cluster or observation lies outside the range the model or a relation was built for."""


class NotConvergedWarning(MassreconWarning):
    """An iterative solution (e.g. the self-consistent R200) stopped before it converged."""


class AmbiguousMassWarning(MassreconWarning):
    """The self-consistent mass is not unique: several frames agree with the maps predicted on
    them, or the predicted mass follows the frame so closely (a flat response) that the answer is
    set by the starting guess more than by the data.  The uncertainty is widened to cover it."""


class ApertureWarning(MassreconWarning):
    """An aperture or region reaches beyond a map (or onto masked pixels): its mass is incomplete."""
