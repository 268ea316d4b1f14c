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


class _OriginFilter(logging.Filter):
    """Give a record the ``origin`` that astropy's handler formats, if its logger did not."""

    def filter(self, record):
        if not hasattr(record, "origin"):
            record.origin = record.name
        return True


def _make_logger():
    # A child of astropy's logger must be an AstropyLogger too: astropy's handler formats the
    # record's ``origin``, which only AstropyLogger.makeRecord sets.
    previous = logging.getLoggerClass()
    logging.setLoggerClass(AstropyLogger)
    try:
        logger = logging.getLogger("astropy.massrecon")
    finally:
        logging.setLoggerClass(previous)
    # A script may have asked for "astropy.massrecon" before importing massrecon: then the logger
    # already exists as a plain Logger, and without this filter astropy's handler would fail on
    # the first message ("'LogRecord' object has no attribute 'origin'").
    if not any(isinstance(f, _OriginFilter) for f in logger.filters):
        logger.addFilter(_OriginFilter())
    return logger


#: Logger of massrecon (``astropy.massrecon``).
log = _make_logger()
