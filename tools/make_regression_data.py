"""Write tests/data/regression.npz: fixed outputs that a behaviour-preserving refactor must keep.

Stores (1) predictions of the bundled weights on the bundled example observations for several view
sets, with R200 from the catalogue and self-consistent, and (2) the simulator's halo properties and
projected maps for fixed seeds.  `tests/test_regression.py` recomputes them and compares.

Run it only when behaviour is meant to change (a physics correction, new weights), and say so in
the commit:

    python tools/make_regression_data.py
"""

import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from regression_cases import compute_all  # noqa: E402


def main():
    out = Path(__file__).resolve().parents[1] / "tests" / "data" / "regression.npz"
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        arrays = compute_all(tmp)
    np.savez_compressed(out, **arrays)
    print(f"wrote {out} ({out.stat().st_size / 1e3:.0f} kB, {len(arrays)} arrays)")


if __name__ == "__main__":
    main()
