"""Generic checks on how a component behaves: batch independence, determinism, no input mutation,
dtype moves. Batch independence and determinism also run on perturbed weights (:mod:`._weights`).
State (eval-mode state, the state-dict round trip, gradients) is in :mod:`.generic_state`, device
moves in :mod:`.generic_device`.
"""

from __future__ import annotations

import itertools
from typing import Any

import torch
from hypothesis import strategies as st
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
from ._weights import WEIGHT_VARIANTS, build_variant
from .generic_ports import specs_of

__all__ = [
    "BF16_RELATIVE_RMS",
    "FLOAT64_SCALE",
    "GENERIC_BEHAVIOUR_CHECKS",
    "batch_independence",
    "bfloat16_move",
    "determinism",
    "float64_move",
    "inputs_not_modified",
]

#: float64 vs float32 outputs must agree within float32's tolerance times this.
FLOAT64_SCALE = 20.0
#: bfloat16 vs float32 outputs: largest allowed ``||a - b|| / (||b|| + 1e-3 sqrt(n))`` per tensor.
BF16_RELATIVE_RMS = 0.05
#: batched vs one-at-a-time outputs must agree within the tolerance table times this.
BATCH_SCALE = 10.0


def _cast(value: Any, dtype: torch.dtype) -> Any:
    return map_tensors(value, lambda t: t.to(dtype) if t.is_floating_point() else t)


def _assert_batch_independent(comp: Any, inputs: dict, batch: int, perm: Tensor, weights: str) -> None:
    """Items alone and the permuted batch give the items / permutation of the batched outputs."""
    ins, outs = specs_of(comp)
    full = call(comp, inputs, f"run() on a batch of {batch} ({weights})")
    for i in range(batch):
        one = call(comp, select(inputs, ins, slice(i, i + 1), batch), f"run() on item {i} alone ({weights})")
        expected = select(full, outs, slice(i, i + 1), batch)
        assert_same(one, expected, f"item {i} alone vs in a batch of {batch} ({weights})", scale=BATCH_SCALE)
    permuted = call(comp, select(inputs, ins, perm, batch), f"run() on the permuted batch ({weights})")
    expected = select(full, outs, perm, batch)
    assert_same(permuted, expected, f"batch permuted by {perm.tolist()} ({weights})", scale=BATCH_SCALE)


@check("batch_independence")
def batch_independence(ctx: CheckContext) -> None:
    """In eval mode, item i of a batch gives the same output as item i alone, and permuting the batch
    permutes the outputs (no batch statistics, no mixing between items), for drawn batch sizes on the
    initial weights and once on perturbed weights (a zero-initialised gate hides nothing then)."""
    comp = ctx.build(0)
    if getattr(type(comp), "conformance_batch_coupled", False) is True:
        raise NotApplicable("the component declares conformance_batch_coupled (it combines batch items)")
    _, outs = specs_of(comp)
    probe = call(comp, inputs_for(comp, 2, 0), "run() on a batch of 2")
    for port, value in probe.items():
        declared = is_batched_port(outs[port]) if port in outs else None
        sizes = {tuple(t.shape[:1]) for t in leaves(value).values()}
        if declared is False or (declared is None and sizes != {(2,)}):
            raise NotApplicable(f"output '{port}' has no batch dimension")

    @ctx.given(batch=st.integers(2, 4), seed=st.integers(0, 2**16), data=st.data())
    def prop(batch: int, seed: int, data: st.DataObject) -> None:
        perm = torch.tensor(data.draw(st.permutations(range(batch)), label="permutation"))
        _assert_batch_independent(comp, inputs_for(comp, batch, seed), batch, perm, "initial weights")

    prop()
    perturbed = build_variant(ctx, "perturbed")
    inputs = inputs_for(perturbed, 2, 1)
    _assert_batch_independent(perturbed, inputs, 2, torch.tensor([1, 0]), WEIGHT_VARIANTS["perturbed"])


@check("determinism")
def determinism(ctx: CheckContext) -> None:
    """In eval mode, two calls on the same inputs give bit-identical outputs (no dropout or noise
    left on, no state carried between calls), on the initial and on perturbed weights (noise behind
    a zero-initialised gate shows then)."""
    for variant in ("initial", "perturbed"):
        comp = build_variant(ctx, variant)
        inputs = inputs_for(comp, 2, 0)
        weights = WEIGHT_VARIANTS[variant]
        first = call(comp, inputs, f"first run() ({weights})")
        second = call(comp, inputs, f"second run() ({weights})")
        assert_same(
            second, first, f"second call vs first call on the same inputs (eval mode, {weights})", exact=True
        )


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


@check("stream_state")
def stream_state(ctx: CheckContext) -> None:
    """A component with ``stateful_stream`` (the batch is consecutive frames of one stream): a stream
    cut into batches of any sizes, the state carried from one to the next, gives the outputs of the
    whole stream in one batch; after ``reset_stream()`` the same stream gives the same outputs again."""
    comp = ctx.build(0)
    if not getattr(type(comp), "stateful_stream", False):
        raise NotApplicable("not a stateful stream component")

    @ctx.given(frames=st.integers(2, 6), seed=st.integers(0, 2**16), data=st.data())
    def prop(frames: int, seed: int, data: st.DataObject) -> None:
        inputs = inputs_for(comp, frames, seed)
        whole = call(comp, inputs, f"run() on a stream of {frames} frames at once")
        cuts = sorted(data.draw(st.sets(st.integers(1, frames - 1), max_size=frames - 1), label="cuts"))
        bounds = [0, *cuts, frames]
        comp.reset_stream()
        parts = []
        with torch.no_grad():
            for a, b in itertools.pairwise(bounds):
                window = slice(a, b)
                parts.append(
                    comp.run(**{k: map_tensors(v, lambda t, w=window: t[w]) for k, v in inputs.items()})
                )
        if not all(isinstance(v, Tensor) for v in whole.values()):
            raise NotApplicable("an output is not a tensor (batches cannot be joined)")
        joined = {port: torch.cat([p[port] for p in parts]) for port in whole}
        assert_same(joined, whole, f"the stream in batches {bounds} vs at once", exact=False)

    prop()


GENERIC_BEHAVIOUR_CHECKS = [
    batch_independence,
    stream_state,
    determinism,
    inputs_not_modified,
    float64_move,
    bfloat16_move,
]
