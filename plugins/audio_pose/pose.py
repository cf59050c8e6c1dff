"""The head-pose sequence of the audio -> pose GAN: 9 numbers per frame relative to the first frame
(EMOPortraits supplementary, section 3.1).

Convention:
    ``x (..., T, 9) = (d6, t)``: ``d6 = x[..., :6]`` is the 6D representation of the relative rotation
    (its first two COLUMNS, Zhou et al. 2019, mapped to SO(3) by Gram-Schmidt:
    :func:`emoportraits_core.geometry.rotation_6d_to_matrix`), ``t = x[..., 6:]`` the relative
    translation (normalised volume units, as the head-pose regressor's). With absolute per-frame poses
    ``(R_k, t_k)`` (column vectors, the core's convention):

        R_rel,k = R_k @ R_0^T        t_rel,k = t_k - t_0

    so frame 0 is the identity ``(1, 0, 0, 0, 1, 0, 0, 0, 0)`` (:data:`IDENTITY_POSE`), and a clip is
    put back on any reference pose ``(R_ref, t_ref)`` (e.g. the source image's) by
    ``R_k = R_rel,k @ R_ref``, ``t_k = t_ref + t_rel,k`` (:func:`to_absolute`). The head scale is not
    part of the sequence: it stays the reference's.
"""

from __future__ import annotations

import torch
from torch import Tensor

from emoportraits_core import InputError
from emoportraits_core.geometry import matrix_to_rotation_6d, rotation_6d_to_matrix

__all__ = [
    "IDENTITY_POSE",
    "pose_scale",
    "random_pose_sequence",
    "relative_to_first",
    "to_absolute",
    "to_matrices",
]

#: the identity pose: 6D of I, zero translation.
IDENTITY_POSE = (1.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 0.0)


def _check_pose(fn: str, x: Tensor) -> None:
    if not isinstance(x, Tensor) or x.dim() < 2 or x.shape[-1] != 9:
        got = tuple(x.shape) if isinstance(x, Tensor) else type(x).__name__
        raise InputError(f"{fn}: x must be a (..., T, 9) pose sequence, got {got}")


def to_matrices(x: Tensor, *, check: bool = True) -> tuple[Tensor, Tensor]:
    """``x (..., T, 9)`` -> ``rotations (..., T, 3, 3)`` (Gram-Schmidt of the 6D part), ``translations
    (..., T, 3)``. ``check``: raise on degenerate 6D vectors (see ``rotation_6d_to_matrix``)."""
    _check_pose("to_matrices", x)
    return rotation_6d_to_matrix(x[..., :6], check=check), x[..., 6:]


def relative_to_first(rotations: Tensor, translations: Tensor) -> Tensor:
    """Absolute poses ``rotations (..., T, 3, 3)``, ``translations (..., T, 3)`` -> ``x (..., T, 9)``
    relative to frame 0 (module convention); ``x[..., 0, :]`` is exactly :data:`IDENTITY_POSE`."""
    if rotations.dim() < 3 or rotations.shape[-2:] != (3, 3) or translations.shape != rotations.shape[:-1]:
        raise InputError(
            f"relative_to_first: rotations (..., T, 3, 3) and translations (..., T, 3) must agree, got "
            f"{tuple(rotations.shape)} and {tuple(translations.shape)}"
        )
    rel_r = rotations @ rotations[..., :1, :, :].transpose(-1, -2)
    rel_t = translations - translations[..., :1, :]
    x = torch.cat((matrix_to_rotation_6d(rel_r), rel_t), dim=-1)
    first = x.new_tensor(IDENTITY_POSE).expand_as(x[..., :1, :])
    return torch.cat((first, x[..., 1:, :]), dim=-2)  # exact identity, not R_0 R_0^T to rounding


def to_absolute(x: Tensor, rotation: Tensor, translation: Tensor) -> tuple[Tensor, Tensor]:
    """Put a relative sequence ``x (..., T, 9)`` on a reference pose ``rotation (..., 3, 3)``,
    ``translation (..., 3)``: ``R_k = R_rel,k @ R_ref``, ``t_k = t_ref + t_rel,k``; returns
    ``(..., T, 3, 3)``, ``(..., T, 3)`` (the inverse of :func:`relative_to_first` with the first frame's
    pose as reference)."""
    rel_r, rel_t = to_matrices(x)
    return rel_r @ rotation.unsqueeze(-3), rel_t + translation.unsqueeze(-2)


def random_pose_sequence(
    batch: int,
    frames: int,
    *,
    generator: torch.Generator | None = None,
    dtype: torch.dtype = torch.float32,
    device: torch.device | str = "cpu",
) -> Tensor:
    """``(batch, frames, 9)`` pose-like sequences for examples and tests: a random walk (steps of std
    0.05) from :data:`IDENTITY_POSE`, drawn on the CPU then moved (frame 0 is not forced to the identity,
    and the 6D part is not orthonormalised)."""
    steps = 0.05 * torch.randn(batch, frames, 9, generator=generator, dtype=dtype)
    return (torch.tensor(IDENTITY_POSE, dtype=dtype) + steps.cumsum(1)).to(device)


