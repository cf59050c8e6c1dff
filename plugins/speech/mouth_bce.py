"""``mouth_parsing_bce``: L_BCE of the speech mode's L_mouth (supplementary section 2.3): the face
parser's upper-lip, lower-lip and inner-mouth masks of the prediction against those of the ground
truth, by binary cross-entropy (weight 5e3 in the paper, in the pipeline).

``pred`` and ``target`` are the parser's soft class probabilities (``face_parser``; on the prediction
with ``grad = true`` so that gradients reach the image). For each class c of ``classes`` the mask is
that class's probability; ``loss = mean over c, B, H, W of -(q log p + (1 - q) log(1 - p))`` with p
the prediction's mask, q the truth's (soft, detached), ``p`` clamped to ``[eps, 1 - eps]``. Which parser
and which masks the paper used is not published beyond "FaceParsing" and the three regions; the
defaults are BiSeNet's CelebAMask-HQ ids (mouth 11, u_lip 12, l_lip 13). Computed in float32. BCE of
two equal soft masks is their entropy, not 0, so the loss does not declare ``zero_on_identical``.
"""

from __future__ import annotations

from typing import Any

import attrs
import torch
from torch import Tensor

from emoportraits_core import InputError, PortSpec
from emoportraits_core.interfaces import Loss
from emoportraits_core.validators import in_range, non_negative, positive

from ..losses._common import SCALAR, require_same_shape

__all__ = ["MOUTH_CLASSES", "MouthParsingBCEConfig", "MouthParsingBCELoss"]

#: BiSeNet (CelebAMask-HQ) ids of the inner mouth, the upper lip and the lower lip.
MOUTH_CLASSES = (11, 12, 13)


@attrs.frozen
class MouthParsingBCEConfig:
    """Config of :class:`MouthParsingBCELoss`.

    Attributes:
        num_classes: channels of the parser's probabilities (BiSeNet 19).
        classes: the class ids whose masks are compared.
        eps: the clamp of the predicted probabilities (finite logs and gradients).
        image_size: side of the inputs (declared ports and example inputs; any size runs).
    """

    num_classes: int = attrs.field(default=19, validator=positive)
    classes: tuple[int, ...] = attrs.field(default=MOUTH_CLASSES, validator=non_negative)
    eps: float = attrs.field(default=1e-6, validator=in_range(1e-12, 0.1))
    image_size: int = attrs.field(default=512, validator=positive)

    def __attrs_post_init__(self) -> None:
        bad = [c for c in self.classes if c >= self.num_classes]
        if bad or not self.classes:
            raise ValueError(
                f"classes {list(self.classes)} must be non-empty ids below num_classes={self.num_classes}"
            )


class MouthParsingBCELoss(Loss):
    """``pred``, ``target`` (B, C, H, W) class probabilities -> () mean BCE of the mouth-class masks."""

    inputs = {"pred": "segmentation", "target": "segmentation"}

    def __init__(self, config: MouthParsingBCEConfig | None = None) -> None:
        super().__init__(config if config is not None else MouthParsingBCEConfig())

    def input_specs(self) -> dict[str, PortSpec]:
        s, c = self.config.image_size, self.config.num_classes
        spec = PortSpec("segmentation", ("B", c, s, s), (0.0, 1.0))
        return {"pred": spec, "target": spec}

    def output_specs(self) -> dict[str, PortSpec]:
        return {"loss": SCALAR}

    def example_inputs(
        self, batch: int = 2, *, generator: Any = None, dtype: Any = torch.float32, device: Any = "cpu"
    ) -> dict[str, Tensor]:
        """Softmax of random logits ``(B, C, S, S)`` for each input."""
        s, c = self.config.image_size, self.config.num_classes
        kw: dict[str, Any] = {"generator": generator, "dtype": dtype}
        return {k: (3 * torch.randn(batch, c, s, s, **kw)).softmax(1).to(device) for k in ("pred", "target")}

    def forward(self, pred: Tensor, target: Tensor) -> Tensor:
        require_same_shape("mouth_parsing_bce", pred=pred, target=target)
        if pred.dim() != 4 or pred.shape[1] != self.config.num_classes:
            raise InputError(
                f"mouth_parsing_bce: inputs must be (B, {self.config.num_classes}, H, W) class probabilities, "
                f"got {tuple(pred.shape)}"
            )
        ids, eps = list(self.config.classes), self.config.eps
        p = pred[:, ids].float().clamp(eps, 1 - eps)
        q = target[:, ids].detach().float()
        bce = -(q * p.log() + (1 - q) * (1 - p).log())
        return bce.mean().to(pred.dtype)
