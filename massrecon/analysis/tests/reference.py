"""An independent projected NFW (Wright & Brainerd 2000, ApJ 534, 34) for the analysis tests.

Written from the paper's equations 11 and 13 in their original artanh / arctan form, without the
package's code, so that the tests compare two implementations.
"""

import astropy.units as u
import numpy as np
from astropy.cosmology import Planck18

M200 = 1e15  # Msun
C200 = 4.0
Z = 0.2
NPIX = 80  # the model's frame: 80 px over 2 R200 (de Andres et al. 2024)


class ReferenceNFW:
    """rho_s, r_s and Sigma, mean Sigma(<R) of an untruncated NFW halo (floats, kpc and Msun)."""

    def __init__(self, m200=M200, c200=C200, z=Z, cosmology=Planck18):
        rho_c = cosmology.critical_density(z).to_value(u.Msun / u.kpc**3)
        self.r200 = (3 * m200 / (4 * np.pi * 200 * rho_c)) ** (1 / 3)
        self.rs = self.r200 / c200
        delta_c = 200 / 3 * c200**3 / (np.log(1 + c200) - c200 / (1 + c200))  # WB2000 eq. 2
        self.rho_s = delta_c * rho_c

    def rho(self, r):
        s = r / self.rs
        return self.rho_s / (s * (1 + s) ** 2)

    def sigma(self, r):
        """WB2000 eq. 11."""
        x = np.asarray(r, dtype=float) / self.rs
        out = np.full_like(x, 2 * self.rs * self.rho_s / 3)
        lo, hi = x < 1, x > 1
        xl, xh = x[lo], x[hi]
        out[lo] = 2 * self.rs * self.rho_s / (xl**2 - 1) * (
            1 - 2 / np.sqrt(1 - xl**2) * np.arctanh(np.sqrt((1 - xl) / (1 + xl))))
        out[hi] = 2 * self.rs * self.rho_s / (xh**2 - 1) * (
            1 - 2 / np.sqrt(xh**2 - 1) * np.arctan(np.sqrt((xh - 1) / (1 + xh))))
        return out

    def mean_sigma_inside(self, r):
        """WB2000 eq. 13."""
        x = np.asarray(r, dtype=float) / self.rs
        h = np.full_like(x, 1 + np.log(0.5))
        lo, hi = x < 1, x > 1
        xl, xh = x[lo], x[hi]
        h[lo] = 2 / np.sqrt(1 - xl**2) * np.arctanh(np.sqrt((1 - xl) / (1 + xl))) + np.log(xl / 2)
        h[hi] = 2 / np.sqrt(xh**2 - 1) * np.arctan(np.sqrt((xh - 1) / (1 + xh))) + np.log(xh / 2)
        return 4 / x**2 * self.rs * self.rho_s * h

    def sigma_map(self, npix=NPIX, size_r200=2.0, sub=5):
        """Map of Sigma on npix^2 pixels over size_r200 R200, each pixel the mean of sub^2 samples."""
        pix = size_r200 * self.r200 / npix
        offsets = (np.arange(sub) - (sub - 1) / 2) / sub
        c = np.arange(npix) - (npix - 1) / 2
        fine = (c[:, None] + offsets[None, :]).ravel() * pix
        yy, xx = np.meshgrid(fine, fine, indexing="ij")
        fine_map = self.sigma(np.hypot(xx, yy))
        return fine_map.reshape(npix, sub, npix, sub).mean(axis=(1, 3)), pix
