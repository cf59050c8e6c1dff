"""Checks of Euler angles (yaw, pitch, roll) <-> matrix in the released checkpoint's convention.

``euler_to_matrix(euler (..., 3)) -> (..., 3, 3)`` must equal ``Rz(yaw) Ry(pitch) Rx(roll)`` on
column vectors in the (x = u -> W, y = v -> H, z = w -> D) grid frame, radians;
``matrix_to_euler`` inverts it with pitch in [-pi/2, pi/2].
"""

from __future__ import annotations

import math
from typing import Any

import torch
from hypothesis import given
from hypothesis import strategies as st
from torch import Tensor

from ._common import check, close, dtypes, gen, hsettings, lead_shapes, random_rotation, same_dtype, seeds

__all__: list[str] = []

FAMILY = "euler"
REQUIRES = ("euler_to_matrix", "matrix_to_euler")
DESCRIPTION = "Euler (yaw, pitch, roll) <-> matrix, R = Rz(yaw) Ry(pitch) Rx(roll) (released convention)"

#: Distance kept from gimbal lock (|pitch| = pi/2) and from the +-pi wrap of yaw and roll.
MARGIN = 0.05


def released_formula(cy: Tensor, sy: Tensor, cp: Tensor, sp: Tensor, cr: Tensor, sr: Tensor) -> Tensor:
    """The released checkpoint's matrix, written out entry by entry."""
    rows = (
        (cy * cp, cy * sp * sr - sy * cr, cy * sp * cr + sy * sr),
        (sy * cp, sy * sp * sr + cy * cr, sy * sp * cr - cy * sr),
        (-sp, cp * sr, cp * cr),
    )
    return torch.stack([torch.stack(r, -1) for r in rows], -2)


def _reference(euler: Tensor) -> Tensor:
    e = euler.double()
    y, p, r = e.unbind(-1)
    return released_formula(y.cos(), y.sin(), p.cos(), p.sin(), r.cos(), r.sin()).to(euler.dtype)


def _angles(seed: int, shape: tuple[int, ...], margin: float) -> Tensor:
    """(yaw, pitch, roll) float64 within ``margin`` of neither gimbal lock nor the +-pi wrap."""
    u = 2 * torch.rand(*shape, 3, generator=gen(seed), dtype=torch.float64) - 1
    return u * torch.tensor([math.pi - margin, math.pi / 2 - margin, math.pi - margin], dtype=torch.float64)


@check(FAMILY)
def check_released_formula(impl: Any) -> None:
    """``euler_to_matrix`` equals the released formula R = Rz(yaw) Ry(pitch) Rx(roll) for any angles."""

    @hsettings(50)
    @given(seed=seeds, dtype=dtypes, shape=lead_shapes)
    def inner(seed: int, dtype: torch.dtype, shape: tuple[int, ...]) -> None:
        euler = (2 * _angles(seed, shape, 0.0)).to(dtype)  # up to +-2 pi
        r = impl.euler_to_matrix(euler)
        same_dtype(r, dtype, "euler_to_matrix")
        close(r, _reference(euler), "euler_to_matrix(yaw, pitch, roll) = Rz(yaw) Ry(pitch) Rx(roll)")

    inner()


@check(FAMILY)
def check_orthonormal(impl: Any) -> None:
    """``euler_to_matrix`` gives orthonormal matrices with det +1."""

    @hsettings(40)
    @given(seed=seeds, dtype=dtypes, shape=lead_shapes)
    def inner(seed: int, dtype: torch.dtype, shape: tuple[int, ...]) -> None:
        r = impl.euler_to_matrix((2 * _angles(seed, shape, 0.0)).to(dtype))
        eye = torch.eye(3, dtype=dtype).expand(*shape, 3, 3)
        close(r.transpose(-1, -2) @ r, eye, "euler_to_matrix: R^T R = I")
        close(
            torch.linalg.det(r.double()).to(dtype),
            torch.ones(shape, dtype=dtype),
            "euler_to_matrix: det = +1",
        )

    inner()


@check(FAMILY)
def check_round_trip(impl: Any) -> None:
    """Away from gimbal lock (|pitch| <= pi/2 - 0.05) angles -> matrix -> angles is the identity, and
    any rotation -> angles -> matrix (released formula) is the identity with pitch in [-pi/2, pi/2]."""

    @hsettings(50)
    @given(seed=seeds, dtype=dtypes, shape=lead_shapes)
    def inner(seed: int, dtype: torch.dtype, shape: tuple[int, ...]) -> None:
        euler = _angles(seed, shape, MARGIN).to(dtype)
        back = impl.matrix_to_euler(impl.euler_to_matrix(euler))
        close(back, euler, "matrix_to_euler(euler_to_matrix(e)) = e", scale=10)
        r = random_rotation(gen(seed + 1), shape, dtype)
        angles = impl.matrix_to_euler(r)
        pitch = angles[..., 1].double()
        if not bool((pitch.abs() <= math.pi / 2 + 1e-6).all()):
            raise AssertionError(f"matrix_to_euler: pitch outside [-pi/2, pi/2]: {pitch.tolist()}")
        close(_reference(angles), r, "released_formula(matrix_to_euler(R)) = R", scale=10)

    inner()


@check(FAMILY)
def check_gimbal_lock(impl: Any) -> None:
    """At and near gimbal lock (pitch = +-pi/2, where only yaw -+ roll is defined) matrix_to_euler
    still returns angles that rebuild the matrix, with pitch = +-pi/2 at the lock."""

    @hsettings(40)
    @given(
        seed=seeds,
        dtype=dtypes,
        sign=st.sampled_from([1.0, -1.0]),
        offset=st.sampled_from([0.0, 1e-7, 1e-5, 1e-3]),
    )
    def inner(seed: int, dtype: torch.dtype, sign: float, offset: float) -> None:
        y, _, r = _angles(seed, (3,), 0.0).unbind(-1)
        if offset == 0.0:  # exact lock, built without rounding: cos pitch = 0, sin pitch = +-1
            cp, sp = torch.zeros(3, dtype=torch.float64), torch.full((3,), sign, dtype=torch.float64)
        else:
            p = torch.full((3,), sign * (math.pi / 2 - offset), dtype=torch.float64)
            cp, sp = p.cos(), p.sin()
        matrix = released_formula(y.cos(), y.sin(), cp, sp, r.cos(), r.sin()).to(dtype)
        angles = impl.matrix_to_euler(matrix)
        close(
            _reference(angles),
            matrix,
            f"rebuild from matrix_to_euler at pitch = {sign:+.0f}(pi/2 - {offset:g})",
            scale=10,
        )
        if offset == 0.0:
            expected = torch.full((3,), sign * math.pi / 2, dtype=dtype)
            close(angles[..., 1], expected, "pitch at gimbal lock", scale=10)

    inner()
