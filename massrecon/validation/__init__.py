"""Validation of mass maps: accuracy metrics and analytic baselines.

Nothing in the core of massrecon imports this subpackage.
"""

from .baselines import PowerLawBaseline, ScalingRelationBaseline
from .metrics import (
    interval_coverage,
    mass_metrics,
    pixel_metrics,
    profile_metrics,
    scatter_difference,
    summarize,
)

__all__ = [
    "pixel_metrics",
    "profile_metrics",
    "mass_metrics",
    "interval_coverage",
    "summarize",
    "scatter_difference",
    "ScalingRelationBaseline",
    "PowerLawBaseline",
]
