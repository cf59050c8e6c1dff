"""Checks of the geodesic angle between rotations, ``geodesic_angle(R1, R2) (..., 3, 3) -> (...)``,
in radians in [0, pi]: the angle of the relative rotation ``R1^T R2``."""

from __future__ import annotations

import math
from typing import Any

import torch
from hypothesis import given
from hypothesis import strategies as st

from ._common import (
    axis_angle_rotation,
    check,
    close,
    dtypes,
    gen,
    hsettings,
    lead_shapes,
    random_rotation,
    seeds,
)

__all__: list[str] = []

FAMILY = "geodesic"
REQUIRES = ("geodesic_angle",)
DESCRIPTION = "geodesic angle between rotations (radians in [0, pi], stable near 0 and pi)"

#: Angles that break naive acos((tr - 1) / 2): tiny ones, generic ones, and ones close to pi.
angles = st.one_of(
    st.floats(-7, -2).map(lambda e: 10**e),
    st.floats(0, math.pi),
    st.floats(-6, -2).map(lambda e: math.pi - 10**e),
)


def _about_axis(seed: int, shape: tuple[int, ...], angle: float, dtype: torch.dtype):
    """(R1, R2 = R1 Rot(axis, angle)) with a random R1 and a random axis, built in float64."""
    g = gen(seed)
    r1 = random_rotation(g, shape, torch.float64)
    axis = torch.randn(*shape, 3, generator=g, dtype=torch.float64)
    axis = axis / axis.norm(dim=-1, keepdim=True)
    r2 = r1 @ axis_angle_rotation(axis, torch.full(shape, angle, dtype=torch.float64))
    return r1.to(dtype), r2.to(dtype)


def _in_range(d: torch.Tensor, what: str) -> None:
    if not bool(((d >= 0) & (d <= math.pi + 1e-6)).all()):
        raise AssertionError(f"{what}: angle outside [0, pi]: {d.tolist()}")


@check(FAMILY)
def check_symmetric(impl: Any) -> None:
    """``geodesic_angle(R1, R2) = geodesic_angle(R2, R1)`` and lies in [0, pi]."""

    @hsettings(40)
    @given(seed=seeds, dtype=dtypes, shape=lead_shapes)
    def inner(seed: int, dtype: torch.dtype, shape: tuple[int, ...]) -> None:
        g = gen(seed)
        r1, r2 = random_rotation(g, shape, dtype), random_rotation(g, shape, dtype)
        d12, d21 = impl.geodesic_angle(r1, r2), impl.geodesic_angle(r2, r1)
        _in_range(d12, "geodesic_angle")
        close(d12, d21, "geodesic_angle(R1, R2) = geodesic_angle(R2, R1)")

    inner()


@check(FAMILY)
def check_zero_on_identical(impl: Any) -> None:
    """``geodesic_angle(R, R) = 0`` (to rounding) for any rotation R, with shape ``R.shape[:-2]``."""

    @hsettings(40)
    @given(seed=seeds, dtype=dtypes, shape=lead_shapes)
    def inner(seed: int, dtype: torch.dtype, shape: tuple[int, ...]) -> None:
        r = random_rotation(gen(seed), shape, dtype)
        close(impl.geodesic_angle(r, r), torch.zeros(shape, dtype=dtype), "geodesic_angle(R, R) = 0")

    inner()


@check(FAMILY)
def check_single_axis(impl: Any) -> None:
    """For ``R2 = R1 Rot(axis, a)`` the angle is ``|a|``, to rounding also for tiny a and a near pi."""

    @hsettings(60)
    @given(seed=seeds, dtype=dtypes, shape=lead_shapes, angle=angles, sign=st.sampled_from([1.0, -1.0]))
    def inner(seed: int, dtype: torch.dtype, shape: tuple[int, ...], angle: float, sign: float) -> None:
        r1, r2 = _about_axis(seed, shape, sign * angle, dtype)
        expected = torch.full(shape, angle, dtype=dtype)
        close(
            impl.geodesic_angle(r1, r2), expected, f"geodesic_angle for a rotation by {sign * angle:.3g} rad"
        )

    inner()


@check(FAMILY)
def check_triangle_inequality(impl: Any) -> None:
    """``d(A, C) <= d(A, B) + d(B, C)`` for any rotations A, B, C."""

    @hsettings(40)
    @given(seed=seeds, dtype=dtypes, shape=lead_shapes)
    def inner(seed: int, dtype: torch.dtype, shape: tuple[int, ...]) -> None:
        g = gen(seed)
        a, b, c = (random_rotation(g, shape, dtype) for _ in range(3))
        dac, dab, dbc = (impl.geodesic_angle(x, y).double() for x, y in ((a, c), (a, b), (b, c)))
        slack = 1e-5 if dtype == torch.float32 else 1e-12
        if not bool((dac <= dab + dbc + slack).all()):
            raise AssertionError(
                f"triangle inequality violated: d(A,C)={dac.tolist()} > d(A,B)+d(B,C)={(dab + dbc).tolist()}"
            )

    inner()


@check(FAMILY)
def check_finite_gradients(impl: Any) -> None:
    """Gradients with respect to both rotations are finite for angles in [1e-4, pi - 1e-3], in
    float32 as well as float64 (a naive acos is not: its derivative blows up near 0 and pi)."""

    @hsettings(40)
    @given(
        seed=seeds,
        dtype=dtypes,
        angle=st.one_of(st.floats(-4, -2).map(lambda e: 10**e), st.floats(1e-2, math.pi - 1e-3)),
    )
    def inner(seed: int, dtype: torch.dtype, angle: float) -> None:
        r1, r2 = (r.requires_grad_(True) for r in _about_axis(seed, (2,), angle, dtype))
        impl.geodesic_angle(r1, r2).sum().backward()
        for name, r in (("R1", r1), ("R2", r2)):
            if r.grad is None or not bool(torch.isfinite(r.grad).all()):
                raise AssertionError(
                    f"non-finite gradient wrt {name} at angle {angle:.3g} ({dtype}): {r.grad}"
                )

    inner()
