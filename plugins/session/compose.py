"""What goes into each output frame: the result, pasted back, or side by side with its inputs."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

from ..face.paste_back import paste_back
from ..face.source import SourceImage

__all__ = ["compose_frames"]


def _fit_height(images: Tensor, height: int) -> Tensor:
    """Resize ``(B, 3, h, w)`` to height ``height`` keeping the aspect ratio (bilinear)."""
    if images.shape[-2] == height:
        return images
    width = max(1, round(images.shape[-1] * height / images.shape[-2]))
    return F.interpolate(images, size=(height, width), mode="bilinear", align_corners=False, antialias=True)


def compose_frames(
    result: Tensor, driver: Tensor, source: SourceImage, *, paste: bool, side_by_side: bool
) -> Tensor:
    """Output frames for one batch.

    Args:
        result: ``(B, 3, S, S)`` animated crops in [0, 1].
        driver: ``(B, 3, S, S)`` driver crops in [0, 1] (the driver as the model saw it).
        source: the prepared source (its whole picture, crop, box and mask).
        paste: put the result back into the whole source picture (feathered by the head mask).
        side_by_side: ``source | driver | result`` along the width.

    Returns:
        ``(B, 3, H, W)`` float in [0, 1] on the CPU.
    """
    result = result.float().cpu()
    if paste:
        result = paste_back(source.image, result, source.box, source.mask)
        if result.dim() == 3:
            result = result.unsqueeze(0)
    if not side_by_side:
        return result
    height = result.shape[-2]
    src = source.image if paste else source.crop[0]
    src = _fit_height(src.unsqueeze(0).float(), height).expand(result.shape[0], -1, -1, -1)
    drv = _fit_height(driver.float().cpu(), height)
    return torch.cat([src, drv, result], dim=-1)
