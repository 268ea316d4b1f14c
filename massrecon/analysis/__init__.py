"""What astronomers do with a mass map: halo-profile fits and weak-lensing quantities.

* `massrecon.analysis.profiles`: projected NFW and Einasto profiles as `astropy.modeling` models
  (optionally in a slab of finite depth, the target of a `~massrecon.MassMap`) and generalised
  least-squares fits of them with a full covariance matrix, giving :math:`M_{200c}`,
  :math:`c_{200c}` and :math:`M_{500c}` with errors;
* `massrecon.analysis.lensing`: the critical surface density (also for a source redshift
  distribution), convergence, tangential and reduced shear profiles of a map;
* `massrecon.analysis.masses`: masses and profiles of a `~massrecon.MassMap` with a per-pixel and a
  correlated model error; `massrecon.analysis.mapfit`: halo fits to a map and spherical masses;
* `massrecon.analysis.compare` and `massrecon.analysis.plotting`: comparison with other maps, figures.
"""

from .compare import MapComparison
from .lensing import ShearProfile, convergence, reduced_shear, sigma_crit, tangential_shear_profile
from .masses import MassMeasurement, ModelErrors, ProfileMeasurement
from .plotting import plot_contours, plot_map, plot_profile
from .profiles import ProfileFit, ProjectedEinasto, ProjectedNFW, fit_nfw, fit_profile

__all__ = ["ProjectedNFW", "ProjectedEinasto", "ProfileFit", "fit_profile", "fit_nfw", "sigma_crit",
           "convergence", "tangential_shear_profile", "reduced_shear", "ShearProfile", "MassMeasurement",
           "ProfileMeasurement", "ModelErrors", "MapComparison", "plot_map", "plot_contours", "plot_profile"]
