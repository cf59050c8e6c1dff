"""Applying and composing 3D deformations (sampling grids) of feature volumes.

Convention:
    A deformation is a sampling grid ``(B, D', H', W', 3)`` of normalised ``(u, v, w) =
    (x -> W, y -> H, z -> D)`` coordinates: the output voxel ``q`` takes the value of the input volume
    AT ``grid[q]`` (backward warping, pull). Sampling is ONE convention everywhere, the torch
    defaults that the released model uses: ``F.grid_sample(mode="bilinear"`` (trilinear for 5-D),
    ``padding_mode="zeros", align_corners=False)``. So -1 and 1 are the outer faces of the volume,
    voxel ``i`` of ``n`` has its centre at ``(2 i + 1) / n - 1`` (the
    ``identity_grid(..., align_corners=False)``), and points outside read zero.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

from ..errors import InputError
from ._validate import check_tensor
from .grids import grid_to_volume, identity_grid, volume_to_grid

__all__ = ["compose_warps", "warp_volume"]


def _batched_grid(fn: str, name: str, grid: object) -> Tensor:
    grid = check_tensor(fn, name, grid, (3,), lead=3, want="(B, D, H, W, 3) or (D, H, W, 3)")
    if grid.dim() == 4:
        return grid[None]
    if grid.dim() != 5:
        raise InputError(
            f"{fn}: expected {name} of shape (B, D, H, W, 3) or (D, H, W, 3), got {tuple(grid.shape)}"
        )
    return grid


def _broadcast_batch(fn: str, x: Tensor, y: Tensor, names: tuple[str, str]) -> tuple[Tensor, Tensor]:
    bx, by = x.shape[0], y.shape[0]
    if bx == by:
        return x, y
    if bx == 1:
        return x.expand(by, *x.shape[1:]), y
    if by == 1:
        return x, y.expand(bx, *y.shape[1:])
    raise InputError(
        f"{fn}: batch sizes differ: {names[0]} has shape {tuple(x.shape)}, {names[1]} has shape "
        f"{tuple(y.shape)} (they must be equal, or one of them 1)"
    )


def _sample(volume: Tensor, grid: Tensor, padding_mode: str) -> Tensor:
    return F.grid_sample(volume, grid, mode="bilinear", padding_mode=padding_mode, align_corners=False)


def warp_volume(volume: Tensor, grid: Tensor) -> Tensor:
    """Sample ``volume`` at ``grid``: ``out[b, :, q] = volume[b, :](grid[b, q])`` (trilinear, zeros outside).

    Exactly ``F.grid_sample(volume, grid, mode="bilinear", padding_mode="zeros",
    align_corners=False)``, the released model's sampling. A batch of 1 on either side broadcasts
    against the other, and an unbatched ``(D', H', W', 3)`` grid is used for every item. The grid is
    cast to the volume's dtype.

    Args:
        volume: ``(B, C, D, H, W)`` floating.
        grid: ``(B, D', H', W', 3)`` or ``(D', H', W', 3)``, normalised (u, v, w).

    Returns:
        ``(B, C, D', H', W')`` in the volume's dtype.

    Example:
        >>> v = torch.arange(8.0).reshape(1, 1, 2, 2, 2)
        >>> torch.equal(warp_volume(v, identity_grid(2, 2, 2, align_corners=False)), v)
        True
    """
    if not isinstance(volume, Tensor) or volume.dim() != 5 or not volume.is_floating_point():
        seen = (
            f"shape {tuple(volume.shape)} dtype {volume.dtype}"
            if isinstance(volume, Tensor)
            else type(volume).__name__
        )
        raise InputError(f"warp_volume: expected a floating volume of shape (B, C, D, H, W), got {seen}")
    g = _batched_grid("warp_volume", "grid", grid)
    volume, g = _broadcast_batch("warp_volume", volume, g, ("volume", "grid"))
    return _sample(volume, g.to(volume.dtype), "zeros")


def compose_warps(first: Tensor, second: Tensor) -> Tensor:
    """The single grid that does warp ``first`` and THEN warp ``second``.

    ``warp_volume(warp_volume(v, first), second) ~= warp_volume(v, compose_warps(first, second))``:
    output point ``q`` reads ``v`` at ``first(second(q))``, where ``first`` is interpolated
    (trilinear, align_corners=False) at the points of ``second``.

    Computed on the displacement: ``second + sample(first - identity, second)`` with the identity
    grid of ``first``'s size (voxel centres) and ``padding_mode="border"`` for the displacement. Hence
    composing with the ``identity_grid(..., align_corners=False)`` on either side returns the other
    grid (exactly for an identity ``first``, to rounding for an identity ``second``), a constant
    translation composes exactly everywhere, and affine grids compose exactly wherever ``second``
    points inside the hull of ``first``'s voxel centres. Where ``second`` points outside that hull
    the two-step warp fades to the zero padding of its intermediate volume while the composed grid
    extends ``first``'s border displacement: compare the two only away from the borders.

    Args:
        first: ``(B, D1, H1, W1, 3)`` or ``(D1, H1, W1, 3)``, the warp applied first.
        second: ``(B, D2, H2, W2, 3)`` or ``(D2, H2, W2, 3)``, the warp applied to the result
            (a batch of 1 broadcasts).

    Returns:
        ``(B, D2, H2, W2, 3)`` in the promoted dtype.

    Example:
        >>> g = identity_grid(2, 3, 4, align_corners=False)
        >>> shifted = g + torch.tensor([0.5, 0.0, 0.0])
        >>> torch.allclose(compose_warps(shifted, shifted), g + torch.tensor([1.0, 0.0, 0.0]))
        True
    """
    f = _batched_grid("compose_warps", "first", first)
    s = _batched_grid("compose_warps", "second", second)
    f, s = _broadcast_batch("compose_warps", f, s, ("first", "second"))
    dtype = torch.promote_types(f.dtype, s.dtype)
    f, s = f.to(dtype), s.to(dtype)
    displacement = f - identity_grid(*f.shape[1:4], align_corners=False, dtype=dtype, device=f.device)
    return s + volume_to_grid(_sample(grid_to_volume(displacement), s, "border"))
