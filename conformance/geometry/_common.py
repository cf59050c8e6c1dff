"""Shared machinery of the geometry checks: the check record, hypothesis settings, strategies and
reference constructions written independently of :mod:`emoportraits_core.geometry` (so that a check
never trusts the implementation it tests).

Inputs are drawn as (seed, dtype, leading shape, scale) and expanded with a seeded
``torch.Generator``: hypothesis explores and replays them deterministically (``derandomize``), and
tensors of any size stay cheap to draw. Failures report the first falsifying example, without
shrinking (it would rerun the check many times for little gain on seeded tensors).
"""

from __future__ import annotations

import contextvars
import math
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import attrs
import torch
import torch.nn.functional as F
from hypothesis import HealthCheck, Phase, settings
from hypothesis import strategies as st
from torch import Tensor

from ..tolerances import INTERPOLATION_SAFETY, tolerance

__all__: list[str] = []

_EXAMPLES_SCALE: contextvars.ContextVar[float] = contextvars.ContextVar("examples_scale", default=1.0)

DTYPES = (torch.float32, torch.float64)
dtypes = st.sampled_from(DTYPES)
seeds = st.integers(min_value=0, max_value=2**31 - 1)
lead_shapes = st.sampled_from([(), (1,), (3,), (2, 2)])
#: volume sizes (D, H, W) for exact checks, and for interpolating ones (big enough for an interior)
small_sizes = st.tuples(st.integers(2, 7), st.integers(2, 7), st.integers(2, 7))
interp_sizes = st.tuples(st.integers(10, 16), st.integers(10, 16), st.integers(10, 16))


@attrs.frozen
class GeometryCheck:
    """One conformance check: ``check(impl)`` returns None or raises AssertionError.

    Attributes:
        family: the geometry family it belongs to (``rotation_6d``, ``euler``, ...).
        name: short name, unique within the family.
        func: ``func(impl) -> None``; raises AssertionError on a violation.
        doc: what the check asserts (the function's docstring).
    """

    family: str
    name: str
    func: Callable[[Any], None] = attrs.field(repr=False)
    doc: str = attrs.field(repr=False, default="")

    @property
    def qualname(self) -> str:
        """``family.name``, e.g. ``rotation_6d.orthonormal``."""
        return f"{self.family}.{self.name}"

    @property
    def summary(self) -> str:
        """First line of :attr:`doc`."""
        return self.doc.strip().splitlines()[0] if self.doc.strip() else ""

    def __call__(self, impl: Any = None) -> None:
        """Run on ``impl`` (an object with the family's functions; None = the core implementation)."""
        from . import GEOMETRY_FAMILIES  # late: the catalogue imports the check modules

        family = GEOMETRY_FAMILIES[self.family]
        impl = family.default_impl if impl is None else impl
        missing = [name for name in family.requires if not callable(getattr(impl, name, None))]
        if missing:
            raise AssertionError(f"{self.qualname}: the implementation lacks {', '.join(missing)}")
        try:
            self.func(impl)
        except AssertionError as err:
            notes = "\n".join(getattr(err, "__notes__", []))
            raise AssertionError(f"{self.qualname} failed: {err}\n{notes}".rstrip()) from err
        except Exception as err:
            if type(err).__module__.startswith("hypothesis"):
                raise  # a defect of the check itself (unsatisfiable, health check), not of impl
            notes = "\n".join(getattr(err, "__notes__", []))
            raise AssertionError(
                f"{self.qualname} failed: the implementation raised {type(err).__name__}: {err}\n{notes}".rstrip()
            ) from err


REGISTRY: list[GeometryCheck] = []


def check(family: str) -> Callable[[Callable[[Any], None]], Callable[[Any], None]]:
    """Decorator: register ``func(impl)`` as a check of ``family`` named after the function."""

    def register(func: Callable[[Any], None]) -> Callable[[Any], None]:
        name = func.__name__.removeprefix("check_")
        REGISTRY.append(GeometryCheck(family, name, func, func.__doc__ or ""))
        return func

    return register


@contextmanager
def examples_scale(scale: float) -> Iterator[None]:
    """Multiply every check's number of hypothesis examples by ``scale`` inside the block."""
    token = _EXAMPLES_SCALE.set(scale)
    try:
        yield
    finally:
        _EXAMPLES_SCALE.reset(token)


