"""The baryonic-physics variants of the mock universe.

`PhysicsModel` holds the parameters of one variant; `PHYSICS_MODELS` names the three variants that
mirror the codes of The Three Hundred, and `get_physics` turns a name into its model.
`SUPERSEDED_PHYSICS_MODELS` keeps the variants of an earlier gas calibration that the first phase of
the bundled weights was trained on, so that their recipe (``tools/train_bundled_weights.sh``) can
be rerun; nothing else uses them.  This module
imports nothing else of `massrecon.simulate`, so both the population (`~massrecon.simulate.sample_halo`)
and the projection (`~massrecon.simulate.HaloModel`) can use it.

Examples
--------
>>> from massrecon.simulate.physics_models import get_physics
>>> get_physics("strong_feedback").core_scale
1.5
"""

import dataclasses

__all__ = ["PhysicsModel", "PHYSICS_MODELS", "SUPERSEDED_PHYSICS_MODELS", "get_physics"]


@dataclasses.dataclass(frozen=True)
class PhysicsModel:
    """Baryonic physics of a mock universe.

    The three named models mirror the three codes of The Three Hundred (Cui et al. 2018, MNRAS
    480, 2898): weak feedback (GADGET-MUSIC: supernova feedback only, overcooled cores, many
    stars), fiducial (GADGET-X: with AGN feedback) and strong feedback (GIZMO-SIMBA: strong AGN
    jets that empty groups of gas and puff up cores).
    """

    name: str
    #: f_gas,500 at 5e14 Msun and its slope with M500 (see `~massrecon.simulate.gas.gas_fraction_500`)
    fgas_norm: float = 0.13
    fgas_slope: float = 0.28
    #: log-normal scatter (dex) of the gas fraction and of the pressure normalisation
    fgas_scatter_dex: float = 0.04
    pressure_scatter_dex: float = 0.06
    #: fraction of cool-core clusters (SZ-selected samples: ~30%, Andrade-Santos et al. 2017)
    cool_core_fraction: float = 0.30
    #: multiplies the core radii of the gas density of Vikhlinin et al. (2006) (a proxy for the core
    #: entropy; see `~massrecon.simulate.projection.gas_tables`)
    core_scale: float = 1.0
    #: multiplies the stellar-to-halo and BCG relations
    stellar_scale: float = 1.0
    #: range of the intracluster-light fraction of the total stellar mass
    icl_fraction: tuple = (0.2, 0.4)
    #: clumping factor at R200
    clumping_r200: float = 1.6
    #: fraction of halos with a major merger in progress
    merger_fraction: float = 0.15
    #: multiplies the subhalo mass function normalisation
    subhalo_norm: float = 1.0
    #: orphan galaxies (whose subhalos were disrupted) per surviving subhalo
    orphan_ratio: float = 1.5

    def to_dict(self):
        return dataclasses.asdict(self)


#: The named physics variants.  Their gas (f_gas,500 and the core radii) is calibrated so the fiducial
#: population follows the soft-band L_X-M500 relation of Vikhlinin et al. (2009, ApJ 692, 1033,
#: Table 3; median ln offset -0.12, slope 1.59 against 1.61) and the cool-core and non-cool-core
#: surface-brightness concentrations of Santos et al. (2008), keeping T-M and f_gas-M500
#: (docs/simulate.rst, "Validation of the mock population").
PHYSICS_MODELS = {
    "fiducial": PhysicsModel("fiducial"),
    "weak_feedback": PhysicsModel(
        "weak_feedback", fgas_norm=0.14, fgas_slope=0.15, cool_core_fraction=0.45, core_scale=0.7,
        stellar_scale=1.6, icl_fraction=(0.15, 0.3), clumping_r200=1.8,
    ),
    "strong_feedback": PhysicsModel(
        "strong_feedback", fgas_norm=0.12, fgas_slope=0.35, cool_core_fraction=0.15, core_scale=1.5,
        stellar_scale=0.7, icl_fraction=(0.25, 0.45), clumping_r200=1.4,
    ),
}

#: The variants of the earlier gas calibration (massrecon 0.x up to December 2026), made against a
#: misreading of Vikhlinin et al. (2009) that was 1.85x too faint: core radii 2.5x wider and
#: f_gas,500 lower; the population is 1.7x fainter in X-rays than the corrected relation.  The first
#: phase of the bundled weights was trained on them (tools/train_bundled_weights.sh); do not use
#: them for anything else.
_V1_GAS_FRACTION = {"fiducial": (0.12, 0.25), "weak_feedback": (0.13, 0.12), "strong_feedback": (0.11, 0.32)}
SUPERSEDED_PHYSICS_MODELS = {
    f"{name}_v1": dataclasses.replace(PHYSICS_MODELS[name], name=f"{name}_v1", fgas_norm=norm, fgas_slope=slope,
                                      core_scale=2.5 * PHYSICS_MODELS[name].core_scale)
    for name, (norm, slope) in _V1_GAS_FRACTION.items()
}


def get_physics(name):
    """The `PhysicsModel` called ``name`` (one of `PHYSICS_MODELS` or `SUPERSEDED_PHYSICS_MODELS`),
    or a `PhysicsModel` as is."""
    if isinstance(name, PhysicsModel):
        return name
    if name in PHYSICS_MODELS:
        return PHYSICS_MODELS[name]
    if name in SUPERSEDED_PHYSICS_MODELS:
        return SUPERSEDED_PHYSICS_MODELS[name]
    raise ValueError(f"physics must be one of {sorted(PHYSICS_MODELS)} (or, to rerun the first phase of the "
                     f"bundled weights, {sorted(SUPERSEDED_PHYSICS_MODELS)}), got {name!r}")

