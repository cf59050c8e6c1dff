"""Deliberately broken losses and discriminators: each breaks the contract checks named in its ``breaks``.

Part of the catalogue in :mod:`emoportraits_conformance.broken_components`.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor, nn

from emoportraits_core import PortSpec
from emoportraits_core.interfaces import (
    Discriminator,
    Loss,
)

from ._broken_base import IMG as _IMG
from ._broken_base import Broken as _Broken

# -- losses and discriminators ----------------------------------------------------------------------------


class _TinyLoss(_Broken, Loss):
    inputs = {"pred": "image", "target": "image"}

    def input_specs(self) -> dict[str, PortSpec]:
        spec = PortSpec("image", _IMG, (0.0, 1.0))
        return {"pred": spec, "target": spec}

    def forward(self, pred: Tensor, target: Tensor) -> Tensor:
        return (pred - target).abs().mean()


class PerItemLoss(_TinyLoss):
    """Returns one value per batch item, (B,)."""

    breaks = ("loss_scalar",)
    registry_name = "broken_per_item_loss"

    def forward(self, pred: Tensor, target: Tensor) -> Tensor:
        return (pred - target).abs().mean((1, 2, 3))


class DetachedLoss(_TinyLoss):
    """Detaches its value from the inputs."""

    breaks = ("loss_differentiable",)
    registry_name = "broken_detached_loss"

    def forward(self, pred: Tensor, target: Tensor) -> Tensor:
        return super().forward(pred, target).detach()


class OffsetLoss(_TinyLoss):
    """Declares zero_on_identical but adds 0.1."""

    breaks = ("loss_zero_on_identical",)
    registry_name = "broken_offset_loss"
    zero_on_identical = True

    def forward(self, pred: Tensor, target: Tensor) -> Tensor:
        return super().forward(pred, target) + 0.1


class EuclideanLoss(_TinyLoss):
    """``sqrt(sum((pred - target)**2))``: 0 at pred = target, where its gradient is 0/0 = NaN."""

    breaks = ("loss_gradient_at_identical",)
    registry_name = "broken_euclidean_loss"
    zero_on_identical = True

    def forward(self, pred: Tensor, target: Tensor) -> Tensor:
        return ((pred - target) ** 2).sum().sqrt()


class CorrelationLoss(_TinyLoss):
    """``1 - ncc(pred, target)`` with no epsilon: NaN (0/0) for identical constant images."""

    breaks = ("loss_zero_on_identical", "loss_gradient_at_identical", "finite_outputs")
    registry_name = "broken_correlation_loss"
    zero_on_identical = True

    def forward(self, pred: Tensor, target: Tensor) -> Tensor:
        p, t = pred - pred.mean(), target - target.mean()
        return 1 - (p * t).sum() / ((p * p).sum() * (t * t).sum()).sqrt()


class _TinyDiscriminator(_Broken, Discriminator):
    def __init__(self, config: Any = None) -> None:
        super().__init__(config)
        self.conv = nn.Conv2d(3, 4, 3, padding=1)
        self.head = nn.Conv2d(4, 1, 1)

    def input_specs(self) -> dict[str, PortSpec]:
        return {"image": PortSpec("image", _IMG, (0.0, 1.0))}

    def forward(self, image: Tensor) -> dict[str, Any]:
        feat = torch.relu(self.conv(image))
        return {"scores": [self.head(feat)], "features": [[feat]]}


class TensorScoresDiscriminator(_TinyDiscriminator):
    """Returns the scores as one tensor and the features as a flat list."""

    breaks = ("discriminator_outputs",)
    registry_name = "broken_tensor_scores"

    def forward(self, image: Tensor) -> dict[str, Any]:
        out = super().forward(image)
        return {"scores": out["scores"][0], "features": out["features"][0]}


class DetachedInputDiscriminator(_TinyDiscriminator):
    """Detaches its input image: no adversarial gradient reaches the generator."""

    breaks = ("discriminator_input_gradient",)
    registry_name = "broken_detached_input"

    def forward(self, image: Tensor) -> dict[str, Any]:
        return super().forward(image.detach())
