"""Warper checks through ``run()`` alone: what a motion does to a volume holding one bright blob.

Every warper with a ``motion`` input gets them, with or without a ``deformation()`` method. The
learned part of the warp is neutralised first, since a random learned deformation may move content
anywhere: the warper's ``conformance_neutralise()`` method if it has one (in place), else every
floating-point parameter set to 0 (a residual offset ``tanh(head(...))`` then vanishes). Other
conditioning inputs come from ``example_inputs``; the expression is 0 and the scale 1.

Each batch item holds one Gaussian blob (std :data:`BLOB_SIGMA`, normalised units) and is warped by
one test motion: the identity, a translation by :data:`SHIFT` along x, y or z, or a quarter turn
about x, y or z (right-handed, in the (u, v, w) = (x, y, z) grid frame; the blob sits
:data:`BLOB_OFFSET` away from the axis). Blob centroids are measured at voxel centres
(``align_corners=False``); trilinear sampling moves a centroid exactly with a translation, so the
comparisons are robust, and each moved centroid is compared with the identity-motion one, which
absorbs a warper's fixed zoom (the release samples ``linspace`` grids with ``align_corners=False``).

A warper applies the motion in one of two senses, and must use the same one for translations and
rotations: *forward* (content moves by the motion: +t along +t, content at q to R q; the release's
``to_canonical`` side) or *inverse* (content moves by its inverse, as ``F.affine_grid`` with
``[R | t]`` does; the release's ``from_canonical`` side). A warper whose identity motion returns the
input unchanged may say so with ``conformance_warp_identity: ClassVar[bool] = True``; then that is
checked exactly.
"""

from __future__ import annotations

from typing import Any

import attrs
import torch
from torch import Tensor

from emoportraits_core import Motion

from ._base import CheckContext, ContractViolation, NotApplicable, check
from ._values import assert_same, call, inputs_for, map_tensors
from .generic_ports import specs_of

__all__ = ["BLOB_OFFSET", "BLOB_SIGMA", "SHIFT", "WARPER_MOTION_CHECKS", "neutralise"]

#: translation of the translation tests, along one axis (normalised units; the grid spans [-1, 1]).
SHIFT = 0.25
#: distance of the rotation tests' blob from the rotation axis, and of the identity test's blobs.
BLOB_OFFSET = 0.3
#: standard deviation of the blob (normalised units).
BLOB_SIGMA = 0.3
AXES = "xyz"
_QUARTER_TURNS = {  # right-handed quarter turn about each axis: x -> y -> z -> x
    "x": ((1.0, 0.0, 0.0), (0.0, 0.0, -1.0), (0.0, 1.0, 0.0)),
    "y": ((0.0, 0.0, 1.0), (0.0, 1.0, 0.0), (-1.0, 0.0, 0.0)),
    "z": ((0.0, -1.0, 0.0), (1.0, 0.0, 0.0), (0.0, 0.0, 1.0)),
}


def neutralise(comp: Any) -> None:
    """Neutralise the learned part of ``comp``'s warp in place (see the module docstring)."""
    hook = getattr(comp, "conformance_neutralise", None)
    if callable(hook):
        hook()
        return
    with torch.no_grad():
        for p in comp.parameters():
            if p.is_floating_point():
                p.zero_()


def _centres(n: int) -> Tensor:
    return (2 * torch.arange(n, dtype=torch.float64) + 1) / n - 1


def _blob(size: tuple[int, int, int], centre: Tensor) -> Tensor:
    """``(D, H, W)`` Gaussian of std BLOB_SIGMA at ``centre`` (x, y, z), sampled at voxel centres."""
    z, y, x = torch.meshgrid(*(_centres(n) for n in size), indexing="ij")
    d2 = (x - centre[0]) ** 2 + (y - centre[1]) ** 2 + (z - centre[2]) ** 2
    return torch.exp(-d2 / (2 * BLOB_SIGMA**2))


def _centroids(volume: Tensor) -> tuple[Tensor, Tensor]:
    """``volume (B, C, D, H, W)`` -> centroids ``(B, 3)`` as (x, y, z) and masses ``(B,)``."""
    mass = volume.detach().double().sum(1).clamp(min=0)  # (B, D, H, W)
    d, h, w = mass.shape[1:]
    z, y, x = torch.meshgrid(_centres(d), _centres(h), _centres(w), indexing="ij")
    total = mass.sum((1, 2, 3))
    coords = [(mass * c).sum((1, 2, 3)) / total for c in (x, y, z)]
    return torch.stack(coords, -1), total


