"""The gaze-estimation VGG16 whose eye-patch features the gaze loss compares (RT-GENE style).

The release's gaze network is a VGG16 eye-patch encoder from an RT-GENE-derived gaze estimator
(Fischer et al., ECCV 2018), file ``vgg_16_2_forward_sum`` (TRAINING_FACTS §2.3); the loss reads the
trunk's outputs at torchvision ``features`` indices (1, 6, 11, 18, 25). Two published layouts are read:

``"forward_sum"`` (default; the layout of the "forward sum" gaze model whose name the release's file
    carries, as published in RT-GENE-derived code: one eye encoder shared by both eyes whose
    encodings are summed): a ``vgg16_bn`` trunk stored as ``eyes_encoder.new_first.*`` (the first
    convolution) and ``eyes_encoder.sub_model.{N-1}.*`` (torchvision ``features`` index ``N`` >= 1,
    BatchNorm running statistics included); unused: ``eyes_encoder.classifier.*``,
    ``eyes_encoder.linear.*``, ``keypoints_encoder.*``, ``final_model*.*``.
``"rt_gene"``: RT-GENE's own PyTorch ``GazeEstimationModelVGG`` (Tobias-Fischer/rt_gene,
    ``gaze_model_pytorch_vgg16_*.model``): two plain ``vgg16`` trunks, ``left_features.N.*`` for the
    left eye and ``right_features.N.*`` for the right; unused: ``xl.*``, ``xr.*``, ``concat.*``, ``fc.*``.

Either way the network here holds ``left`` (and, for ``rt_gene``, ``right``): torchvision-indexed
``features`` sequences truncated after the last layer read. Input: eye patches ``(B, 3, 36, 60)``
(H x W); whether they are ImageNet-normalised is the loss's choice (``normalize``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

from torch import Tensor, nn

from ._frozen import FrozenNet
from ._vgg import VGG16_DEPTHS, tap, vgg_features
from .weights import KeyMap

__all__ = ["GAZE_LAYERS", "GazeLayout", "GazeVGG16"]

GazeLayout = Literal["forward_sum", "rt_gene"]
#: torchvision ``features`` indices the release reads.
GAZE_LAYERS = (1, 6, 11, 18, 25)


def _weighted(features: nn.Sequential) -> dict[int, list[str]]:
    """Index -> tensor names of the modules holding weights (convs; BatchNorms with their statistics)."""
    out: dict[int, list[str]] = {}
    for i, m in enumerate(features):
        if isinstance(m, nn.Conv2d):
            out[i] = ["weight", "bias"]
        elif isinstance(m, nn.BatchNorm2d):
            out[i] = ["weight", "bias", "running_mean", "running_var"]
    return out


class GazeVGG16(FrozenNet):
    """Frozen eye-patch VGG16 trunk(s); ``forward(left, right) -> (left features, right features)``."""

    description = "gaze VGG16 (RT-GENE style)"

    def __init__(
        self,
        layout: GazeLayout = "forward_sum",
        layers: Sequence[int] = GAZE_LAYERS,
        channels: Sequence[int] = (64, 128, 256, 512, 512),
    ) -> None:
        super().__init__()
        if layout not in ("forward_sum", "rt_gene"):
            raise ValueError(f"unknown gaze layout '{layout}'; valid: forward_sum, rt_gene")
        self.layout = layout
        self.layers = tuple(layers)
        batch_norm = layout == "forward_sum"
        self.left = vgg_features(VGG16_DEPTHS, channels, batch_norm=batch_norm, last=max(self.layers))
        self.right = (
            vgg_features(VGG16_DEPTHS, channels, batch_norm=batch_norm, last=max(self.layers))
            if layout == "rt_gene"
            else None
        )

    def key_map(self) -> KeyMap:
        keys: dict[str, str] = {}
        full = vgg_features(VGG16_DEPTHS, (1,) * 5, batch_norm=self.layout == "forward_sum")
        if self.layout == "forward_sum":
            for i, names in _weighted(self.left).items():
                prefix = "eyes_encoder.new_first" if i == 0 else f"eyes_encoder.sub_model.{i - 1}"
                keys |= {f"{prefix}.{n}": f"left.{i}.{n}" for n in names}
            unused = [i for i in _weighted(full) if i >= len(self.left)]
            ignored = (
                *tuple(rf"eyes_encoder\.sub_model\.{i - 1}\..*" for i in unused),
                r"eyes_encoder\.(classifier|linear)\..*",
                r"keypoints_encoder\..*",
                r"final_model(_blink)?\..*",
            )
            return KeyMap(
                "forward_sum gaze model (eyes_encoder.new_first, eyes_encoder.sub_model.N)", keys, ignored
            )
        for side in ("left", "right"):
            for i, names in _weighted(self.left).items():
                keys |= {f"{side}_features.{i}.{n}": f"{side}.{i}.{n}" for n in names}
        unused = [i for i in _weighted(full) if i >= len(self.left)]
        ignored = (*tuple(rf"(left|right)_features\.{i}\..*" for i in unused), r"(xl|xr|concat|fc)\..*")
        return KeyMap("RT-GENE GazeEstimationModelVGG (left_features.N, right_features.N)", keys, ignored)

    def forward(self, left: Tensor, right: Tensor) -> tuple[list[Tensor], list[Tensor]]:
        """Eye patches ``(N, 3, h, w)`` -> their feature maps at ``layers``: left ones through the left
        trunk, right ones through the right trunk (the shared one for ``forward_sum``)."""
        right_net = self.left if self.right is None else self.right
        return tap(self.left, left, self.layers), tap(right_net, right, self.layers)
