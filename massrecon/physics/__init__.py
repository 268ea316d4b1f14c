"""Radiation physics shared by the observation readers and the simulator.

Self-contained conversions with cited formulas, built on numpy, scipy and astropy only:

* ``massrecon.physics.bremsstrahlung``: thermal bremsstrahlung spectrum with the Born Gaunt factor,
  band energy fractions, the X-ray band K-correction and the free-free cooling function;
* ``massrecon.physics.absorption``: Galactic photoelectric absorption (Morrison & McCammon 1983)
  and the band absorption correction;
* ``massrecon.physics.galaxies``: K-corrections of SDSS galaxy magnitudes (Chilingarian et al.
  2010, 2012) and stellar masses from the colour-based mass-to-light ratio of Bell et al. (2003);
* ``massrecon.physics.profiles``: the dimensionless pressure (Arnaud et al. 2010) and density
  (Vikhlinin et al. 2006) profiles of the intracluster gas;
* ``massrecon.physics.response``: energy conversion factors (count rate per energy flux) from an
  OGIP ancillary response file;
* ``massrecon.physics.smf``: the Schechter stellar-mass function of cluster satellites and the
  correction of a member catalogue's stellar mass from its completeness limit to another;
* ``massrecon.physics.tsz``: the non-relativistic thermal Sunyaev-Zeldovich spectrum, conversions
  between Compton-y and CMB or Rayleigh-Jeans temperature and specific intensity at a frequency.

Every function takes `~astropy.units.Quantity` inputs where a quantity has units and checks them.
"""

from .absorption import *  # noqa: F403
from .absorption import __all__ as _absorption_all
from .bremsstrahlung import *  # noqa: F403
from .bremsstrahlung import __all__ as _bremsstrahlung_all
from .galaxies import *  # noqa: F403
from .galaxies import __all__ as _galaxies_all
from .profiles import *  # noqa: F403
from .profiles import __all__ as _profiles_all
from .response import *  # noqa: F403
from .response import __all__ as _response_all
from .smf import *  # noqa: F403
from .smf import __all__ as _smf_all
from .tsz import *  # noqa: F403
from .tsz import __all__ as _tsz_all

__all__ = (_bremsstrahlung_all + _absorption_all + _galaxies_all + _profiles_all + _response_all + _smf_all
           + _tsz_all)
