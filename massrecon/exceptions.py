"""Warnings issued by massrecon.

All massrecon warnings subclass `~astropy.utils.exceptions.AstropyUserWarning`, so
``warnings.filterwarnings("ignore", category=AstropyUserWarning)`` silences them together with
astropy's own.
"""

from astropy.utils.exceptions import AstropyUserWarning

__all__ = ["MassreconWarning", "NotConvergedWarning", "AmbiguousMassWarning", "MassTensionWarning",
           "OutOfDistributionWarning", "ApertureWarning"]


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


class MassTensionWarning(MassreconWarning):
    """Two estimates of one mass disagree beyond their combined uncertainty: the spherical
    :math:`M_{500c}` of a map predicted on the frame of a scaling-relation mass
    (``self_consistent=True``) and that relation mass.  Both are calibrated on the same mock
    clusters, so a real cluster where they disagree is unlike the mocks of its mass (for example a
    brighter core or fainter outskirts, or a background subtracted wrongly): quote both."""


class ApertureWarning(MassreconWarning):
    """An aperture or region reaches beyond a map (or onto masked pixels): its mass is incomplete."""
