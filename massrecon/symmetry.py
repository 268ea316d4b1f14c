"""The eight symmetries of the square (the dihedral group D4) on image arrays.

The reconstructor's test-time augmentation and its measurement on held-out mocks average a
prediction over these flips and rotations; numpy arrays and torch tensors alike.
"""

import sys

import numpy as np

__all__ = ["N_DIHEDRAL", "dihedral", "undo_dihedral"]

#: Number of symmetries of the square.
N_DIHEDRAL = 8


def _is_tensor(x):
    torch = sys.modules.get("torch")  # a tensor can only exist once torch is imported
    return torch is not None and isinstance(x, torch.Tensor)


def dihedral(x, k):
    """The ``k``-th (0-7) symmetry of the square on the last two axes of ``x``.

    ``k = 4 * flip + rotations``: ``k`` quarter turns (counter-clockwise), then for ``k >= 4`` a
    flip of the last axis.

    Examples
    --------
    >>> import numpy as np
    >>> from massrecon.symmetry import dihedral, undo_dihedral
    >>> x = np.arange(4).reshape(2, 2)
    >>> dihedral(x, 1)
    array([[1, 3],
           [0, 2]])
    >>> all(np.array_equal(undo_dihedral(dihedral(x, k), k), x) for k in range(8))
    True
    """
    flip, rot = divmod(k, 4)
    if _is_tensor(x):
        import torch

        y = torch.rot90(x, rot, dims=(-2, -1))
        return torch.flip(y, dims=(-1,)) if flip else y
    y = np.rot90(x, rot, axes=(-2, -1))
    return y[..., ::-1] if flip else y


def undo_dihedral(x, k):
    """The inverse of `dihedral` ``(x, k)``."""
    flip, rot = divmod(k, 4)
    if _is_tensor(x):
        import torch

        y = torch.flip(x, dims=(-1,)) if flip else x
        return torch.rot90(y, -rot, dims=(-2, -1))
    y = x[..., ::-1] if flip else x
    return np.rot90(y, -rot, axes=(-2, -1))
