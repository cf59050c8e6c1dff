"""Unit tests of emoportraits_core.geometry: shapes, dtypes, values, gradients and error messages.

The property-based checks live in emoportraits_conformance.geometry (tests/conformance/test_conformance_geometry.py).
"""

from __future__ import annotations

import doctest
import importlib
import math
import re

import pytest
import torch
import torch.nn.functional as F

from emoportraits_conformance.tolerances import assert_close, gradcheck
from emoportraits_core.errors import InputError
from emoportraits_core.geometry import (
    apply_affine,
    compose_affine,
    compose_warps,
    euler_to_matrix,
    geodesic_angle,
    grid_to_volume,
    identity_grid,
    invert_affine,
    make_affine,
    matrix_to_euler,
    matrix_to_rotation_6d,
    pose_to_affine,
    rotation_6d_to_matrix,
    transform_grid,
    volume_to_grid,
    warp_volume,
)

F64 = torch.float64
DTYPES = [torch.float32, torch.float64]
LEADS = [(), (4,), (2, 3)]


def _rotations(lead, dtype, seed=0):
    g = torch.Generator().manual_seed(seed)
    return rotation_6d_to_matrix(torch.randn(*lead, 6, generator=g, dtype=F64)).to(dtype)


def _affines(batch, dtype=F64, seed=0):
    g = torch.Generator().manual_seed(seed)
    scale = 0.8 + 0.4 * torch.rand(batch, 3, generator=g, dtype=F64)
    t = 0.2 * torch.randn(batch, 3, generator=g, dtype=F64)
    return pose_to_affine(scale, _rotations((batch,), F64, seed), t).to(dtype)


# -- doctests ----------------------------------------------------------------------------------------
@pytest.mark.parametrize("module", ["rotation", "euler", "affine", "grids", "warp"])
def test_doctests(module):
    mod = importlib.import_module(f"emoportraits_core.geometry.{module}")
    result = doctest.testmod(mod, extraglobs={"torch": torch})
    assert result.failed == 0 and result.attempted > 0


# -- rotations ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("lead", LEADS)
@pytest.mark.parametrize("dtype", DTYPES)
def test_6d_shapes_dtypes_round_trip(lead, dtype):
    d6 = torch.randn(*lead, 6, dtype=dtype)
    r = rotation_6d_to_matrix(d6)
    assert r.shape == (*lead, 3, 3) and r.dtype == dtype
    assert_close(r.mT @ r, torch.eye(3, dtype=dtype).expand_as(r))
    assert_close(torch.linalg.det(r), torch.ones(lead, dtype=dtype))
    six = matrix_to_rotation_6d(r)
    assert six.shape == (*lead, 6)
    assert torch.equal(six, torch.cat((r[..., :, 0], r[..., :, 1]), -1))  # columns, not rows
    assert_close(rotation_6d_to_matrix(six), r)


def test_6d_first_column_is_normalised_a1():
    r = rotation_6d_to_matrix(torch.tensor([0.0, 3.0, 0.0, 1.0, 1.0, 0.0], dtype=F64))
    assert_close(r, torch.tensor([[0.0, 1.0, 0.0], [1.0, 0.0, 0.0], [0.0, 0.0, -1.0]], dtype=F64))


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
def test_6d_low_precision_is_computed_in_float32(dtype):
    r = rotation_6d_to_matrix(torch.tensor([1.0, 0.1, 0.0, 0.0, 1.0, 0.2], dtype=dtype))
    assert r.dtype == dtype
    assert torch.allclose((r.float().mT @ r.float()), torch.eye(3), atol=1e-2)


@pytest.mark.parametrize(
    "d6, problem",
    [
        ([0, 0, 0, 1, 0, 0], "a1=[0.0, 0.0, 0.0]"),
        ([1, 2, 3, 0, 0, 0], "a2=[0.0, 0.0, 0.0]"),
        ([1, 2, 3, -2, -4, -6], "parallel"),
        ([1e-20, 0, 0, 1e20, 1e-3, 0], "parallel"),  # relative threshold: the sine is 1e-23
        ([math.nan, 0, 0, 0, 1, 0], "non-finite"),
    ],
)
def test_6d_degenerate_input_raises_clear_error(d6, problem):
    good = torch.tensor([[1.0, 0, 0, 0, 1, 0]] * 3, dtype=F64)
    good[2] = torch.tensor(d6, dtype=F64)
    with pytest.raises(InputError, match=r"1 of 3 6D vectors in d6 of shape \(3, 6\) are degenerate") as info:
        rotation_6d_to_matrix(good)
    assert "index (2,)" in str(info.value) and problem in str(info.value)
    assert isinstance(info.value, ValueError)


