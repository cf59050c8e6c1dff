"""Rotation matrices: the 6D representation (Gram-Schmidt) and the geodesic angle.

Convention:
    Rotations are ``(..., 3, 3)`` matrices acting on COLUMN vectors (``p' = R @ p``), det +1, in the
    volume grid frame (x = u -> width, y = v -> height, z = w -> depth). Angles are in radians.
    The 6D representation (Zhou et al. 2019, "On the Continuity of Rotation Representations in
    Neural Networks", arXiv:1812.07035, section 4) is the FIRST TWO COLUMNS of R, stored as
    ``d6 = (R[:, 0], R[:, 1])``, i.e. ``a1 = d6[..., :3]`` -> column b1, ``a2 = d6[..., 3:]`` ->
    column b2, and ``b3 = b1 x b2``. Hence ``rotation_6d_to_matrix(matrix_to_rotation_6d(R)) == R``.
    Every function takes any number of leading dims.
"""

from __future__ import annotations

import torch
from torch import Tensor

from ..errors import InputError
from ._validate import check_tensor, compute_dtype

__all__ = ["geodesic_angle", "matrix_to_rotation_6d", "rotation_6d_to_matrix"]


def _degenerate_threshold(dtype: torch.dtype) -> float:
    """Relative threshold on ``|a1 x a2| / (|a1| |a2|)`` (the sine of the angle between a1 and a2).

    1000 machine epsilons: ~1.2e-4 in float32, ~2.2e-13 in float64. Below it the second column is
    dominated by rounding error (it errs by about eps / sine).
    """
    return 1e3 * torch.finfo(dtype).eps


def _normalize(v: Tensor) -> Tensor:
    # clamp keeps a zero vector at zero instead of NaN (only reachable with check=False)
    return v / torch.linalg.vector_norm(v, dim=-1, keepdim=True).clamp_min(torch.finfo(v.dtype).tiny)


def _raise_degenerate(d6: Tensor, bad: Tensor, thr: float) -> None:
    index = tuple(int(i) for i in bad.nonzero()[0])
    row = d6[index].detach().cpu().tolist()
    raise InputError(
        f"rotation_6d_to_matrix: {int(bad.sum())} of {bad.numel()} 6D vectors in d6 of shape "
        f"{tuple(d6.shape)} are degenerate (a zero or non-finite vector, or a1 = d6[..., :3] parallel "
        f"to a2 = d6[..., 3:]: |a1 x a2| <= {thr:.1e} |a1| |a2|); first at index {index}: "
        f"a1={[round(x, 6) for x in row[:3]]}, a2={[round(x, 6) for x in row[3:]]}"
    )


