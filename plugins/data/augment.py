"""The release's training augmentations (TRAINING_FACTS section 5), in torch, each drawn from a generator.

Images are ``(..., 3, H, W)`` float RGB in [0, 1], masks ``(..., 1, H, W)`` in [0, 1], landmarks
``(..., 68, 3)`` normalised as :mod:`.landmarks` says (x, y in [-1, 1] over the crop, pixel edges),
head poses ``(..., 9)`` raw regressor outputs (scale 3, yaw/pitch/roll, translation 3). Every random
choice comes from the ``torch.Generator`` passed in: the same generator state gives the same result.

- :func:`joint_color_jitter`: with probability 0.8 one draw of brightness, contrast, saturation and
  hue factors (ranges 0.3 each in the release: 0.03 x ``aug_color_coef`` 10; brightness
  0.06 x max(1, 10 / 2)) and one order of the four, applied to source and driver alike.
- :func:`joint_hflip`: with probability 0.5 both images, masks and landmarks are mirrored. Like the
  release (albumentations ``HorizontalFlip`` on keypoints), landmark *labels are not swapped*: point
  36 stays "the right eye" but now lies on the image's right; only ``x -> -x``. Head poses, which the
  release re-regresses from the flipped image at training time, are mirrored analytically
  (:func:`hflip_pose`).
- :func:`expression_copy`: the copy only the expression encoder sees: a DeepFaceLab-style elastic warp
  (:func:`elastic_warp`: 9 x 9 control grid, interior points jittered by N(0, (0.1 cell)^2), cell =
  side / 8 = 64 px at 512, bicubic resampling, zero outside), then ColorJitter 0.4 on all four
  ranges, then grayscale with probability 0.05; drawn separately for each image.
- :func:`mask_source` (source x mask, black background) and :func:`on_green` (driver x mask + green
  background, the GT the generator learns to produce).

Colour arithmetic follows torchvision's ``ColorJitter`` (luma 0.299/0.587/0.114 as 0.2989/0.587/0.114,
contrast about the mean luma, saturation towards the luma, hue rotated in HSV) in float. What differs
from the release: albumentations works on uint8 images and rounds between the four steps (and its
hue goes through OpenCV's 8-bit HSV, hue quantised to 2 degrees); the release's elastic map is
shifted by half a pixel (``cv2.resize`` + ``cv2.remap`` pixel-centre conventions) while here zero
jitter is the identity; and its flip maps keypoint ``x`` to ``width - x`` or ``width - 1 - x``
depending on the albumentations version (here exactly ``-x`` in normalised units).
"""

from __future__ import annotations

from collections.abc import Sequence

import attrs
import torch
import torch.nn.functional as F
from torch import Tensor

__all__ = [
    "GREEN",
    "JitterParams",
    "apply_color_jitter",
    "elastic_warp",
    "expression_copy",
    "hflip_landmarks",
    "hflip_pose",
    "joint_color_jitter",
    "joint_hflip",
    "mask_source",
    "on_green",
    "random_grayscale",
    "rgb_to_grayscale",
    "sample_color_jitter",
]

#: The background colour of the driver target (RGB in [0, 1]).
GREEN = (0.0, 1.0, 0.0)
_LUMA = (0.2989, 0.587, 0.114)


def _uniform(generator: torch.Generator, low: float, high: float) -> float:
    return low + (high - low) * float(torch.rand((), generator=generator, dtype=torch.float64))


def _chance(generator: torch.Generator, p: float) -> bool:
    return float(torch.rand((), generator=generator, dtype=torch.float64)) < p


# -- colour --------------------------------------------------------------------------------------------
@attrs.frozen
class JitterParams:
    """One colour-jitter draw: multiplicative factors (1 = unchanged), hue shift in turns, and order.

    ``order`` is a permutation of (0 brightness, 1 contrast, 2 saturation, 3 hue).
    """

    brightness: float = 1.0
    contrast: float = 1.0
    saturation: float = 1.0
    hue: float = 0.0
    order: tuple[int, ...] = (0, 1, 2, 3)


