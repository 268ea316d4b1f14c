"""The massrecon logger, a child of astropy's logger.

Messages go through astropy's logging machinery, so ``astropy.log.setLevel("DEBUG")`` (or the
``massrecon`` logger's own level) controls them.
"""

from astropy import log as _astropy_log

__all__ = ["log"]

#: Logger of massrecon (``astropy.massrecon``).
log = _astropy_log.getChild("massrecon")
