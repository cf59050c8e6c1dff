"""VGG-Face (Parkhi et al. 2015) features for the face perceptual loss, from the ``vgg_face_dag`` file.

Published layout: the ``vgg_face_dag.pth`` state dict of the widely used MatConvNet -> PyTorch
conversion (S. Albanie's "pytorch-mcn" models): ``conv1_1.weight`` ... ``conv5_3.bias`` (3x3
convolutions, VGG16 topology), ``fc6`` (25088 -> 4096), ``fc7``, ``fc8`` (2622 identities). The
network here is torchvision's VGG16 ``features`` sequence truncated after the last layer a loss reads
(default relu5_1, index 25), and the key map is explicit: ``conv{s}_{k}`` -> ``features.N`` at the
convolution's torchvision index; conv5_2, conv5_3 and the fully connected layers are unused.

Input: the release feeds ImageNet-normalised RGB in [0, 1] (not the VGG-Face mean of the original
Caffe model; TRAINING_FACTS §2.2), so :class:`VGGFaceFeatures` takes ImageNet-normalised images.
"""

from __future__ import annotations

from collections.abc import Sequence

from torch import Tensor

from ._frozen import FrozenNet
from ._vgg import VGG16_DEPTHS, conv_indices, tap, vgg_features
from .weights import KeyMap

__all__ = ["VGG16_RELU_X_1", "VGGFaceFeatures", "dag_conv_names"]

#: torchvision VGG16 indices of relu1_1, relu2_1, relu3_1, relu4_1, relu5_1 (the post-ReLU outputs of
#: conv1_1 ... conv5_1, which the release reads through its in-place ReLUs).
VGG16_RELU_X_1 = (1, 6, 11, 18, 25)


def dag_conv_names() -> list[str]:
    """``["conv1_1", "conv1_2", "conv2_1", ..., "conv5_3"]``: the convolutions in VGG16 order."""
    return [f"conv{s + 1}_{k + 1}" for s, depth in enumerate(VGG16_DEPTHS) for k in range(depth)]


class VGGFaceFeatures(FrozenNet):
    """Frozen VGG-Face trunk; ``forward(x (B, 3, H, W) ImageNet-normalised) -> [features at layers]``."""

    description = "VGG-Face (vgg_face_dag)"

    def __init__(
        self, layers: Sequence[int] = VGG16_RELU_X_1, channels: Sequence[int] = (64, 128, 256, 512, 512)
    ) -> None:
        super().__init__()
        self.layers = tuple(layers)
        self.features = vgg_features(VGG16_DEPTHS, channels, last=max(self.layers))

    def key_map(self) -> KeyMap:
        names = dag_conv_names()
        used = conv_indices(self.features)
        keys = {
            f"{names[j]}.{p}": f"features.{i}.{p}" for j, i in enumerate(used) for p in ("weight", "bias")
        }
        ignored = (*tuple(rf"{n}\.(weight|bias)" for n in names[len(used) :]), r"fc[678]\.(weight|bias)")
        return KeyMap("vgg_face_dag (conv1_1.weight ... fc8.bias)", keys, ignored)

    def forward(self, x: Tensor) -> list[Tensor]:
        """``x (B, 3, H, W)`` ImageNet-normalised -> the feature maps at ``layers``, in order."""
        return tap(self.features, x, self.layers)
