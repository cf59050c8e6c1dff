"""Affine 3D transforms as homogeneous ``(..., 4, 4)`` matrices.

Convention:
    Matrices act on COLUMN vectors: a point p (3,) maps to ``A[:3, :3] @ p + A[:3, 3]``, and the
    last row is ``(0, 0, 0, 1)``. ``compose_affine(a, b) = a @ b`` applies ``b`` FIRST. Points are
    ``(..., N, 3)`` in the volume grid frame (x = u -> width, y = v -> height, z = w -> depth), in
    normalised units (the volume spans ``[-1, 1]`` on each axis). The released model's head pose is
    ``theta = S @ R @ T`` (:func:`pose_to_affine`), so ``theta . p = S R (p + t)``. Angles, where
    they appear, are in radians. Every function takes any number of leading dims (broadcast).
"""

from __future__ import annotations

import torch
from torch import Tensor

from ..errors import InputError
from ._validate import check_tensor

__all__ = ["apply_affine", "compose_affine", "invert_affine", "make_affine", "pose_to_affine"]


def _check_affine(fn: str, name: str, a: object) -> Tensor:
    a = check_tensor(fn, name, a, (4,), lead=1, want="(..., 4, 4) or (..., 3, 4)")
    if a.shape[-2] not in (3, 4):
        raise InputError(f"{fn}: expected {name} of shape (..., 4, 4) or (..., 3, 4), got {tuple(a.shape)}")
    return a


def make_affine(linear: Tensor, translation: Tensor) -> Tensor:
    """Homogeneous matrix ``[[linear, translation], [0, 0, 0, 1]]``.

    Args:
        linear: ``(..., 3, 3)``.
        translation: ``(..., 3)`` (leading dims broadcast with ``linear``'s).

    Returns:
        ``(..., 4, 4)``.

    Example:
        >>> make_affine(torch.eye(3), torch.tensor([1.0, 2.0, 3.0]))
        tensor([[1., 0., 0., 1.],
                [0., 1., 0., 2.],
                [0., 0., 1., 3.],
                [0., 0., 0., 1.]])
    """
    check_tensor("make_affine", "linear", linear, (3, 3))
    check_tensor("make_affine", "translation", translation, (3,))
    try:
        lead = torch.broadcast_shapes(linear.shape[:-2], translation.shape[:-1])
    except RuntimeError as err:
        raise InputError(
            f"make_affine: linear of shape {tuple(linear.shape)} and translation of shape "
            f"{tuple(translation.shape)} have leading dims that do not broadcast"
        ) from err
    dtype = torch.promote_types(linear.dtype, translation.dtype)
    top = torch.cat(
        (linear.to(dtype).expand(*lead, 3, 3), translation.to(dtype).expand(*lead, 3)[..., None]), dim=-1
    )
    bottom = torch.zeros(4, dtype=dtype, device=linear.device)
    bottom[3] = 1
    return torch.cat((top, bottom.expand(*lead, 1, 4)), dim=-2)


def compose_affine(a: Tensor, b: Tensor) -> Tensor:
    """``a @ b``: the transform that applies ``b`` first, then ``a``.

    Args:
        a, b: ``(..., 4, 4)`` (leading dims broadcast).

    Returns:
        ``(..., 4, 4)``.
    """
    check_tensor("compose_affine", "a", a, (4, 4))
    check_tensor("compose_affine", "b", b, (4, 4))
    return a @ b


def invert_affine(a: Tensor, *, check: bool = True) -> Tensor:
    """Closed-form inverse ``[[L^-1, -L^-1 t], [0, 0, 0, 1]]`` of ``a = [[L, t], [0, 0, 0, 1]]``.

    Args:
        a: ``(..., 4, 4)`` (the last row is assumed to be ``(0, 0, 0, 1)`` and ignored).
        check: raise if some ``L`` is singular (one host-device sync); with ``check=False`` a
            singular block gives inf/NaN entries.

    Returns:
        ``(..., 4, 4)``.

    Example:
        >>> a = make_affine(2 * torch.eye(3), torch.tensor([1.0, 0.0, 0.0]))
        >>> invert_affine(a)[0]
        tensor([ 0.5000,  0.0000,  0.0000, -0.5000])
    """
    check_tensor("invert_affine", "a", a, (4, 4))
    inv, info = torch.linalg.inv_ex(a[..., :3, :3])
    if check and bool((info != 0).any()):
        index = tuple(int(i) for i in (info != 0).nonzero()[0])
        raise InputError(
            f"invert_affine: the 3x3 linear block of a (shape {tuple(a.shape)}) is singular at index {index}"
        )
    return make_affine(inv, -(inv @ a[..., :3, 3:])[..., 0])


def apply_affine(a: Tensor, points: Tensor) -> Tensor:
    """``A[:3, :3] @ p + A[:3, 3]`` for every point.

    Args:
        a: ``(..., 4, 4)`` or ``(..., 3, 4)``.
        points: ``(..., N, 3)``; the leading dims (before N) broadcast with ``a``'s.

    Returns:
        ``(..., N, 3)``.

    Example:
        >>> a = make_affine(torch.eye(3), torch.tensor([0.0, 0.0, 1.0]))
        >>> apply_affine(a, torch.zeros(1, 3))
        tensor([[0., 0., 1.]])
    """
    _check_affine("apply_affine", "a", a)
    check_tensor("apply_affine", "points", points, (3,), lead=1, want="(..., N, 3)")
    return points @ a[..., :3, :3].transpose(-1, -2) + a[..., None, :3, 3]


def pose_to_affine(scale: Tensor, rotation: Tensor, translation: Tensor) -> Tensor:
    """The released model's head pose ``theta = S @ R @ T``: ``theta . p = S R (p + t)``.

    ``S = diag(sx, sy, sz, 1)``, ``R`` the rotation in the top-left block, ``T`` the identity with
    ``t`` in its last column. Closed form: ``[[diag(s) R, diag(s) R t], [0, 0, 0, 1]]``.

    Args:
        scale: ``(..., 3)`` per-axis scale (u, v, w).
        rotation: ``(..., 3, 3)`` (e.g. from :func:`euler_to_matrix`).
        translation: ``(..., 3)`` in normalised volume units.

    Returns:
        ``(..., 4, 4)``.

    Example:
        >>> theta = pose_to_affine(torch.full((3,), 2.0), torch.eye(3), torch.ones(3))
        >>> apply_affine(theta, torch.zeros(1, 3))
        tensor([[2., 2., 2.]])
    """
    check_tensor("pose_to_affine", "scale", scale, (3,))
    check_tensor("pose_to_affine", "rotation", rotation, (3, 3))
    check_tensor("pose_to_affine", "translation", translation, (3,))
    linear = scale[..., :, None] * rotation
    return make_affine(linear, (linear @ translation[..., :, None])[..., 0])