def test_6d_threshold_is_relative():
    tiny = torch.tensor([1e-6, 0, 0, 0, 1e-6, 0], dtype=torch.float32)
    huge = torch.tensor([1e6, 0, 0, 1e6, 1e2, 0], dtype=torch.float32)  # sine 1e-4 < 1.2e-4
    assert_close(rotation_6d_to_matrix(tiny), torch.eye(3))
    with pytest.raises(InputError):
        rotation_6d_to_matrix(huge)
    assert_close(rotation_6d_to_matrix(huge.double()), rotation_6d_to_matrix(huge.double(), check=False))


def test_6d_check_false_skips_validation_and_check_keeps_autograd():
    out = rotation_6d_to_matrix(torch.zeros(6), check=False)
    assert torch.isfinite(out).all()
    x = torch.tensor([1.0, 0.2, 0.0, 0.1, 1.0, 0.3], dtype=F64, requires_grad=True)
    rotation_6d_to_matrix(x).sum().backward()
    assert x.grad is not None and torch.isfinite(x.grad).all()


def test_6d_gradcheck_and_gradient_at_identity():
    d6 = torch.randn(3, 6, generator=torch.Generator().manual_seed(1), dtype=F64)
    assert gradcheck(rotation_6d_to_matrix, (d6,))
    assert gradcheck(rotation_6d_to_matrix, (torch.tensor([[1.0, 0, 0, 0, 1, 0]]),))


@pytest.mark.parametrize(
    "fn, bad",
    [
        (rotation_6d_to_matrix, torch.zeros(2, 5)),
        (matrix_to_rotation_6d, torch.zeros(2, 3, 2)),
        (euler_to_matrix, torch.zeros(4)),
        (matrix_to_euler, torch.zeros(3)),
    ],
)
def test_rotation_shape_errors_name_the_shape(fn, bad):
    with pytest.raises(
        InputError, match=rf"{fn.__name__}: expected .* got shape {re.escape(str(tuple(bad.shape)))}"
    ):
        fn(bad)


def test_integer_input_is_rejected():
    with pytest.raises(InputError, match="floating"):
        euler_to_matrix(torch.zeros(3, dtype=torch.long))


def test_euler_released_formula_hand_computed():
    # yaw 0.3, pitch 0.2, roll 0.1: Rz(yaw) Ry(pitch) Rx(roll), numbers computed by hand from the formula
    expected = torch.tensor(
        [
            [0.936293364, -0.275095847, 0.218350663],
            [0.289629478, 0.956425086, -0.036957014],
            [-0.198669331, 0.097843395, 0.975170327],
        ],
        dtype=F64,
    )
    assert_close(euler_to_matrix(torch.tensor([0.3, 0.2, 0.1], dtype=F64)), expected, scale=1e3)


@pytest.mark.parametrize(
    "euler, expected",
    [
        ((math.pi / 2, 0, 0), [[0, -1, 0], [1, 0, 0], [0, 0, 1]]),  # yaw about z (depth)
        ((0, math.pi / 2, 0), [[0, 0, 1], [0, 1, 0], [-1, 0, 0]]),  # pitch about y (height)
        ((0, 0, math.pi / 2), [[1, 0, 0], [0, 0, -1], [0, 1, 0]]),  # roll about x (width)
    ],
)
def test_euler_single_axes(euler, expected):
    r = euler_to_matrix(torch.tensor(euler, dtype=F64))
    assert_close(r, torch.tensor(expected, dtype=F64), scale=10)


@pytest.mark.parametrize("lead", LEADS)
@pytest.mark.parametrize("dtype", DTYPES)
def test_euler_round_trip_shapes(lead, dtype):
    g = torch.Generator().manual_seed(0)
    e = (torch.rand(*lead, 3, generator=g, dtype=F64) * 2 - 1) * torch.tensor([3.0, 1.5, 3.0], dtype=F64)
    e = e.to(dtype)
    r = euler_to_matrix(e)
    assert r.shape == (*lead, 3, 3) and r.dtype == dtype
    back = matrix_to_euler(r)
    assert back.shape == (*lead, 3) and back.dtype == dtype
    assert_close(back, e, scale=10)


