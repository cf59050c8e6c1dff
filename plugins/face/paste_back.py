"""Put the animated 512 crop back into the full source picture (the inverse of :mod:`.crop`).

The crop is resized (bicubic, clamped) to the square it came from and blended in with a soft
weight, so no seam shows:

- with a ``mask`` (e.g. the head mask of the *generated* frame): the mask eroded by ``erode`` and
  blurred by a Gaussian of ``blur`` pixels (both in 512-crop pixels), so the pasted head fades out
  just inside its outline;
- without: a feathered square, 1 inside and easing (smoothstep) to 0 over the outer ``feather``
  fraction of the side.

The weight is resampled bilinearly to the square's size. Outside the square the source picture is
unchanged. (Where the source's own head is larger than the new one, its outline can still show
around the pasted head; no inpainting is attempted.)
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

from .crop import CropBox, resize_image

__all__ = ["blend_weight", "feathered_square", "paste_back", "soften_mask"]


def feathered_square(size: int, feather: float = 0.08) -> Tensor:
    """``(1, 1, size, size)`` weight: 1 inside, smoothstep to 0 over the outer ``feather`` * size."""
    ramp = max(feather * size, 1.0)
    d = torch.arange(size, dtype=torch.float32)
    edge = torch.minimum(d + 0.5, size - d - 0.5) / ramp  # distance to the border in ramps
    t = edge.clamp(0.0, 1.0)
    w1 = t * t * (3 - 2 * t)
    return (w1[:, None] * w1[None, :])[None, None]


def soften_mask(mask: Tensor, erode: int = 8, blur: float = 6.0) -> Tensor:
    """Erode a ``(B, 1, S, S)`` mask in [0, 1] by ``erode`` pixels and blur it (Gaussian sigma ``blur``)."""
    m = mask.float()
    if erode > 0:
        m = -F.max_pool2d(-m, kernel_size=2 * erode + 1, stride=1, padding=erode)
    if blur > 0:
        radius = max(1, int(3 * blur))
        x = torch.arange(-radius, radius + 1, dtype=torch.float32, device=m.device)
        g = torch.exp(-0.5 * (x / blur) ** 2)
        g = g / g.sum()
        m = F.pad(m, (radius, radius, radius, radius), mode="replicate")
        m = F.conv2d(m, g.view(1, 1, 1, -1))
        m = F.conv2d(m, g.view(1, 1, -1, 1))
    return m.clamp(0.0, 1.0)


def blend_weight(
    mask: Tensor | None, size: int, *, feather: float = 0.08, erode: int = 8, blur: float = 6.0
) -> Tensor:
    """The ``(B|1, 1, size, size)`` paste weight for a crop of ``size`` (see module docstring)."""
    if mask is None:
        return feathered_square(size, feather)
    w = soften_mask(mask, erode, blur) * feathered_square(mask.shape[-1], feather / 2).to(mask.device)
    return F.interpolate(w, size=(size, size), mode="bilinear", align_corners=False).clamp(0.0, 1.0)


def paste_back(
    full: Tensor,
    face: Tensor,
    box: CropBox | None,
    mask: Tensor | None = None,
    *,
    feather: float = 0.08,
    erode: int = 8,
    blur: float = 6.0,
) -> Tensor:
    """Blend the crop(s) ``face`` into ``full`` at ``box``.

    Args:
        full: source picture ``(3, H, W)`` float in [0, 1].
        face: animated crop(s) ``(3, S, S)`` or ``(B, 3, S, S)`` float in [0, 1].
        box: where the crop came from; None (no-crop mode) stretches ``face`` back over the frame.
        mask: optional ``(1|B, 1, S, S)`` head mask in [0, 1] on the crop to blend with.

    Returns:
        ``(3, H, W)`` (or ``(B, 3, H, W)`` for a batch) float in [0, 1].
    """
    single = face.dim() == 3
    faces = (face.unsqueeze(0) if single else face).float()
    b, _, h, w = faces.shape[0], *full.shape
    if box is None:
        out = F.interpolate(faces, size=(h, w), mode="bicubic", align_corners=False).clamp(0.0, 1.0)
        return out[0] if single else out
    if box.x0 < 0 or box.y0 < 0 or box.x0 + box.size > w or box.y0 + box.size > h:
        raise ValueError(f"paste_back: {box} does not lie inside the {w}x{h} picture")
    s = box.size
    patch = resize_image(faces, s)
    weight = blend_weight(mask, s, feather=feather, erode=erode, blur=blur).to(patch.device)
    out = full.float().unsqueeze(0).repeat(b, 1, 1, 1)
    region = out[:, :, box.y0 : box.y0 + s, box.x0 : box.x0 + s]
    out[:, :, box.y0 : box.y0 + s, box.x0 : box.x0 + s] = weight * patch + (1.0 - weight) * region
    return out[0] if single else out