@attrs.frozen
class _Item:
    """One test: a blob at ``q`` (x, y, z), warped by rotation ``r`` then translation ``t``."""

    label: str
    q: tuple[float, float, float]
    r: tuple[tuple[float, ...], ...] = ((1.0, 0.0, 0.0), (0.0, 1.0, 0.0), (0.0, 0.0, 1.0))
    t: tuple[float, float, float] = (0.0, 0.0, 0.0)


def _unit(a: int, length: float) -> tuple[float, float, float]:
    v = [0.0, 0.0, 0.0]
    v[a] = length
    return (v[0], v[1], v[2])


ITEMS: list[_Item] = [
    _Item("identity, blob at the centre", (0.0, 0.0, 0.0)),
    *(_Item(f"identity, blob at +{AXES[a]}", _unit(a, BLOB_OFFSET)) for a in range(3)),
    *(_Item(f"translation along +{AXES[a]}", (0.0, 0.0, 0.0), t=_unit(a, SHIFT)) for a in range(3)),
    *(
        _Item(f"quarter turn about {AXES[a]}", _unit((a + 1) % 3, BLOB_OFFSET), r=_QUARTER_TURNS[AXES[a]])
        for a in range(3)
    ),
]


@attrs.frozen
class _Probe:
    """Centroids ``(K, 3)`` and masses ``(K,)`` of :data:`ITEMS` warped; volumes in and out."""

    centroids: Tensor
    masses: Tensor
    volume_in: Tensor
    volume_out: Tensor
    size: tuple[int, int, int]

    def displacement(self, i: int, reference: int) -> Tensor:
        return self.centroids[i] - self.centroids[reference]


def _probe(ctx: CheckContext) -> tuple[Any, _Probe]:
    comp = ctx.build(0)
    ins, _ = specs_of(comp)
    ports = [p for p, s in ins.items() if s.type == "motion"]
    if not ports or "volume" not in ins:
        raise NotApplicable("the warper has no 'volume' and 'motion' inputs")
    neutralise(comp)
    base = inputs_for(comp, 1, 0)
    template, volume = base[ports[0]], base["volume"]
    if not isinstance(template, Motion) or not isinstance(volume, Tensor) or volume.dim() != 5:
        raise ContractViolation("example_inputs() must give a Motion and a (B, C, D, H, W) volume")
    k, (c, *size) = len(ITEMS), volume.shape[1:]
    blobs = torch.stack([_blob(tuple(size), torch.tensor(it.q, dtype=torch.float64)) for it in ITEMS])
    volume_in = blobs[:, None].expand(k, c, *size).to(volume.dtype).contiguous()
    dtype = template.rotation.dtype
    motion = Motion(
        torch.tensor([it.r for it in ITEMS], dtype=dtype),
        torch.tensor([it.t for it in ITEMS], dtype=dtype),
        torch.zeros(k, template.expression.shape[1], dtype=dtype),
        None if template.scale is None else torch.ones(k, 3, dtype=dtype),
    )
    inputs = map_tensors(base, lambda t: t.expand(k, *t.shape[1:]).contiguous() if t.dim() else t)
    inputs |= {"volume": volume_in, ports[0]: motion}
    what = "run() on blob volumes with test motions (learned part neutralised)"
    out = call(comp, inputs, what)["volume"]
    centroids, masses = _centroids(out)
    empty = [ITEMS[i].label for i in range(k) if not masses[i] > 1e-6 * float(blobs[i].sum())]
    if empty or not torch.isfinite(centroids).all():
        raise ContractViolation(
            f"{what}: the blob vanished or is not finite for {empty or 'some items'}; a warper whose "
            "parameters set to 0 do not neutralise its learned warp defines conformance_neutralise()"
        )
    return comp, _Probe(centroids, masses, volume_in, out, tuple(size))


def _fmt(v: Tensor) -> str:
    return "(" + ", ".join(f"{float(x):+.3f}" for x in v) + ")"


