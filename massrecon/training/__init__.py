"""Training of the mass-map generator: configuration, data, augmentations, losses, the loop and
data-parallel training.

See :doc:`/training` in the documentation.
"""

from .augment import AugmentConfig
from .config import TrainingConfig
from .data import ClusterMapDataset, ResumableSampler
from .loop import load_checkpoint, train

__all__ = ["AugmentConfig", "TrainingConfig", "ClusterMapDataset", "ResumableSampler", "train",
           "load_checkpoint"]
