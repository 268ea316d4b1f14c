"""One-dimensional root finding for the self-consistent R200.

`find_log_scale_roots` (every root on a grid of frames, the steepest stable one chosen) is the
search behind ``MassReconstructor.predict(..., self_consistent=True)`` and its measurement on
held-out mocks (`massrecon.validation.self_consistent`): both must take the same steps to be
comparable.  `solve_log_scale`, the bracketing from the start that it replaced (it found only the
root nearest the start), is kept for code that calls it."""

from dataclasses import dataclass

import numpy as np
from scipy.optimize import brentq

__all__ = ["BRACKET_STEP", "CONSISTENT_H", "FLAT_RESPONSE", "LogScaleRoots", "find_log_scale_roots", "log_scale_grid",
           "solve_log_scale"]

#: Bracketing step of `solve_log_scale` in ``log s``: 15% in R200.
BRACKET_STEP = float(np.log(1.15))


def solve_log_scale(h, max_iter=10, rtol=0.01, step=BRACKET_STEP):
    """Root of a decreasing function ``h(log s)`` starting at ``log s = 0``.

    The root is bracketed by steps of ``step`` from 0 and refined by `scipy.optimize.brentq`
    (Brent 1973), with at most ``max_iter`` evaluations of ``h`` in all (each is a network
    prediction, so none is repeated).  The caller keeps the evaluations, e.g. to use the most
    nearly consistent one when there is no convergence.

    Parameters
    ----------
    h : callable
        ``h(log_s) -> float``, decreasing through a single root.
    max_iter : int
        Largest number of evaluations of ``h``.
    rtol : float
        Relative tolerance on ``s``: the root is bracketed to within ``ln(1 + rtol)`` in ``log s``.
    step : float
        Bracketing step in ``log s``.

    Returns
    -------
    converged : bool
        Whether the root was bracketed to ``rtol`` (or hit exactly) within ``max_iter``
        evaluations; False also when no sign change was found.

    Examples
    --------
    >>> import numpy as np
    >>> from massrecon.solvers import solve_log_scale
    >>> seen = {}
    >>> def h(x):
    ...     seen[x] = np.log(1.4) - 2.5 * x   # root at ln(1.4) / 2.5
    ...     return seen[x]
    >>> solve_log_scale(h)
    True
    >>> best = min(seen, key=lambda x: abs(seen[x]))   # as the reconstructor picks its frame
    >>> round(float(np.exp(best)), 3), len(seen)
    (1.144, 4)
    """
    values = {}

    def ev(x):
        # brentq evaluates the bracket's end points again: serve them from the evaluations made
        if x not in values:
            values[x] = float(h(x))
        return values[x]

    a, fa = 0.0, ev(0.0)
    if fa == 0:
        return True
    b = a + (step if fa > 0 else -step)
    fb = ev(b)
    while fa * fb > 0 and len(values) < max_iter:
        a, fa = b, fb
        b = a + (step if fa > 0 else -step)
        fb = ev(b)
    if fa * fb > 0:
        return False
    if fb == 0:
        return True
    left = max_iter - len(values)
    if left < 1:
        return False
    _, result = brentq(ev, min(a, b), max(a, b), xtol=float(np.log1p(rtol)), rtol=4 * np.finfo(float).eps,
                       maxiter=left, full_output=True, disp=False)
    return bool(result.converged)


#: Response of the implied mass to the frame's mass, :math:`g = d\ln M_{implied}/d\ln M_{frame}`,
#: above which the self-consistent mass is flagged as set by the frame rather than the data: the
#: implied mass's own scatter is amplified by :math:`1/(1-g)` in the root (5 at 0.8).
FLAT_RESPONSE = 0.8

#: Largest ``|h|`` (fractional disagreement of the implied and the frame's mass, in ln) of a frame
#: counted as self-consistent when the interval of such frames measures a flat response: about
#: the 1-sigma scatter of the implied mass on mocks.
CONSISTENT_H = 0.1


