"""Plain L1 losses of the speech mode (supplementary section 2.3): ``image_l1`` (L_L1 of L_idt, the
prediction against the ground-truth frame) and ``latent_l1`` (L_vtr of L_latent, E_aud's latents
against the motion encoder's).

``loss = mean |pred - target|`` over every element; the weights (10 and 5 in the paper) live in the
pipeline. Neither input is detached: a pipeline feeds its targets from nodes without gradients.
"""

from __future__ import annotations

from typing import Any

import attrs
import torch
from torch import Tensor

from emoportraits_core import PortSpec
from emoportraits_core.interfaces import Loss
from emoportraits_core.validators import positive

from ..losses._common import SCALAR, ImagePairLoss, l1, require_same_shape

__all__ = ["ImageL1Config", "ImageL1Loss", "LatentL1Config", "LatentL1Loss"]


@attrs.frozen
class ImageL1Config:
    """``image_size``: side of the inputs (declared ports and example inputs; any size runs)."""

    image_size: int = attrs.field(default=512, validator=positive)


class ImageL1Loss(ImagePairLoss):
    """``pred``, ``target`` (B, 3, S, S) in [0, 1] -> () ``mean |pred - target|``."""

    zero_on_identical = True

    def __init__(self, config: ImageL1Config | None = None) -> None:
        super().__init__(config if config is not None else ImageL1Config())

    def forward(self, pred: Tensor, target: Tensor) -> Tensor:
        require_same_shape("image_l1", pred=pred, target=target)
        return l1(pred, target)


@attrs.frozen
class LatentL1Config:
    """``dim``: D, the size of the latents (128 release, 16 tiny)."""

    dim: int = attrs.field(default=128, validator=positive)


class LatentL1Loss(Loss):
    """``pred``, ``target`` latents (B, ..., D) -> () ``mean |pred - target|``."""

    inputs = {"pred": "descriptor", "target": "descriptor"}
    zero_on_identical = True

    def __init__(self, config: LatentL1Config | None = None) -> None:
        super().__init__(config if config is not None else LatentL1Config())

    def input_specs(self) -> dict[str, PortSpec]:
        spec = PortSpec("descriptor", ("B", ..., self.config.dim))
        return {"pred": spec, "target": spec}

    def output_specs(self) -> dict[str, PortSpec]:
        return {"loss": SCALAR}

    def example_inputs(
        self, batch: int = 2, *, generator: Any = None, dtype: Any = torch.float32, device: Any = "cpu"
    ) -> dict[str, Tensor]:
        """Standard-normal ``pred`` and ``target`` ``(B, D)``."""
        kw: dict[str, Any] = {"generator": generator, "dtype": dtype}
        return {k: torch.randn(batch, self.config.dim, **kw).to(device) for k in ("pred", "target")}

    def forward(self, pred: Tensor, target: Tensor) -> Tensor:
        require_same_shape("latent_l1", pred=pred, target=target)
        return l1(pred, target)
