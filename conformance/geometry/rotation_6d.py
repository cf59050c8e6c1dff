"""Checks of the 6D rotation representation (Gram-Schmidt, Zhou et al. 2019, arXiv:1812.07035).

The implementation provides ``rotation_6d_to_matrix(d6 (..., 6)) -> (..., 3, 3)`` (columns b1, b2,
b3 = b1 x b2 from a1 = d6[..., :3], a2 = d6[..., 3:]) and ``matrix_to_rotation_6d(R) -> (..., 6)``
(the first two columns).
"""

from __future__ import annotations

from typing import Any

import torch
from hypothesis import assume, given
from hypothesis import strategies as st
from torch import Tensor

from ..tolerances import gradcheck
from ._common import check, close, dtypes, gen, hsettings, lead_shapes, random_rotation, same_dtype, seeds

__all__: list[str] = []

FAMILY = "rotation_6d"
REQUIRES = ("rotation_6d_to_matrix", "matrix_to_rotation_6d")
DESCRIPTION = "6D rotation <-> matrix by Gram-Schmidt (first two columns; Zhou et al. 2019)"

#: Inputs worth always trying: identity, near identity, a half turn, huge/tiny magnitudes.
SPECIAL_6D = (
    None,
    (1.0, 0.0, 0.0, 0.0, 1.0, 0.0),
    (1.0, 1e-7, 0.0, -1e-7, 1.0, 0.0),
    (-1.0, 0.0, 0.0, 0.0, -1.0, 0.0),
    (0.0, 0.0, 3.0, 0.5, 0.0, 0.0),
    (1e-3, 0.0, 0.0, 5.0, 2e3, -1.0),
)
specials = st.sampled_from(SPECIAL_6D)


def _sine(a1: Tensor, a2: Tensor) -> Tensor:
    a1, a2 = a1.double(), a2.double()
    return torch.linalg.cross(a1, a2).norm(dim=-1) / (a1.norm(dim=-1) * a2.norm(dim=-1))


def draw_d6(seed: int, dtype: torch.dtype, shape: tuple[int, ...], special: Any) -> Tensor:
    """Well-conditioned 6D inputs ``(*shape, 6)``: magnitudes 1e-2..1e2, sine(a1, a2) >= 0.05."""
    g = gen(seed)
    d6 = torch.randn(*shape, 6, generator=g, dtype=torch.float64)
    mags = 10 ** (4 * torch.rand(*shape, 2, 1, generator=g, dtype=torch.float64) - 2)
    d6 = (d6.reshape(*shape, 2, 3) * mags).reshape(*shape, 6)
    if special is not None:
        d6.reshape(-1, 6)[0] = torch.tensor(special, dtype=torch.float64)
    assume(bool((_sine(d6[..., :3], d6[..., 3:]) >= 0.05).all()))
    return d6.to(dtype)


def _assert_rotation(r: Tensor, lead: tuple[int, ...], dtype: torch.dtype, what: str) -> None:
    if tuple(r.shape) != (*lead, 3, 3):
        raise AssertionError(f"{what}: expected shape {(*lead, 3, 3)}, got {tuple(r.shape)}")
    same_dtype(r, dtype, what)
    eye = torch.eye(3, dtype=dtype).expand_as(r)
    close(r.transpose(-1, -2) @ r, eye, f"{what}: R^T R = I")
    close(torch.linalg.det(r.double()).to(dtype), torch.ones(lead, dtype=dtype), f"{what}: det R = +1")


@check(FAMILY)
def check_orthonormal(impl: Any) -> None:
    """Any non-degenerate 6D input gives an orthonormal matrix with det +1, same shape and dtype."""

    @hsettings(40)
    @given(seed=seeds, dtype=dtypes, shape=lead_shapes, special=specials)
    def inner(seed: int, dtype: torch.dtype, shape: tuple[int, ...], special: Any) -> None:
        d6 = draw_d6(seed, dtype, shape, special)
        _assert_rotation(impl.rotation_6d_to_matrix(d6), shape, dtype, "rotation_6d_to_matrix(d6)")

    inner()


@check(FAMILY)
def check_round_trip(impl: Any) -> None:
    """``matrix_to_rotation_6d(R)`` is R's first two columns and Gram-Schmidt of them returns R."""

    @hsettings(40)
    @given(seed=seeds, dtype=dtypes, shape=lead_shapes)
    def inner(seed: int, dtype: torch.dtype, shape: tuple[int, ...]) -> None:
        r = random_rotation(gen(seed), shape, dtype)
        columns = torch.cat((r[..., :, 0], r[..., :, 1]), dim=-1)
        close(impl.matrix_to_rotation_6d(r), columns, "matrix_to_rotation_6d(R) = (R[:, 0], R[:, 1])")
        close(impl.rotation_6d_to_matrix(columns), r, "rotation_6d_to_matrix(first two columns of R) = R")
        close(impl.rotation_6d_to_matrix(impl.matrix_to_rotation_6d(r)), r, "GS(to_6d(R)) = R")

    inner()


