"""Deliberately broken geometry implementations: they prove that every geometry check can fail.

Each :class:`BrokenImplementation` replaces one function of the core implementation with a
plausible bug (a missing normalisation, a transposed convention, a wrong multiplication order, the
other ``align_corners``, half a voxel off, ...) and lists the checks it must fail. The project's
tests assert that every check of :data:`emoportraits_conformance.geometry.GEOMETRY_FAMILIES` is
failed by at least one of them, so a check that cannot fail is caught.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from types import SimpleNamespace

import attrs
import torch
import torch.nn.functional as F
from torch import Tensor

from emoportraits_core import geometry as core

from .geometry import GEOMETRY_FAMILIES

__all__ = ["BROKEN_GEOMETRY", "BrokenImplementation"]


@attrs.frozen
class BrokenImplementation:
    """A core implementation with some functions replaced by broken ones.

    Attributes:
        name: unique key.
        family: the geometry family it belongs to.
        description: the bug, in words.
        overrides: function name -> broken function.
        breaks: names of the family's checks that must fail on it.
    """

    name: str
    family: str
    description: str
    overrides: Mapping[str, Callable[..., Tensor]] = attrs.field(repr=False)
    breaks: tuple[str, ...]

    @property
    def impl(self) -> SimpleNamespace:
        """The family's core functions with :attr:`overrides` swapped in."""
        return GEOMETRY_FAMILIES[self.family].impl(**self.overrides)


#: name -> broken implementation.
BROKEN_GEOMETRY: dict[str, BrokenImplementation] = {}


def _add(
    name: str, family: str, replaces: str, fn: Callable[..., Tensor], doc: str, breaks: tuple[str, ...]
) -> None:
    if name in BROKEN_GEOMETRY:
        raise ValueError(f"duplicate broken implementation {name!r}")
    BROKEN_GEOMETRY[name] = BrokenImplementation(name, family, doc, {replaces: fn}, breaks)


def broken(
    family: str, replaces: str, *breaks: str
) -> Callable[[Callable[..., Tensor]], Callable[..., Tensor]]:
    """Register the decorated function as a broken ``replaces`` of ``family`` (its docstring says
    what is wrong) that must fail the checks ``breaks``."""

    def register(fn: Callable[..., Tensor]) -> Callable[..., Tensor]:
        _add(fn.__name__, family, replaces, fn, (fn.__doc__ or "").strip(), breaks)
        return fn

    return register


# -- rotation_6d ------------------------------------------------------------------------------------
def _gs(d6: Tensor, *, normalize: Callable[[Tensor], Tensor], left_handed: bool = False) -> Tensor:
    a1, a2 = d6[..., :3], d6[..., 3:]
    b1 = normalize(a1)
    b2 = normalize(a2 - (b1 * a2).sum(-1, keepdim=True) * b1 / (b1 * b1).sum(-1, keepdim=True))
    b3 = torch.linalg.cross(b2, b1) if left_handed else torch.linalg.cross(b1, b2)
    return torch.stack((b1, b2, b3), -1)


def _unit(v: Tensor) -> Tensor:
    return v / v.norm(dim=-1, keepdim=True)


@broken("rotation_6d", "rotation_6d_to_matrix", "orthonormal", "invariance")
def gs_no_normalisation(d6: Tensor) -> Tensor:
    """Gram-Schmidt without normalising b1 and b2."""
    return _gs(d6, normalize=lambda v: v)


@broken("rotation_6d", "rotation_6d_to_matrix", "orthonormal", "round_trip")
def gs_left_handed(d6: Tensor) -> Tensor:
    """b3 = b2 x b1: det -1."""
    return _gs(d6, normalize=_unit, left_handed=True)


@broken("rotation_6d", "rotation_6d_to_matrix", "round_trip", "idempotent")
def gs_rows(d6: Tensor) -> Tensor:
    """b1, b2, b3 as ROWS (returns R^T)."""
    return _gs(d6, normalize=_unit).transpose(-1, -2)