@dataclass
class LogScaleRoots:
    """Every root of ``h(log s)`` on a grid, as found by `find_log_scale_roots`.

    Attributes
    ----------
    grid, values : `~numpy.ndarray`
        The grid of ``log s`` and ``h`` on it (sorted by ``log s``; points where ``h`` is NaN
        left out).
    roots : `~numpy.ndarray`
        ``log s`` of the stable roots (``h`` falling through 0), ascending, each refined by
        `scipy.optimize.brentq`.
    slopes : `~numpy.ndarray`
        ``dh/dlog s`` at each root: the secant over its grid cell (a step of the grid, ~50% in
        mass), which is robust to the small-scale noise of a network's prediction.
    unstable : `~numpy.ndarray`
        ``log s`` of the rising crossings (repellers between two stable roots), interpolated.
    choice : int or None
        Index into `roots` of the answer, None when no stable root lies in the grid.
    converged : bool
        Whether the chosen root was refined to ``rtol`` within ``max_iter`` evaluations (False
        without a stable root).
    flat : bool
        Whether the response at the answer is flat (`FLAT_RESPONSE`).
    consistent : tuple of float
        ``(lo, hi)`` in ``log s``: the interval around the answer where ``|h| <= CONSISTENT_H``
        (linear interpolation on the grid, clipped to it).
    evaluations : int
        Number of evaluations of ``h``.
    """

    grid: np.ndarray
    values: np.ndarray
    roots: np.ndarray
    slopes: np.ndarray
    unstable: np.ndarray
    choice: object
    converged: bool
    flat: bool
    consistent: tuple
    evaluations: int

    @property
    def root(self):
        """``log s`` of the answer (None without a stable root)."""
        return None if self.choice is None else float(self.roots[self.choice])

    @property
    def ambiguous(self):
        """Whether there are several stable roots."""
        return len(self.roots) > 1

    @property
    def response(self):
        """:math:`g = d\\ln M_{implied}/d\\ln M_{frame} = 1 + (dh/d\\log s)/3` at the answer."""
        return None if self.choice is None else 1.0 + float(self.slopes[self.choice]) / 3.0


def log_scale_grid(lo, hi, step=BRACKET_STEP, anchor=0.0):
    """Grid of ``log s`` over ``[lo, hi]`` at the points ``anchor + k * step`` plus both ends.

    Anchoring the points (rather than starting them at ``lo``) makes two searches over
    overlapping ranges share their evaluations, so their roots agree exactly.

    Examples
    --------
    >>> from massrecon.solvers import log_scale_grid
    >>> log_scale_grid(-0.25, 0.3, step=0.1).round(2).tolist()
    [-0.25, -0.2, -0.1, 0.0, 0.1, 0.2, 0.3]
    """
    if not hi > lo:
        raise ValueError(f"the grid needs hi > lo, got [{lo}, {hi}]")
    k = np.arange(np.ceil((lo - anchor) / step), np.floor((hi - anchor) / step) + 1)
    inner = anchor + k * step
    # drop inner points closer than a tenth of a step to an end: they add evaluations, not information
    inner = inner[(inner - lo > 0.1 * step) & (hi - inner > 0.1 * step)]
    return np.concatenate([[lo], inner, [hi]])


