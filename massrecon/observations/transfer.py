"""Transfer functions of filtered SZ maps (ACT, SPT, Bolocam, NIKA2 cluster cut-outs).

Ground-based SZ maps do not measure the sky on large scales: the atmosphere is removed together
with the modes it shares with the scan (scan-synchronous templates, polynomial or common-mode
subtraction, high-pass time-stream filters), and the map's mean is not measured.  The published
map is the sky convolved with the beam and filtered by a *transfer function* :math:`T(\\mathbf k)`
(e.g. Bolocam: Sayers et al. 2011, ApJ 728, 39; Czakon et al. 2015, ApJ 806, 18;
NIKA2: Adam et al. 2015, A&A 576, A12).  A Compton-y model without filtering has too much signal
on large scales compared with such a map, so a model must be filtered the same way before the two
are compared (forward modelling; dividing the map by :math:`T` is unstable where :math:`T \\to 0`).

Conventions
-----------
* **Wavenumber**: :math:`k = 1/\\lambda`, in cycles per unit angle (``1 / u.arcmin``), the
  convention of `numpy.fft.fftfreq`: a sine wave of wavelength :math:`\\lambda` has
  :math:`k = 1/\\lambda` and is multiplied by :math:`T(1/\\lambda)`.  For the 2-D grid,
  :math:`k = (k_y^2 + k_x^2)^{1/2}` with :math:`k_y, k_x` the `~numpy.fft.fftfreq` frequencies of
  axes 0 (rows, y) and 1 (columns, x).
* **Multipole**: in the flat-sky limit :math:`\\ell = 2\\pi k` with :math:`k` in cycles per
  radian, so :math:`\\ell = 21600 \\, k` [arcmin\\ :sup:`-1`] (a 1 degree wavelength is
  :math:`\\ell = 360`); see `multipole_to_wavenumber` and `wavenumber_to_multipole`.
* **2-D arrays** are on the FFT grid of the map, in the order of `numpy.fft.fft2` (zero frequency
  at ``[0, 0]``), or centred as `numpy.fft.fftshift` gives (``centered=True``).  They may be
  complex (e.g. the Bolocam transfer functions are given as real and imaginary parts).
* The **beam** is not part of the transfer function unless the instrument's is (check its
  documentation): smooth the model with the beam separately.

`TransferFunction.high_pass` is an idealised isotropic filter, not that of a particular
instrument: the map minus the map smoothed with a Gaussian of standard deviation :math:`\\theta`,

.. math::

    T(k) = 1 - \\exp\\left(-\\frac{(2\\pi k \\theta)^2}{2}\\right),

(the Fourier transform of a unit-integral Gaussian of dispersion :math:`\\theta` is
:math:`\\exp(-2\\pi^2 k^2 \\theta^2)`), which passes half of a wave of wavelength
:math:`\\lambda = 2\\pi\\theta / \\sqrt{2\\ln 2} = 5.34\\,\\theta`.  Real scan strategies filter
anisotropically and more sharply: use the instrument's 2-D transfer function where one is given.
"""

import math

import astropy.units as u
import numpy as np
from scipy import fft
from scipy.interpolate import RegularGridInterpolator

__all__ = ["TransferFunction", "multipole_to_wavenumber", "wavenumber_to_multipole"]

# ell per (cycle per arcmin): 2 pi times the number of arcmin in a radian (= 21600)
_ELL_PER_K_ARCMIN = 2.0 * np.pi * (1.0 * u.rad).to_value(u.arcmin)

# default padding factor of the FFT for a transfer function that is not on the map's own grid
_DEFAULT_PAD = 2.0


def multipole_to_wavenumber(ell):
    """Angular wavenumber :math:`k = 1/\\lambda` of multipole :math:`\\ell` (flat sky, :math:`\\ell = 2\\pi k`).

    Parameters
    ----------
    ell : float or array-like
        Multipole(s), >= 0.

    Returns
    -------
    k : `~astropy.units.Quantity`
        In cycles per arcmin.

    Examples
    --------
    >>> from massrecon.observations.transfer import multipole_to_wavenumber
    >>> print(multipole_to_wavenumber(21600))
    1.0 1 / arcmin
    """
    ell = _finite_array(ell, "ell", minimum=0.0)
    return ell / _ELL_PER_K_ARCMIN / u.arcmin