@broken("rotation_6d", "matrix_to_rotation_6d", "round_trip", "idempotent")
def to_6d_rows(r: Tensor) -> Tensor:
    """matrix_to_rotation_6d takes the first two rows."""
    return torch.cat((r[..., 0, :], r[..., 1, :]), -1)


@broken("rotation_6d", "rotation_6d_to_matrix", "invariance")
def gs_swapped_roles(d6: Tensor) -> Tensor:
    """Keeps a2's direction and projects a1 instead (orthonormal, but not Zhou et al.'s map)."""
    a1, a2 = d6[..., :3], d6[..., 3:]
    b2 = _unit(a2)
    b1 = _unit(a1 - (b2 * a1).sum(-1, keepdim=True) * b2)
    return torch.stack((b1, b2, torch.linalg.cross(b1, b2)), -1)


@broken("rotation_6d", "rotation_6d_to_matrix", "invariance")
def gs_absolute_threshold(d6: Tensor) -> Tensor:
    """Absolute degeneracy threshold |a1 x a2| < 1e-3: small but valid inputs raise."""
    a1, a2 = d6[..., :3], d6[..., 3:]
    if bool((torch.linalg.cross(a1, a2).norm(dim=-1) < 1e-3).any()):
        raise ValueError("degenerate 6D input (|a1 x a2| < 1e-3)")
    return core.rotation_6d_to_matrix(d6, check=False)


@broken("rotation_6d", "rotation_6d_to_matrix", "degenerate_raises")
def gs_no_check(d6: Tensor) -> Tensor:
    """No error on degenerate input."""
    return core.rotation_6d_to_matrix(d6, check=False)


@broken("rotation_6d", "rotation_6d_to_matrix", "finite_gradients")
def gs_detached_norm(d6: Tensor) -> Tensor:
    """Norms detached from the graph: wrong gradients."""
    return _gs(d6, normalize=lambda v: v / v.norm(dim=-1, keepdim=True).detach())


# -- euler ------------------------------------------------------------------------------------------
def _axis_rotation(angle: Tensor, i: int, j: int) -> Tensor:
    out = torch.eye(3, dtype=angle.dtype).repeat(*angle.shape, 1, 1)
    c, s = angle.cos(), angle.sin()
    out[..., i, i], out[..., i, j], out[..., j, i], out[..., j, j] = c, -s, s, c
    return out


@broken("euler", "euler_to_matrix", "released_formula", "round_trip")
def euler_xyz_order(euler: Tensor) -> Tensor:
    """R = Rx(roll) Ry(pitch) Rz(yaw): the wrong multiplication order."""
    y, p, r = euler.unbind(-1)
    return _axis_rotation(r, 1, 2) @ _axis_rotation(p, 2, 0) @ _axis_rotation(y, 0, 1)


@broken("euler", "euler_to_matrix", "released_formula")
def euler_row_vectors(euler: Tensor) -> Tensor:
    """Returns R^T (the row-vector convention)."""
    return core.euler_to_matrix(euler).transpose(-1, -2)


@broken("euler", "euler_to_matrix", "released_formula", "orthonormal")
def euler_typo(euler: Tensor) -> Tensor:
    """R[2, 1] = cp cr instead of cp sr."""
    r = core.euler_to_matrix(euler).clone()
    _, p, rr = euler.unbind(-1)
    r[..., 2, 1] = p.cos() * rr.cos()
    return r


@broken("euler", "matrix_to_euler", "gimbal_lock")
def matrix_to_euler_naive(r: Tensor) -> Tensor:
    """No gimbal-lock handling: yaw and roll from atan2(0, 0) at the lock."""
    yaw = torch.atan2(r[..., 1, 0], r[..., 0, 0])
    pitch = torch.asin((-r[..., 2, 0]).clamp(-1, 1))
    roll = torch.atan2(r[..., 2, 1], r[..., 2, 2])
    return torch.stack((yaw, pitch, roll), -1)


