"""Generic checks on how a component behaves: batch independence, determinism, no input mutation,
state-dict round trip through safetensors, gradients to every trainable parameter, dtype moves.

A component may exempt parameters from the gradient check with a class attribute::

    class MyWarper(Warper):
        # parameter-name prefixes that legitimately get no gradient from one forward pass
        conformance_no_grad: ClassVar[frozenset[str]] = frozenset({"ema_", "unused_head."})
"""

from __future__ import annotations

from typing import Any

import torch
from hypothesis import strategies as st
from safetensors.torch import load_file, save_file
from torch import Tensor

from ._base import CheckContext, ContractViolation, NotApplicable, check
from ._values import (
    assert_same,
    call,
    floating_leaves,
    inputs_for,
    is_batched_port,
    leaves,
    map_tensors,
    select,
)
from .generic_ports import specs_of

__all__ = [
    "BF16_RELATIVE_RMS",
    "FLOAT64_SCALE",
    "GENERIC_BEHAVIOUR_CHECKS",
    "batch_independence",
    "bfloat16_move",
    "determinism",
    "float64_move",
    "gradients",
    "inputs_not_modified",
    "state_dict_roundtrip",
]

#: float64 vs float32 outputs must agree within float32's tolerance times this.
FLOAT64_SCALE = 20.0
#: bfloat16 vs float32 outputs: largest allowed ``||a - b|| / (||b|| + 1e-3 sqrt(n))`` per tensor.
BF16_RELATIVE_RMS = 0.05
#: batched vs one-at-a-time outputs must agree within the tolerance table times this.
BATCH_SCALE = 10.0


def _cast(value: Any, dtype: torch.dtype) -> Any:
    return map_tensors(value, lambda t: t.to(dtype) if t.is_floating_point() else t)


@check("batch_independence")
def batch_independence(ctx: CheckContext) -> None:
    """In eval mode, item i of a batch gives the same output as item i alone, and permuting the batch
    permutes the outputs (no batch statistics, no mixing between items), for drawn batch sizes."""
    comp = ctx.build(0)
    ins, outs = specs_of(comp)
    probe = call(comp, inputs_for(comp, 2, 0), "run() on a batch of 2")
    for port, value in probe.items():
        declared = is_batched_port(outs[port]) if port in outs else None
        sizes = {tuple(t.shape[:1]) for t in leaves(value).values()}
        if declared is False or (declared is None and sizes != {(2,)}):
            raise NotApplicable(f"output '{port}' has no batch dimension")

    @ctx.given(batch=st.integers(2, 4), seed=st.integers(0, 2**16), data=st.data())
    def prop(batch: int, seed: int, data: st.DataObject) -> None:
        inputs = inputs_for(comp, batch, seed)
        full = call(comp, inputs, f"run() on a batch of {batch}")
        for i in range(batch):
            one = call(comp, select(inputs, ins, slice(i, i + 1), batch), f"run() on item {i} alone")
            expected = select(full, outs, slice(i, i + 1), batch)
            assert_same(one, expected, f"item {i} alone vs in a batch of {batch}", scale=BATCH_SCALE)
        perm = torch.tensor(data.draw(st.permutations(range(batch)), label="permutation"))
        permuted = call(comp, select(inputs, ins, perm, batch), "run() on the permuted batch")
        expected = select(full, outs, perm, batch)
        assert_same(permuted, expected, f"batch permuted by {perm.tolist()}", scale=BATCH_SCALE)

    prop()


@check("determinism")
def determinism(ctx: CheckContext) -> None:
    """In eval mode, two calls on the same inputs give bit-identical outputs (no dropout or noise
    left on, no state carried between calls)."""
    comp = ctx.build(0)
    inputs = inputs_for(comp, 2, 0)
    first = call(comp, inputs, "first run()")
    second = call(comp, inputs, "second run()")
    assert_same(second, first, "second call vs first call on the same inputs (eval mode)", exact=True)


@check("inputs_not_modified")
def inputs_not_modified(ctx: CheckContext) -> None:
    """run() leaves its input values unchanged, in eval and in train mode (no in-place ops on inputs)."""
    for train in (False, True):
        comp = ctx.build(0, train=train)
        inputs = inputs_for(comp, 2, 0)
        before = map_tensors(inputs, lambda t: t.detach().clone())
        mode = "train" if train else "eval"
        call(comp, inputs, f"run() in {mode} mode")
        assert_same(inputs, before, f"inputs after run() in {mode} mode", exact=True)


