"""Checks of sampling grids and volume warps under the documented convention.

``identity_grid(D, H, W, *, align_corners, dtype) -> (D, H, W, 3)`` of (u, v, w) = (x -> W, y -> H,
z -> D); ``transform_grid(grid, A (B, 4, 4) | (B, 3, 4)) -> (B, D, H, W, 3)`` maps p to
``A[:3, :3] p + A[:3, 3]``; ``warp_volume(volume (B,C,D,H,W), grid)`` is
``F.grid_sample(bilinear, zeros, align_corners=False)``; ``compose_warps(first, second)`` is the one
grid for warping by ``first`` then by ``second``. Interpolating checks use smooth volumes and compare
only the interior (where no trilinear weight reaches the zero padding), with the interpolation bound
of :data:`emoportraits_conformance.tolerances.INTERPOLATION_SAFETY`.
"""

from __future__ import annotations

import math
from typing import Any

import torch
from hypothesis import assume, given
from hypothesis import strategies as st
from torch import Tensor

from ._common import (
    DTYPES,
    check,
    close,
    dtypes,
    gen,
    hsettings,
    interior,
    interp_sizes,
    interpolation_atol,
    random_affine,
    reference_identity,
    reference_sample,
    reference_transform,
    same_dtype,
    seeds,
    small_sizes,
    smooth_volume,
)

__all__: list[str] = []

FAMILY = "warp"
REQUIRES = ("identity_grid", "transform_grid", "warp_volume", "compose_warps")
DESCRIPTION = "grids and trilinear warps: grid_sample(bilinear, zeros, align_corners=False)"


def _grid_of(impl: Any, affine: Tensor, size: tuple[int, int, int], dtype: torch.dtype) -> Tensor:
    """The implementation's ``transform_grid(identity_grid(size, align_corners=False), affine)``."""
    return impl.transform_grid(impl.identity_grid(*size, align_corners=False, dtype=dtype), affine.to(dtype))


def _channels_last(x: Tensor) -> Tensor:
    return x.movedim(1, -1)


def _spectral(a: Tensor) -> float:
    return float(torch.linalg.matrix_norm(a[..., :3, :3].double(), ord=2).max())


@check(FAMILY)
def check_identity_grid_values(impl: Any) -> None:
    """``identity_grid`` holds (u, v, w) = (x -> W, y -> H, z -> D): linspace(-1, 1, n) with
    align_corners=True (the released grid), voxel centres (2i + 1) / n - 1 with align_corners=False."""

    @hsettings(30)
    @given(size=st.tuples(*[st.integers(1, 6)] * 3), align=st.booleans(), dtype=dtypes)
    def inner(size: tuple[int, int, int], align: bool, dtype: torch.dtype) -> None:
        out = impl.identity_grid(*size, align_corners=align, dtype=dtype)
        same_dtype(out, dtype, "identity_grid")
        expected = reference_identity(*size)
        if align:
            axes = [torch.linspace(-1, 1, n, dtype=torch.float64) for n in size]
            zz, yy, xx = torch.meshgrid(*axes, indexing="ij")
            expected = torch.stack((xx, yy, zz), -1)
        close(out, expected.to(dtype), f"identity_grid{size}(align_corners={align})")

    inner()


@check(FAMILY)
def check_sampling_convention(impl: Any) -> None:
    """``warp_volume(v, g) = grid_sample(v, g, bilinear, zeros, align_corners=False)`` for any grid,
    including points outside [-1, 1]."""

    @hsettings(25)
    @given(seed=seeds, dtype=dtypes, size=small_sizes, out_size=small_sizes, batch=st.integers(1, 3))
    def inner(seed: int, dtype: torch.dtype, size: tuple, out_size: tuple, batch: int) -> None:
        g = gen(seed)
        v = torch.randn(batch, 2, *size, generator=g, dtype=torch.float64).to(dtype)
        grid = (2.4 * torch.rand(batch, *out_size, 3, generator=g, dtype=torch.float64) - 1.2).to(dtype)
        close(impl.warp_volume(v, grid), reference_sample(v, grid), "warp_volume(v, g) = grid_sample(v, g)")

    inner()


