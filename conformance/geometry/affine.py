"""Checks of affine 3D transforms as homogeneous ``(..., 4, 4)`` matrices on column vectors.

``make_affine(linear (...,3,3), t (...,3))``, ``compose_affine(a, b) = a @ b`` (b applied first),
``invert_affine(a)``, ``apply_affine(a, points (...,N,3)) = L p + t`` and
``pose_to_affine(scale, rotation, translation) = S R T`` (the released head pose theta).
"""

from __future__ import annotations

from typing import Any

import torch
from hypothesis import given
from hypothesis import strategies as st
from torch import Tensor

from ._common import check, close, dtypes, gen, hsettings, lead_shapes, random_rotation, same_dtype, seeds

__all__: list[str] = []

FAMILY = "affine"
REQUIRES = ("make_affine", "compose_affine", "invert_affine", "apply_affine", "pose_to_affine")
DESCRIPTION = "homogeneous 4x4 transforms: make, compose (a @ b), invert, apply, pose S R T"


def _affine(g: torch.Generator, shape: tuple[int, ...], dtype: torch.dtype) -> Tensor:
    """Well-conditioned ``(*shape, 4, 4)``: R1 diag(s) R2 with s in [0.5, 2], translation in [-1, 1]."""
    s = 0.5 + 1.5 * torch.rand(*shape, 3, generator=g, dtype=torch.float64)
    lin = random_rotation(g, shape, torch.float64) @ (
        s[..., :, None] * random_rotation(g, shape, torch.float64)
    )
    out = torch.zeros(*shape, 4, 4, dtype=torch.float64)
    out[..., :3, :3] = lin
    out[..., :3, 3] = 2 * torch.rand(*shape, 3, generator=g, dtype=torch.float64) - 1
    out[..., 3, 3] = 1
    return out.to(dtype)


def _points(g: torch.Generator, shape: tuple[int, ...], n: int, dtype: torch.dtype) -> Tensor:
    return (2 * torch.rand(*shape, n, 3, generator=g, dtype=torch.float64) - 1).to(dtype)


def _apply(a: Tensor, p: Tensor) -> Tensor:
    """Reference: ``L p + t`` per point."""
    return torch.einsum("...ij,...nj->...ni", a[..., :3, :3], p) + a[..., None, :3, 3]


@check(FAMILY)
def check_make_affine_layout(impl: Any) -> None:
    """``make_affine(L, t)`` is ``[[L, t], [0, 0, 0, 1]]`` with shape ``(..., 4, 4)`` and L's dtype."""

    @hsettings(30)
    @given(seed=seeds, dtype=dtypes, shape=lead_shapes)
    def inner(seed: int, dtype: torch.dtype, shape: tuple[int, ...]) -> None:
        expected = _affine(gen(seed), shape, dtype)
        out = impl.make_affine(expected[..., :3, :3], expected[..., :3, 3])
        same_dtype(out, dtype, "make_affine")
        close(out, expected, "make_affine(L, t) = [[L, t], [0, 0, 0, 1]]")

    inner()


@check(FAMILY)
def check_apply_definition(impl: Any) -> None:
    """``apply_affine(A, p) = A[:3, :3] p + A[:3, 3]`` for points ``(..., N, 3)``."""

    @hsettings(30)
    @given(seed=seeds, dtype=dtypes, shape=lead_shapes, n=st.integers(1, 5))
    def inner(seed: int, dtype: torch.dtype, shape: tuple[int, ...], n: int) -> None:
        g = gen(seed)
        a, p = _affine(g, shape, dtype), _points(g, shape, n, dtype)
        close(impl.apply_affine(a, p), _apply(a, p), "apply_affine(A, p) = L p + t")

    inner()


