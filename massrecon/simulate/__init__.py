"""A mock galaxy-cluster universe: halo population, 3D components and their projected maps.

See :doc:`/simulate` in the documentation for the models and their sources.
"""

from .config import SimulationConfig
from .particles import ParticleSet, project_particles, read_gadget_hdf5
from .physics_models import PHYSICS_MODELS, SUPERSEDED_PHYSICS_MODELS, PhysicsModel, get_physics
from .population import HaloProperties, projection_bases, sample_halo
from .projection import (
    MAP_NAMES,
    MAP_UNITS,
    MODEL_EXTENT_R200,
    HaloModel,
    members_map,
    project_halo,
)

__all__ = [
    "PHYSICS_MODELS",
    "SUPERSEDED_PHYSICS_MODELS",
    "PhysicsModel",
    "SimulationConfig",
    "HaloProperties",
    "get_physics",
    "sample_halo",
    "projection_bases",
    "MAP_NAMES",
    "MAP_UNITS",
    "MODEL_EXTENT_R200",
    "HaloModel",
    "project_halo",
    "members_map",
    "ParticleSet",
    "project_particles",
    "read_gadget_hdf5",
]
