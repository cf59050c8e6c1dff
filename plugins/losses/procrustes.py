"""Similarity (Procrustes) alignment of point sets (Umeyama 1991, IEEE TPAMI 13(4)).

Given points ``x`` and ``y`` ``(B, N, D)`` (optionally weighted ``(B, N)``), find the scale ``s > 0``,
the proper rotation ``R`` (det +1, reflections excluded) and the translation ``t`` that minimise
``sum_n w_n |s R x_n + t - y_n|^2``. Column vectors: ``y ~ s R x + t``. Used by the training step to
build the driver's canonical volume for the canonical-volume loss: the driver's de-rotated landmarks
(nose tip 30, eye corners 36, 39, 42, 45: :data:`CV_LANDMARKS`) are aligned to the source's
(TRAINING_FACTS §2.8). Batched over B; any D >= 2. Degenerate inputs (all points of ``x`` equal)
give scale 0 and a proper rotation, never NaN. Not meant to be differentiated (the release aligns
under no_grad; SVD gradients are unstable for repeated singular values).
"""

from __future__ import annotations

import torch
from torch import Tensor

__all__ = ["CV_LANDMARKS", "similarity_matrix", "similarity_procrustes"]

#: landmarks aligned for the canonical-volume loss: nose tip, the four eye corners.
CV_LANDMARKS = (30, 36, 39, 42, 45)


def similarity_procrustes(
    x: Tensor, y: Tensor, weights: Tensor | None = None, eps: float = 1e-12
) -> tuple[Tensor, Tensor, Tensor]:
    """Best similarity mapping ``x`` onto ``y``.

    Args:
        x, y: ``(B, N, D)`` corresponding points (N >= 2; D >= 2).
        weights: ``(B, N)`` non-negative point weights (default: all 1).
        eps: added to the variance of ``x`` (degenerate sets).

    Returns:
        ``scale (B,)``, ``rotation (B, D, D)`` (proper: det +1), ``translation (B, D)`` with
        ``y ~ scale * rotation @ x + translation``.
    """
    if x.shape != y.shape or x.dim() != 3:
        raise ValueError(f"x and y must both be (B, N, D), got {tuple(x.shape)} and {tuple(y.shape)}")
    w = torch.ones(x.shape[:2], dtype=x.dtype, device=x.device) if weights is None else weights.to(x.dtype)
    w = w / w.sum(1, keepdim=True).clamp(min=eps)
    mx = (w[..., None] * x).sum(1)  # (B, D)
    my = (w[..., None] * y).sum(1)
    xc, yc = x - mx[:, None], y - my[:, None]
    cov = torch.einsum("bn,bni,bnj->bij", w, yc, xc)  # (B, D, D): sum w y x^T
    u, sv, vh = torch.linalg.svd(cov)
    d = x.shape[-1]
    sign = torch.ones(x.shape[0], d, dtype=x.dtype, device=x.device)
    sign[:, -1] = torch.sign(torch.linalg.det(u) * torch.linalg.det(vh))
    sign = torch.where(sign == 0, torch.ones_like(sign), sign)
    rotation = u @ torch.diag_embed(sign) @ vh
    var_x = (w * (xc * xc).sum(-1)).sum(1)
    scale = (sv * sign).sum(-1) / (var_x + eps)
    translation = my - scale[:, None] * torch.einsum("bij,bj->bi", rotation, mx)
    return scale, rotation, translation


def similarity_matrix(
    scale: Tensor, rotation: Tensor, translation: Tensor, homogeneous: bool = False
) -> Tensor:
    """``(B,), (B, D, D), (B, D)`` -> ``(B, D, D + 1)`` = ``[s R | t]``, or ``(B, D + 1, D + 1)`` with the
    row ``(0, ..., 0, 1)`` appended when ``homogeneous``."""
    top = torch.cat([scale[:, None, None] * rotation, translation[..., None]], -1)
    if not homogeneous:
        return top
    d = rotation.shape[-1]
    last = torch.zeros(top.shape[0], 1, d + 1, dtype=top.dtype, device=top.device)
    last[:, 0, -1] = 1
    return torch.cat([top, last], 1)
