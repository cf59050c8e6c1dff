"""ImageNet normalisation, written once (the backbones, the face parser and the perceptual losses use it).

Images in this project are ``(B, 3, H, W)`` RGB in ``[0, 1]``; networks pre-trained on ImageNet
expect ``(x - mean) / std`` per channel with the statistics below (torchvision's values).
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

__all__ = ["IMAGENET_MEAN", "IMAGENET_STD", "ImageNetNormalize", "imagenet_normalize"]

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


def imagenet_normalize(images: Tensor) -> Tensor:
    """``images (B, 3, H, W)`` in [0, 1] -> ``(images - mean) / std``, in the images' dtype and device."""
    mean = torch.tensor(IMAGENET_MEAN, dtype=images.dtype, device=images.device).view(1, 3, 1, 1)
    std = torch.tensor(IMAGENET_STD, dtype=images.dtype, device=images.device).view(1, 3, 1, 1)
    return (images - mean) / std


class ImageNetNormalize(nn.Module):
    """:func:`imagenet_normalize` as a module whose ``mean`` / ``std`` are ``(1, 3, 1, 1)``
    non-persistent buffers (not in the state dict; they follow ``.to(device, dtype)``)."""

    def __init__(self) -> None:
        super().__init__()
        self.register_buffer("mean", torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(IMAGENET_STD).view(1, 3, 1, 1), persistent=False)

    def forward(self, x: Tensor) -> Tensor:
        return (x - self.mean) / self.std