def find_log_scale_roots(h, grid, *, rtol=0.01, max_iter=10, prefer=0.0, h_many=None):
    """All roots of ``h(log s)`` on a grid; the steepest stable one refined.

    ``h`` is evaluated on every point of ``grid`` (at once through ``h_many`` when given, e.g.
    one batched network pass); each sign change between neighbours is a root.  Roots where ``h``
    falls (stable: a frame too small implies more mass, one too large less) are the candidate
    answers; the *steepest* (the one whose implied mass depends least on the frame, i.e. is most
    set by the data) is chosen, ties going to the one nearest ``prefer``, so the answer does not
    depend on where a search started.  Each stable root is refined by `scipy.optimize.brentq`
    (Brent 1973) in its grid cell to within ``ln(1 + rtol)``, with at most ``max_iter`` further
    evaluations per root (a single root, the usual case, costs the grid plus 2-4).

    Parameters
    ----------
    h : callable
        ``h(log_s) -> float``; NaN where it cannot be evaluated (such grid points are left out).
    grid : array-like
        Ascending ``log s`` values (`log_scale_grid`).
    rtol : float
        Relative tolerance on ``s`` of the chosen root.
    max_iter : int
        Largest number of evaluations for refining each stable root.
    prefer : float
        ``log s`` that breaks ties between equally steep roots.
    h_many : callable, optional
        ``h_many(array of log_s) -> array``, the same as ``h`` on many points at once.

    Returns
    -------
    `LogScaleRoots`

    Examples
    --------
    Two stable roots (``s = 0.8`` and ``s = 1.5``): the steeper, at ``ln 1.5``, is chosen.

    >>> import numpy as np
    >>> from massrecon.solvers import find_log_scale_roots, log_scale_grid
    >>> def h(x):
    ...     return -(x - np.log(0.8)) * x * (x - np.log(1.5)) * 6
    >>> res = find_log_scale_roots(h, log_scale_grid(-0.6, 0.6))
    >>> np.exp(res.roots).round(2).tolist(), round(float(np.exp(res.root)), 2), res.ambiguous
    ([0.8, 1.5], 1.5, True)
    """
    grid = np.asarray(grid, dtype=float)
    if grid.ndim != 1 or grid.size < 2 or np.any(np.diff(grid) <= 0):
        raise ValueError("grid must be an ascending 1-d array of at least 2 points")
    values = np.asarray(h_many(grid) if h_many is not None else [h(x) for x in grid], dtype=float)
    # points where h cannot be evaluated (NaN) are left out of the search
    ok = np.isfinite(values)
    if ok.sum() < 2:
        raise ValueError(f"h is finite on {ok.sum()} of {grid.size} grid points: no search is possible")
    grid, values = grid[ok], values[ok]
    sign = np.sign(values)
    roots, slopes, unstable, cells = [], [], [], []
    for i in range(grid.size - 1):
        a, b, fa, fb = grid[i], grid[i + 1], values[i], values[i + 1]
        if sign[i] == 0 and i > 0:
            continue  # an exact zero on the grid is counted once, from the cell that ends on it
        if fa * fb > 0 or (fa == 0 and fb == 0):
            continue
        x = a if fa == 0 else (b if fb == 0 else a - fa * (b - a) / (fb - fa))
        left = values[i - 1] if (fa == 0 and i > 0) else fa
        if left > fb or (fa == 0 and i == 0 and fb < 0):
            roots.append(x)
            cells.append(i)
            slopes.append((fb - left) / (b - (grid[i - 1] if left is not fa else a)))
        else:
            unstable.append(x)
    roots, slopes = np.array(roots), np.array(slopes)
    choice, converged, seen = None, False, dict(zip(grid.tolist(), values.tolist()))

    def ev(x):
        # brentq evaluates its bracket's ends again: serve them (and any repeat) from memory
        if x not in seen:
            seen[x] = float(h(x))
        return seen[x]

    done = []
    for k, i in enumerate(cells):
        a, b = grid[i], grid[i + 1]
        if values[i] == 0 or values[i + 1] == 0:
            done.append(True)
            continue
        roots[k], result = brentq(ev, a, b, xtol=float(np.log1p(rtol)), rtol=4 * np.finfo(float).eps,
                                  maxiter=max_iter, full_output=True, disp=False)
        done.append(bool(result.converged))
    n_eval = len(seen)
    if roots.size:
        choice = int(min(range(roots.size), key=lambda k: (round(slopes[k], 6), abs(roots[k] - prefer))))
        converged = done[choice]
    res = LogScaleRoots(grid, values, roots, slopes, np.array(unstable), choice, converged, False,
                        (np.nan, np.nan), n_eval)
    if choice is not None:
        res.consistent = _consistent_interval(grid, values, res.root)
        res.flat = res.response > FLAT_RESPONSE
    return res


def _consistent_interval(grid, values, root):
    """``(lo, hi)`` around ``root`` where ``|h| <= CONSISTENT_H``, linear between grid points."""
    def edge(direction):
        i = int(np.searchsorted(grid, root))
        idx = range(i, grid.size) if direction > 0 else range(i - 1, -1, -1)
        prev_x, prev_v = root, 0.0
        for j in idx:
            if abs(values[j]) > CONSISTENT_H:
                target = np.copysign(CONSISTENT_H, values[j])
                return prev_x + (target - prev_v) * (grid[j] - prev_x) / (values[j] - prev_v)
            prev_x, prev_v = grid[j], values[j]
        return grid[-1] if direction > 0 else grid[0]

    return float(edge(-1)), float(edge(+1))