def rotation_6d_to_matrix(d6: Tensor, *, check: bool = True) -> Tensor:
    """6D representation -> rotation matrix by Gram-Schmidt (Zhou et al. 2019, arXiv:1812.07035).

    ``b1 = a1 / |a1|``, ``b2 = normalize(a2 - (b1 . a2) b1)`` (projected twice, which is the same map
    in exact arithmetic but keeps ``b1 . b2`` at rounding level when a1, a2 are nearly parallel),
    ``b3 = b1 x b2``; R has COLUMNS ``(b1, b2, b3)``. The map is invariant to positive scaling of a1
    or a2 and to adding a multiple of a1 to a2.

    Args:
        d6: ``(..., 6)`` = ``(a1, a2)``, any positive scale.
        check: raise on degenerate input (a zero or non-finite vector, or a1 parallel to a2, relative
            threshold ~1000 eps on the sine of their angle). The check runs under ``no_grad`` and
            costs one host-device sync; pass ``check=False`` in hot paths (degenerate rows then give
            a zero column, not a rotation).

    Returns:
        ``(..., 3, 3)`` rotation matrices, same dtype as ``d6``.

    Raises:
        InputError (a ValueError): wrong shape, or degenerate input when ``check``.

    Example:
        >>> rotation_6d_to_matrix(torch.tensor([2.0, 0.0, 0.0, 5.0, 3.0, 0.0]))
        tensor([[1., 0., 0.],
                [0., 1., 0.],
                [0., 0., 1.]])
    """
    check_tensor("rotation_6d_to_matrix", "d6", d6, (6,))
    out_dtype = d6.dtype
    x = d6.to(compute_dtype(out_dtype))
    a1, a2 = x[..., :3], x[..., 3:]
    if check:
        thr = _degenerate_threshold(x.dtype)
        with torch.no_grad():
            cross = torch.linalg.vector_norm(torch.linalg.cross(a1, a2), dim=-1)
            scale = torch.linalg.vector_norm(a1, dim=-1) * torch.linalg.vector_norm(a2, dim=-1)
            bad = ~(cross > thr * scale)  # NaN/inf compare False -> flagged too
            if bool(bad.any()):
                _raise_degenerate(d6, bad, thr)
    b1 = _normalize(a1)
    b2 = a2 - (b1 * a2).sum(-1, keepdim=True) * b1
    b2 = b2 - (b1 * b2).sum(-1, keepdim=True) * b1
    b2 = _normalize(b2)
    b3 = torch.linalg.cross(b1, b2)
    return torch.stack((b1, b2, b3), dim=-1).to(out_dtype)


def matrix_to_rotation_6d(matrix: Tensor) -> Tensor:
    """Rotation matrix -> 6D representation: its first two COLUMNS, ``(R[..., :, 0], R[..., :, 1])``.

    Args:
        matrix: ``(..., 3, 3)``.

    Returns:
        ``(..., 6)``.

    Example:
        >>> matrix_to_rotation_6d(torch.eye(3))
        tensor([1., 0., 0., 0., 1., 0.])
    """
    check_tensor("matrix_to_rotation_6d", "matrix", matrix, (3, 3))
    return torch.cat((matrix[..., :, 0], matrix[..., :, 1]), dim=-1)


def geodesic_angle(r1: Tensor, r2: Tensor) -> Tensor:
    """Angle of the relative rotation ``r1^T r2``, in radians in ``[0, pi]``.

    Computed as ``atan2(|vee(M - M^T)| / 2, (tr M - 1) / 2)`` with ``M = r1^T r2``: unlike
    ``acos((tr M - 1) / 2)`` it keeps full relative precision near 0 and near pi and needs no clamp.
    Symmetric in its arguments. Gradients are finite except at exactly 0 (where the angle has a
    kink, like ``|x|``) and at exactly pi.

    Args:
        r1, r2: ``(..., 3, 3)`` rotations (broadcast against each other).

    Returns:
        ``(...)`` angles.

    Example:
        >>> import math
        >>> c, s = math.cos(0.5), math.sin(0.5)
        >>> rz = torch.tensor([[c, -s, 0.0], [s, c, 0.0], [0.0, 0.0, 1.0]])
        >>> round(float(geodesic_angle(torch.eye(3), rz)), 6)
        0.5
    """
    check_tensor("geodesic_angle", "r1", r1, (3, 3))
    check_tensor("geodesic_angle", "r2", r2, (3, 3))
    try:
        m = r1.transpose(-1, -2) @ r2
    except RuntimeError as err:
        raise InputError(
            f"geodesic_angle: r1 of shape {tuple(r1.shape)} and r2 of shape {tuple(r2.shape)} do not "
            "broadcast"
        ) from err
    skew = torch.stack(
        (m[..., 2, 1] - m[..., 1, 2], m[..., 0, 2] - m[..., 2, 0], m[..., 1, 0] - m[..., 0, 1]), dim=-1
    )
    sin = 0.5 * torch.linalg.vector_norm(skew, dim=-1)
    cos = 0.5 * (m.diagonal(dim1=-2, dim2=-1).sum(-1) - 1.0)
    return torch.atan2(sin, cos)
