"""Training of the mass-map generator: configuration, data, augmentations, losses, the loop and
data-parallel training, and the export of a run as weights.

See :doc:`/training` in the documentation.
"""

from .augment import AugmentConfig
from .config import TrainingConfig
from .data import ClusterMapDataset, ResumableSampler
from .export import export_weights
from .loop import load_checkpoint, load_init_source, train
from .on_the_fly import SimulatedMapDataset

__all__ = ["AugmentConfig", "TrainingConfig", "ClusterMapDataset", "ResumableSampler", "SimulatedMapDataset",
           "train", "load_checkpoint", "load_init_source", "export_weights"]
