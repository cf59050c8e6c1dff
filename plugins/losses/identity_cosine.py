"""Identity preservation on the cross-reenacted image (release-only; TRAINING_FACTS §2.9).

``loss = mean_k (1 - cos(f(pred_k), sg(f(target_k))))`` with ``f`` the SENet50-VGGFace2 embedding
(:class:`~emoportraits_plugins.lossnets.SENet50`: input x 255, BGR, minus the VGGFace2 mean) of face
crops resized to ``input_size`` (244 in the release, bilinear). Inputs are face crops already aligned
by the training step, each by its own image's regressed pose: in the release ``pred`` is the crop of
the mixing image x_hat_mix_k (source k's identity, item k-1's expression) and ``target`` the crop of
the driver x_d_k, which has source k's identity. The cosine is the zero-safe one of
:func:`._common.cosine` (exactly 0 loss on identical inputs).

Weights: VGGFace2-pytorch's ``senet50_ft_weight.pkl`` (or a torch/safetensors copy), see
:mod:`emoportraits_plugins.lossnets.senet50`.
"""

from __future__ import annotations

import attrs
import torch
import torch.nn.functional as F
from torch import Tensor

from emoportraits_core.validators import non_negative, positive

from ..lossnets import SENet50
from ._common import (
    ImagePairLoss,
    cosine,
    require_same_shape,
)

__all__ = ["IdentityCosineConfig", "IdentityCosineLoss"]


@attrs.frozen
class IdentityCosineConfig:
    """Config of :class:`IdentityCosineLoss` (defaults: the release).

    Attributes:
        weights: path of the SENet50 VGGFace2 weights; "" = fixed-seed random weights (tests only).
        input_size: side the crops are resized to (bilinear); 0 = keep.
        bgr: feed BGR (the published Caffe-converted weights' order) instead of RGB.
        layers, widths, stem_channels: SENet trunk (the published weights need the defaults).
        crop_size: side of the input crops (declared ports and example inputs; any size runs).
    """

    weights: str = ""
    input_size: int = attrs.field(default=244, validator=non_negative)
    bgr: bool = True
    layers: tuple[int, ...] = attrs.field(default=(3, 4, 6, 3), validator=positive)
    widths: tuple[int, ...] = attrs.field(default=(64, 128, 256, 512), validator=positive)
    stem_channels: int = attrs.field(default=64, validator=positive)
    crop_size: int = attrs.field(default=128, validator=positive)


class IdentityCosineLoss(ImagePairLoss):
    """``1 - cos`` of SENet50 embeddings of aligned crops ``pred``, ``target`` (B, 3, S, S) in [0, 1]."""

    side_field = "crop_size"
    zero_on_identical = True

    def __init__(self, config: IdentityCosineConfig | None = None) -> None:
        config = config if config is not None else IdentityCosineConfig()
        super().__init__(config)
        self.senet = SENet50.create(
            config.weights,
            layers=config.layers,
            widths=config.widths,
            stem_channels=config.stem_channels,
            bgr=config.bgr,
        )

    def embed(self, crops: Tensor) -> Tensor:
        """``crops (B, 3, S, S)`` in [0, 1] -> ``(B, E)`` identity embeddings."""
        size = self.config.input_size
        if size and tuple(crops.shape[-2:]) != (size, size):
            crops = F.interpolate(crops, size=(size, size), mode="bilinear", align_corners=False)
        return self.senet(crops.to(self.senet.dtype))

    def forward(self, pred: Tensor, target: Tensor) -> Tensor:
        require_same_shape("identity_cosine", pred=pred, target=target)
        with torch.no_grad():
            wanted = self.embed(target)
        return (1 - cosine(self.embed(pred), wanted)).mean().to(pred.dtype)
