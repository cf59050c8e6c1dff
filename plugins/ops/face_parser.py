"""``face_parser``: a frozen face parser's soft class probabilities, for the head-region L1 loss.

The network is BiSeNet on CelebAMask-HQ (19 classes, :mod:`emoportraits_plugins.face.bisenet`), read
from ``weights`` (zllrunning/face-parsing.PyTorch's ``79999_iter.pth``) or, with no file, drawn at
random from a fixed seed with a one-time warning (tests and smoke runs). It is frozen: its tensors
are non-persistent buffers (no optimizer sees them, no checkpoint holds them) and it always runs in
eval mode, by default without gradients; ``grad = true`` lets gradients flow through it to its
input image (the speech mode's mouth-mask BCE on the prediction), its weights staying frozen. The
release parses with the ibug RTNet 14-class model, whose weights are not public in a loadable form
here; the ``bisenet`` preset of ``head_region_l1`` names the BiSeNet classes of the same regions.

``image (B, 3, S, S)`` in [0, 1] -> resized to ``input_size`` (bilinear), ImageNet-normalised ->
main-head logits -> softmax -> resized back to ``S`` -> ``parsing (B, 19, S, S)``, summing to 1 over
the classes.
"""

from __future__ import annotations

import contextlib

import attrs
import torch
import torch.nn.functional as F
from torch import Tensor

from emoportraits_core import Component, PortSpec
from emoportraits_core.normalize import imagenet_normalize
from emoportraits_core.validators import positive

from ..face.bisenet import CLASS_NAMES, BiSeNet
from ..face.masks import load_bisenet
from ..lossnets._frozen import RANDOM_SEED, _random_init, freeze, warn_once

__all__ = ["FaceParser", "FaceParserConfig"]


@attrs.frozen
class FaceParserConfig:
    """``weights``: BiSeNet face-parsing weights file (empty: random, warned); ``image_size``: S of the
    inputs (declared ports); ``input_size``: the side the parser runs at (512 as it was trained);
    ``grad``: back-propagate to the input image (the weights stay frozen)."""

    weights: str = ""
    image_size: int = attrs.field(default=512, validator=positive)
    input_size: int = attrs.field(default=512, validator=positive)
    grad: bool = False


class FaceParser(Component):
    """``image (B, 3, S, S)`` in [0, 1] -> ``parsing (B, 19, S, S)`` class probabilities (frozen BiSeNet)."""

    kind = "op"
    inputs = {"image": "image"}
    outputs = {"parsing": "segmentation"}

    def __init__(self, config: FaceParserConfig) -> None:
        super().__init__(config)
        if config.weights:
            net = load_bisenet(config.weights)
        else:
            net = BiSeNet(len(CLASS_NAMES))
            _random_init(net, RANDOM_SEED)
            warn_once(
                "BiSeNet",
                "BiSeNet face parser: no weights file configured, using random weights (only for "
                "tests and smoke runs; set the face_parser's 'weights' to 79999_iter.pth)",
            )
        self.net = freeze(net)

    def train(self, mode: bool = True) -> FaceParser:
        """Ignore ``mode``: the parser always runs in eval mode."""
        return super().train(False)

    def input_specs(self) -> dict[str, PortSpec]:
        s = self.config.image_size
        return {"image": PortSpec("image", ("B", 3, s, s), (0.0, 1.0))}

    def output_specs(self) -> dict[str, PortSpec]:
        s = self.config.image_size
        return {"parsing": PortSpec("segmentation", ("B", len(CLASS_NAMES), s, s), (0.0, 1.0))}

    def forward(self, image: Tensor) -> Tensor:
        with contextlib.nullcontext() if self.config.grad else torch.no_grad():
            return self._parse(image)

    def _parse(self, image: Tensor) -> Tensor:
        size = image.shape[-2:]
        x = image.to(next(self.net.buffers()).dtype)
        if x.shape[-1] != self.config.input_size:
            x = F.interpolate(x, size=self.config.input_size, mode="bilinear", align_corners=False)
        probs = self.net(imagenet_normalize(x))[0].softmax(1)
        if probs.shape[-2:] != size:
            probs = F.interpolate(probs, size=size, mode="bilinear", align_corners=False)
        return probs.to(image.dtype)