@check(FAMILY)
def check_identity_warp(impl: Any) -> None:
    """Warping with ``identity_grid(..., align_corners=False)`` returns the volume unchanged."""

    @hsettings(25)
    @given(seed=seeds, dtype=dtypes, size=small_sizes, batch=st.integers(1, 3))
    def inner(seed: int, dtype: torch.dtype, size: tuple, batch: int) -> None:
        v = torch.randn(batch, 3, *size, generator=gen(seed), dtype=torch.float64).to(dtype)
        grid = impl.identity_grid(*size, align_corners=False, dtype=dtype)
        out = impl.warp_volume(v, grid[None].expand(batch, *grid.shape))
        close(out, v, f"warp_volume(v, identity_grid{size}(align_corners=False)) = v")

    inner()


@check(FAMILY)
def check_transform_grid_definition(impl: Any) -> None:
    """``transform_grid(grid, A)`` maps each point p to ``A[:3, :3] p + A[:3, 3]``, for (B, 4, 4) and
    (B, 3, 4) affines and for unbatched (D, H, W, 3) or batched (B, D, H, W, 3) grids."""

    @hsettings(30)
    @given(
        seed=seeds,
        dtype=dtypes,
        size=small_sizes,
        batch=st.integers(1, 3),
        rows=st.sampled_from([3, 4]),
        batched=st.booleans(),
    )
    def inner(seed: int, dtype: torch.dtype, size: tuple, batch: int, rows: int, batched: bool) -> None:
        g = gen(seed)
        a = random_affine(g, batch, torch.float64, angle=math.pi, shift=1.0, stretch=0.5)
        grid = 2 * torch.rand(*((batch,) if batched else ()), *size, 3, generator=g, dtype=torch.float64) - 1
        if batched:
            expected = torch.stack([reference_transform(grid[i], a[i : i + 1])[0] for i in range(batch)])
        else:
            expected = reference_transform(grid, a)
        out = impl.transform_grid(grid.to(dtype), a[:, :rows].to(dtype))
        close(
            out,
            expected.to(dtype),
            f"transform_grid(grid, A (B, {rows}, 4)) = A[:3,:3] p + A[:3,3]",
            scale=10,
        )

    inner()


def _shifted(v: Tensor, k: tuple[int, int, int]) -> Tensor:
    """``out[..., z, y, x] = v[..., z + kz, y + ky, x + kx]``, zero where that is outside."""
    out = torch.zeros_like(v)
    dst, src = [], []
    for n, s in zip(v.shape[-3:], (k[2], k[1], k[0])):
        dst.append(slice(max(0, -s), min(n, n - s)))
        src.append(slice(max(0, s), min(n, n + s)))
    out[(..., *dst)] = v[(..., *src)]
    return out


@check(FAMILY)
def check_whole_voxel_translation(impl: Any) -> None:
    """Translating by whole voxels (t = 2 k / n per axis) shifts the volume exactly, with zeros
    coming in: ``warp(v, transform_grid(identity, T(t)))[.., i] = v[.., i + k]``."""

    @hsettings(30)
    @given(
        seed=seeds,
        dtype=dtypes,
        size=small_sizes,
        batch=st.integers(1, 2),
        k=st.tuples(*[st.integers(-2, 2)] * 3),
    )
    def inner(seed: int, dtype: torch.dtype, size: tuple, batch: int, k: tuple[int, int, int]) -> None:
        v = torch.randn(batch, 2, *size, generator=gen(seed), dtype=torch.float64).to(dtype)
        d, h, w = size
        a = torch.eye(4, dtype=torch.float64).repeat(batch, 1, 1)
        a[:, :3, 3] = torch.tensor([2 * k[0] / w, 2 * k[1] / h, 2 * k[2] / d], dtype=torch.float64)
        out = impl.warp_volume(v, _grid_of(impl, a, size, dtype))
        close(out, _shifted(v, k), f"shift by {k} voxels (x, y, z)", scale=10)

    inner()


