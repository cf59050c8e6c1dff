"""The head-region loss L_head: L1 on the eyes, mouth and ears pixels (supplementary §1.3, TRAINING_FACTS §2.4).

``loss = sum_r w_r * mean over B x 3 x H x W of |pred * M_r - target * M_r|`` for the regions r = eyes,
mouth, ears, where ``M_r (B, 1, H, W)`` is the sum of a face parser's soft class probabilities over
the region's classes, computed on the ground truth and detached here. The means run over the whole
image, so small regions give small values (the release weighs each region by 500 in the pipeline).

Class ids: the release parses with the ibug RTNet 14-class model (defaults: eyes = brows + eyes
{2, 3, 4, 5}, mouth = {7, 8, 9} lips and inner mouth, ears = {11, 12}); the ``bisenet`` preset uses the
CelebAMask-HQ 19 classes of :mod:`emoportraits_plugins.face.bisenet` (eyes {2, 3, 4, 5}, mouth
{11, 12, 13}, ears {7, 8}). Not reproduced (release quirks): every item's mask broadcast over the
whole batch with the per-item terms summed (about ``B`` times this value), and the ears term of item
0 using the mouth mask.
"""

from __future__ import annotations

from typing import Any

import attrs
import torch
import torch.nn.functional as F
from torch import Tensor

from emoportraits_core import InputError, PortSpec
from emoportraits_core.interfaces import Loss
from emoportraits_core.validators import non_negative, positive

from ._common import SCALAR, image_spec, random_images, require_same_shape

__all__ = ["BISENET_REGIONS", "RTNET_REGIONS", "HeadRegionL1Config", "HeadRegionL1Loss"]

#: (eyes, mouth, ears) class ids of the ibug RTNet 14-class parser (the release).
RTNET_REGIONS = ((2, 3, 4, 5), (7, 8, 9), (11, 12))
#: (eyes, mouth, ears) class ids of BiSeNet on CelebAMask-HQ (19 classes).
BISENET_REGIONS = ((2, 3, 4, 5), (11, 12, 13), (7, 8))


@attrs.frozen
class HeadRegionL1Config:
    """Config of :class:`HeadRegionL1Loss` (defaults: the release's RTNet classes).

    Attributes:
        num_classes: channels of the parser's probability map (RTNet 14, BiSeNet 19).
        eyes, mouth, ears: class ids summed into each region's mask.
        region_weights: weights of the (eyes, mouth, ears) terms inside the loss.
        image_size: side of the inputs (declared ports and example inputs; any size runs).
    """

    num_classes: int = attrs.field(default=14, validator=positive)
    eyes: tuple[int, ...] = attrs.field(default=RTNET_REGIONS[0], validator=non_negative)
    mouth: tuple[int, ...] = attrs.field(default=RTNET_REGIONS[1], validator=non_negative)
    ears: tuple[int, ...] = attrs.field(default=RTNET_REGIONS[2], validator=non_negative)
    region_weights: tuple[float, float, float] = attrs.field(default=(1.0, 1.0, 1.0), validator=non_negative)
    image_size: int = attrs.field(default=512, validator=positive)

    def __attrs_post_init__(self) -> None:
        bad = [c for c in (*self.eyes, *self.mouth, *self.ears) if c >= self.num_classes]
        if bad:
            raise ValueError(f"class ids {bad} are not below num_classes={self.num_classes}")
        if len(self.region_weights) != 3:
            raise ValueError(f"region_weights are (eyes, mouth, ears), got {self.region_weights}")


class HeadRegionL1Loss(Loss):
    """Region-masked L1: ``pred``, ``target`` (B, 3, H, W) in [0, 1] and ``parsing`` (B, C, H', W') soft
    class probabilities of the target (detached; resized bilinearly to H x W if needed) -> () loss."""

    inputs = {"pred": "image", "target": "image", "parsing": "segmentation"}
    zero_on_identical = True

    def __init__(self, config: HeadRegionL1Config | None = None) -> None:
        super().__init__(config if config is not None else HeadRegionL1Config())

    def input_specs(self) -> dict[str, PortSpec]:
        s = self.config.image_size
        seg = PortSpec("segmentation", ("B", self.config.num_classes, s, s), (0.0, 1.0))
        return {"pred": image_spec(s), "target": image_spec(s), "parsing": seg}

    def output_specs(self) -> dict[str, PortSpec]:
        return {"loss": SCALAR}

    def example_inputs(
        self, batch: int = 2, *, generator: Any = None, dtype: Any = torch.float32, device: Any = "cpu"
    ) -> dict[str, Any]:
        s, c = self.config.image_size, self.config.num_classes
        logits = 3 * torch.randn(batch, c, s, s, generator=generator, dtype=dtype)
        return {
            "pred": random_images(batch, s, generator, dtype, device),
            "target": random_images(batch, s, generator, dtype, device),
            "parsing": logits.softmax(1).to(device),
        }

    def region_masks(self, parsing: Tensor) -> Tensor:
        """``parsing (B, C, H, W)`` -> ``(B, 3, H, W)``: the eyes, mouth and ears masks (detached)."""
        if parsing.dim() != 4 or parsing.shape[1] != self.config.num_classes:
            raise InputError(
                f"head_region_l1: 'parsing' must be (B, {self.config.num_classes}, H, W), got {tuple(parsing.shape)}"
            )
        p = parsing.detach()
        return torch.stack(
            [p[:, list(ids)].sum(1) for ids in (self.config.eyes, self.config.mouth, self.config.ears)], 1
        )

    def forward(self, pred: Tensor, target: Tensor, parsing: Tensor) -> Tensor:
        """() loss: the weighted sum of the three region L1 terms."""
        require_same_shape("head_region_l1", pred=pred, target=target)
        masks = self.region_masks(parsing).to(pred.dtype)
        if masks.shape[-2:] != pred.shape[-2:]:
            masks = F.interpolate(masks, size=pred.shape[-2:], mode="bilinear", align_corners=False)
        diff = (pred - target).unsqueeze(1) * masks.unsqueeze(2)  # (B, 3 regions, 3, H, W)
        per_region = diff.abs().mean((0, 2, 3, 4))  # (3,)
        weights = torch.tensor(self.config.region_weights, dtype=pred.dtype, device=pred.device)
        return (per_region * weights).sum()
