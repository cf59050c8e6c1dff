"""Helpers over port values (tensors, Motion, Appearance, lists, mappings) shared by the checks."""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import Any

import torch
from torch import Tensor

from emoportraits_core import Appearance, Motion
from emoportraits_core.ports import PortSpec

from ..tolerances import tolerance
from ._base import ContractViolation

__all__ = [
    "EXTREME_CASES",
    "assert_same",
    "call",
    "extreme_inputs",
    "floating_leaves",
    "inputs_for",
    "is_batched_port",
    "leaves",
    "map_tensors",
    "select",
]

#: the extreme input sets built by :func:`extreme_inputs`: name -> what it holds.
EXTREME_CASES: dict[str, str] = {
    "low": "ranged tensors at their low end (black images), other tensors 0, identity motions",
    "high": "ranged tensors at their high end (white images), other tensors 10, half-turn motions",
    "checker": "alternating low/high (or -10/10) values, quarter-turn motions",
    "large": "random in range, other tensors 30 x random, the example motions",
}


def map_tensors(value: Any, fn: Callable[[Tensor], Tensor]) -> Any:
    """Apply ``fn`` to every tensor inside ``value``, keeping its structure."""
    if isinstance(value, Tensor):
        return fn(value)
    if isinstance(value, Motion | Appearance):
        return value.map(fn)
    if isinstance(value, Mapping):
        return {k: map_tensors(v, fn) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return type(value)(map_tensors(v, fn) for v in value)
    return value


def leaves(value: Any, prefix: str = "") -> dict[str, Tensor]:
    """``{path: tensor}`` of every tensor inside ``value``; paths read like ``motion.rotation``,
    ``features[0][2]``."""
    if isinstance(value, Tensor):
        return {prefix: value}
    if isinstance(value, Motion):
        fields = {"rotation": value.rotation, "translation": value.translation}
        fields |= {"expression": value.expression, "scale": value.scale}
        return {f"{prefix}.{k}": v for k, v in fields.items() if v is not None}
    if isinstance(value, Appearance):
        return {f"{prefix}.volume": value.volume, f"{prefix}.descriptor": value.descriptor}
    out: dict[str, Tensor] = {}
    if isinstance(value, Mapping):
        for k, v in value.items():
            out |= leaves(v, f"{prefix}.{k}" if prefix else str(k))
    elif isinstance(value, list | tuple):
        for i, v in enumerate(value):
            out |= leaves(v, f"{prefix}[{i}]")
    return out


def floating_leaves(value: Any) -> dict[str, Tensor]:
    return {k: v for k, v in leaves(value).items() if v.is_floating_point()}


def is_batched_port(spec: PortSpec) -> bool | None:
    """True if the port's values carry the batch first, False if not, None if undeclared."""
    if spec.type in ("motion", "appearance"):
        return True
    if spec.type == "scalar":
        return False
    if spec.shape is None:
        return None
    return len(spec.shape) > 0 and spec.shape[0] == "B"


def select(values: Mapping[str, Any], specs: Mapping[str, PortSpec], index: Any, batch: int) -> dict:
    """Index the batch dim of every batched port value (``index``: int slice or index tensor);
    undeclared ports are indexed where their tensors' first dim equals ``batch``."""

    def pick(t: Tensor) -> Tensor:
        return t[index] if t.dim() > 0 and t.shape[0] == batch else t

    out = {}
    for name, value in values.items():
        batched = is_batched_port(specs[name]) if name in specs else None
        out[name] = value if batched is False else map_tensors(value, pick)
    return out


def call(component: Any, inputs: Mapping[str, Any], what: str, *, grad: bool = False) -> dict[str, Any]:
    """``component.run(**inputs)`` (under ``torch.no_grad()`` unless ``grad``), turning any exception
    into a ContractViolation that says ``what`` was being done."""
    try:
        with torch.set_grad_enabled(grad):
            return fresh_run(component, inputs)
    except ContractViolation:
        raise
    except Exception as exc:
        raise ContractViolation(f"{what}: {type(exc).__name__}: {exc}") from exc


def fresh_run(component: Any, inputs: Mapping[str, Any]) -> dict[str, Any]:
    """``component.run(**inputs)`` as the first batch of a stream: a component with
    ``stateful_stream`` forgets its state first (each check's call is a stream of its own)."""
    if getattr(component, "stateful_stream", False):
        component.reset_stream()
    return component.run(**inputs)


def inputs_for(component: Any, batch: int, seed: int, dtype: torch.dtype = torch.float32) -> dict[str, Any]:
    """``component.example_inputs(batch, ...)`` drawn with a generator seeded by ``seed``."""
    gen = torch.Generator().manual_seed(seed)
    try:
        return component.example_inputs(batch, generator=gen, dtype=dtype)
    except Exception as exc:
        raise ContractViolation(f"example_inputs(batch={batch}) raised {type(exc).__name__}: {exc}") from exc


def assert_same(actual: Any, expected: Any, what: str, *, scale: float = 1.0, exact: bool = False) -> None:
    """Every tensor of ``actual`` equals (or is close to, per the tolerance table times ``scale``) the
    tensor at the same path in ``expected``; the structures must match."""
    a, e = leaves(actual), leaves(expected)
    if a.keys() != e.keys():
        raise ContractViolation(f"{what}: outputs differ in structure: {sorted(a)} vs {sorted(e)}")
    for key, want in e.items():
        got, path = a[key], key or "output"
        if got.shape != want.shape:
            raise ContractViolation(
                f"{what}: '{path}' has shape {tuple(got.shape)}, expected {tuple(want.shape)}"
            )
        if exact or not want.is_floating_point():
            if not torch.equal(got, want):
                raise ContractViolation(f"{what}: '{path}' differs ({_diff(got, want)})")
            continue
        rtol, atol = tolerance(want.dtype)
        if not torch.allclose(got.to(want.dtype), want, rtol=rtol * scale, atol=atol * scale, equal_nan=True):
            raise ContractViolation(
                f"{what}: '{path}' differs beyond rtol={rtol * scale:g}, atol={atol * scale:g} "
                f"({_diff(got, want)})"
            )


def _diff(got: Tensor, want: Tensor) -> str:
    if not want.is_floating_point():
        return f"{int((got != want).sum())} elements differ"
    d = (got.detach().double() - want.detach().double()).abs()
    return f"max abs difference {float(d.max()):.3g} at flat index {int(d.argmax())}"


# -- extreme but valid inputs ------------------------------------------------------------------------


def _rotation_pi(batch: int, dtype: torch.dtype) -> Tensor:
    """Rotation by pi about (1, 1, 1)/sqrt(3): R = 2 n n^T - I (the farthest from the identity)."""
    n = torch.full((3, 1), 1 / math.sqrt(3), dtype=dtype)
    return (2 * n @ n.T - torch.eye(3, dtype=dtype)).expand(batch, 3, 3).clone()


def _rotation_x90(batch: int, dtype: torch.dtype) -> Tensor:
    r = torch.tensor([[1.0, 0.0, 0.0], [0.0, 0.0, -1.0], [0.0, 1.0, 0.0]], dtype=dtype)
    return r.expand(batch, 3, 3).clone()


def _extreme_motion(m: Motion, case: str) -> Motion:
    b, dtype = m.batch_size, m.rotation.dtype
    scale = None if m.scale is None else torch.ones_like(m.scale)
    if case == "low":  # identity motion
        return Motion(torch.eye(3, dtype=dtype).expand(b, 3, 3).clone(), torch.zeros_like(m.translation),
                      torch.zeros_like(m.expression), scale)  # fmt: skip
    if case == "high":  # half-turn, far translation, strong expression
        expr = 3 * torch.sign(m.expression) + (m.expression == 0)
        return Motion(_rotation_pi(b, dtype), torch.ones_like(m.translation), expr,
                      None if scale is None else 1.3 * scale)  # fmt: skip
    if case == "checker":  # quarter turn, opposite translation
        return Motion(_rotation_x90(b, dtype), -torch.ones_like(m.translation), -m.expression, m.scale)
    return m


def _extreme_tensor(t: Tensor, spec: PortSpec | None, case: str) -> Tensor:
    if not t.is_floating_point():
        return t
    lo, hi = spec.range if spec is not None and spec.range is not None else (None, None)
    if lo is None:  # unbounded: zeros, a large constant, large alternating signs, large random
        lo, hi, mult = -10.0, 10.0, 30.0
        if case == "low":
            return torch.zeros_like(t)
    else:
        mult = 1.0
    if case == "low":
        return torch.full_like(t, lo)
    if case == "high":
        return torch.full_like(t, hi)
    if case == "checker":
        parity = (torch.arange(t.numel()).reshape(t.shape) % 2).to(torch.bool)
        return torch.where(parity, torch.full_like(t, hi), torch.full_like(t, lo))
    return t * mult


def extreme_inputs(inputs: Mapping[str, Any], specs: Mapping[str, PortSpec], case: str) -> dict[str, Any]:
    """Valid inputs at the edges of their ports, for ``case`` in :data:`EXTREME_CASES`.

    Ranged tensors (e.g. images in [0, 1]): all-low, all-high, alternating low/high, random.
    Unranged tensors (e.g. volumes): zeros, all 10, alternating -10/10, 30 x random.
    Motions: identity, a half turn with translation 1 and expression +-3, a quarter turn, random.
    """
    out = {}
    for name, value in inputs.items():
        spec = specs.get(name)
        if isinstance(value, Motion):
            out[name] = _extreme_motion(value, case)
        else:
            out[name] = map_tensors(value, lambda t, s=spec: _extreme_tensor(t, s, case))
    return out
