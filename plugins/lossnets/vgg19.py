"""VGG19 features for the ImageNet perceptual loss, loaded from torchvision's published state dict.

Layout: torchvision's ``vgg19`` (``vgg19-dcbb9e9d.pth``): ``features.N.weight`` / ``features.N.bias``
for the convolutions at ``N`` in 0, 2, 5, 7, 10, 12, 14, 16, 19, 21, 23, 25, 28, 30, 32, 34, and
``classifier.{0,3,6}.*``. The network keeps torchvision's names up to the last layer a loss reads
(default relu5_1, index 29), so the key map is the identity on those keys; later convolutions and the
classifier are listed as unused. Input: ImageNet-normalised RGB (:mod:`emoportraits_core.normalize`).
"""

from __future__ import annotations

from collections.abc import Sequence

from torch import Tensor

from ._frozen import FrozenNet
from ._vgg import VGG19_DEPTHS, conv_indices, tap, vgg_features
from .weights import KeyMap

__all__ = ["VGG19_RELU_X_1", "VGG19Features"]

#: torchvision indices of relu1_1, relu2_1, relu3_1, relu4_1, relu5_1.
VGG19_RELU_X_1 = (1, 6, 11, 20, 29)


class VGG19Features(FrozenNet):
    """Frozen VGG19 trunk; ``forward(x (B, 3, H, W) ImageNet-normalised) -> [features at layers]``."""

    description = "VGG19 (torchvision, ImageNet)"

    def __init__(
        self, layers: Sequence[int] = VGG19_RELU_X_1, channels: Sequence[int] = (64, 128, 256, 512, 512)
    ) -> None:
        super().__init__()
        self.layers = tuple(layers)
        self.features = vgg_features(VGG19_DEPTHS, channels, last=max(self.layers))

    def key_map(self) -> KeyMap:
        keys = {
            f"features.{i}.{p}": f"features.{i}.{p}"
            for i in conv_indices(self.features)
            for p in ("weight", "bias")
        }
        used = set(conv_indices(self.features))
        unused = [i for i in conv_indices(vgg_features(VGG19_DEPTHS, (1,) * 5)) if i not in used]
        ignored = (
            *tuple(rf"features\.{i}\.(weight|bias)" for i in unused),
            r"classifier\.\d+\.(weight|bias)",
        )
        return KeyMap("torchvision VGG19 (features.N.weight, classifier.N.weight)", keys, ignored)

    def forward(self, x: Tensor) -> list[Tensor]:
        """``x (B, 3, H, W)`` ImageNet-normalised -> the feature maps at ``layers``, in order."""
        return tap(self.features, x, self.layers)