def wavenumber_to_multipole(k):
    """Multipole :math:`\\ell = 2\\pi k` of an angular wavenumber :math:`k = 1/\\lambda` (flat sky).

    Parameters
    ----------
    k : `~astropy.units.Quantity`
        Wavenumber in cycles per angle (e.g. ``1 / u.arcmin``), >= 0.

    Returns
    -------
    ell : float or `~numpy.ndarray`

    Examples
    --------
    >>> import astropy.units as u
    >>> from massrecon.observations.transfer import wavenumber_to_multipole
    >>> round(wavenumber_to_multipole(1 / (60 * u.arcmin)))
    360
    """
    out = _wavenumber(k, "k") * _ELL_PER_K_ARCMIN
    return float(out) if out.ndim == 0 else out


def _finite_array(value, name, *, minimum=None, dtype=np.float64):
    try:
        out = np.asarray(value, dtype=dtype)
    except (TypeError, ValueError):
        raise TypeError(f"{name} must be numbers, got {value!r}") from None
    if not np.all(np.isfinite(out)):
        raise ValueError(f"{name} must be finite (no NaN or inf)")
    if minimum is not None and np.any(out < minimum):
        raise ValueError(f"{name} must be >= {minimum}, got minimum {out.min()}")
    return out


def _wavenumber(k, name):
    """``k`` in cycles per arcmin as a float array, finite and >= 0."""
    if not isinstance(k, u.Quantity) or not k.unit.is_equivalent(1 / u.arcmin):
        raise u.UnitsError(
            f"{name} must be a Quantity in inverse-angle units (cycles per angle, e.g. 1 / u.arcmin), got {k!r}; "
            "convert multipoles with multipole_to_wavenumber"
        )
    return _finite_array(k.to_value(1 / u.arcmin), name, minimum=0.0)


def _angle(value, name):
    """A scalar angle in arcmin, finite and > 0."""
    if not isinstance(value, u.Quantity) or not value.unit.is_equivalent(u.arcmin):
        raise u.UnitsError(f"{name} must be a Quantity with angle units (e.g. 0.5 * u.arcmin), got {value!r}")
    if not value.isscalar:
        raise ValueError(f"{name} must be a scalar angle, got shape {value.shape}")
    out = float(value.to_value(u.arcmin))
    if not np.isfinite(out) or out <= 0:
        raise ValueError(f"{name} must be finite and > 0, got {value}")
    return out


def _shape(shape, name="shape"):
    try:
        out = tuple(int(n) for n in shape)
    except (TypeError, ValueError):
        raise TypeError(f"{name} must be two integers (ny, nx), got {shape!r}") from None
    if len(out) != 2 or min(out) < 2:
        raise ValueError(f"{name} must be two integers (ny, nx), each >= 2, got {shape!r}")
    return out


def _image_2d(image, name, *, dtype=np.float64):
    """``image`` as a finite 2-D array (and its unit, or None)."""
    unit = image.unit if isinstance(image, u.Quantity) else None
    values = image.value if unit is not None else image
    out = _finite_array(values, name, dtype=dtype)
    if out.ndim != 2 or min(out.shape) < 2:
        raise ValueError(f"{name} must be a 2-D array with at least 2 x 2 pixels, got shape {out.shape}")
    return out, unit


def _fft_frequencies(shape, pixel_arcmin):
    """(ky, kx) of `numpy.fft.fft2` on ``shape``, in cycles per arcmin, broadcastable to ``shape``."""
    ky = np.fft.fftfreq(shape[0], d=pixel_arcmin)[:, None]
    kx = np.fft.fftfreq(shape[1], d=pixel_arcmin)[None, :]
    return ky, kx


def _centred_axis(n, pixel_arcmin):
    """Sorted frequencies of an axis, with the Nyquist frequency of an even axis on both ends."""
    k = np.fft.fftshift(np.fft.fftfreq(n, d=pixel_arcmin))
    return np.append(k, -k[0]) if n % 2 == 0 else k


