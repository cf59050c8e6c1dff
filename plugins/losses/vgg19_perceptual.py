"""The ImageNet perceptual loss L_IN: multi-scale L1 between VGG19 features (TRAINING_FACTS §2.1).

``loss = mean over scales s of sum_l w_l * mean |phi_l(x_hat_s) - phi_l(x_s)|``, with phi_l the VGG19
relu1_1 .. relu5_1 features of ImageNet-normalised images, w_l = 0.2, and the scales the input and its
bilinear x0.5 halvings (512, 256, 128, 64 in the release). Target features carry no gradient. The
release compares the generated image with the masked ground truth on green (the training step's
business) and runs this under fp16 autocast when the step enables it.

Weights: torchvision's ``vgg19`` state dict (``vgg19-dcbb9e9d.pth``), see
:mod:`emoportraits_plugins.lossnets.vgg19`.
"""

from __future__ import annotations

import attrs
from torch import Tensor

from emoportraits_core.normalize import imagenet_normalize
from emoportraits_core.validators import non_negative, positive

from ..lossnets import VGG19_RELU_X_1, VGG19Features
from ._common import (
    ImagePairLoss,
    check_layer_weights,
    pyramid_feature_l1,
    require_same_shape,
)

__all__ = ["VGG19PerceptualConfig", "VGG19PerceptualLoss"]


@attrs.frozen
class VGG19PerceptualConfig:
    """Config of :class:`VGG19PerceptualLoss` (defaults: the release).

    Attributes:
        weights: path of torchvision's VGG19 state dict; "" = fixed-seed random weights (tests only).
        layers: torchvision ``features`` indices read (relu1_1 .. relu5_1).
        layer_weights: one weight per layer.
        num_scales: the input and its ``num_scales - 1`` bilinear halvings; the terms are averaged.
        channels: VGG stage widths (the published weights need the default).
        image_size: side of the input images (declared ports and example inputs; any size runs).
    """

    weights: str = ""
    layers: tuple[int, ...] = attrs.field(default=VGG19_RELU_X_1, validator=non_negative)
    layer_weights: tuple[float, ...] = attrs.field(default=(0.2, 0.2, 0.2, 0.2, 0.2), validator=non_negative)
    num_scales: int = attrs.field(default=4, validator=positive)
    channels: tuple[int, ...] = attrs.field(default=(64, 128, 256, 512, 512), validator=positive)
    image_size: int = attrs.field(default=512, validator=positive)

    def __attrs_post_init__(self) -> None:
        check_layer_weights(self.layers, self.layer_weights)


class VGG19PerceptualLoss(ImagePairLoss):
    """Multi-scale VGG19 L1 between ``pred`` and ``target`` (B, 3, H, W) in [0, 1] -> () loss."""

    zero_on_identical = True

    def __init__(self, config: VGG19PerceptualConfig | None = None) -> None:
        config = config if config is not None else VGG19PerceptualConfig()
        super().__init__(config)
        self.vgg = VGG19Features.create(config.weights, layers=config.layers, channels=config.channels)

    def _features(self, x: Tensor) -> list[Tensor]:
        return self.vgg(imagenet_normalize(x).to(self.vgg.dtype))

    def forward(self, pred: Tensor, target: Tensor) -> Tensor:
        """``pred``, ``target`` (B, 3, H, W) in [0, 1] -> () loss (target features without gradient)."""
        require_same_shape("vgg19_perceptual", pred=pred, target=target)
        c = self.config
        return pyramid_feature_l1(self._features, pred, target, c.layer_weights, c.num_scales)
