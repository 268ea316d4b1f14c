"""Private geometry helpers shared by the core and the validation subpackage."""

import numpy as np

__all__ = []


def aperture_weights(npix, radius_pix, subsample=8):
    """Fraction of each pixel inside a centred circle of ``radius_pix`` (super-sampled)."""
    offs = (np.arange(subsample) + 0.5) / subsample - 0.5
    c = np.arange(npix) - (npix - 1) / 2.0
    sub = (c[:, None] + offs[None, :]).ravel()
    r = np.hypot(*np.meshgrid(sub, sub))
    inside = (r <= radius_pix).reshape(npix, subsample, npix, subsample)
    return inside.mean(axis=(1, 3))
