"""A schematic 68-point face (iBUG / dlib order) in the project's normalised landmark convention.

Convention (TRAINING_FACTS §5): landmarks are ``(B, 68, 3)``; x and y are ``((p - crop) / size - 0.5) * 2``
for a pixel position ``p`` in the square crop, so ``(-1, -1)`` is the top-left corner of the image and
``(1, 1)`` the bottom-right one (x to the right, y down: the ``grid_sample`` convention with
``align_corners=False``); z is scaled as ``z * 2 / (w + h) * 2``. Index groups: jaw 0-16, brows 17-26,
nose 27-35, the subject's right eye 36-41 (on the image's left; 36 outer corner, 39 inner corner), left
eye 42-47 (42 inner, 45 outer), mouth 48-67.

:func:`template_landmarks` draws plausible faces (a template under a random small similarity plus
jitter) for example inputs and tests.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

__all__ = ["LEFT_EYE", "RIGHT_EYE", "TEMPLATE_68", "template_landmarks"]

#: the subject's right eye (image left) and left eye (image right), contour order.
RIGHT_EYE = tuple(range(36, 42))
LEFT_EYE = tuple(range(42, 48))


def _eye(cx: float, cy: float, hw: float = 0.11, hh: float = 0.045) -> list[tuple[float, float]]:
    """Corner, two upper-lid points, corner, two lower-lid points (left to right along the top)."""
    return [(cx - hw, cy), (cx - hw / 3, cy - hh), (cx + hw / 3, cy - hh), (cx + hw, cy),
            (cx + hw / 3, cy + hh), (cx - hw / 3, cy + hh)]  # fmt: skip


def _ellipse(cx: float, cy: float, rx: float, ry: float, n: int) -> list[tuple[float, float]]:
    """``n`` points from the left corner over the top to the right corner and back along the bottom."""
    return [
        (cx - rx * math.cos(2 * math.pi * k / n), cy - ry * math.sin(2 * math.pi * k / n)) for k in range(n)
    ]


def _template() -> Tensor:
    pts: list[tuple[float, float]] = []
    pts += [(-0.7 * math.cos(math.pi * t / 16), -0.15 + 0.75 * math.sin(math.pi * t / 16)) for t in range(17)]
    pts += [(-0.55 + 0.1125 * k, -0.42 - 0.04 * math.sin(math.pi * k / 4)) for k in range(5)]
    pts += [(0.1 + 0.1125 * k, -0.42 - 0.04 * math.sin(math.pi * k / 4)) for k in range(5)]
    pts += [(0.0, -0.3 + 0.1 * k) for k in range(4)]
    pts += [(-0.14 + 0.07 * k, 0.15 + 0.02 * (1 - abs(k - 2) / 2)) for k in range(5)]
    pts += _eye(-0.3, -0.22) + _eye(0.3, -0.22)
    pts += _ellipse(0.0, 0.37, 0.25, 0.09, 12) + _ellipse(0.0, 0.37, 0.17, 0.04, 8)
    xy = torch.tensor(pts, dtype=torch.float64)
    return torch.cat([xy, torch.zeros(68, 1, dtype=torch.float64)], dim=1)


#: ``(68, 3)`` float64: an upright frontal face filling most of the crop.
TEMPLATE_68 = _template()


def template_landmarks(
    batch: int,
    *,
    generator: torch.Generator | None = None,
    dtype: torch.dtype = torch.float32,
    device: torch.device | str = "cpu",
    rotation: float = 0.2,
    scale: tuple[float, float] = (0.85, 1.1),
    shift: float = 0.05,
    jitter: float = 0.01,
) -> Tensor:
    """``(batch, 68, 3)`` landmarks: :data:`TEMPLATE_68` rotated in the image plane by up to
    ``rotation`` radians, scaled in ``scale``, shifted by up to ``shift``, plus ``jitter`` noise."""
    g = generator
    angle = (torch.rand(batch, generator=g, dtype=torch.float64) * 2 - 1) * rotation
    s = scale[0] + torch.rand(batch, generator=g, dtype=torch.float64) * (scale[1] - scale[0])
    t = (torch.rand(batch, 1, 2, generator=g, dtype=torch.float64) * 2 - 1) * shift
    c, si = torch.cos(angle), torch.sin(angle)
    rot = torch.stack([torch.stack([c, -si], -1), torch.stack([si, c], -1)], -2)  # (B, 2, 2)
    xy = s[:, None, None] * torch.einsum("bij,nj->bni", rot, TEMPLATE_68[:, :2]) + t
    xy = xy + jitter * torch.randn(batch, 68, 2, generator=g, dtype=torch.float64)
    z = jitter * torch.randn(batch, 68, 1, generator=g, dtype=torch.float64)
    return torch.cat([xy, z], dim=-1).to(dtype).to(device)
