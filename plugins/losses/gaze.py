"""The gaze loss L_gaze: L1 between a gaze network's features of the eye patches (TRAINING_FACTS §2.3).

Steps (release): both images are resized to 224 (bicubic); an eye mask is drawn from the *driver's*
landmarks (:func:`.eyes.eye_mask`) and the generated image becomes ``mask * x_hat + (1 - mask) *
sg(x_hat)``, so that the gradient reaches the eye pixels only; eye patches 60 x 36 are cut from both
images with the driver's landmarks (:func:`.eyes.eye_patch_thetas`), each eye and its horizontal flip
(left and flipped right eye through the left trunk, right and flipped left through the right one;
one shared trunk for the ``forward_sum`` layout); the loss is ``sum_l w_l * mean |f_l(pred) -
f_l(target)|`` over the layers (1, 6, 11, 18, 25) with w = (1/32, 1/16, 1/8, 1/4, 1), the mean
running over the four patches of every item whose eyes are usable (eye width above ``min_eye_width``;
0 when no item is). Target features carry no gradient; the whole term runs in float32 under autocast
(``full_precision``), as released.

Weights: the gaze model file (``vgg_16_2_forward_sum`` in the release), see
:mod:`emoportraits_plugins.lossnets.gaze_vgg16` for the two layouts read.
"""

from __future__ import annotations

from typing import Any

import attrs
import torch
import torch.nn.functional as F
from torch import Tensor

from emoportraits_core import PortSpec
from emoportraits_core.normalize import imagenet_normalize
from emoportraits_core.validators import non_negative, positive

from ..lossnets import GAZE_LAYERS, GazeLayout, GazeVGG16
from ._common import ImagePairLoss, require_same_shape
from .eyes import eye_mask, eye_patch_thetas, eye_patches
from .landmarks import template_landmarks

__all__ = ["GazeConfig", "GazeLoss"]


@attrs.frozen
class GazeConfig:
    """Config of :class:`GazeLoss` (defaults: the release).

    Attributes:
        weights: path of the gaze model's weights; "" = fixed-seed random weights (tests only).
        layout: published layout of ``weights``: ``"forward_sum"`` or ``"rt_gene"``.
        layers: ``features`` indices of the eye trunk that are compared.
        layer_weights: one weight per layer.
        resize: side the images are resized to (bicubic) first; 0 = keep.
        patch_size: eye patch (width, height).
        mask_kernel: dilation and blur window of the eye mask (pixels at the resized size).
        normalize: ImageNet-normalise the patches (RT-GENE's own models expect it; the release's
            estimator feeds [0, 1] patches).
        min_eye_width: eyes narrower than this (normalised units) make the item unusable.
        channels: VGG stage widths (the published weights need the default).
        image_size: side of the input images (declared ports and example inputs; any size runs).
    """

    weights: str = ""
    layout: GazeLayout = "forward_sum"
    layers: tuple[int, ...] = attrs.field(default=GAZE_LAYERS, validator=non_negative)
    layer_weights: tuple[float, ...] = attrs.field(
        default=(1 / 32, 1 / 16, 1 / 8, 1 / 4, 1.0), validator=non_negative
    )
    resize: int = attrs.field(default=224, validator=non_negative)
    patch_size: tuple[int, int] = attrs.field(default=(60, 36), validator=positive)
    mask_kernel: int = attrs.field(default=5, validator=positive)
    normalize: bool = False
    min_eye_width: float = attrs.field(default=1e-3, validator=non_negative)
    channels: tuple[int, ...] = attrs.field(default=(64, 128, 256, 512, 512), validator=positive)
    image_size: int = attrs.field(default=512, validator=positive)

    def __attrs_post_init__(self) -> None:
        if len(self.layers) != len(self.layer_weights) or not self.layers:
            raise ValueError(
                f"layers {self.layers} and layer_weights {self.layer_weights} must match in length"
            )
        if len(self.patch_size) != 2:
            raise ValueError(f"patch_size is (width, height), got {self.patch_size}")


class GazeLoss(ImagePairLoss):
    """Gaze-feature L1 on eye patches: ``pred``, ``target`` (B, 3, H, W) in [0, 1] and the driver's
    ``landmarks`` (B, 68, 3) (normalised, see :mod:`.landmarks`) -> () loss."""

    inputs = {"pred": "image", "target": "image", "landmarks": "landmarks"}
    zero_on_identical = True
    full_precision = True

    def __init__(self, config: GazeConfig | None = None) -> None:
        config = config if config is not None else GazeConfig()
        super().__init__(config)
        self.gaze = GazeVGG16.create(
            config.weights, layout=config.layout, layers=config.layers, channels=config.channels
        )

    def input_specs(self) -> dict[str, PortSpec]:
        return {**super().input_specs(), "landmarks": PortSpec("landmarks", ("B", 68, 3))}

    def example_inputs(
        self, batch: int = 2, *, generator: Any = None, dtype: Any = torch.float32, device: Any = "cpu"
    ) -> dict[str, Any]:
        landmarks = template_landmarks(batch, generator=generator, dtype=dtype, device=device)
        return {
            **super().example_inputs(batch, generator=generator, dtype=dtype, device=device),
            "landmarks": landmarks,
        }

    def _embed(self, left: Tensor, right: Tensor) -> list[Tensor]:
        """Features per layer of the four patches per item, ``(4B, C, h, w)`` each: left, flipped left,
        right, flipped right (as the release concatenates them)."""
        if self.config.normalize:
            left, right = imagenet_normalize(left), imagenet_normalize(right)
        dtype = self.gaze.dtype
        a, b = self.gaze(
            torch.cat([left, right.flip(-1)]).to(dtype), torch.cat([right, left.flip(-1)]).to(dtype)
        )
        n = left.shape[0]
        return [torch.cat([fa[:n], fb[n:], fb[:n], fa[n:]]) for fa, fb in zip(a, b)]

    def forward(self, pred: Tensor, target: Tensor, landmarks: Tensor) -> Tensor:
        """() loss; the gradient w.r.t. ``pred`` is zero outside the (dilated, blurred) eye regions."""
        require_same_shape("gaze", pred=pred, target=target)
        out_dtype = pred.dtype
        work = torch.promote_types(pred.dtype, torch.float32)
        pred, target, landmarks = pred.to(work), target.to(work), landmarks.detach().to(work)
        size = self.config.resize
        if size and tuple(pred.shape[-2:]) != (size, size):
            pred = F.interpolate(pred, size=(size, size), mode="bicubic", align_corners=False)
            target = F.interpolate(target, size=(size, size), mode="bicubic", align_corners=False)
        mask = eye_mask(landmarks, pred.shape[-1], self.config.mask_kernel)
        pred = pred.detach() + mask * (pred - pred.detach())  # = pred; gradient masked
        thetas, widths = eye_patch_thetas(landmarks, self.config.patch_size)
        usable = (widths > self.config.min_eye_width).all(1).to(work)  # (B,)
        with torch.no_grad():
            wanted = self._embed(*eye_patches(target, thetas, self.config.patch_size))
        got = self._embed(*eye_patches(pred, thetas, self.config.patch_size))
        b = pred.shape[0]
        total = pred.new_zeros(())
        for w, fa, fb in zip(self.config.layer_weights, got, wanted):
            diff = (fa.to(work) - fb.to(work)).abs().view(4, b, -1).mean((0, 2))  # (B,) per item
            total = total + w * (diff * usable).sum() / usable.sum().clamp(min=1.0)
        return total.to(out_dtype)
