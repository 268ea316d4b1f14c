__all__ = ["ShearProfile", "convergence", "reduced_shear", "sigma_crit", "tangential_shear_profile"]
ShearProfile = convergence = reduced_shear = sigma_crit = tangential_shear_profile = None