def _centred_grid(grid):
    """``grid`` fftshifted, the Nyquist row/column of an even axis repeated (the same FFT mode)."""
    out = np.fft.fftshift(grid)
    for axis, n in enumerate(grid.shape):
        if n % 2 == 0:
            out = np.concatenate([out, np.take(out, [0], axis=axis)], axis=axis)
    return out


class TransferFunction:
    """How an SZ instrument's processing filters the sky, in Fourier space.

    Make one with `from_grid` (a 2-D array on the map's FFT grid), `from_table` (a 1-D table of
    :math:`T(k)` or :math:`T(\\ell)`) or `high_pass` (an idealised Gaussian high-pass); see the
    module documentation for the conventions (:math:`k = 1/\\lambda`).

    Examples
    --------
    >>> import numpy as np, astropy.units as u
    >>> from massrecon.observations.transfer import TransferFunction
    >>> tf = TransferFunction.high_pass(4 * u.arcmin)
    >>> print(np.round(tf.evaluate([0, 0.02, 0.1] / u.arcmin), 3))
    [0.    0.119 0.958]
    """

    def __init__(self, *, kind, profile=None, grid=None, pixel_scale=None, description=""):
        # private: use the class methods, which check their inputs
        self._kind = kind
        self._profile = profile
        self._grid = grid
        self._pixel = pixel_scale
        self._description = description

    # --- construction -------------------------------------------------------------------------

    @classmethod
    def from_grid(cls, array, pixel_scale, *, centered=False):
        """Transfer function given on the FFT grid of a map.

        Parameters
        ----------
        array : array-like
            2-D :math:`T(k_y, k_x)`, real or complex, shape ``(ny, nx)`` of the map it belongs to,
            in the order of `numpy.fft.fft2` (zero frequency at ``[0, 0]``).
        pixel_scale : `~astropy.units.Quantity`
            Pixel size of that map (an angle; square pixels).
        centered : bool, optional
            True if ``array`` is centred (zero frequency at ``[ny // 2, nx // 2]``, as
            `numpy.fft.fftshift` gives).

        Returns
        -------
        transfer : `TransferFunction`

        Examples
        --------
        >>> import numpy as np, astropy.units as u
        >>> from massrecon.observations.transfer import TransferFunction
        >>> grid = TransferFunction.high_pass(3 * u.arcmin).on_grid((42, 42), 20 * u.arcsec)
        >>> tf = TransferFunction.from_grid(grid, 20 * u.arcsec)
        >>> tf.shape
        (42, 42)
        """
        pixel = _angle(pixel_scale, "pixel_scale")
        values = np.asarray(array)
        dtype = np.complex128 if np.iscomplexobj(values) else np.float64
        grid, _ = _image_2d(values, "array", dtype=dtype)
        if centered:
            grid = np.fft.ifftshift(grid)
        return cls(kind="grid", grid=grid.copy(), pixel_scale=pixel,
                   description=f"2-D grid {grid.shape[0]}x{grid.shape[1]}, pixel {pixel:g} arcmin")

    @classmethod
    def from_table(cls, transfer, *, k=None, ell=None):
        """Isotropic transfer function from a 1-D table, linearly interpolated.

        Give the table's abscissae either as wavenumbers ``k`` (:math:`1/\\lambda`) or multipoles
        ``ell`` (:math:`\\ell = 2\\pi k`, flat sky).  Outside the table :math:`T` keeps its value at
        the nearest end.

        Parameters
        ----------
        transfer : array-like
            :math:`T` at each abscissa (1-D, finite).
        k : `~astropy.units.Quantity`, optional
            Wavenumbers in cycles per angle (e.g. ``1 / u.arcmin``), strictly increasing, >= 0.
        ell : array-like, optional
            Multipoles, strictly increasing, >= 0.

        Returns
        -------
        transfer : `TransferFunction`

        Examples
        --------
        >>> import numpy as np, astropy.units as u
        >>> from massrecon.observations.transfer import TransferFunction
        >>> tf = TransferFunction.from_table([0.0, 0.5, 1.0], ell=[0, 1000, 3000])
        >>> print(np.round(tf.evaluate([0.05] / u.arcmin), 3))  # ell = 1080
        [0.52]
        """
        if (k is None) == (ell is None):
            raise ValueError("give exactly one of k (wavenumbers, 1 / angle) or ell (multipoles)")
        if k is not None:
            knots, name = _wavenumber(k, "k"), "k"
        else:
            if isinstance(ell, u.Quantity) and not ell.unit.is_equivalent(u.one):
                raise u.UnitsError(f"ell must be dimensionless multipoles, got unit '{ell.unit}'")
            knots, name = multipole_to_wavenumber(ell).to_value(1 / u.arcmin), "ell"
        values = _finite_array(transfer, "transfer")
        if knots.ndim != 1 or values.shape != knots.shape or knots.size < 2:
            raise ValueError(f"transfer and {name} must be 1-D arrays of the same length (>= 2), "
                             f"got shapes {values.shape} and {knots.shape}")
        if np.any(np.diff(knots) <= 0):
            raise ValueError(f"{name} must be strictly increasing")
        knots, values = knots.copy(), values.copy()
        return cls(kind="table", profile=lambda kk: np.interp(kk, knots, values),
                   description=f"table of {knots.size} points, k = {knots[0]:.4g}-{knots[-1]:.4g} / arcmin")

    @classmethod
    def high_pass(cls, theta):
        """Gaussian high-pass :math:`T(k) = 1 - \\exp(-(2\\pi k\\theta)^2/2)`: the map minus its smoothing.

        Parameters
        ----------
        theta : `~astropy.units.Quantity`
            Standard deviation of the Gaussian whose smoothing is subtracted (an angle > 0);
            waves of wavelength :math:`5.34\\,\\theta` keep half their amplitude.

        Returns
        -------
        transfer : `TransferFunction`

        Examples
        --------
        >>> import astropy.units as u
        >>> from massrecon.observations.transfer import TransferFunction
        >>> tf = TransferFunction.high_pass(4 * u.arcmin)
        >>> print(round(float(tf.evaluate(1 / (5.34 * 4 * u.arcmin))), 2))
        0.5
        """
        th = _angle(theta, "theta")
        coeff = 2.0 * (np.pi * th) ** 2
        return cls(kind="high_pass", profile=lambda kk: -np.expm1(-coeff * np.square(kk)),
                   description=f"Gaussian high-pass, theta = {th:g} arcmin")

    @classmethod
    def resample(cls, transfer, shape, pixel_scale):
        """``transfer`` on the FFT grid of another map, as a grid transfer function.

        A 1-D transfer function is evaluated at :math:`|k|` of the new grid; a 2-D one is linearly
        interpolated in :math:`(k_y, k_x)` (beyond its own Nyquist frequency it keeps its edge
        values: the instrument's grid says nothing about smaller scales).

        Parameters
        ----------
        transfer : `TransferFunction`
        shape : tuple of int
            ``(ny, nx)`` of the new map.
        pixel_scale : `~astropy.units.Quantity`
            Pixel size of the new map.

        Returns
        -------
        transfer : `TransferFunction`

        Examples
        --------
        >>> import astropy.units as u
        >>> from massrecon.observations.transfer import TransferFunction
        >>> bolocam_like = TransferFunction.resample(TransferFunction.high_pass(3 * u.arcmin), (42, 42), 20 * u.arcsec)
        >>> act_grid = TransferFunction.resample(bolocam_like, (40, 40), 30 * u.arcsec)
        >>> act_grid.shape, act_grid.pixel_scale
        ((40, 40), <Quantity 0.5 arcmin>)
        """
        if not isinstance(transfer, TransferFunction):
            raise TypeError(f"transfer must be a TransferFunction, got {type(transfer).__name__}")
        return cls.from_grid(transfer.on_grid(shape, pixel_scale), pixel_scale)

    # --- properties ---------------------------------------------------------------------------

    @property
    def kind(self):
        """``"grid"``, ``"table"`` or ``"high_pass"``: how the transfer function was given."""
        return self._kind

    @property
    def shape(self):
        """Shape of the 2-D grid (None for a 1-D transfer function)."""
        return None if self._grid is None else self._grid.shape

    @property
    def pixel_scale(self):
        """Pixel size of the 2-D grid's map (None for a 1-D transfer function)."""
        return None if self._pixel is None else self._pixel * u.arcmin

    def __repr__(self):
        return f"<TransferFunction {self._kind}: {self._description}>"

    # --- evaluation ---------------------------------------------------------------------------

    def evaluate(self, k):
        """The isotropic (1-D) transfer function :math:`T(k)`.

        For a 2-D grid, the average of its real part in rings of :math:`|k|` one grid step wide,
        linearly interpolated (and kept constant beyond the grid's largest :math:`|k|`).

        Parameters
        ----------
        k : `~astropy.units.Quantity`
            Wavenumbers :math:`1/\\lambda` (cycles per angle, e.g. ``1 / u.arcmin``), >= 0.

        Returns
        -------
        transfer : float or `~numpy.ndarray`

        Examples
        --------
        >>> import astropy.units as u
        >>> from massrecon.observations.transfer import TransferFunction, multipole_to_wavenumber
        >>> tf = TransferFunction.high_pass(2 * u.arcmin)
        >>> print(round(float(tf.evaluate(multipole_to_wavenumber(3000))), 3))
        0.782
        """
        kk = _wavenumber(k, "k")
        out = self._evaluate(kk)
        return float(out) if np.ndim(out) == 0 else out

    def _evaluate(self, kk):
        if self._profile is not None:
            return self._profile(kk)
        ky, kx = _fft_frequencies(self._grid.shape, self._pixel)
        radius = np.hypot(ky, kx).ravel()
        step = 1.0 / (min(self._grid.shape) * self._pixel)
        ring = np.rint(radius / step).astype(int)
        counts = np.bincount(ring)
        filled = counts > 0
        centres = np.bincount(ring, weights=radius)[filled] / counts[filled]
        means = np.bincount(ring, weights=self._grid.real.ravel())[filled] / counts[filled]
        return np.interp(kk, centres, means)

    def equivalent_high_pass(self):
        """Dispersion :math:`\\theta` of the Gaussian `high_pass` that passes half a wave where this does.

        The wavenumber :math:`k_{1/2}` at which the isotropic :math:`T(k)` (`evaluate`) first
        reaches 0.5 gives :math:`\\theta = \\sqrt{2\\ln 2} / (2\\pi k_{1/2})`; the model is told
        this scale (in R200) for a filtered y map.  A transfer function that passes at least half
        of every scale down to :math:`k = 10^{-4}` per arcmin returns infinity (unfiltered).

        Returns
        -------
        theta : `~astropy.units.Quantity`
            An angle in arcmin.

        Examples
        --------
        >>> import astropy.units as u
        >>> from massrecon.observations.transfer import TransferFunction
        >>> print(TransferFunction.high_pass(3 * u.arcmin).equivalent_high_pass().round(3))
        3.0 arcmin
        """
        kk = np.logspace(-4.0, 2.0, 6001)
        tt = np.asarray(self._evaluate(kk), dtype=float)
        above = np.flatnonzero(tt >= 0.5)
        if above.size == 0:
            raise ValueError(f"{self!r} never passes half of a wave (T(k) < 0.5 for every k up to 100 / arcmin)")
        i = int(above[0])
        if i == 0:
            return np.inf * u.arcmin
        t0, t1 = tt[i - 1], tt[i]
        lnk = np.log(kk[i - 1]) + (0.5 - t0) / (t1 - t0) * (np.log(kk[i]) - np.log(kk[i - 1]))
        return math.sqrt(2.0 * math.log(2.0)) / (2.0 * math.pi * math.exp(lnk)) * u.arcmin

    def on_grid(self, shape, pixel_scale):
        """:math:`T` on the FFT grid of a map of ``shape`` and ``pixel_scale`` (`numpy.fft.fft2` order).

        Parameters
        ----------
        shape : tuple of int
            ``(ny, nx)``.
        pixel_scale : `~astropy.units.Quantity`
            Pixel size (an angle).

        Returns
        -------
        grid : `~numpy.ndarray`
            Real, or complex for a complex 2-D transfer function.

        Examples
        --------
        >>> import astropy.units as u
        >>> from massrecon.observations.transfer import TransferFunction
        >>> grid = TransferFunction.high_pass(4 * u.arcmin).on_grid((64, 64), 0.5 * u.arcmin)
        >>> float(grid[0, 0])  # the mean is removed
        0.0
        """
        shape = _shape(shape)
        pixel = _angle(pixel_scale, "pixel_scale")
        if self._grid is None:
            ky, kx = _fft_frequencies(shape, pixel)
            return self._profile(np.hypot(ky, kx))
        if self._on_own_grid(shape, pixel):
            return self._grid.copy()
        return self._interpolate_grid(shape, pixel)

    def _on_own_grid(self, shape, pixel):
        return self._grid is not None and shape == self._grid.shape and math.isclose(pixel, self._pixel, rel_tol=1e-9)

    def _interpolate_grid(self, shape, pixel):
        axes = [_centred_axis(n, self._pixel) for n in self._grid.shape]
        source = _centred_grid(self._grid)
        ky, kx = _fft_frequencies(shape, pixel)
        points = np.stack(np.broadcast_arrays(np.clip(ky, axes[0][0], axes[0][-1]),
                                              np.clip(kx, axes[1][0], axes[1][-1])), axis=-1)
        real = RegularGridInterpolator(axes, source.real)(points)
        if not np.iscomplexobj(source):
            return real
        return real + 1j * RegularGridInterpolator(axes, source.imag)(points)

    # --- filtering ----------------------------------------------------------------------------

    def apply(self, image, pixel_scale, *, pad=None, remove_mean=True):
        """Filter an image as the instrument would.

        The image (less its mean, with ``remove_mean``) is zero-padded to ``pad`` times its size,
        multiplied by :math:`T` in Fourier space, transformed back and cropped; the mean of the
        result is removed too, with ``remove_mean`` (a ground-based map has no mean level).
        Padding keeps the filter's response to a source near one edge from wrapping around onto
        the opposite edge; it is not used (``pad=1``) for a 2-D transfer function on the image's
        own grid, which the instrument defines for that periodic grid.

        Parameters
        ----------
        image : array-like or `~astropy.units.Quantity`
            2-D image (e.g. Compton-y or a temperature map), finite; a Quantity keeps its unit.
        pixel_scale : `~astropy.units.Quantity`
            Pixel size of the image (an angle; square pixels).
        pad : float, optional
            Padding factor >= 1 (the padded size is rounded up to a fast FFT length).  Default: 1
            for a 2-D transfer function on the image's grid, 2 otherwise.
        remove_mean : bool, optional
            Remove the image's mean before filtering and the result's mean after.

        Returns
        -------
        filtered : `~numpy.ndarray` or `~astropy.units.Quantity`
            Same shape (and unit) as ``image``.

        Examples
        --------
        >>> import numpy as np, astropy.units as u
        >>> from massrecon.observations.transfer import TransferFunction
        >>> yy, xx = np.indices((128, 128)) - 63.5
        >>> compact = np.exp(-0.5 * (xx**2 + yy**2) / 2.0**2)   # sigma = 1 arcmin at 0.5'/pixel
        >>> filtered = TransferFunction.high_pass(4 * u.arcmin).apply(compact, 0.5 * u.arcmin)
        >>> print(round(filtered.max() / compact.max(), 2))
        0.94
        """
        data, unit = _image_2d(image, "image")
        pixel = _angle(pixel_scale, "pixel_scale")
        if pad is None:
            pad = 1.0 if self._on_own_grid(data.shape, pixel) else _DEFAULT_PAD
        pad = float(_finite_array(pad, "pad"))
        if pad < 1:
            raise ValueError(f"pad must be >= 1 (a factor on the image size), got {pad}")
        if remove_mean:
            data = data - data.mean()
        ny, nx = data.shape
        padded_shape = (fft.next_fast_len(math.ceil(pad * ny - 1e-9)), fft.next_fast_len(math.ceil(pad * nx - 1e-9)))
        if pad == 1:
            padded_shape = data.shape  # exactly the image's own periodic grid
        work = np.zeros(padded_shape)
        work[:ny, :nx] = data
        spectrum = fft.fft2(work) * self.on_grid(padded_shape, pixel_scale)
        out = fft.ifft2(spectrum).real[:ny, :nx]
        if remove_mean:
            out = out - out.mean()
        return out if unit is None else out * unit