@broken("euler", "matrix_to_euler", "round_trip")
def matrix_to_euler_pitch_sign(r: Tensor) -> Tensor:
    """Pitch with the wrong sign."""
    e = core.matrix_to_euler(r)
    return torch.stack((e[..., 0], -e[..., 1], e[..., 2]), -1)


# -- geodesic ---------------------------------------------------------------------------------------
def _cos(m: Tensor) -> Tensor:
    return 0.5 * (m.diagonal(dim1=-2, dim2=-1).sum(-1) - 1)


@broken("geodesic", "geodesic_angle", "single_axis", "finite_gradients")
def geodesic_naive_acos(r1: Tensor, r2: Tensor) -> Tensor:
    """acos((tr - 1) / 2), clamped: imprecise near 0 and pi, infinite gradients there."""
    return torch.acos(_cos(r1.transpose(-1, -2) @ r2).clamp(-1, 1))


@broken("geodesic", "geodesic_angle", "zero_on_identical")
def geodesic_product(r1: Tensor, r2: Tensor) -> Tensor:
    """The angle of R1 R2 instead of R1^T R2."""
    return core.geodesic_angle(torch.eye(3, dtype=r1.dtype), r1 @ r2)


@broken("geodesic", "geodesic_angle", "symmetric")
def geodesic_not_antisymmetrised(r1: Tensor, r2: Tensor) -> Tensor:
    """The sine from M's lower entries instead of M - M^T."""
    m = r1.transpose(-1, -2) @ r2
    sin = torch.stack((m[..., 2, 1], m[..., 0, 2], m[..., 1, 0]), -1).norm(dim=-1)
    return torch.atan2(sin, _cos(m))


@broken("geodesic", "geodesic_angle", "triangle_inequality", "single_axis")
def geodesic_one_minus_cos(r1: Tensor, r2: Tensor) -> Tensor:
    """Returns 1 - cos(angle), not a metric."""
    return 1 - torch.cos(core.geodesic_angle(r1, r2))


# -- affine -----------------------------------------------------------------------------------------
@broken("affine", "make_affine", "make_affine_layout")
def make_affine_row_vector(linear: Tensor, translation: Tensor) -> Tensor:
    """The transpose: translation in the bottom row."""
    return core.make_affine(linear, translation).transpose(-1, -2)


@broken("affine", "apply_affine", "apply_definition")
def apply_affine_transposed(a: Tensor, points: Tensor) -> Tensor:
    """p L + t (row vectors)."""
    return points @ a[..., :3, :3] + a[..., None, :3, 3]


@broken("affine", "compose_affine", "compose_order")
def compose_affine_reversed(a: Tensor, b: Tensor) -> Tensor:
    """compose(a, b) = b @ a."""
    return b @ a


@broken("affine", "compose_affine", "compose_associative", "compose_order")
def compose_affine_transposes_b(a: Tensor, b: Tensor) -> Tensor:
    """Transposes b's linear block."""
    out = a.clone()
    out[..., :3, :3] = a[..., :3, :3] @ b[..., :3, :3].transpose(-1, -2)
    out[..., :3, 3] = (a[..., :3, :3] @ b[..., :3, 3:])[..., 0] + a[..., :3, 3]
    return out


@broken("affine", "invert_affine", "inverse")
def invert_affine_negates_translation(a: Tensor) -> Tensor:
    """An inverse that only negates the translation."""
    out = a.clone()
    out[..., :3, 3] = -a[..., :3, 3]
    return out


@broken("affine", "pose_to_affine", "pose_to_affine")
def pose_to_affine_trs(scale: Tensor, rotation: Tensor, translation: Tensor) -> Tensor:
    """theta = T R S instead of S R T: p -> R (s * p) + t."""
    return core.make_affine(rotation * scale[..., None, :], translation)


