"""The networks of massrecon: transforms, the conditional U-Net generator, the PatchGAN
discriminator and the weights format (loading; weights are written from a training run by
`massrecon.training.export_weights`).

The models never import `massrecon.training`.  See :doc:`/models` in the documentation.
"""

from ._weights import WEIGHTS_FORMAT, load_generator
from .transforms import (
    TARGET_REFERENCE,
    TRANSFORM_CONSTANTS,
    VIEW_SCALES,
    VIEWS,
    TargetTransform,
    ViewTransform,
    encode_conditioning,
)
from .unet import PatchGANDiscriminator, UNetGenerator, count_parameters, flops_per_map

__all__ = [
    "VIEWS",
    "VIEW_SCALES",
    "TARGET_REFERENCE",
    "TRANSFORM_CONSTANTS",
    "ViewTransform",
    "TargetTransform",
    "encode_conditioning",
    "UNetGenerator",
    "PatchGANDiscriminator",
    "count_parameters",
    "flops_per_map",
    "WEIGHTS_FORMAT",
    "load_generator",
]
