"""The main mass peak of `compare_maps` is found on smoothed maps, not at a single bright pixel."""

import astropy.units as u
import numpy as np
from astropy.coordinates import SkyCoord

from massrecon import ClusterFrame, MassMap


def _blob_map(frame, spike_at=None):
    n = frame.npix
    yy, xx = np.indices((n, n)) - (n - 1) / 2
    sigma = 1e8 * np.exp(-(xx**2 + yy**2) / (2 * 8.0**2))
    if spike_at is not None:  # a one-pixel cusp far from the core, brighter than the core
        sigma[spike_at] = 5e8
    return MassMap.from_frame(sigma * u.Msun / u.kpc**2, frame)


def test_peak_offset_ignores_a_single_bright_pixel():
    frame = ClusterFrame(SkyCoord(150, 2, unit="deg"), 0.2, m200=1e15 * u.Msun, npix=60)
    smooth = _blob_map(frame)
    spiky = _blob_map(frame, spike_at=(45, 12))
    far = spiky.compare_to(smooth, peak_smoothing=0)
    near = spiky.compare_to(smooth)
    assert far.peak_offset > 20 * frame.pixel_scale_kpc  # the raw maximum is the spike
    assert near.peak_offset < 1 * frame.pixel_scale_kpc  # the smoothed maximum is the core