@check("state_dict_roundtrip")
def state_dict_roundtrip(ctx: CheckContext) -> None:
    """state_dict() saved with safetensors and loaded (strict) into a fresh, differently initialised
    instance gives the same outputs: every tensor that matters is in the state dict."""
    source = ctx.build(0)
    inputs = inputs_for(source, 2, 0)
    expected = call(source, inputs, "run() on the original")
    state = {}
    for key, value in source.state_dict().items():
        if not isinstance(value, Tensor):
            raise ContractViolation(f"state_dict() entry '{key}' is a {type(value).__name__}, not a tensor")
        state[key] = value.detach().clone().contiguous()
    path = ctx.tmp_dir / "state.safetensors"
    try:
        save_file(state, str(path))
    except Exception as exc:
        raise ContractViolation(f"safetensors could not save state_dict(): {exc}") from exc
    fresh = ctx.build(1)
    missing, unexpected = fresh.load_state_dict(load_file(str(path)), strict=False)
    if missing or unexpected:
        raise ContractViolation(
            f"loading into a fresh instance: missing keys {missing}, unexpected {unexpected}"
        )
    fresh.eval()
    assert_same(
        call(fresh, inputs, "run() after loading"), expected, "fresh instance after loading vs original"
    )


def _no_grad_prefixes(comp: Any) -> tuple[str, ...]:
    return tuple(sorted(getattr(type(comp), "conformance_no_grad", frozenset())))


@check("gradients")
def gradients(ctx: CheckContext) -> None:
    """In train mode, a random projection of the outputs back-propagates a finite, not-all-zero gradient
    into every trainable parameter (except those under the class's conformance_no_grad prefixes)."""
    comp = ctx.build(0, train=True)
    exempt = _no_grad_prefixes(comp)
    params = [(n, p) for n, p in comp.named_parameters() if p.requires_grad and not n.startswith(exempt)]
    if not params:
        raise NotApplicable("no trainable parameters (outside conformance_no_grad)")
    result = call(comp, inputs_for(comp, 2, 0), "run() in train mode", grad=True)
    gen = torch.Generator().manual_seed(1)
    terms = [
        (t * torch.randn(t.shape, generator=gen).to(t.dtype)).sum()
        for t in floating_leaves(result).values()
        if t.requires_grad
    ]
    if not terms:
        raise ContractViolation("no output depends on a trainable parameter (nothing requires grad)")
    try:
        torch.stack(terms).sum().backward()
    except Exception as exc:
        raise ContractViolation(f"backward() raised {type(exc).__name__}: {exc}") from exc
    problems = {
        "no gradient": [n for n, p in params if p.grad is None],
        "a non-finite gradient": [
            n for n, p in params if p.grad is not None and not torch.isfinite(p.grad).all()
        ],
        "an all-zero gradient": [n for n, p in params if p.grad is not None and not p.grad.any()],
    }
    found = [f"{what}: {', '.join(names)}" for what, names in problems.items() if names]
    if found:
        hint = "list name prefixes in the class attribute conformance_no_grad to exempt parameters"
        raise ContractViolation(f"parameters with {'; '.join(found)} ({hint})")


def _reference_and_moved(ctx: CheckContext, dtype: torch.dtype) -> tuple[Any, Any]:
    comp = ctx.build(0)
    inputs = inputs_for(comp, 2, 0)
    reference = call(comp, inputs, "run() in float32")
    comp.to(dtype)
    moved = call(comp, _cast(inputs, dtype), f"run() after .to({dtype}) with {dtype} inputs")
    for path, t in floating_leaves(moved).items():
        if t.dtype != dtype:
            raise ContractViolation(f"after .to({dtype}): output '{path}' is {t.dtype}, expected {dtype}")
    return reference, moved


@check("float64_move")
def float64_move(ctx: CheckContext) -> None:
    """After .to(torch.float64) with float64 inputs, outputs are float64 and close to the float32
    outputs (no tensors hard-coded to float32 inside forward)."""
    reference, moved = _reference_and_moved(ctx, torch.float64)
    assert_same(_cast(moved, torch.float32), reference, "float64 vs float32 outputs", scale=FLOAT64_SCALE)


@check("bfloat16_move")
def bfloat16_move(ctx: CheckContext) -> None:
    """After .to(torch.bfloat16) with bfloat16 inputs, outputs are bfloat16 and within a loose relative
    error of the float32 outputs (BF16_RELATIVE_RMS)."""
    reference, moved = _reference_and_moved(ctx, torch.bfloat16)
    ref = floating_leaves(reference)
    for path, t in floating_leaves(moved).items():
        want = ref[path].detach().double()
        err = torch.linalg.vector_norm(t.detach().double() - want.detach())
        norm = torch.linalg.vector_norm(want) + 1e-3 * want.numel() ** 0.5
        if not torch.isfinite(err) or float(err / norm) > BF16_RELATIVE_RMS:
            raise ContractViolation(
                f"bfloat16 vs float32: output '{path}' relative error {float(err / norm):.3g} > {BF16_RELATIVE_RMS}"
            )


GENERIC_BEHAVIOUR_CHECKS = [
    batch_independence,
    determinism,
    inputs_not_modified,
    state_dict_roundtrip,
    gradients,
    float64_move,
    bfloat16_move,
]