@pytest.mark.parametrize("sign", [1.0, -1.0])
def test_euler_gimbal_lock_sets_roll_to_zero(sign):
    e = torch.tensor([0.7, sign * math.pi / 2, -0.4], dtype=F64, requires_grad=True)
    r = euler_to_matrix(e)
    back = matrix_to_euler(r)
    assert back[2] == 0.0
    assert_close(back[1], torch.tensor(sign * math.pi / 2, dtype=F64))
    assert_close(euler_to_matrix(back), r)
    back.sum().backward()
    assert torch.isfinite(e.grad).all()


def test_euler_gradcheck():
    e = torch.tensor([[0.3, -0.4, 1.2], [-2.0, 0.9, 0.1]], dtype=F64)
    assert gradcheck(euler_to_matrix, (e,))
    assert gradcheck(matrix_to_euler, (euler_to_matrix(e),))


def test_geodesic_values_broadcast_and_gradients():
    r = _rotations((4,), F64)
    assert geodesic_angle(torch.eye(3, dtype=F64), r).shape == (4,)
    for angle in (1e-8, 0.5, math.pi - 1e-7, math.pi):
        rz = euler_to_matrix(torch.tensor([angle, 0.0, 0.0], dtype=F64))
        assert_close(geodesic_angle(r, r @ rz), torch.full((4,), angle, dtype=F64), scale=10)
    assert torch.equal(geodesic_angle(r, r), torch.zeros(4, dtype=F64))
    rz = euler_to_matrix(torch.tensor([1.0, 0.2, 0.3], dtype=F64))
    assert gradcheck(geodesic_angle, (r, r @ rz))
    for angle in (0.0, math.pi):  # exactly 0 and pi: a finite (sub)gradient
        r1 = torch.eye(3, dtype=F64, requires_grad=True)
        geodesic_angle(r1, euler_to_matrix(torch.tensor([angle, 0.0, 0.0], dtype=F64))).backward()
        assert torch.isfinite(r1.grad).all()


def test_geodesic_broadcast_error():
    with pytest.raises(InputError, match="do not broadcast"):
        geodesic_angle(torch.eye(3).expand(2, 3, 3), torch.eye(3).expand(3, 3, 3))


# -- affine ------------------------------------------------------------------------------------------
@pytest.mark.parametrize("lead", LEADS)
@pytest.mark.parametrize("dtype", DTYPES)
def test_affine_shapes_and_inverse(lead, dtype):
    lin = _rotations(lead, dtype) * 1.5
    t = torch.randn(*lead, 3, dtype=dtype)
    a = make_affine(lin, t)
    assert a.shape == (*lead, 4, 4) and a.dtype == dtype
    assert torch.equal(a[..., 3, :], torch.tensor([0, 0, 0, 1], dtype=dtype).expand(*lead, 4))
    eye = torch.eye(4, dtype=dtype).expand_as(a)
    assert_close(compose_affine(a, invert_affine(a)), eye, scale=10)
    assert_close(compose_affine(invert_affine(a), a), eye, scale=10)
    p = torch.randn(*lead, 5, 3, dtype=dtype)
    assert apply_affine(a, p).shape == (*lead, 5, 3)
    assert_close(apply_affine(invert_affine(a), apply_affine(a, p)), p, scale=10)
    assert_close(apply_affine(a[..., :3, :], p), apply_affine(a, p))  # (..., 3, 4) works too


def test_make_affine_broadcasts_translation():
    a = make_affine(torch.eye(3), torch.randn(5, 3))
    assert a.shape == (5, 4, 4)
    with pytest.raises(InputError, match="do not broadcast"):
        make_affine(torch.eye(3).expand(2, 3, 3), torch.zeros(3, 3))


def test_compose_applies_second_argument_first():
    shift = make_affine(torch.eye(3, dtype=F64), torch.tensor([1.0, 0, 0], dtype=F64))
    double = make_affine(2 * torch.eye(3, dtype=F64), torch.zeros(3, dtype=F64))
    p = torch.zeros(1, 3, dtype=F64)
    assert_close(apply_affine(compose_affine(double, shift), p), torch.tensor([[2.0, 0, 0]], dtype=F64))


def test_invert_affine_singular():
    a = make_affine(torch.diag(torch.tensor([1.0, 0.0, 1.0])), torch.zeros(3)).expand(2, 4, 4)
    with pytest.raises(InputError, match=r"singular at index \(0,\)"):
        invert_affine(a)
    assert not torch.isfinite(invert_affine(a, check=False)).all()


