"""Building blocks shared by the EMOPortraits networks (one concept per module)."""

from .adaptive_group_norm import AdaptiveGroupNorm
from .low_rank_projector import LowRankProjector
from .res_block import ResBlock
from .spectral_norm import spectral_norm_, spectral_normalize
from .weight_standardization import WeightStandardization, standardize_weight, weight_standardize_

__all__ = [
    "AdaptiveGroupNorm",
    "LowRankProjector",
    "ResBlock",
    "WeightStandardization",
    "spectral_norm_",
    "spectral_normalize",
    "standardize_weight",
    "weight_standardize_",
]