@check(FAMILY)
def check_compose_associative(impl: Any) -> None:
    """``compose(compose(a, b), c) = compose(a, compose(b, c))``."""

    @hsettings(30)
    @given(seed=seeds, dtype=dtypes, shape=lead_shapes)
    def inner(seed: int, dtype: torch.dtype, shape: tuple[int, ...]) -> None:
        g = gen(seed)
        a, b, c = (_affine(g, shape, dtype) for _ in range(3))
        left = impl.compose_affine(impl.compose_affine(a, b), c)
        close(left, impl.compose_affine(a, impl.compose_affine(b, c)), "(a o b) o c = a o (b o c)", scale=10)

    inner()


@check(FAMILY)
def check_compose_order(impl: Any) -> None:
    """``compose_affine(a, b)`` applies b first: ``apply(compose(a, b), p) = apply(a, apply(b, p))``,
    both with the implementation's ``apply_affine`` and with ``L p + t``."""

    @hsettings(30)
    @given(seed=seeds, dtype=dtypes, shape=lead_shapes, n=st.integers(1, 4))
    def inner(seed: int, dtype: torch.dtype, shape: tuple[int, ...], n: int) -> None:
        g = gen(seed)
        a, b, p = _affine(g, shape, dtype), _affine(g, shape, dtype), _points(g, shape, n, dtype)
        ab = impl.compose_affine(a, b)
        close(_apply(ab, p), _apply(a, _apply(b, p)), "compose_affine(a, b) . p = a . (b . p)", scale=10)
        close(
            impl.apply_affine(ab, p),
            impl.apply_affine(a, impl.apply_affine(b, p)),
            "apply(a o b) = apply(a) o apply(b)",
            scale=10,
        )

    inner()


@check(FAMILY)
def check_inverse(impl: Any) -> None:
    """``a @ invert_affine(a) = invert_affine(a) @ a = I`` for well-conditioned a (cond <= 4)."""

    @hsettings(30)
    @given(seed=seeds, dtype=dtypes, shape=lead_shapes)
    def inner(seed: int, dtype: torch.dtype, shape: tuple[int, ...]) -> None:
        a = _affine(gen(seed), shape, dtype)
        inv = impl.invert_affine(a)
        eye = torch.eye(4, dtype=dtype).expand(*shape, 4, 4)
        close(a @ inv, eye, "A @ invert_affine(A) = I", scale=10)
        close(inv @ a, eye, "invert_affine(A) @ A = I", scale=10)

    inner()


@check(FAMILY)
def check_pose_to_affine(impl: Any) -> None:
    """``pose_to_affine(s, R, t) = S @ R @ T`` (S = diag(s, 1), T = [[I, t], [0, 1]]), so that it maps
    p to ``s * (R (p + t))``: the released model's theta."""

    @hsettings(30)
    @given(seed=seeds, dtype=dtypes, shape=lead_shapes)
    def inner(seed: int, dtype: torch.dtype, shape: tuple[int, ...]) -> None:
        g = gen(seed)
        s = (0.5 + 1.5 * torch.rand(*shape, 3, generator=g, dtype=torch.float64)).to(dtype)
        r = random_rotation(g, shape, dtype)
        t = (2 * torch.rand(*shape, 3, generator=g, dtype=torch.float64) - 1).to(dtype)
        eye = torch.eye(4, dtype=dtype).expand(*shape, 4, 4)
        big_s, big_r, big_t = eye.clone(), eye.clone(), eye.clone()
        big_s[..., :3, :3] = torch.diag_embed(s)
        big_r[..., :3, :3] = r
        big_t[..., :3, 3] = t
        theta = impl.pose_to_affine(s, r, t)
        close(theta, big_s @ big_r @ big_t, "pose_to_affine(s, R, t) = S @ R @ T", scale=10)
        p = _points(g, shape, 3, dtype)
        expected = s[..., None, :] * torch.einsum("...ij,...nj->...ni", r, p + t[..., None, :])
        close(_apply(theta, p), expected, "theta . p = s * R (p + t)", scale=10)

    inner()
