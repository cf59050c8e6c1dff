"""Generic checks on what a component declares and returns: ports, types, shapes, dtypes, ranges,
finite values. They apply to every module component (an ``nn.Module`` called through ``run``).
Ranges are also checked on scaled weights, finiteness on perturbed weights (:mod:`._weights`); a
Motion crossing a port must hold proper rotations (:meth:`Motion.check_rotation`)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch
from hypothesis import strategies as st
from torch import Tensor

from emoportraits_core import Appearance, Motion
from emoportraits_core.errors import InputError
from emoportraits_core.ports import PortSpec
from emoportraits_core.shapes import format_pattern, match_shape
from emoportraits_core.types import batch_size_of

from ..tolerances import tolerance
from ._base import CheckContext, ContractViolation, NotApplicable, check
from ._values import EXTREME_CASES, call, extreme_inputs, inputs_for, leaves
from ._weights import WEIGHT_VARIANTS, build_variant

__all__ = [
    "GENERIC_PORT_CHECKS",
    "check_motion_rotation",
    "check_value_against_spec",
    "declared_ports",
    "example_inputs",
    "finite_outputs",
    "output_range",
    "output_shapes",
    "specs_of",
]

#: port type -> the Python type its values must have (types not listed, e.g. a plugin's own: not checked).
PORT_VALUE_TYPES: dict[str, type | tuple[type, ...]] = {
    "motion": Motion,
    "appearance": Appearance,
    "features": (list, tuple),
    **{t: Tensor for t in ("image", "mask", "volume", "descriptor", "embedding", "warp", "scalar")},
}

_SEEDS = st.integers(0, 2**16)


def specs_of(component: Any) -> tuple[dict[str, PortSpec], dict[str, PortSpec]]:
    """``(input_specs(), output_specs())``, a ContractViolation if either raises."""
    try:
        return dict(component.input_specs()), dict(component.output_specs())
    except Exception as exc:
        raise ContractViolation(f"input_specs()/output_specs() raised {type(exc).__name__}: {exc}") from exc


def check_value_against_spec(
    where: str, value: Any, spec: PortSpec, batch: int | None, dtype: torch.dtype | None
) -> None:
    """Raise ContractViolation unless ``value`` has the port's Python type, batch, shape and dtype."""
    want = PORT_VALUE_TYPES.get(spec.type)
    if want is not None and not isinstance(value, want):
        raise ContractViolation(
            f"{where}: a '{spec.type}' port must carry {_names(want)}, got {type(value).__name__}"
        )
    size = batch_size_of(value)
    if batch is not None and spec.type in ("motion", "appearance") and size != batch:
        raise ContractViolation(f"{where}: batch size {size}, expected {batch}")
    if isinstance(value, Motion):
        check_motion_rotation(where, value)
    if spec.shape is not None:
        targets = {"": value.expression} if isinstance(value, Motion) else leaves(value)
        if isinstance(value, Appearance):
            targets = {".volume": value.volume}
        for path, tensor in targets.items():
            bound = {} if batch is None else {"B": batch}
            reason = match_shape(tensor.shape, spec.shape, bound)
            if reason is not None:
                what = f"{where}{path}" + (" (expression)" if isinstance(value, Motion) else "")
                raise ContractViolation(
                    f"{what}: {reason} (declared {format_pattern(spec.shape)}, B={batch})"
                )
    if dtype is not None:
        for path, tensor in leaves(value, where).items():
            if tensor.is_floating_point() and tensor.dtype != dtype:
                raise ContractViolation(f"{path}: dtype {tensor.dtype}, expected {dtype} (the inputs' dtype)")


def check_motion_rotation(where: str, motion: Motion, *, skip_non_finite: bool = False) -> None:
    """Raise ContractViolation unless ``motion.rotation`` holds proper rotations (orthonormal, det +1,
    :meth:`Motion.check_rotation` with float32's tolerance); ``skip_non_finite`` ignores the items
    whose rotation is not finite (overflow on scaled weights)."""
    if skip_non_finite:
        keep = torch.isfinite(motion.rotation.detach()).flatten(1).all(1)
        motion = motion[keep.nonzero()[:, 0]]
    low = motion.rotation.dtype in (torch.float16, torch.bfloat16)
    try:
        motion.check_rotation(atol=1e-2 if low else 1e-4)
    except InputError as exc:
        raise ContractViolation(f"{where}: {exc}") from None


def _names(t: type | tuple[type, ...]) -> str:
    return " or ".join(x.__name__ for x in (t if isinstance(t, tuple) else (t,)))


def _check_range(where: str, value: Any, spec: PortSpec) -> None:
    """Every finite value of ``value`` lies in the port's declared range (non-finite values are the
    finite_outputs check's business)."""
    if spec.range is None:
        return
    lo, hi = spec.range
    for path, t in leaves(value, where).items():
        if not t.is_floating_point():
            continue
        t = t.detach()[torch.isfinite(t.detach())]
        if t.numel() == 0:
            continue
        atol = tolerance(t.dtype)[1] if t.dtype in (torch.float32, torch.float64) else 1e-2
        tmin, tmax = float(t.min()), float(t.max())
        if tmin < lo - atol or tmax > hi + atol:
            raise ContractViolation(
                f"{path}: values in [{tmin:.4g}, {tmax:.4g}], declared range [{lo:g}, {hi:g}]"
            )


