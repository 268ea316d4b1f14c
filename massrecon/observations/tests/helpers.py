"""Helpers shared by the observation tests."""

from pathlib import Path

import numpy as np
import pytest
from astropy.wcs import WCS

import massrecon

#: Real data for tests live next to the repository, never inside it.
SHARED_DATA = Path(massrecon.__file__).parents[2] / "shared" / "data"


def shared_file(*parts):
    """Path of a shared real-data file, or skip the test with a reason when it is absent."""
    path = SHARED_DATA.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"real test data not available: {path}")
    return path


def beta_y(theta_r200, y0=1e-4, rc=0.4):
    """A smooth beta-model Compton-y profile (beta = 2/3) of the angle in units of R200."""
    return y0 / np.sqrt(1.0 + (np.asarray(theta_r200) / rc) ** 2)


def tan_wcs(center, pixel_deg, npix, rotation_deg=0.0, frame="icrs"):
    """A TAN WCS centred on ``center`` (pixel ``(npix - 1) / 2``), optionally rotated."""
    w = WCS(naxis=2)
    if frame == "galactic":
        w.wcs.ctype = ["GLON-TAN", "GLAT-TAN"]
        c = center.galactic
        w.wcs.crval = [c.l.deg, c.b.deg]
    else:
        w.wcs.ctype = ["RA---TAN", "DEC--TAN"]
        w.wcs.crval = [center.ra.deg, center.dec.deg]
    w.wcs.crpix = [(npix + 1) / 2, (npix + 1) / 2]
    w.wcs.cdelt = [-pixel_deg, pixel_deg]
    a = np.deg2rad(rotation_deg)
    w.wcs.pc = [[np.cos(a), -np.sin(a)], [np.sin(a), np.cos(a)]]
    w.wcs.set()
    w.pixel_shape = (npix, npix)
    return w


def frame_theta_r200(frame):
    """Angular distance of every frame pixel centre from the cluster centre, in units of R200."""
    ny, nx = frame.array_shape
    yy, xx = np.mgrid[0:ny, 0:nx]
    sky = frame.wcs.pixel_to_world(xx, yy)
    return (sky.separation(frame.center) / frame.theta200).decompose().value
