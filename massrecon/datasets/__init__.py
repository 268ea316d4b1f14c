"""Example data bundled with massrecon: named clusters and realistic mock observation files.

* `example_clusters`, `example_frame`: a few well-known clusters (MCXC positions, redshifts and
  masses) for examples, tutorials and the command line;
* `make_example_observations`, `read_example_observations`: the files an astronomer holds for
  one cluster (Planck-like y map, eROSITA-like counts, SDSS-like members, catalogue entry),
  made by the simulator with a fixed seed, and the truth they come from.

Nothing in the core of massrecon imports this subpackage; it imports the simulator only when the
files are made.

Examples
--------
>>> from massrecon.datasets import example_frame
>>> example_frame("coma").name
'coma'
"""

from .clusters import example_clusters, example_frame
from .example import EXAMPLE, make_example_observations, read_example_observations

__all__ = ["EXAMPLE", "example_clusters", "example_frame", "make_example_observations", "read_example_observations"]