@check("warper_identity_motion", "warper")
def warper_identity_motion(ctx: CheckContext) -> None:
    """With the learned part neutralised, the identity motion moves no content: a blob at the centre
    stays there (within a quarter voxel) and blobs off the centre move only radially (a fixed zoom is
    tolerated); a warper declaring conformance_warp_identity returns the volume unchanged."""
    comp, probe = _probe(ctx)
    tol = torch.tensor([0.5 / n for n in reversed(probe.size)], dtype=torch.float64)  # (x, y, z)
    centre = probe.centroids[0]
    if (centre.abs() > tol).any():
        raise ContractViolation(
            f"identity motion moved a blob at the centre to {_fmt(centre)} (more than a quarter voxel, "
            f"{_fmt(tol)}): the warp has a built-in offset"
        )
    for i in range(1, 4):
        q = torch.tensor(ITEMS[i].q, dtype=torch.float64)
        c = probe.centroids[i]
        radial = (c @ q) / (q @ q)
        tangential = c - radial * q
        if (tangential.abs() > tol).any() or not 0.25 <= float(radial) <= 2.0:
            raise ContractViolation(
                f"identity motion moved a blob at {_fmt(q)} to {_fmt(c)}: not a (near-)identity or a "
                "zoom about the centre"
            )
    if getattr(type(comp), "conformance_warp_identity", False):
        assert_same(
            probe.volume_out[:4], probe.volume_in[:4], "identity motion (conformance_warp_identity)", scale=10
        )


@check("warper_motion_axes", "warper")
def warper_motion_axes(ctx: CheckContext) -> None:
    """With the learned part neutralised, a translation along x, y or z moves a blob along that axis
    (not another) by a plausible amount, and a quarter turn about an axis moves it within the plane
    perpendicular to that axis."""
    _, probe = _probe(ctx)
    for a in range(3):
        d = probe.displacement(4 + a, 0)
        cos = float(d[a]) / max(float(d.norm()), 1e-12)
        if abs(cos) < 0.9 or not 0.25 * SHIFT <= float(d.norm()) <= 4 * SHIFT:
            raise ContractViolation(
                f"a translation of {SHIFT} along +{AXES[a]} moved the blob by {_fmt(d)} (x, y, z); expected "
                f"about +-{SHIFT} along {AXES[a]} only (axes swapped or ignored?)"
            )
    for a in range(3):
        i = 7 + a
        d = probe.displacement(i, 1 + (a + 1) % 3)
        if float(d.norm()) < 0.25 * BLOB_OFFSET or abs(float(d[a])) > 0.25 * float(d.norm()):
            raise ContractViolation(
                f"a quarter turn about {AXES[a]} moved a blob at {_fmt(torch.tensor(ITEMS[i].q))} by {_fmt(d)}; "
                f"expected a move within the plane perpendicular to {AXES[a]}"
            )


@check("warper_motion_direction", "warper")
def warper_motion_direction(ctx: CheckContext) -> None:
    """With the learned part neutralised, translations and rotations move content in the same sense:
    all forward (+t moves content along +t, R turns content by R) or all inverse (as F.affine_grid with
    [R | t]); a negated translation (or rotation) mixes the two."""
    _, probe = _probe(ctx)
    senses: dict[str, str] = {}
    for a in range(3):
        d = probe.displacement(4 + a, 0)
        if abs(float(d[a])) >= 0.5 * float(d.norm()) > 0:  # else the axes are wrong: warper_motion_axes
            senses[f"translation along +{AXES[a]}"] = "forward" if float(d[a]) > 0 else "inverse"
    for a in range(3):
        i = 7 + a
        q = torch.tensor(ITEMS[i].q, dtype=torch.float64)
        turn = float(torch.linalg.cross(q, probe.displacement(i, 1 + (a + 1) % 3))[a])
        if abs(turn) > 1e-9:
            senses[f"quarter turn about {AXES[a]}"] = "forward" if turn > 0 else "inverse"
    if len(set(senses.values())) > 1:
        listed = ", ".join(f"{what}: {sense}" for what, sense in senses.items())
        raise ContractViolation(
            f"the motion is applied in mixed senses ({listed}); forward moves content by the motion, "
            "inverse by its inverse, and one warper uses one sense for translations and rotations "
            "(is the translation negated?)"
        )


WARPER_MOTION_CHECKS = [warper_identity_motion, warper_motion_axes, warper_motion_direction]