def hsettings(max_examples: int) -> settings:
    """Deterministic, deadline-free settings with ``max_examples`` (times the current scale)."""
    return settings(
        max_examples=max(1, round(max_examples * _EXAMPLES_SCALE.get())),
        deadline=None,
        derandomize=True,
        database=None,
        phases=(Phase.explicit, Phase.generate),
        print_blob=False,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
    )


def gen(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


# -- comparisons ----------------------------------------------------------------------------------
def close(actual: Tensor, expected: Tensor, what: str, *, scale: float = 1.0, atol: float = 0.0) -> None:
    """Assert ``actual ~= expected`` within the dtype tolerance of ``expected`` (times ``scale``) plus ``atol``."""
    if not isinstance(actual, Tensor):
        raise AssertionError(f"{what}: expected a tensor, got {type(actual).__name__}")
    if actual.shape != expected.shape:
        raise AssertionError(f"{what}: expected shape {tuple(expected.shape)}, got {tuple(actual.shape)}")
    rtol, base_atol = tolerance(expected.dtype)
    a, e = actual.detach().to(expected.dtype), expected.detach()
    bound = base_atol * scale + atol + rtol * scale * e.abs()
    err = (a - e).abs()
    bad = ~(err <= bound)
    if bool(bad.any()):
        i = tuple(int(j) for j in bad.nonzero()[0])
        raise AssertionError(
            f"{what}: {int(bad.sum())} of {bad.numel()} entries differ beyond rtol={rtol * scale:.1e}, "
            f"atol={base_atol * scale + atol:.1e} ({expected.dtype}); max |diff| {float(err.nan_to_num(math.inf).max()):.3e}; "
            f"first at {i}: got {float(a[i]):.8g}, expected {float(e[i]):.8g}"
        )


def same_dtype(actual: Tensor, dtype: torch.dtype, what: str) -> None:
    if actual.dtype != dtype:
        raise AssertionError(f"{what}: expected dtype {dtype}, got {actual.dtype}")


# -- reference constructions (independent of the implementation under test) ----------------------
def random_rotation(g: torch.Generator, shape: tuple[int, ...], dtype: torch.dtype) -> Tensor:
    """Uniform random rotations ``(*shape, 3, 3)`` from normalised quaternions (computed in float64)."""
    q = torch.randn(*shape, 4, generator=g, dtype=torch.float64)
    w, x, y, z = (q / q.norm(dim=-1, keepdim=True)).unbind(-1)
    rows = (
        (1 - 2 * (y * y + z * z), 2 * (x * y - z * w), 2 * (x * z + y * w)),
        (2 * (x * y + z * w), 1 - 2 * (x * x + z * z), 2 * (y * z - x * w)),
        (2 * (x * z - y * w), 2 * (y * z + x * w), 1 - 2 * (x * x + y * y)),
    )
    return torch.stack([torch.stack(r, -1) for r in rows], -2).to(dtype)


def axis_angle_rotation(axis: Tensor, angle: Tensor) -> Tensor:
    """Rodrigues: rotation by ``angle (...)`` radians about unit ``axis (..., 3)`` -> ``(..., 3, 3)``."""
    x, y, z = axis.unbind(-1)
    zero = torch.zeros_like(x)
    k = torch.stack(
        (torch.stack((zero, -z, y), -1), torch.stack((z, zero, -x), -1), torch.stack((-y, x, zero), -1)), -2
    )
    s, c = torch.sin(angle)[..., None, None], torch.cos(angle)[..., None, None]
    eye = torch.eye(3, dtype=axis.dtype).expand_as(k)
    return eye + s * k + (1 - c) * (k @ k)


def random_affine(
    g: torch.Generator, batch: int, dtype: torch.dtype, *, angle: float, shift: float, stretch: float = 0.0
) -> Tensor:
    """``(batch, 4, 4)`` near-rigid transforms: rotation up to ``angle`` rad about a random axis,
    per-axis scale in ``[1 - stretch, 1 + stretch]``, translation in ``[-shift, shift]^3``."""
    f64 = torch.float64
    axis = torch.randn(batch, 3, generator=g, dtype=f64)
    axis = axis / axis.norm(dim=-1, keepdim=True)
    theta = (2 * torch.rand(batch, generator=g, dtype=f64) - 1) * angle
    scale = 1 + (2 * torch.rand(batch, 3, generator=g, dtype=f64) - 1) * stretch
    out = torch.eye(4, dtype=f64).repeat(batch, 1, 1)
    out[:, :3, :3] = scale[:, :, None] * axis_angle_rotation(axis, theta)
    out[:, :3, 3] = (2 * torch.rand(batch, 3, generator=g, dtype=f64) - 1) * shift
    return out.to(dtype)


def centres(n: int, dtype: torch.dtype = torch.float64) -> Tensor:
    """Voxel centres ``(2 i + 1) / n - 1`` of an axis of ``n`` voxels (align_corners=False)."""
    return (2 * torch.arange(n, dtype=dtype) + 1) / n - 1


def reference_identity(d: int, h: int, w: int, dtype: torch.dtype = torch.float64) -> Tensor:
    """``(D, H, W, 3)`` voxel-centre grid, last dim (u, v, w) = (x -> W, y -> H, z -> D)."""
    zz, yy, xx = torch.meshgrid(centres(d, dtype), centres(h, dtype), centres(w, dtype), indexing="ij")
    return torch.stack((xx, yy, zz), -1)


def reference_transform(grid: Tensor, affine: Tensor) -> Tensor:
    """``(B, D, H, W, 3)``: every point p of ``grid (D, H, W, 3)`` mapped to ``A[:3,:3] p + A[:3,3]``."""
    lin, t = affine[:, :3, :3], affine[:, :3, 3]
    return grid.to(affine.dtype) @ lin.transpose(1, 2)[:, None, None] + t[:, None, None, None, :]


def reference_sample(volume: Tensor, grid: Tensor) -> Tensor:
    """The documented sampling convention, used only to find the interior of a chain of warps."""
    return F.grid_sample(
        volume, grid.to(volume.dtype), mode="bilinear", padding_mode="zeros", align_corners=False
    )


def smooth_volume(
    g: torch.Generator, batch: int, channels: int, size: tuple[int, int, int], dtype: torch.dtype
) -> tuple[Tensor, float]:
    """A smooth random volume ``(B, C, D, H, W)`` sampled at voxel centres, and its curvature.

    Each channel is ``a + b . p + sum_i c_i p_i^2 + m u v w`` over ``p = (u, v, w)`` in ``[-1, 1]``,
    with ``|a|, |b_i| <= 1`` and ``|c_i|, |m| <= 0.1``. Trilinear resampling reproduces the affine and
    multilinear parts exactly. The curvature returned bounds half the Hessian's spectral norm on
    ``[-1, 1]^3``: ``max |c_i| + sqrt(6) / 2 max |m|``.
    """
    f64 = torch.float64
    coef = lambda *shape: 2 * torch.rand(batch, channels, *shape, generator=g, dtype=f64) - 1  # noqa: E731
    a, b, c, m = coef(), coef(3), 0.1 * coef(3), 0.1 * coef()
    pe = reference_identity(*size)[None, None]  # (1, 1, D, H, W, 3)
    vol = (
        a[..., None, None, None]
        + (b[:, :, None, None, None, :] * pe).sum(-1)
        + (c[:, :, None, None, None, :] * pe**2).sum(-1)
        + m[..., None, None, None] * pe.prod(-1)
    )
    return vol.to(dtype), float(c.abs().max()) + math.sqrt(6) / 2 * float(m.abs().max())


def interpolation_atol(curvature: float, lipschitz: float, size: tuple[int, int, int], stages: int) -> float:
    """Allowed error of ``stages`` trilinear resamplings of ``f o A`` with ``f`` of the given curvature
    (half its Hessian norm) and ``A`` a map with Lipschitz constant ``lipschitz`` whose pure second
    derivatives vanish (affine or multilinear): per axis ``(h^2 / 8) |d^2 (f o A) / dx_i^2| <=
    curvature lipschitz^2 / n_i^2``; summed over the axes and stages, times ``INTERPOLATION_SAFETY``."""
    per_stage = curvature * max(lipschitz, 1.0) ** 2 * sum(1.0 / n**2 for n in size)
    return INTERPOLATION_SAFETY * stages * per_stage


def interior(*chains: Sequence[Tensor], size: tuple[int, int, int]) -> Tensor:
    """Mask ``(B, D', H', W')`` of output voxels where every trilinear weight of every step lands inside
    the sampled volume, for each chain of ``(B, D', H', W', 3)`` grids (applied in order to a volume
    of ``size``). Found by warping a volume of ones with the documented sampling."""
    mask: Tensor | None = None
    for chain in chains:
        ones = torch.ones(chain[0].shape[0], 1, *size, dtype=torch.float64)
        for grid in chain:
            ones = reference_sample(ones, grid.to(torch.float64))
        inside = ones[:, 0] > 1 - 1e-9
        mask = inside if mask is None else mask & inside
    assert mask is not None
    return mask
