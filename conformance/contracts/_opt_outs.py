"""The ``conformance_*`` hooks a component class may define, and their validation.

An opt-out that is not what it seems silently weakens a check: ``set("encoder.head")`` is a set of
single characters, and as parameter-name prefixes they exempt almost every parameter. So every hook
is validated against the component itself (:func:`validate_hooks`): its type, and for name-based
opt-outs, that every entry matches a real parameter name.
"""

from __future__ import annotations

import difflib
from collections.abc import Collection
from typing import Any

from emoportraits_core.errors import did_you_mean

from ._base import ContractViolation

__all__ = ["CONFORMANCE_HOOKS", "no_grad_prefixes", "validate_hooks"]

#: every hook the suite reads: attribute name -> what it is.
CONFORMANCE_HOOKS: dict[str, str] = {
    "conformance_no_grad": "collection of parameter-name prefixes exempt from the gradients check",
    "conformance_warp_identity": "warpers: True if identity motion (learned part neutralised) returns "
    "the input volume unchanged",
    "conformance_neutralise": "warpers: method neutralising the learned deformation in place",
    "conformance_sources": "drivers: method writing small test sources",
    "conformance_long_source": "drivers: method writing a source of a given number of frames",
    "conformance_batch_coupled": "True if the component combines the items of a batch by design "
    "(a batch rolled by one, contrastive pairs): batch independence does not apply",
}


def _parameter_names(comp: Any) -> list[str]:
    named = getattr(comp, "named_parameters", None)
    return [n for n, _ in named()] if callable(named) else []


def _check_no_grad(comp: Any, value: Any) -> list[str]:
    if isinstance(value, str | bytes) or not isinstance(value, Collection):
        return [
            f"conformance_no_grad must be a collection of parameter-name prefixes, e.g. "
            f"frozenset({{'head.'}}), got {type(value).__name__} {value!r}"
        ]
    bad_type = [e for e in value if not isinstance(e, str) or not e]
    if bad_type:
        return [f"conformance_no_grad entries must be non-empty strings, got {bad_type!r}"]
    names = _parameter_names(comp)
    problems = []
    if len(value) > 1 and all(len(e) == 1 for e in value):
        problems.append(
            f"conformance_no_grad {sorted(value)} looks like a string split into characters "
            "(frozenset('head.')); write frozenset({'head.'})"
        )
    unmatched = sorted(e for e in value if not any(n.startswith(e) for n in names))
    if unmatched:
        listed = [
            f"'{e}' (closest: {', '.join(difflib.get_close_matches(e, names, n=2, cutoff=0.0)) or 'none'})"
            for e in unmatched
        ]
        problems.append(f"conformance_no_grad entries that match no parameter name: {'; '.join(listed)}")
    return problems


def validate_hooks(comp: Any) -> None:
    """Raise ContractViolation naming every invalid ``conformance_*`` hook of ``comp``'s class: a name
    close to a known hook (a typo), a wrong type, or a ``conformance_no_grad`` entry that matches no
    parameter name (with the closest names)."""
    cls = type(comp)
    problems = []
    for attr in sorted(a for a in dir(cls) if a.startswith("conformance_")):
        if attr not in CONFORMANCE_HOOKS:
            hint = did_you_mean(attr, CONFORMANCE_HOOKS)
            if hint:
                problems.append(f"unknown hook '{attr}'{hint}")
    if hasattr(cls, "conformance_no_grad"):
        problems += _check_no_grad(comp, cls.conformance_no_grad)
    for flag in ("conformance_warp_identity", "conformance_batch_coupled"):
        value = getattr(cls, flag, False)
        if not isinstance(value, bool):
            problems.append(f"{flag} must be True or False, got {value!r}")
    for method in ("conformance_neutralise", "conformance_sources", "conformance_long_source"):
        if hasattr(cls, method) and not callable(getattr(comp, method)):
            problems.append(f"{method} must be a method, got {type(getattr(cls, method)).__name__}")
    if problems:
        raise ContractViolation("; ".join(problems))


def no_grad_prefixes(comp: Any) -> tuple[str, ...]:
    """The validated ``conformance_no_grad`` prefixes of ``comp`` (empty if none)."""
    validate_hooks(comp)
    return tuple(sorted(getattr(type(comp), "conformance_no_grad", frozenset())))