@check("declared_ports")
def declared_ports(ctx: CheckContext) -> None:
    """input_specs()/output_specs() agree with the class-level ports; run() returns exactly the declared
    output ports, each value of its port's type (Tensor, Motion, Appearance or list)."""
    comp = ctx.build(0)
    ins, outs = specs_of(comp)
    for what, specs, declared in (("input", ins, comp.inputs), ("output", outs, comp.outputs)):
        if set(specs) != set(declared):
            raise ContractViolation(
                f"{what}_specs() has ports {sorted(specs)} but the class declares {what}s {sorted(declared)}"
            )
        for port, spec in specs.items():
            if spec.type != declared[port]:
                raise ContractViolation(
                    f"{what} port '{port}': spec type '{spec.type}' but the class declares '{declared[port]}'"
                )
    result = call(comp, inputs_for(comp, 2, 0), "run(**example_inputs(2))")
    if set(result) != set(comp.outputs):
        raise ContractViolation(
            f"run() returned ports {sorted(result)}, declared outputs {sorted(comp.outputs)}"
        )
    for port, value in result.items():
        want = PORT_VALUE_TYPES.get(outs[port].type)
        if want is not None and not isinstance(value, want):
            raise ContractViolation(
                f"output '{port}' ({outs[port].type}) must be {_names(want)}, got {type(value).__name__}"
            )


@check("example_inputs")
def example_inputs(ctx: CheckContext) -> None:
    """example_inputs(batch, dtype=...) gives every input port a value that matches input_specs():
    type, batch size, shape, dtype and range (the other checks feed the component with them)."""
    comp = ctx.build(0)
    ins, _ = specs_of(comp)

    @ctx.given(batch=st.integers(1, 4), seed=_SEEDS, dtype=st.sampled_from([torch.float32, torch.float64]))
    def prop(batch: int, seed: int, dtype: torch.dtype) -> None:
        values = inputs_for(comp, batch, seed, dtype)
        if set(values) != set(ins):
            raise ContractViolation(
                f"example_inputs() gave ports {sorted(values)}, input_specs() has {sorted(ins)}"
            )
        for port, value in values.items():
            where = f"example_inputs(batch={batch}, dtype={dtype})['{port}']"
            check_value_against_spec(where, value, ins[port], batch, dtype)
            _check_range(where, value, ins[port])

    prop()


@check("output_shapes")
def output_shapes(ctx: CheckContext) -> None:
    """Outputs match output_specs(): shape pattern with B bound to the batch size, and the inputs' dtype,
    for drawn batch sizes."""
    comp = ctx.build(0)
    _, outs = specs_of(comp)

    @ctx.given(batch=st.integers(1, 4), seed=_SEEDS)
    def prop(batch: int, seed: int) -> None:
        result = call(comp, inputs_for(comp, batch, seed), f"run() on a batch of {batch}")
        for port, value in result.items():
            if port in outs:
                check_value_against_spec(f"output '{port}'", value, outs[port], batch, torch.float32)

    prop()


@check("output_range")
def output_range(ctx: CheckContext) -> None:
    """Outputs that declare a value range stay in it, on drawn and on extreme inputs, with the initial
    weights and with scaled weights that drive squashing layers to saturation (an unclamped
    `sigmoid(x) * 1.2 - 0.1` stays in [0, 1] at initialisation only)."""
    comp = ctx.build(0)
    ins, outs = specs_of(comp)
    ranged = {p: s for p, s in outs.items() if s.range is not None}
    if not ranged:
        raise NotApplicable("no output port declares a value range")

    def check_outputs(component: Any, inputs: Mapping[str, Any], what: str) -> None:
        result = call(component, inputs, what)
        for port, spec in ranged.items():
            _check_range(f"output '{port}' ({what})", result[port], spec)

    base = inputs_for(comp, 2, 0)
    for case in EXTREME_CASES:
        check_outputs(comp, extreme_inputs(base, ins, case), f"'{case}' extreme inputs")
    scaled = build_variant(ctx, "scaled")
    weights = WEIGHT_VARIANTS["scaled"]
    small = inputs_for(scaled, 1, 0)
    for case, inputs in (
        {"drawn": small} | {c: extreme_inputs(small, ins, c) for c in EXTREME_CASES}
    ).items():
        check_outputs(scaled, inputs, f"'{case}' inputs, {weights}")

    @ctx.given(batch=st.integers(1, 3), seed=_SEEDS)
    def prop(batch: int, seed: int) -> None:
        check_outputs(comp, inputs_for(comp, batch, seed), "drawn inputs")

    prop()


@check("finite_outputs")
def finite_outputs(ctx: CheckContext) -> None:
    """Outputs are finite on extreme but valid inputs: images all 0, all 1 and alternating; volumes of
    zeros, large constants and large random values; identity, half-turn and quarter-turn motions;
    with the initial and with perturbed weights."""
    for variant, batch in (("initial", 2), ("perturbed", 1)):
        comp = build_variant(ctx, variant)
        ins, _ = specs_of(comp)
        base = inputs_for(comp, batch, 0)
        weights = WEIGHT_VARIANTS[variant]
        for case in EXTREME_CASES:
            result = call(
                comp, extreme_inputs(base, ins, case), f"run() on '{case}' extreme inputs ({weights})"
            )
            for path, t in leaves(result).items():
                if t.is_floating_point() and not torch.isfinite(t).all():
                    bad = int((~torch.isfinite(t)).sum())
                    raise ContractViolation(
                        f"output '{path}' has {bad} non-finite values on '{case}' extreme inputs "
                        f"({EXTREME_CASES[case]}), {weights}"
                    )


GENERIC_PORT_CHECKS = [declared_ports, example_inputs, output_shapes, output_range, finite_outputs]
