"""Eye geometry for the gaze loss: eye-patch sampling transforms and soft eye masks from landmarks.

Landmarks follow :mod:`.landmarks` (normalised ``[-1, 1]`` x right / y down, the ``grid_sample``
convention with ``align_corners=False``; square images). RT-GENE cuts an eye patch from the face
rotated so that the eye centres lie on a horizontal line: for an eye with corners ``a``, ``b`` its box
is centred on ``(a + b) / 2``, twice the eye's width ``w = (b - a) . e`` wide along the eye line ``e``
and ``2 w * h / w_patch`` high across it, then resized to the patch (60 x 36). Composing those steps
gives one similarity per eye, applied here with ``affine_grid`` / ``grid_sample`` in one resampling
(the face-box crop of the original cancels out). The mask is the filled convex hull of each eye's six
contour points, dilated and box-blurred with a ``kernel`` x ``kernel`` window (release: 5).
"""

from __future__ import annotations

import itertools

import torch
import torch.nn.functional as F
from torch import Tensor

from .landmarks import LEFT_EYE, RIGHT_EYE

__all__ = ["eye_mask", "eye_patch_thetas", "eye_patches"]

#: corners (a, b) of each eye, left eye first: 42 -> 45 and 36 -> 39 (both left to right in the image).
_CORNERS = ((42, 45), (36, 39))
_TRIANGLES = list(itertools.combinations(range(6), 3))


def eye_patch_thetas(landmarks: Tensor, patch_size: tuple[int, int] = (60, 36)) -> tuple[Tensor, Tensor]:
    """``landmarks (B, 68, >=2)`` -> ``thetas (B, 2, 2, 3)`` for ``F.affine_grid`` (left eye, right eye)
    and the eye widths ``(B, 2)`` in normalised units (<= 0 for a degenerate eye).

    ``patch_size`` is (width, height) of the patch, RT-GENE's (60, 36).
    """
    xy = landmarks[..., :2]
    right_c = (xy[:, 36] + xy[:, 39]) / 2
    left_c = (xy[:, 42] + xy[:, 45]) / 2
    line = left_c - right_c
    e = line / torch.sqrt((line * line).sum(-1, keepdim=True) + 1e-12)  # (B, 2) along the eye line
    n = torch.stack([-e[:, 1], e[:, 0]], -1)  # across it, pointing down for an upright face
    thetas, widths = [], []
    for ia, ib in _CORNERS:
        a, b = xy[:, ia], xy[:, ib]
        w = ((b - a) * e).sum(-1)  # (B,)
        half_w, half_h = w, w * patch_size[1] / patch_size[0]
        centre = (a + b) / 2
        col_u, col_v = e * half_w[:, None], n * half_h[:, None]
        thetas.append(torch.stack([col_u, col_v, centre], -1))  # (B, 2, 3)
        widths.append(w)
    return torch.stack(thetas, 1), torch.stack(widths, 1)


def eye_patches(
    images: Tensor, thetas: Tensor, patch_size: tuple[int, int] = (60, 36)
) -> tuple[Tensor, Tensor]:
    """Sample ``(left, right)`` eye patches ``(B, C, h, w)`` from ``images (B, C, H, W)`` with
    ``thetas (B, 2, 2, 3)`` (bilinear, zero padding, ``align_corners=False``)."""
    b, c = images.shape[:2]
    w, h = patch_size
    out = []
    for k in range(2):
        grid = F.affine_grid(thetas[:, k].to(images.dtype), [b, c, h, w], align_corners=False)
        out.append(F.grid_sample(images, grid, mode="bilinear", padding_mode="zeros", align_corners=False))
    return out[0], out[1]


def eye_mask(landmarks: Tensor, size: int, kernel: int = 5) -> Tensor:
    """``(B, 1, size, size)`` soft mask in [0, 1]: the filled convex hulls of landmarks 36-41 and
    42-47 (a pixel is in when its centre is inside one of the triangles the six points span), dilated
    by a ``kernel`` x ``kernel`` max filter and blurred by a box filter of the same size (reflecting
    borders, as OpenCV's default). No gradient flows through it."""
    with torch.no_grad():
        xy = landmarks[..., :2].detach()
        coords = (torch.arange(size, device=xy.device, dtype=xy.dtype) + 0.5) / size * 2 - 1
        qy, qx = torch.meshgrid(coords, coords, indexing="ij")
        q = torch.stack([qx.reshape(-1), qy.reshape(-1)], -1)  # (P, 2)
        tri = torch.tensor(_TRIANGLES, device=xy.device)  # (T, 3)
        inside = torch.zeros(xy.shape[0], q.shape[0], dtype=torch.bool, device=xy.device)
        for eye in (RIGHT_EYE, LEFT_EYE):
            pts = xy[:, list(eye)][:, tri]  # (B, T, 3, 2)
            signs = []
            for i in range(3):
                a, b = pts[:, :, i, None, :], pts[:, :, (i + 1) % 3, None, :]  # (B, T, 1, 2)
                ab, aq = b - a, q[None, None] - a  # (B, T, 1, 2), (B, T, P, 2)
                signs.append(ab[..., 0] * aq[..., 1] - ab[..., 1] * aq[..., 0])  # (B, T, P)
            pos = (signs[0] >= 0) & (signs[1] >= 0) & (signs[2] >= 0)
            neg = (signs[0] <= 0) & (signs[1] <= 0) & (signs[2] <= 0)
            inside |= (pos | neg).any(1)
        mask = inside.to(landmarks.dtype).view(-1, 1, size, size)
        if kernel > 1:
            pad = kernel // 2
            mask = F.max_pool2d(mask, kernel, stride=1, padding=pad)
            mask = F.avg_pool2d(F.pad(mask, (pad, pad, pad, pad), mode="reflect"), kernel, stride=1)
        return mask
