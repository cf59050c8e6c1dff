"""Generic checks on a component's state: its ``conformance_*`` hooks, eval-mode forward leaving
parameters and buffers alone, the state-dict round trip through safetensors, gradients to every
trainable parameter.

A component may exempt parameters from the gradient check with a class attribute (validated: every
entry must match a parameter name, see :mod:`._opt_outs`)::

    class MyWarper(Warper):
        # parameter-name prefixes that legitimately get no gradient from one forward pass
        conformance_no_grad: ClassVar[frozenset[str]] = frozenset({"ema_", "unused_head."})
"""

from __future__ import annotations

from typing import Any

import torch
from safetensors.torch import load_file, save_file
from torch import Tensor

from ._base import CheckContext, ContractViolation, NotApplicable, check
from ._opt_outs import CONFORMANCE_HOOKS, no_grad_prefixes, validate_hooks
from ._values import assert_same, call, floating_leaves, inputs_for

__all__ = [
    "GENERIC_STATE_CHECKS",
    "conformance_hooks",
    "eval_state_unchanged",
    "gradients",
    "state_dict_roundtrip",
]


@check("conformance_hooks")
def conformance_hooks(ctx: CheckContext) -> None:
    """The class's conformance_* hooks are valid: known names (no typo), the right types, and every
    conformance_no_grad entry matches a parameter name (a set built from a string does not)."""
    comp = ctx.build(0)
    declared = [a for a in dir(type(comp)) if a.startswith("conformance_")]
    validate_hooks(comp)
    if not declared:
        raise NotApplicable(f"the class defines none of {', '.join(CONFORMANCE_HOOKS)}")


def _state(module: Any) -> dict[str, Tensor]:
    """Every parameter and buffer (persistent or not), detached copies, by name."""
    named = {f"parameter {n}": p for n, p in module.named_parameters(remove_duplicate=False)}
    named |= {f"buffer {n}": b for n, b in module.named_buffers(remove_duplicate=False)}
    return {k: v.detach().clone() for k, v in named.items()}


@check("eval_state_unchanged")
def eval_state_unchanged(ctx: CheckContext) -> None:
    """In eval mode, run() leaves every parameter and buffer (persistent or not) bit-identical and adds
    or removes none (no running statistics, counters or caches updated by an inference call)."""
    comp = ctx.build(0)
    before = _state(comp)
    call(comp, inputs_for(comp, 2, 0), "run() in eval mode")
    after = _state(comp)
    changed = [k for k in before.keys() & after.keys() if not torch.equal(before[k], after[k])]
    added, removed = sorted(after.keys() - before.keys()), sorted(before.keys() - after.keys())
    if changed or added or removed:
        parts = [f"changed: {', '.join(sorted(changed))}"] if changed else []
        parts += [f"added: {', '.join(added)}"] if added else []
        parts += [f"removed: {', '.join(removed)}"] if removed else []
        raise ContractViolation(
            f"an eval-mode run() modified the component's state ({'; '.join(parts)}); update running "
            "statistics only in training mode"
        )


def _save_state(source: Any, path: Any) -> None:
    state = {}
    for key, value in source.state_dict().items():
        if not isinstance(value, Tensor):
            raise ContractViolation(f"state_dict() entry '{key}' is a {type(value).__name__}, not a tensor")
        state[key] = value.detach().clone().contiguous()
    try:
        save_file(state, str(path))
    except Exception as exc:
        raise ContractViolation(f"safetensors could not save state_dict(): {exc}") from exc


@check("state_dict_roundtrip")
def state_dict_roundtrip(ctx: CheckContext) -> None:
    """state_dict() saved with safetensors and loaded (strict) into a fresh, differently initialised
    instance gives the same outputs, on inputs the original saw after others and the copy sees first:
    every tensor and setting that matters is in the state dict (no non-persistent random buffer, no
    Python attribute computed from the first inputs)."""
    source = ctx.build(0)
    call(source, inputs_for(source, 2, 0), "run() on the original")
    unseen = inputs_for(source, 2, 1)
    expected = call(source, unseen, "run() of the original on other inputs")
    path = ctx.tmp_dir / "state.safetensors"
    _save_state(source, path)
    fresh = ctx.build(1)
    missing, unexpected = fresh.load_state_dict(load_file(str(path)), strict=False)
    if missing or unexpected:
        raise ContractViolation(
            f"loading into a fresh instance: missing keys {missing}, unexpected {unexpected}"
        )
    fresh.eval()
    got = call(fresh, unseen, "run() after loading")
    assert_same(got, expected, "fresh instance after loading vs original, on inputs the copy sees first")


@check("gradients")
def gradients(ctx: CheckContext) -> None:
    """In train mode, a random projection of the outputs back-propagates a finite, not-all-zero gradient
    into every trainable parameter (except those under the class's validated conformance_no_grad)."""
    comp = ctx.build(0, train=True)
    exempt = no_grad_prefixes(comp)
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


GENERIC_STATE_CHECKS = [conformance_hooks, eval_state_unchanged, state_dict_roundtrip, gradients]