def sample_color_jitter(
    generator: torch.Generator,
    brightness: float = 0.3,
    contrast: float = 0.3,
    saturation: float = 0.3,
    hue: float = 0.3,
) -> JitterParams:
    """Draw factors in ``[max(0, 1 - r), 1 + r]``, a hue shift in ``[-hue, hue]`` turns and an order."""
    if not 0.0 <= hue <= 0.5:
        raise ValueError(f"hue range must be in [0, 0.5], got {hue}")
    order = tuple(int(i) for i in torch.randperm(4, generator=generator))

    def factor(r: float) -> float:
        return _uniform(generator, max(0.0, 1.0 - r), 1.0 + r) if r > 0 else 1.0

    b, c, s = factor(brightness), factor(contrast), factor(saturation)
    h = _uniform(generator, -hue, hue) if hue > 0 else 0.0
    return JitterParams(b, c, s, h, order)


def rgb_to_grayscale(image: Tensor) -> Tensor:
    """``(..., 3, H, W)`` -> luma ``(..., 1, H, W)``."""
    r, g, b = image.unbind(-3)
    return (_LUMA[0] * r + _LUMA[1] * g + _LUMA[2] * b).unsqueeze(-3)


def _blend(image: Tensor, other: Tensor, factor: float) -> Tensor:
    return (factor * image + (1.0 - factor) * other).clamp(0.0, 1.0)


def _adjust_hue(image: Tensor, shift: float) -> Tensor:
    """Rotate the hue by ``shift`` turns (RGB -> HSV -> RGB, torchvision's formulas)."""
    r, g, b = image.unbind(-3)
    maxc, _ = image.max(dim=-3)
    minc, _ = image.min(dim=-3)
    delta = maxc - minc
    safe = torch.where(delta > 0, delta, torch.ones_like(delta))
    rc, gc, bc = (maxc - r) / safe, (maxc - g) / safe, (maxc - b) / safe
    h = torch.where(maxc == r, bc - gc, torch.where(maxc == g, 2.0 + rc - bc, 4.0 + gc - rc))
    h = torch.where(delta > 0, (h / 6.0) % 1.0, torch.zeros_like(h))
    s = torch.where(
        maxc > 0, delta / torch.where(maxc > 0, maxc, torch.ones_like(maxc)), torch.zeros_like(maxc)
    )
    h6 = ((h + shift) % 1.0).unsqueeze(-3) * 6.0  # (..., 1, H, W), hue in sixths of a turn
    n = torch.tensor([5.0, 3.0, 1.0], dtype=image.dtype, device=image.device).view(3, 1, 1)
    k = (n + h6) % 6.0  # HSV -> RGB: c = v - v s clamp(min(k, 4 - k), 0, 1), k = (n + 6 h) mod 6
    chroma = (maxc * s).unsqueeze(-3)
    return (maxc.unsqueeze(-3) - chroma * torch.minimum(k, 4.0 - k).clamp(0.0, 1.0)).clamp(0.0, 1.0)


def apply_color_jitter(image: Tensor, params: JitterParams) -> Tensor:
    """Apply one draw to ``image (..., 3, H, W)``; factors of exactly 1 (hue 0) leave it untouched."""
    for step in params.order:
        if step == 0 and params.brightness != 1.0:
            image = (image * params.brightness).clamp(0.0, 1.0)
        elif step == 1 and params.contrast != 1.0:
            mean = rgb_to_grayscale(image).mean(dim=(-3, -2, -1), keepdim=True)
            image = _blend(image, mean, params.contrast)
        elif step == 2 and params.saturation != 1.0:
            image = _blend(image, rgb_to_grayscale(image), params.saturation)
        elif step == 3 and params.hue != 0.0:
            image = _adjust_hue(image, params.hue)
    return image


def joint_color_jitter(
    images: Sequence[Tensor],
    generator: torch.Generator,
    p: float = 0.8,
    ranges: tuple[float, float, float, float] = (0.3, 0.3, 0.3, 0.3),
) -> list[Tensor]:
    """With probability ``p``, one draw (brightness, contrast, saturation, hue ``ranges``) for all images."""
    if not _chance(generator, p):
        return list(images)
    params = sample_color_jitter(generator, *ranges)
    return [apply_color_jitter(x, params) for x in images]


def random_grayscale(image: Tensor, generator: torch.Generator, p: float = 0.05) -> Tensor:
    """With probability ``p`` the luma in all three channels."""
    return rgb_to_grayscale(image).expand_as(image).clone() if _chance(generator, p) else image


