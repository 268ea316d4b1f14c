"""massrecon: projected total-mass maps of galaxy clusters from SZ, X-ray and galaxy data."""

import importlib

try:
    from ._version import version as __version__
except ImportError:  # running from a source tree without an installed version file
    __version__ = "0.0.0"

from .exceptions import (
    AmbiguousMassWarning,
    ApertureWarning,
    MassreconWarning,
    MassTensionWarning,
    NotConvergedWarning,
    OutOfDistributionWarning,
)

__all__ = ["__version__", "ClusterFrame", "MassMap", "MassReconstructor", "MassreconWarning", "NotConvergedWarning",
           "AmbiguousMassWarning", "MassTensionWarning", "OutOfDistributionWarning", "ApertureWarning"]

# The main classes are imported on first use (PEP 562), so that ``massrecon --version`` and
# ``--help`` answer without loading astropy.cosmology, photutils or torch.
_LAZY = {"ClusterFrame": ".frame", "MassMap": ".massmap", "MassReconstructor": ".reconstruct"}


def __getattr__(name):
    if name in _LAZY:
        value = getattr(importlib.import_module(_LAZY[name], __name__), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(_LAZY))
