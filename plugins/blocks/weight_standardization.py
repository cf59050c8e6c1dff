"""Weight standardisation (Qiao et al. 2019), as the release computes it.

``w <- (w - mean(w)) / (std(w) + eps)`` per output channel, mean and (unbiased) std over all other
dims, eps = 1e-5. At inference the standardised weight is a constant, so converted checkpoints
store it already applied; :class:`WeightStandardization` is the training-time parametrisation.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn
from torch.nn.utils import parametrize

__all__ = ["WeightStandardization", "standardize_weight", "weight_standardize_"]


def standardize_weight(weight: Tensor, eps: float = 1e-5) -> Tensor:
    """``weight (C_out, ...)`` -> standardised weight of the same shape (computed in its dtype)."""
    flat = weight.reshape(weight.shape[0], -1)
    mean = flat.mean(dim=1, keepdim=True)
    std = flat.std(dim=1, keepdim=True)  # unbiased, as the release
    return ((flat - mean) / (std + eps)).reshape(weight.shape)


class WeightStandardization(nn.Module):
    """Parametrisation: ``module.weight`` is computed from ``parametrizations.weight.original``."""

    def __init__(self, eps: float = 1e-5) -> None:
        super().__init__()
        self.eps = eps

    def forward(self, weight: Tensor) -> Tensor:
        return standardize_weight(weight, self.eps)


def weight_standardize_(conv: nn.Module, eps: float = 1e-5) -> nn.Module:
    """Register weight standardisation on ``conv.weight`` in place; returns ``conv``."""
    with torch.no_grad():
        parametrize.register_parametrization(conv, "weight", WeightStandardization(eps))
    return conv
