"""Euler angles (yaw, pitch, roll) <-> rotation matrices, in the released checkpoint's convention.

Convention:
    ``euler = (yaw, pitch, roll)`` in radians, last dim. ``R = Rz(yaw) @ Ry(pitch) @ Rx(roll)``
    acting on COLUMN vectors in the volume grid frame (x = u -> width, y = v -> height,
    z = w -> depth): yaw turns about the depth axis z, pitch about the height axis y, roll about the
    width axis x, and roll is applied to a point first. Written out (cy = cos yaw, sp = sin pitch, ...):

        R = [[cy*cp, cy*sp*sr - sy*cr, cy*sp*cr + sy*sr],
             [sy*cp, sy*sp*sr + cy*cr, sy*sp*cr - cy*sr],
             [-sp,   cp*sr,            cp*cr           ]]

    This is the head-pose convention of the released EMOPortraits model (its theta = S @ R @ T, see
    :func:`emoportraits_core.geometry.affine.pose_to_affine`); the released model also clamps each
    angle to [-pi/2, pi] before building R, which is the head-pose plugin's business, not done here.
    Every function takes any number of leading dims.
"""

from __future__ import annotations

import torch
from torch import Tensor

from ._validate import check_tensor

__all__ = ["euler_to_matrix", "matrix_to_euler"]


def euler_to_matrix(euler: Tensor) -> Tensor:
    """(yaw, pitch, roll) -> ``Rz(yaw) @ Ry(pitch) @ Rx(roll)`` (released convention, see module doc).

    Args:
        euler: ``(..., 3)`` yaw, pitch, roll in radians.

    Returns:
        ``(..., 3, 3)`` rotation matrices.

    Example (a quarter turn of yaw maps the width axis x onto the height axis y):
        >>> import math
        >>> r = euler_to_matrix(torch.tensor([math.pi / 2, 0.0, 0.0], dtype=torch.float64))
        >>> (r @ torch.tensor([1.0, 0.0, 0.0], dtype=torch.float64)).round(decimals=6) + 0.0
        tensor([0., 1., 0.], dtype=torch.float64)
    """
    check_tensor("euler_to_matrix", "euler", euler, (3,))
    cy, cp, cr = torch.cos(euler).unbind(-1)
    sy, sp, sr = torch.sin(euler).unbind(-1)
    rows = (
        (cy * cp, cy * sp * sr - sy * cr, cy * sp * cr + sy * sr),
        (sy * cp, sy * sp * sr + cy * cr, sy * sp * cr - cy * sr),
        (-sp, cp * sr, cp * cr),
    )
    return torch.stack([torch.stack(row, dim=-1) for row in rows], dim=-2)


def matrix_to_euler(matrix: Tensor) -> Tensor:
    """Rotation matrix -> (yaw, pitch, roll), the inverse of :func:`euler_to_matrix`.

    ``pitch = atan2(-R20, hypot(R00, R10))`` in ``[-pi/2, pi/2]``; ``roll = atan2(R21, R22)``; yaw is
    then read from ``R @ Rx(roll)^T = Rz(yaw) @ Ry(pitch)`` (its middle column is
    ``(-sin yaw, cos yaw, 0)``), so it absorbs any error of roll and the returned angles rebuild
    ``matrix`` to rounding even close to gimbal lock. Yaw and roll lie in ``[-pi, pi]``.

    Gimbal lock (``cos pitch`` below 100 eps, pitch = +-pi/2): only yaw -+ roll is defined; roll is
    then set to 0 and yaw carries the whole rotation about the shared axis. Gradients there are
    finite but arbitrary (the map is not differentiable at gimbal lock).

    Args:
        matrix: ``(..., 3, 3)`` rotation matrices.

    Returns:
        ``(..., 3)`` yaw, pitch, roll in radians.

    Example:
        >>> e = torch.tensor([0.3, -0.2, 0.1], dtype=torch.float64)
        >>> torch.allclose(matrix_to_euler(euler_to_matrix(e)), e)
        True
    """
    check_tensor("matrix_to_euler", "matrix", matrix, (3, 3))
    r = matrix
    cos_pitch = torch.hypot(r[..., 0, 0], r[..., 1, 0])
    pitch = torch.atan2(-r[..., 2, 0], cos_pitch)
    lock = cos_pitch <= 100 * torch.finfo(r.dtype).eps
    # where() with safe arguments: atan2(0, 0) would give NaN gradients even in the unused branch
    roll = torch.where(
        lock, 0.0, torch.atan2(torch.where(lock, 0.0, r[..., 2, 1]), torch.where(lock, 1.0, r[..., 2, 2]))
    )
    cr, sr = torch.cos(roll), torch.sin(roll)
    neg_sin_yaw = r[..., 0, 1] * cr - r[..., 0, 2] * sr
    cos_yaw = r[..., 1, 1] * cr - r[..., 1, 2] * sr
    yaw = torch.atan2(-neg_sin_yaw, cos_yaw)
    return torch.stack((yaw, pitch, roll), dim=-1)
