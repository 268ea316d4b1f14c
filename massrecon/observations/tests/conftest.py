"""Fixtures shared by the observation tests."""

import astropy.units as u
import numpy as np
import pytest
from astropy.coordinates import SkyCoord

from massrecon import ClusterFrame


@pytest.fixture
def frame():
    """A z = 0.2 cluster frame (80 x 80 pixels over 2 R200)."""
    return ClusterFrame(SkyCoord(150.0, 2.0, unit="deg"), 0.2, m500=5e14 * u.Msun, name="mock")


@pytest.fixture
def small_frame():
    """A small (24 x 24) frame for quick checks."""
    return ClusterFrame(SkyCoord(150.0, 2.0, unit="deg"), 0.2, m500=5e14 * u.Msun, npix=24, name="mock")


@pytest.fixture
def rng():
    return np.random.default_rng(20240517)