# -- warp -------------------------------------------------------------------------------------------
@broken("warp", "identity_grid", "identity_grid_values", "identity_warp")
def identity_grid_wvu(
    d: int, h: int, w: int, *, align_corners: bool, dtype=torch.float32, device=None
) -> Tensor:
    """Identity grid in (w, v, u) order."""
    return core.identity_grid(d, h, w, align_corners=align_corners, dtype=dtype, device=device).flip(-1)


@broken("warp", "identity_grid", "identity_grid_values", "identity_warp", "whole_voxel_translation")
def identity_grid_half_voxel(
    d: int, h: int, w: int, *, align_corners: bool, dtype=torch.float32, device=None
) -> Tensor:
    """Voxel left faces 2 i / n - 1 instead of centres: half a voxel off."""
    grid = core.identity_grid(d, h, w, align_corners=align_corners, dtype=dtype, device=device)
    if align_corners:
        return grid
    return grid - torch.tensor([1 / w, 1 / h, 1 / d], dtype=dtype, device=device)


def _sampler(mode: str = "bilinear", padding: str = "zeros", align: bool = False) -> Callable[..., Tensor]:
    def warp_volume(volume: Tensor, grid: Tensor) -> Tensor:
        grid = grid if grid.dim() == 5 else grid[None]
        b = max(volume.shape[0], grid.shape[0])
        volume, grid = volume.expand(b, *volume.shape[1:]), grid.expand(b, *grid.shape[1:])
        return F.grid_sample(
            volume, grid.to(volume.dtype), mode=mode, padding_mode=padding, align_corners=align
        )

    return warp_volume


_add(
    "warp_align_corners_true",
    "warp",
    "warp_volume",
    _sampler(align=True),
    "Samples with align_corners=True.",
    ("sampling_convention", "identity_warp", "whole_voxel_translation"),
)
_add(
    "warp_nearest",
    "warp",
    "warp_volume",
    _sampler(mode="nearest"),
    "Nearest-neighbour instead of trilinear.",
    ("sampling_convention", "inverse_restores_interior", "composed_transforms", "compose_warps"),
)
_add(
    "warp_border_padding",
    "warp",
    "warp_volume",
    _sampler(padding="border"),
    "Border padding instead of zeros.",
    ("sampling_convention", "whole_voxel_translation"),
)


@broken("warp", "warp_volume", "batch_independence")
def warp_mixes_batch(volume: Tensor, grid: Tensor) -> Tensor:
    """Uses item 0's grid for every item."""
    return core.warp_volume(volume, grid[:1].expand_as(grid) if grid.dim() == 5 else grid)


@broken("warp", "warp_volume", "dtypes")
def warp_casts_volume(volume: Tensor, grid: Tensor) -> Tensor:
    """Casts the volume to the grid's dtype."""
    return core.warp_volume(volume.to(grid.dtype), grid)


@broken("warp", "transform_grid", "transform_grid_definition")
def transform_grid_row_vectors(grid: Tensor, affine: Tensor) -> Tensor:
    """p L + t (row vectors)."""
    a = affine.clone()
    a[:, :3, :3] = affine[:, :3, :3].transpose(1, 2)
    return core.transform_grid(grid, a)


@broken("warp", "transform_grid", "transform_grid_definition", "whole_voxel_translation")
def transform_grid_half_voxel(grid: Tensor, affine: Tensor) -> Tensor:
    """Moves every point by half a voxel (1 / n in normalised units)."""
    d, h, w = grid.shape[-4:-1]
    return core.transform_grid(grid, affine) + torch.tensor([1 / w, 1 / h, 1 / d], dtype=grid.dtype)


@broken("warp", "compose_warps", "compose_warps")
def compose_warps_reversed(first: Tensor, second: Tensor) -> Tensor:
    """compose_warps(first, second) that applies second first."""
    return core.compose_warps(second, first)
