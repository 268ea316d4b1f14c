"""Ensembles of frames a little larger and smaller than a cluster's frame.

A low-count X-ray image resampled onto the model's 80-pixel frame aliases its shot noise: the
pattern of noise in the network's input changes with the exact pixel scale, and on the XMM image
0201901401 of Abell 907 the predicted :math:`M_{500}` moves by up to 7% between frames whose
R200 differ by 0.3% (docs/validation.rst).  The self-consistent frame is fixed only to such
pixel-level steps (`~massrecon.MassReconstructor.relation_mass`), so two starts could land on
either side of a jump.  The mean of the maps predicted on a few frames spanning
`FRAME_ENSEMBLE_SPREAD` in R200 around the answer's, each resampled onto the answer's pixels,
averages the aliasing out; the spread is well inside the frame's own uncertainty (the
relations' scatter is 10-15% in mass, 3-5% in R200), and within the frame sizes the network was
trained on (``frame_jitter`` 0.7-1.3).
"""

import numpy as np
from scipy import ndimage

__all__ = ["FRAME_ENSEMBLE_SPREAD", "DEFAULT_FRAME_ENSEMBLE", "check_frame_ensemble", "frame_ensemble_scales",
           "resample_to_frame"]

#: Half-width, in ln R200, of the frames of an ensemble.
FRAME_ENSEMBLE_SPREAD = 0.02

#: Frames of the ensemble of a self-consistent answer (``predict``'s default there).
DEFAULT_FRAME_ENSEMBLE = 5


def check_frame_ensemble(n):
    """``n`` as an int, or an error naming the argument: a positive odd integer.

    Odd, so that the answer's own frame is one of the ensemble (its checks and warnings are the
    map's).

    Examples
    --------
    >>> check_frame_ensemble(5)
    5
    """
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1 or n % 2 == 0:
        raise ValueError(f"frame_ensemble must be a positive odd integer (the number of frames whose maps are "
                         f"averaged; 1 for the frame alone), got {n!r}")
    return int(n)


def frame_ensemble_scales(n, spread=FRAME_ENSEMBLE_SPREAD):
    """R200 of the ``n`` frames of an ensemble, in units of the central frame's R200.

    Evenly spaced in ln R200 over ``[-spread, spread]``; ``n = 1`` is the frame alone.

    Examples
    --------
    >>> frame_ensemble_scales(3).round(4).tolist()
    [0.9802, 1.0, 1.0202]
    """
    n = check_frame_ensemble(n)
    return np.exp(np.linspace(-spread, spread, n)) if n > 1 else np.ones(1)


def resample_to_frame(image, scale):
    """An image on a frame of ``scale`` times the R200 (same centre and pixel count), resampled
    onto the frame's own pixels.

    The frames share their centre, so pixel ``i`` of the frame (offset ``i - c`` pixels from the
    centre pixel ``c``) lies at ``c + (i - c) / scale`` in the scaled frame.  Bilinear
    interpolation keeps a positive image positive; the outermost ring that a smaller frame does
    not reach (less than a pixel for the ensemble's 2%) takes its edge value.

    Parameters
    ----------
    image : ndarray
        A square image on the scaled frame.
    scale : float
        That frame's R200 over the frame's.

    Returns
    -------
    ndarray
        The image on the frame's pixels.

    Examples
    --------
    >>> import numpy as np
    >>> img = np.arange(25.0).reshape(5, 5)
    >>> bool(np.allclose(resample_to_frame(img, 1.0), img))
    True
    """
    image = np.asarray(image, dtype=float)
    if scale == 1:
        return image.copy()
    n = image.shape[0]
    c = (n - 1) / 2
    idx = c + (np.arange(n) - c) / float(scale)
    yy, xx = np.meshgrid(idx, idx, indexing="ij")
    return ndimage.map_coordinates(image, [yy, xx], order=1, mode="nearest")
