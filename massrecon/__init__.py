"""massrecon: projected total-mass maps of galaxy clusters from SZ, X-ray and galaxy data."""

try:
    from ._version import version as __version__
except ImportError:  # running from a source tree without an installed version file
    __version__ = "0.0.0"

from .exceptions import ApertureWarning, MassreconWarning, NotConvergedWarning, OutOfDistributionWarning
from .frame import ClusterFrame
from .massmap import MassMap
from .reconstruct import MassReconstructor

__all__ = ["__version__", "ClusterFrame", "MassMap", "MassReconstructor", "MassreconWarning", "NotConvergedWarning",
           "OutOfDistributionWarning", "ApertureWarning"]