def pose_scale(x: Tensor, scale: float | Tensor) -> Tensor:
    """Damp a relative sequence: each frame's rotation angle (about its own axis, i.e. the slerp from the
    identity) and its translation multiplied by ``scale`` in [0, 1].

    ``scale = 0`` gives the identity everywhere, ``1`` the input rotations (as Gram-Schmidt matrices)
    and translations; in between, ``rotation(scale)`` composed with itself ``1 / scale`` times is the
    input rotation. The rotation goes through a unit quaternion (w >= 0, the shortest arc), so angles
    up to pi are handled.

    Args:
        x: ``(..., T, 9)``.
        scale: a float or a tensor broadcasting against ``(..., T)`` (e.g. ``(B, 1)`` per sequence).

    Returns:
        ``(..., T, 9)`` in ``x``'s dtype, the 6D part orthonormal.
    """
    _check_pose("pose_scale", x)
    s = torch.as_tensor(scale, dtype=x.dtype, device=x.device)
    if bool(((s < 0) | (s > 1)).any()):
        raise InputError(f"pose_scale: scale must be in [0, 1], got {scale!r}")
    rotations, translations = to_matrices(x)
    q = _matrix_to_quaternion(rotations)
    w, v = q[..., :1], q[..., 1:]
    sin_half = torch.linalg.vector_norm(v, dim=-1, keepdim=True)
    half = torch.atan2(sin_half, w)  # in [0, pi/2] since w >= 0
    s = s.unsqueeze(-1)
    # sin(s half) / sin(half) -> s as half -> 0
    small = sin_half < 1e-6
    ratio = torch.where(small, s.expand_as(half), torch.sin(s * half) / torch.where(small, 1, sin_half))
    q_s = torch.cat((torch.cos(s * half), ratio * v), dim=-1)
    d6 = matrix_to_rotation_6d(_quaternion_to_matrix(q_s))
    return torch.cat((d6, s * translations), dim=-1)


def _matrix_to_quaternion(r: Tensor) -> Tensor:
    """``(..., 3, 3)`` rotations -> ``(..., 4)`` unit quaternions ``(w, x, y, z)`` with ``w >= 0``.

    Shepperd's method: of the four candidate formulas, use the one whose divisor (``4 * |component|``)
    is largest, which keeps full precision for any angle, pi included.
    """
    m00, m11, m22 = r[..., 0, 0], r[..., 1, 1], r[..., 2, 2]
    trace = torch.stack(
        (1 + m00 + m11 + m22, 1 + m00 - m11 - m22, 1 - m00 + m11 - m22, 1 - m00 - m11 + m22), dim=-1
    )
    root = torch.sqrt(trace.clamp_min(1e-12))  # 2 |component| for each candidate
    d21, d02, d10 = r[..., 2, 1] - r[..., 1, 2], r[..., 0, 2] - r[..., 2, 0], r[..., 1, 0] - r[..., 0, 1]
    s21, s02, s10 = r[..., 2, 1] + r[..., 1, 2], r[..., 0, 2] + r[..., 2, 0], r[..., 1, 0] + r[..., 0, 1]
    candidates = torch.stack(
        (
            torch.stack((root[..., 0] ** 2, d21, d02, d10), dim=-1),
            torch.stack((d21, root[..., 1] ** 2, s10, s02), dim=-1),
            torch.stack((d02, s10, root[..., 2] ** 2, s21), dim=-1),
            torch.stack((d10, s02, s21, root[..., 3] ** 2), dim=-1),
        ),
        dim=-2,
    ) / (2 * root.unsqueeze(-1))
    best = trace.argmax(dim=-1, keepdim=True)
    q = torch.gather(candidates, -2, best.unsqueeze(-1).expand(*best.shape, 4)).squeeze(-2)
    q = q / torch.linalg.vector_norm(q, dim=-1, keepdim=True)
    return torch.where(q[..., :1] < 0, -q, q)


def _quaternion_to_matrix(q: Tensor) -> Tensor:
    """``(..., 4)`` unit quaternions ``(w, x, y, z)`` -> ``(..., 3, 3)`` rotations."""
    w, x, y, z = q.unbind(-1)
    rows = (
        (1 - 2 * (y * y + z * z), 2 * (x * y - w * z), 2 * (x * z + w * y)),
        (2 * (x * y + w * z), 1 - 2 * (x * x + z * z), 2 * (y * z - w * x)),
        (2 * (x * z - w * y), 2 * (y * z + w * x), 1 - 2 * (x * x + y * y)),
    )
    return torch.stack([torch.stack(row, dim=-1) for row in rows], dim=-2)