def test_pose_to_affine_is_s_r_t_and_gradcheck():
    s, t = torch.tensor([1.1, 0.9, 1.3], dtype=F64), torch.tensor([0.1, -0.2, 0.3], dtype=F64)
    r = _rotations((), F64)
    theta = pose_to_affine(s, r, t)
    big = lambda m3, t3: make_affine(m3, t3)  # noqa: E731
    zero, eye = torch.zeros(3, dtype=F64), torch.eye(3, dtype=F64)
    assert_close(theta, big(torch.diag(s), zero) @ big(r, zero) @ big(eye, t))
    p = torch.randn(7, 3, dtype=F64)
    assert_close(apply_affine(theta, p), s * ((p + t) @ r.T))
    assert gradcheck(pose_to_affine, (s, r, t))
    assert gradcheck(lambda a: invert_affine(a), (theta,))


# -- grids -------------------------------------------------------------------------------------------
def test_identity_grid_values():
    lin = identity_grid(2, 3, 4, align_corners=True, dtype=F64)
    ctr = identity_grid(2, 3, 4, align_corners=False, dtype=F64)
    assert lin.shape == ctr.shape == (2, 3, 4, 3)
    assert_close(lin[0, 0, :, 0], torch.linspace(-1, 1, 4, dtype=F64))  # u runs along W
    assert_close(lin[0, :, 0, 1], torch.tensor([-1.0, 0.0, 1.0], dtype=F64))  # v along H
    assert_close(lin[:, 0, 0, 2], torch.tensor([-1.0, 1.0], dtype=F64))  # w along D
    assert_close(ctr[0, 0, :, 0], torch.tensor([-0.75, -0.25, 0.25, 0.75], dtype=F64))
    assert_close(ctr[0, :, 0, 1], torch.tensor([-2 / 3, 0.0, 2 / 3], dtype=F64))
    assert_close(ctr[:, 0, 0, 2], torch.tensor([-0.5, 0.5], dtype=F64))
    assert identity_grid(1, 1, 1, align_corners=True).flatten().tolist() == [-1.0, -1.0, -1.0]
    assert identity_grid(1, 1, 1, align_corners=False).flatten().tolist() == [0.0, 0.0, 0.0]


@pytest.mark.parametrize("bad", [(0, 2, 2), (2, -1, 2), (2.0, 2, 2)])
def test_identity_grid_bad_sizes(bad):
    with pytest.raises(InputError, match="positive int sizes"):
        identity_grid(*bad, align_corners=False)


def test_transform_grid_shapes_and_values():
    grid = identity_grid(2, 3, 4, align_corners=True, dtype=F64)
    a = _affines(2)
    out = transform_grid(grid, a)
    assert out.shape == (2, 2, 3, 4, 3)
    assert_close(out, grid @ a[:, None, None, :3, :3].mT + a[:, None, None, None, :3, 3])
    assert_close(transform_grid(grid, a[:, :3]), out)  # (B, 3, 4)
    assert_close(transform_grid(grid[None].expand(2, -1, -1, -1, -1), a), out)  # batched grid
    assert transform_grid(grid[None].expand(2, -1, -1, -1, -1), a[:1]).shape == (2, 2, 3, 4, 3)
    with pytest.raises(InputError, match=r"batch of grid \(3, 2, 3, 4, 3\) and affine \(2, 4, 4\) differ"):
        transform_grid(grid[None].expand(3, -1, -1, -1, -1), a)
    with pytest.raises(
        InputError, match=r"expected affine of shape \(B, 4, 4\) or \(B, 3, 4\), got \(4, 4\)"
    ):
        transform_grid(grid, a[0])
    assert gradcheck(transform_grid, (grid, a))


def test_grid_volume_layouts():
    grid = torch.randn(2, 3, 4, 5, 3)
    vol = grid_to_volume(grid)
    assert vol.shape == (2, 3, 3, 4, 5) and torch.equal(vol[:, 0], grid[..., 0])
    assert torch.equal(volume_to_grid(vol), grid)
    with pytest.raises(InputError, match=r"\(B, 3, D, H, W\), got \(2, 4, 3, 4, 5\)"):
        volume_to_grid(torch.zeros(2, 4, 3, 4, 5))


# -- warps -------------------------------------------------------------------------------------------
@pytest.mark.parametrize("dtype", DTYPES)
def test_warp_identity_and_released_resample(dtype):
    v = torch.randn(2, 3, 4, 5, 6, dtype=dtype)
    ident = identity_grid(4, 5, 6, align_corners=False, dtype=dtype)
    assert_close(warp_volume(v, ident), v)  # unbatched grid is used for every item
    released = identity_grid(4, 5, 6, align_corners=True, dtype=dtype)
    out = warp_volume(v, released[None])
    assert not torch.allclose(out, v)  # the released "identity" is a slight resample, kept as is
    assert_close(out, F.grid_sample(v, released[None].expand(2, -1, -1, -1, -1), align_corners=False))


