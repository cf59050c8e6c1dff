"""What goes into each output picture: the result, pasted back, or side by side with its inputs."""

from __future__ import annotations

from collections.abc import Sequence

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
    result: Tensor,
    shown_inputs: Sequence[Tensor],
    source: SourceImage | None,
    *,
    paste: bool,
    side_by_side: bool,
) -> Tensor:
    """Output pictures for one batch.

    Args:
        result: ``(B, 3, S, S)`` animated crops in [0, 1].
        shown_inputs: the batch's image inputs as the model saw them (e.g. the driver crops,
            ``(B, 3, h, w)`` in [0, 1]); empty for drivers without pictures (a motion file).
        source: the prepared source (its whole picture, crop, box and mask), or None.
        paste: put the result back into the whole source picture (feathered by the head mask).
        side_by_side: ``source | inputs... | result`` along the width.

    Returns:
        ``(B, 3, H, W)`` float in [0, 1] on the CPU.
    """
    result = result.float().cpu()
    if paste and source is not None:
        result = paste_back(source.image, result, source.box, source.mask)
        if result.dim() == 3:
            result = result.unsqueeze(0)
    if not side_by_side:
        return result
    height, n = result.shape[-2], result.shape[0]
    panels = []
    if source is not None:
        src = source.image if paste else source.crop[0]
        panels.append(_fit_height(src.unsqueeze(0).float(), height).expand(n, -1, -1, -1))
    panels += [_fit_height(x.float().cpu(), height) for x in shown_inputs]
    return torch.cat([*panels, result], dim=-1)