@check(FAMILY)
def check_idempotent(impl: Any) -> None:
    """``GS(to_6d(GS(x))) = GS(x)`` for any non-degenerate x."""

    @hsettings(40)
    @given(seed=seeds, dtype=dtypes, shape=lead_shapes, special=specials)
    def inner(seed: int, dtype: torch.dtype, shape: tuple[int, ...], special: Any) -> None:
        r = impl.rotation_6d_to_matrix(draw_d6(seed, dtype, shape, special))
        close(impl.rotation_6d_to_matrix(impl.matrix_to_rotation_6d(r)), r, "GS(to_6d(GS(x))) = GS(x)")

    inner()


@check(FAMILY)
def check_invariance(impl: Any) -> None:
    """GS is unchanged by positive scaling of a1 and a2 (factors 1e-4..1e4, so any degeneracy
    threshold must be relative) and by adding a multiple of a1 to a2."""

    @hsettings(50)
    @given(
        seed=seeds,
        dtype=dtypes,
        shape=lead_shapes,
        log_s1=st.floats(-4, 4),
        log_s2=st.floats(-4, 4),
        k=st.floats(-3, 3),
    )
    def inner(
        seed: int, dtype: torch.dtype, shape: tuple[int, ...], log_s1: float, log_s2: float, k: float
    ) -> None:
        d6 = draw_d6(seed, torch.float64, shape, None)
        a1, a2 = d6[..., :3], d6[..., 3:]
        ratio = a2.norm(dim=-1, keepdim=True) / a1.norm(dim=-1, keepdim=True)
        moved = torch.cat((10**log_s1 * a1, 10**log_s2 * (a2 + k * ratio * a1)), dim=-1)
        expected = impl.rotation_6d_to_matrix(d6.to(dtype))
        what = f"GS(s1 a1, s2 (a2 + c a1)) = GS(a1, a2) with s1=1e{log_s1:.2f}, s2=1e{log_s2:.2f}"
        close(impl.rotation_6d_to_matrix(moved.to(dtype)), expected, what, scale=10)

    inner()


@check(FAMILY)
def check_finite_gradients(impl: Any) -> None:
    """Gradients are finite at and near the identity, and match finite differences (float64
    gradcheck) on well-conditioned inputs."""
    weights = torch.arange(1.0, 10.0, dtype=torch.float64).reshape(3, 3)
    for dtype in (torch.float32, torch.float64):
        for special in SPECIAL_6D[1:3]:
            x = torch.tensor(special, dtype=dtype, requires_grad=True)
            (impl.rotation_6d_to_matrix(x) * weights.to(dtype)).sum().backward()
            if x.grad is None or not bool(torch.isfinite(x.grad).all()):
                raise AssertionError(f"non-finite gradient at d6={special} ({dtype}): {x.grad}")

    @hsettings(8)
    @given(seed=seeds)
    def inner(seed: int) -> None:
        d6 = draw_d6(seed, torch.float64, (2,), None)
        try:
            gradcheck(impl.rotation_6d_to_matrix, (d6,), eps=1e-6, atol=1e-5, rtol=1e-4)
        except RuntimeError as err:  # torch.autograd.GradcheckError
            raise AssertionError(f"gradcheck of rotation_6d_to_matrix failed: {err}") from err

    inner()


@check(FAMILY)
def check_degenerate_raises(impl: Any) -> None:
    """A zero a1 or a2, or a1 parallel to a2 (any magnitude, any sign), raises a ValueError with a
    message, even when the bad row sits among good ones."""

    @hsettings(40)
    @given(
        seed=seeds,
        dtype=dtypes,
        kind=st.sampled_from(["a1_zero", "a2_zero", "both_zero", "parallel", "antiparallel"]),
        log_mag=st.floats(-3, 3),
        rows=st.integers(1, 4),
    )
    def inner(seed: int, dtype: torch.dtype, kind: str, log_mag: float, rows: int) -> None:
        g = gen(seed)
        d6 = draw_d6(seed, torch.float64, (rows,), None)
        a = torch.randn(3, generator=g, dtype=torch.float64) * 10**log_mag
        c = float(torch.rand((), generator=g, dtype=torch.float64)) * 10 + 0.1
        zero = torch.zeros(3, dtype=torch.float64)
        bad = {
            "a1_zero": (zero, a),
            "a2_zero": (a, zero),
            "both_zero": (zero, zero),
            "parallel": (a, c * a),
            "antiparallel": (a, -c * a),
        }[kind]
        at = int(torch.randint(rows, (), generator=g))
        d6[at] = torch.cat(bad)
        try:
            out = impl.rotation_6d_to_matrix(d6.to(dtype))
        except ValueError as err:
            if not str(err).strip():
                raise AssertionError(
                    f"degenerate input ({kind}) raised a ValueError without a message"
                ) from err
            return
        except Exception as err:
            raise AssertionError(
                f"degenerate input ({kind}) raised {type(err).__name__} instead of a ValueError: {err}"
            ) from err
        raise AssertionError(
            f"degenerate 6D input ({kind}: a1={bad[0].tolist()}, a2={bad[1].tolist()}, row {at} of {rows}, "
            f"{dtype}) raised no ValueError; returned {out[at].tolist() if isinstance(out, Tensor) else out}"
        )

    inner()