@check(FAMILY)
def check_inverse_restores_interior(impl: Any) -> None:
    """Warping a smooth volume by A (rotation <= 0.15 rad, translation <= 0.1, scale 1 +- 0.05) then by
    A^-1 restores it in the interior, within the trilinear interpolation bound of two resamplings."""

    @hsettings(15)
    @given(seed=seeds, dtype=dtypes, size=interp_sizes, batch=st.integers(1, 2))
    def inner(seed: int, dtype: torch.dtype, size: tuple, batch: int) -> None:
        g = gen(seed)
        v, curvature = smooth_volume(g, batch, 2, size, dtype)
        a = random_affine(g, batch, torch.float64, angle=0.15, shift=0.1, stretch=0.05)
        a_inv = torch.linalg.inv(a)
        out = impl.warp_volume(
            impl.warp_volume(v, _grid_of(impl, a, size, dtype)), _grid_of(impl, a_inv, size, dtype)
        )
        ident = reference_identity(*size)
        mask = interior([reference_transform(ident, a), reference_transform(ident, a_inv)], size=size)
        assume(int(mask.sum()) >= 8)
        atol = interpolation_atol(curvature, _spectral(a), size, stages=2)
        close(
            _channels_last(out)[mask],
            _channels_last(v)[mask],
            "warp(warp(v, A), A^-1) = v (interior)",
            atol=atol,
        )

    inner()


@check(FAMILY)
def check_composed_transforms(impl: Any) -> None:
    """Warping by A then by B equals one warp by A @ B (``out(q) = v(A B q)``) in the interior, within
    the interpolation bound (two resamplings against one)."""

    @hsettings(15)
    @given(seed=seeds, dtype=dtypes, size=interp_sizes, batch=st.integers(1, 2))
    def inner(seed: int, dtype: torch.dtype, size: tuple, batch: int) -> None:
        g = gen(seed)
        v, curvature = smooth_volume(g, batch, 2, size, dtype)
        a, b = (random_affine(g, batch, torch.float64, angle=0.15, shift=0.1, stretch=0.05) for _ in "ab")
        two = impl.warp_volume(
            impl.warp_volume(v, _grid_of(impl, a, size, dtype)), _grid_of(impl, b, size, dtype)
        )
        one = impl.warp_volume(v, _grid_of(impl, a @ b, size, dtype))
        ident = reference_identity(*size)
        chain = [reference_transform(ident, a), reference_transform(ident, b)]
        mask = interior(chain, [reference_transform(ident, a @ b)], size=size)
        assume(int(mask.sum()) >= 8)
        atol = interpolation_atol(curvature, _spectral(a), size, stages=3)
        close(
            _channels_last(two)[mask],
            _channels_last(one)[mask],
            "warp(warp(v, A), B) = warp(v, A B)",
            atol=atol,
        )

    inner()


def _multilinear_warp(g: torch.Generator, batch: int, size: tuple, bend: float) -> tuple[Tensor, Any, float]:
    """A near-rigid affine plus a multilinear bend (exactly reproduced by trilinear interpolation):
    its grid ``(B, D, H, W, 3)``, the map itself, and a Lipschitz bound."""
    a = random_affine(g, batch, torch.float64, angle=0.15, shift=0.1, stretch=0.05)
    coef = bend * (2 * torch.rand(batch, 3, generator=g, dtype=torch.float64) - 1)

    def fn(p: Tensor) -> Tensor:  # p (B, ..., 3) float64
        lin = p @ a[:, None, None, :3, :3].transpose(-1, -2) + a[:, None, None, None, :3, 3]
        u, v, w = p.unbind(-1)
        bent = torch.stack((v * w, u * w, u * v), -1) * coef[:, None, None, None, :]
        return lin + bent

    grid = fn(reference_identity(*size).expand(batch, *size, 3))
    return grid, fn, _spectral(a) + math.sqrt(6) * bend