# -- geometry --------------------------------------------------------------------------------------------
def hflip_landmarks(landmarks: Tensor) -> Tensor:
    """Mirror ``(..., 68, 3)`` normalised landmarks: ``x -> -x`` (labels are not swapped, as in the release)."""
    out = landmarks.clone()
    out[..., 0] = -out[..., 0]
    return out


def hflip_pose(pose: Tensor) -> Tensor:
    """Mirror raw head poses ``(..., 9)`` = (scale 3, yaw, pitch, roll, translation 3).

    With ``R = Rz(yaw) Ry(pitch) Rx(roll)`` in the (x = width, y, z) grid frame, a mirror
    ``M = diag(-1, 1, 1)`` gives ``M R M = Rz(-yaw) Ry(-pitch) Rx(roll)``, ``M t = (-tx, ty, tz)`` and
    keeps the scale: so yaw, pitch and tx change sign.
    """
    out = pose.clone()
    out[..., [3, 4, 6]] = -out[..., [3, 4, 6]]
    return out


def joint_hflip(
    images: Sequence[Tensor],
    landmarks: Sequence[Tensor],
    generator: torch.Generator,
    p: float = 0.5,
    poses: Sequence[Tensor] = (),
) -> tuple[list[Tensor], list[Tensor], list[Tensor]]:
    """With probability ``p`` mirror every image or mask (``(..., C, H, W)``), landmark set and pose."""
    if not _chance(generator, p):
        return list(images), list(landmarks), list(poses)
    return (
        [x.flip(-1) for x in images],
        [hflip_landmarks(x) for x in landmarks],
        [hflip_pose(x) for x in poses],
    )


def elastic_warp(image: Tensor, generator: torch.Generator, cells: int = 8, sigma: float = 0.1) -> Tensor:
    """DeepFaceLab-style warp of ``image (..., C, H, W)``: a ``(cells + 1)^2`` control grid over the image
    (pixel edges), interior points moved by N(0, (sigma * cell)^2), the displacement bilinearly
    interpolated to every pixel centre and the image resampled bicubically (zeros outside), clamped
    to [0, 1]. ``sigma = 0`` returns the image (up to float rounding)."""
    shape = image.shape
    x = image.reshape(-1, *shape[-3:])
    h, w = shape[-2:]
    disp = torch.zeros(2, cells + 1, cells + 1, dtype=torch.float32)
    disp[:, 1:-1, 1:-1] = torch.randn(2, cells - 1, cells - 1, generator=generator) * (sigma * 2.0 / cells)
    ys = (torch.arange(h, dtype=torch.float32) + 0.5) / h * 2 - 1
    xs = (torch.arange(w, dtype=torch.float32) + 0.5) / w * 2 - 1
    base = torch.stack(torch.meshgrid(xs, ys, indexing="xy"), dim=-1)[None]  # (1, H, W, 2) as (x, y)
    field = F.grid_sample(disp[None], base, mode="bilinear", align_corners=True)  # (1, 2, H, W)
    grid = (base + field.permute(0, 2, 3, 1)).to(x.dtype).expand(x.shape[0], -1, -1, -1)
    out = F.grid_sample(x, grid, mode="bicubic", padding_mode="zeros", align_corners=False)
    return out.clamp(0.0, 1.0).reshape(shape)


def expression_copy(
    image: Tensor, generator: torch.Generator, jitter: float = 0.4, gray_p: float = 0.05, sigma: float = 0.1
) -> Tensor:
    """The expression encoder's copy: :func:`elastic_warp`, ColorJitter(``jitter`` x 4), grayscale ``gray_p``."""
    out = elastic_warp(image, generator, sigma=sigma)
    out = apply_color_jitter(out, sample_color_jitter(generator, jitter, jitter, jitter, jitter))
    return random_grayscale(out, generator, gray_p)


# -- masking ---------------------------------------------------------------------------------------------
def mask_source(image: Tensor, mask: Tensor) -> Tensor:
    """``image (..., 3, H, W) * mask (..., 1, H, W)``: the masked source (black background)."""
    return image * mask


def on_green(image: Tensor, mask: Tensor) -> Tensor:
    """``image * mask + (1 - mask) * green``: the driver on a green background (the generator's target)."""
    green = torch.tensor(GREEN, dtype=image.dtype, device=image.device).view(3, 1, 1)
    return image * mask + (1.0 - mask) * green
