"""Named example clusters bundled with massrecon.

A handful of well-known clusters (positions, redshifts and :math:`M_{500c}` from the MCXC
catalogue, Piffaretti et al. 2011, A&A 534, A109) for examples, tutorials and the command line.
"""

import astropy.units as u
from astropy.coordinates import SkyCoord
from astropy.table import QTable
from astropy.utils.data import get_pkg_data_path

from ..frame import ClusterFrame

__all__ = ["example_clusters", "example_frame"]


def example_clusters():
    """Table of the bundled example clusters.

    Returns
    -------
    table : `~astropy.table.QTable`
        Columns ``name``, ``ra``, ``dec`` (deg), ``z`` and ``m500`` (Msun).

    Examples
    --------
    >>> from massrecon.datasets import example_clusters
    >>> "coma" in example_clusters()["name"]
    True
    """
    return QTable.read(get_pkg_data_path("data", "example_clusters.ecsv", package="massrecon"),
                       format="ascii.ecsv")


def example_frame(name, **kwargs):
    """The `~massrecon.ClusterFrame` of a bundled example cluster.

    Parameters
    ----------
    name : str
        Case-insensitive name from `example_clusters`.
    **kwargs
        Passed on to `~massrecon.ClusterFrame` (``npix``, ``size_r200``, ``cosmology``, ...).

    Examples
    --------
    >>> from massrecon.datasets import example_frame
    >>> example_frame("A1835").name
    'a1835'
    """
    table = example_clusters()
    names = [str(n) for n in table["name"]]
    key = str(name).lower()
    if key not in names:
        raise ValueError(f"name must be one of the example clusters {names}, got {name!r}")
    row = table[names.index(key)]
    center = SkyCoord(row["ra"], row["dec"], frame="icrs")
    return ClusterFrame(center, float(row["z"]), m500=u.Quantity(row["m500"], u.Msun), name=key,
                        **kwargs)