@check(FAMILY)
def check_compose_warps(impl: Any) -> None:
    """``compose_warps(first, second)`` maps q to ``first(second(q))`` (exact for grids that are affine
    plus multilinear, inside first's voxel-centre hull), and warping by it equals warping by ``first``
    then ``second`` in the interior, within the interpolation bound."""

    @hsettings(15)
    @given(
        seed=seeds,
        dtype=dtypes,
        sizes=st.tuples(interp_sizes, interp_sizes, interp_sizes),
        batch=st.integers(1, 2),
    )
    def inner(seed: int, dtype: torch.dtype, sizes: tuple, batch: int) -> None:
        size_v, size_1, size_2 = sizes
        g = gen(seed)
        v, curvature = smooth_volume(g, batch, 2, size_v, dtype)
        first, first_fn, lip = _multilinear_warp(g, batch, size_1, 0.05)
        second, _, _ = _multilinear_warp(g, batch, size_2, 0.05)
        expected = first_fn(second)
        composed = impl.compose_warps(first.to(dtype), second.to(dtype))
        in_hull = interior([second], size=size_1)
        mask = in_hull & interior([first, second], [expected], size=size_v)
        assume(int(mask.sum()) >= 8)
        close(
            composed[in_hull],
            expected[in_hull].to(dtype),
            "compose_warps(first, second)(q) = first(second(q))",
            scale=10,
        )
        two = impl.warp_volume(impl.warp_volume(v, first.to(dtype)), second.to(dtype))
        one = impl.warp_volume(v, composed)
        smallest = tuple(min(s[i] for s in sizes) for i in range(3))
        atol = interpolation_atol(curvature, lip, smallest, stages=3)
        what = "warp(warp(v, first), second) = warp(v, compose_warps(first, second))"
        close(_channels_last(two)[mask], _channels_last(one)[mask], what, atol=atol)

    inner()


@check(FAMILY)
def check_batch_independence(impl: Any) -> None:
    """Item i of a batched warp equals the warp of item i alone, and a batch-1 volume (or grid)
    broadcasts like its explicit expansion."""

    @hsettings(12)
    @given(seed=seeds, dtype=dtypes, size=small_sizes, out_size=small_sizes, batch=st.integers(2, 4))
    def inner(seed: int, dtype: torch.dtype, size: tuple, out_size: tuple, batch: int) -> None:
        g = gen(seed)
        v = torch.randn(batch, 2, *size, generator=g, dtype=torch.float64).to(dtype)
        grid = (2.2 * torch.rand(batch, *out_size, 3, generator=g, dtype=torch.float64) - 1.1).to(dtype)
        out = impl.warp_volume(v, grid)
        for i in range(batch):
            close(
                out[i : i + 1],
                impl.warp_volume(v[i : i + 1], grid[i : i + 1]),
                f"item {i} of a batch of {batch}",
            )
        v1, g1 = v[:1], grid[:1]
        close(
            impl.warp_volume(v1, grid), impl.warp_volume(v1.expand_as(v).contiguous(), grid), "batch-1 volume"
        )
        close(impl.warp_volume(v, g1), impl.warp_volume(v, g1.expand_as(grid).contiguous()), "batch-1 grid")

    inner()


@check(FAMILY)
def check_dtypes(impl: Any) -> None:
    """float32 and float64 volumes keep their dtype whatever the grid's dtype (the grid is cast to
    the volume's), and the grids of identity_grid / transform_grid follow the requested dtype."""
    for vdt in DTYPES:
        for gdt in DTYPES:
            g = gen(7)
            v = torch.randn(2, 2, 3, 4, 5, generator=g, dtype=torch.float64).to(vdt)
            grid = (2 * torch.rand(2, 4, 3, 2, 3, generator=g, dtype=torch.float64) - 1).to(gdt)
            out = impl.warp_volume(v, grid)
            same_dtype(out, vdt, f"warp_volume({vdt} volume, {gdt} grid)")
            close(out, reference_sample(v, grid), f"warp_volume({vdt} volume, {gdt} grid)")
        ident = impl.identity_grid(3, 4, 5, align_corners=False, dtype=vdt)
        same_dtype(ident, vdt, "identity_grid")
        same_dtype(impl.transform_grid(ident, torch.eye(4, dtype=vdt)[None]), vdt, "transform_grid")
