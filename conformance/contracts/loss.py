"""Checks of kind ``loss``: a ``()`` scalar, differentiable (also where pred = target, where a norm or a
sqrt has a 0/0 derivative), zero on identical inputs where declared (NaN is not zero)."""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor

from ..tolerances import tolerance
from ._base import CheckContext, ContractViolation, NotApplicable, check
from ._values import EXTREME_CASES, call, extreme_inputs, floating_leaves, inputs_for, map_tensors
from .generic_ports import specs_of

__all__ = ["LOSS_CHECKS", "identical_pair"]


def _loss_value(comp: Any, inputs: dict[str, Any], what: str, *, grad: bool = False) -> Tensor:
    result = call(comp, inputs, what, grad=grad)
    if set(result) != {"loss"}:
        raise ContractViolation(f"a loss has exactly one output 'loss', got {sorted(result)}")
    return result["loss"]


@check("loss_scalar", "loss")
def loss_scalar(ctx: CheckContext) -> None:
    """The output `loss` is a () floating tensor (a single number, whatever the batch size)."""
    comp = ctx.build(0)
    for batch in (1, 3):
        value = _loss_value(comp, inputs_for(comp, batch, batch), f"run() on a batch of {batch}")
        if not isinstance(value, Tensor) or value.dim() != 0 or not value.is_floating_point():
            got = f"{tuple(value.shape)} {value.dtype}" if isinstance(value, Tensor) else type(value).__name__
            raise ContractViolation(f"'loss' for a batch of {batch} must be a () float tensor, got {got}")


@check("loss_differentiable", "loss")
def loss_differentiable(ctx: CheckContext) -> None:
    """With its floating inputs requiring grad, the loss back-propagates: every gradient that arrives is
    finite, and at least one input gets a non-zero gradient (no .item(), .detach() or argmax on the path)."""
    comp = ctx.build(0, train=True)
    inputs = map_tensors(
        inputs_for(comp, 2, 0), lambda t: t.detach().requires_grad_(True) if t.is_floating_point() else t
    )
    value = _loss_value(comp, inputs, "run() with inputs requiring grad", grad=True)
    if not isinstance(value, Tensor) or not value.requires_grad:
        raise ContractViolation("the loss does not require grad although its inputs do (detached from them)")
    try:
        value.sum().backward()
    except Exception as exc:
        raise ContractViolation(f"backward() raised {type(exc).__name__}: {exc}") from exc
    grads = {path: t.grad for path, t in floating_leaves(inputs).items()}
    bad = [p for p, g in grads.items() if g is not None and not torch.isfinite(g).all()]
    if bad:
        raise ContractViolation(f"non-finite gradient w.r.t. input {', '.join(bad)}")
    if not any(g is not None and g.any() for g in grads.values()):
        raise ContractViolation(f"no input gets a non-zero gradient (inputs: {', '.join(grads)})")


def identical_pair(comp: Any) -> tuple[str, str] | None:
    """The two inputs that are made identical: ``pred`` / ``target`` if both exist, else the first two
    input ports with the same spec; None if no two inputs share a spec."""
    ins, _ = specs_of(comp)
    if "pred" in ins and "target" in ins:
        return "pred", "target"
    names = list(ins)
    for i, a in enumerate(names):
        for b in names[i + 1 :]:
            if ins[a] == ins[b]:
                return a, b
    return None


def _identical_cases(comp: Any, a: str, b: str) -> dict[str, dict[str, Any]]:
    """Drawn and extreme inputs with ``b`` holding ``a``'s values (a separate tensor)."""
    ins, _ = specs_of(comp)
    base = inputs_for(comp, 2, 0)
    cases = {"drawn": base} | {case: extreme_inputs(base, ins, case) for case in EXTREME_CASES}
    return {
        case: {**inputs, b: map_tensors(inputs[a], lambda t: t.clone())} for case, inputs in cases.items()
    }


@check("loss_gradient_at_identical", "loss")
def loss_gradient_at_identical(ctx: CheckContext) -> None:
    """With `pred` and `target` (or its first two inputs with the same spec) holding equal values, drawn
    or extreme, every input gradient is finite: no sqrt or norm whose derivative is 0/0 at a zero
    difference (training reaches exactly that point)."""
    comp = ctx.build(0, train=True)
    pair = identical_pair(comp)
    if pair is None:
        raise NotApplicable("no two inputs share a spec (nothing to make identical)")
    a, b = pair
    for case, inputs in _identical_cases(comp, a, b).items():
        inputs = map_tensors(
            inputs, lambda t: t.detach().requires_grad_(True) if t.is_floating_point() else t
        )
        value = _loss_value(comp, inputs, f"run() with {b} = {a} ({case} inputs)", grad=True)
        if not isinstance(value, Tensor) or not value.requires_grad:
            continue  # detached: loss_differentiable's business
        try:
            value.sum().backward()
        except Exception as exc:
            raise ContractViolation(
                f"backward() with {b} = {a} ({case}) raised {type(exc).__name__}: {exc}"
            ) from exc
        bad = [
            p
            for p, t in floating_leaves(inputs).items()
            if t.grad is not None and not torch.isfinite(t.grad).all()
        ]
        if bad:
            raise ContractViolation(
                f"non-finite gradient w.r.t. {', '.join(bad)} when {b} = {a} ({case} inputs): the loss is not "
                "differentiable at a zero difference (e.g. sqrt(sum(d**2)) or a norm without an epsilon)"
            )


@check("loss_zero_on_identical", "loss")
def loss_zero_on_identical(ctx: CheckContext) -> None:
    """A loss whose class sets zero_on_identical = True returns 0 (up to float32's atol; NaN is not 0)
    when `pred` and `target` (or its first two inputs with the same spec) are the same tensor, drawn
    or extreme."""
    comp = ctx.build(0)
    if not getattr(comp, "zero_on_identical", False):
        raise NotApplicable("the loss does not declare zero_on_identical")
    pair = identical_pair(comp)
    if pair is None:
        ins, _ = specs_of(comp)
        raise ContractViolation(f"zero_on_identical is set but no two inputs share a spec: {sorted(ins)}")
    a, b = pair
    atol = tolerance(torch.float32)[1]
    for case, inputs in _identical_cases(comp, a, b).items():
        inputs = {**inputs, b: inputs[a]}
        value = _loss_value(comp, inputs, f"run() with {b} = {a} ({case})")
        if not isinstance(value, Tensor) or value.numel() != 1 or not abs(float(value)) <= atol:
            raise ContractViolation(f"loss with {b} identical to {a} ({case} inputs) is {value}, expected 0")


LOSS_CHECKS = [loss_scalar, loss_differentiable, loss_gradient_at_identical, loss_zero_on_identical]
