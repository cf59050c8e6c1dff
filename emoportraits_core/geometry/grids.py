"""Sampling grids over a feature volume: identity grids, affine transforms of grids, layouts.

Convention:
    A grid is ``(..., D, H, W, 3)``; its last dim is ``(u, v, w) = (x -> W, y -> H, z -> D)`` in
    normalised coordinates (``-1`` and ``1`` are the outer faces of the volume under
    ``align_corners=False``, the sampling convention of :func:`warp_volume`). Points are column
    vectors: an affine ``A`` maps ``p`` to ``A[:3, :3] @ p + A[:3, 3]``.
    ``align_corners`` of :func:`identity_grid` only chooses the grid's coordinates:
    ``True`` -> ``linspace(-1, 1, n)`` (corner voxel centres at +-1; what the RELEASED model builds
    while it samples with align_corners=False, so its "identity" warp is a slight resample that the
    plugins reproduce), ``False`` -> voxel centres ``(2 i + 1) / n - 1`` (the exact identity of
    :func:`warp_volume`).
"""

from __future__ import annotations

import operator

import torch
from torch import Tensor

from ..errors import InputError
from ._validate import check_tensor

__all__ = ["grid_to_volume", "identity_grid", "transform_grid", "volume_to_grid"]


def _coords(n: int, align_corners: bool, dtype: torch.dtype, device: torch.device | str | None) -> Tensor:
    if align_corners:
        return torch.linspace(-1.0, 1.0, n, dtype=dtype, device=device)
    return (2 * torch.arange(n, dtype=dtype, device=device) + 1) / n - 1


def identity_grid(
    depth: int,
    height: int,
    width: int,
    *,
    align_corners: bool,
    dtype: torch.dtype = torch.float32,
    device: torch.device | str | None = None,
) -> Tensor:
    """Identity sampling grid ``(D, H, W, 3)`` with ``grid[d, h, w] = (u_w, v_h, w_d)``.

    Args:
        depth, height, width: grid size (>= 1).
        align_corners: True -> ``linspace(-1, 1, n)`` per axis (released model; ``[-1]`` for
            n = 1); False -> voxel centres ``(2 i + 1) / n - 1`` (``warp_volume`` leaves a volume
            unchanged with it).
        dtype, device: of the result.

    Returns:
        ``(D, H, W, 3)``.

    Example:
        >>> identity_grid(1, 1, 2, align_corners=False)[0, 0]
        tensor([[-0.5000,  0.0000,  0.0000],
                [ 0.5000,  0.0000,  0.0000]])
        >>> identity_grid(1, 1, 2, align_corners=True)[0, 0]
        tensor([[-1., -1., -1.],
                [ 1., -1., -1.]])
    """
    try:
        sizes = tuple(operator.index(n) for n in (depth, height, width))
    except TypeError:
        sizes = ()
    if len(sizes) != 3 or min(sizes) < 1:
        raise InputError(
            f"identity_grid: expected positive int sizes (depth, height, width), got {(depth, height, width)}"
        )
    depth, height, width = sizes
    if not isinstance(align_corners, bool):
        raise InputError(f"identity_grid: align_corners must be True or False, got {align_corners!r}")
    w, v, u = torch.meshgrid(
        _coords(depth, align_corners, dtype, device),
        _coords(height, align_corners, dtype, device),
        _coords(width, align_corners, dtype, device),
        indexing="ij",
    )
    return torch.stack((u, v, w), dim=-1)


def transform_grid(grid: Tensor, affine: Tensor) -> Tensor:
    """Map every grid point ``p`` to ``A[:3, :3] @ p + A[:3, 3]``.

    Computed as the released model does, ``G_h @ A[:3].T`` with homogeneous points
    ``G_h = (u, v, w, 1)``. The released model calls it with ``theta^-1`` on the source side (to
    canonical) and ``theta`` on the driver side. Warping with the result samples the volume at
    ``A p``: ``warp_volume(v, transform_grid(g, A))(p) = v(A g(p))``.

    Args:
        grid: ``(D, H, W, 3)`` or ``(B, D, H, W, 3)``.
        affine: ``(B, 4, 4)`` or ``(B, 3, 4)`` (the last row of a 4x4 is ignored). A batch of 1 on
            either side broadcasts against the other.

    Returns:
        ``(B, D, H, W, 3)`` in the promoted dtype of ``grid`` and ``affine``.

    Example:
        >>> a = torch.tensor([[[1.0, 0.0, 0.0, 0.5], [0.0, 1.0, 0.0, 0.0], [0.0, 0.0, 1.0, 0.0]]])
        >>> transform_grid(identity_grid(1, 1, 2, align_corners=True), a)[0, 0, 0]
        tensor([[-0.5000, -1.0000, -1.0000],
                [ 1.5000, -1.0000, -1.0000]])
    """
    want_grid, want_affine = "(D, H, W, 3) or (B, D, H, W, 3)", "(B, 4, 4) or (B, 3, 4)"
    check_tensor("transform_grid", "grid", grid, (3,), lead=3, want=want_grid)
    check_tensor("transform_grid", "affine", affine, (4,), lead=1, want=want_affine)
    if grid.dim() not in (4, 5):
        raise InputError(f"transform_grid: expected grid of shape {want_grid}, got {tuple(grid.shape)}")
    if affine.dim() != 3 or affine.shape[1] not in (3, 4):
        raise InputError(f"transform_grid: expected affine of shape {want_affine}, got {tuple(affine.shape)}")
    g = grid if grid.dim() == 5 else grid[None]
    bg, ba = g.shape[0], affine.shape[0]
    if bg != ba and 1 not in (bg, ba):
        raise InputError(
            f"transform_grid: batch of grid {tuple(grid.shape)} and affine {tuple(affine.shape)} differ"
        )
    dtype = torch.promote_types(g.dtype, affine.dtype)
    spatial = g.shape[1:4]
    points = g.reshape(bg, -1, 3).to(dtype)
    homogeneous = torch.cat((points, torch.ones_like(points[..., :1])), dim=-1)
    out = homogeneous @ affine[:, :3, :].to(dtype).transpose(1, 2)
    return out.reshape(max(bg, ba), *spatial, 3)


def grid_to_volume(grid: Tensor) -> Tensor:
    """Layout ``(B, D, H, W, 3)`` grid -> ``(B, 3, D, H, W)`` 3-channel volume (a view).

    Example:
        >>> grid_to_volume(torch.zeros(2, 4, 5, 6, 3)).shape
        torch.Size([2, 3, 4, 5, 6])
    """
    check_tensor("grid_to_volume", "grid", grid, (3,), lead=4, want="(B, D, H, W, 3)")
    if grid.dim() != 5:
        raise InputError(f"grid_to_volume: expected grid of shape (B, D, H, W, 3), got {tuple(grid.shape)}")
    return grid.permute(0, 4, 1, 2, 3)


def volume_to_grid(volume: Tensor) -> Tensor:
    """Layout ``(B, 3, D, H, W)`` 3-channel volume -> ``(B, D, H, W, 3)`` grid (a view).

    Example:
        >>> volume_to_grid(torch.zeros(2, 3, 4, 5, 6)).shape
        torch.Size([2, 4, 5, 6, 3])
    """
    if not isinstance(volume, Tensor) or volume.dim() != 5 or volume.shape[1] != 3:
        shape = tuple(volume.shape) if isinstance(volume, Tensor) else type(volume).__name__
        raise InputError(f"volume_to_grid: expected volume of shape (B, 3, D, H, W), got {shape}")
    return volume.permute(0, 2, 3, 4, 1)