def test_warp_broadcast_and_dtype_cast():
    v = torch.randn(3, 2, 4, 4, 4, dtype=F64)
    grid = torch.rand(3, 2, 3, 4, 3) * 2 - 1  # float32 grid: cast to the volume's float64
    out = warp_volume(v, grid)
    assert out.shape == (3, 2, 2, 3, 4) and out.dtype == F64
    assert_close(warp_volume(v[:1], grid), warp_volume(v[:1].expand(3, -1, -1, -1, -1), grid))
    assert_close(warp_volume(v, grid[:1]), warp_volume(v, grid[:1].expand(3, -1, -1, -1, -1)))
    with pytest.raises(
        InputError, match=r"batch sizes differ: volume has shape \(3, 2, 4, 4, 4\), grid has shape \(2,"
    ):
        warp_volume(v, grid[:2])
    with pytest.raises(
        InputError,
        match=r"warp_volume: expected a floating volume of shape \(B, C, D, H, W\), got shape \(2, 4, 4, 4\)",
    ):
        warp_volume(v[0], grid)


def test_warp_whole_voxel_shift_and_gradcheck():
    v = torch.randn(1, 1, 3, 4, 5, dtype=F64)
    shift = make_affine(torch.eye(3, dtype=F64), torch.tensor([2 / 5, 0.0, 0.0], dtype=F64))[None]
    out = warp_volume(v, transform_grid(identity_grid(3, 4, 5, align_corners=False, dtype=F64), shift))
    assert_close(out[..., :4], v[..., 1:])
    assert torch.equal(out[..., 4], torch.zeros_like(out[..., 4]))
    grid = torch.rand(1, 2, 2, 2, 3, dtype=F64) * 1.6 - 0.8
    assert gradcheck(warp_volume, (v, grid))


def test_compose_warps_identity_is_exact_and_order():
    g = torch.Generator().manual_seed(3)
    size = (5, 6, 7)
    ident = identity_grid(*size, align_corners=False, dtype=F64)[None]
    grid = transform_grid(ident[0], _affines(2)) + 0.05 * torch.randn(2, *size, 3, generator=g, dtype=F64)
    assert torch.equal(compose_warps(ident, grid), grid)  # exactly, borders included
    assert_close(compose_warps(grid, ident), grid)
    # order: first = x-shift by 2 voxels, second = a quarter turn of yaw; q reads first(second(q))
    shift = make_affine(torch.eye(3, dtype=F64), torch.tensor([2 / 7, 0.0, 0.0], dtype=F64))[None]
    turn = make_affine(
        euler_to_matrix(torch.tensor([[math.pi / 2, 0.0, 0.0]], dtype=F64)), torch.zeros(1, 3, dtype=F64)
    )
    first, second = transform_grid(ident[0], shift), transform_grid(ident[0], turn)
    expected = transform_grid(ident[0], shift @ turn)
    assert_close(compose_warps(first, second), expected)  # a translation composes exactly everywhere
    assert not torch.allclose(compose_warps(second, first), expected)


def test_compose_warps_matches_two_step_warp_inside():
    ident = identity_grid(12, 12, 12, align_corners=False, dtype=F64)
    u, v_, w = ident.unbind(-1)
    v = torch.stack((torch.sin(1.5 * u) + torch.cos(1.2 * v_) * w, u * v_ - w**2))[None]  # smooth
    a, b = _affines(1, seed=1), _affines(1, seed=2)
    a[:, :3, :3] = torch.eye(3, dtype=F64) + 0.1 * (a[:, :3, :3] - torch.eye(3, dtype=F64))
    b[:, :3, :3] = torch.eye(3, dtype=F64) + 0.1 * (b[:, :3, :3] - torch.eye(3, dtype=F64))
    first, second = transform_grid(ident, a), transform_grid(ident, b)
    two = warp_volume(warp_volume(v, first), second)
    one = warp_volume(v, compose_warps(first, second))
    inner = (slice(None), slice(None), *[slice(4, 8)] * 3)
    assert (two[inner] - one[inner]).abs().max() < 0.05
    assert gradcheck(compose_warps, (first[:, :3, :3, :3], second[:, :2, :2, :2]))
