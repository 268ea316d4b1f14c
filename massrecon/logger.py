"""The massrecon logger, a child of astropy's logger.

Messages go through astropy's logging machinery (its handlers and formatting), so
``astropy.log.setLevel("DEBUG")``, or the level of this ``astropy.massrecon`` logger, controls
them.

Examples
--------
>>> from massrecon.logger import log
>>> log.name
'astropy.massrecon'
"""

import logging

from astropy.logger import AstropyLogger

__all__ = ["log"]


def _make_logger():
    # A child of astropy's logger must be an AstropyLogger too: astropy's handler formats the
    # record's ``origin``, which only AstropyLogger.makeRecord sets.
    previous = logging.getLoggerClass()
    logging.setLoggerClass(AstropyLogger)
    try:
        return logging.getLogger("astropy.massrecon")
    finally:
        logging.setLoggerClass(previous)


#: Logger of massrecon (``astropy.massrecon``).
log = _make_logger()
