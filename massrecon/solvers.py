"""One-dimensional root finding for the self-consistent R200.

`solve_log_scale` is the solve behind ``MassReconstructor.predict(..., self_consistent=True)``
and its measurement on held-out mocks (`massrecon.validation.self_consistent`): both must take
the same steps to be comparable.
"""

import numpy as np
from scipy.optimize import brentq

__all__ = ["BRACKET_STEP", "solve_log_scale"]

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
