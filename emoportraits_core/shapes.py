"""Symbolic shape checks shared by the core types, the port specs and the conformance suite.

A shape pattern is a tuple whose items are ints (that exact size), strings (a named size that must
agree wherever the same name appears, e.g. ``"B"``) or ``...`` (any number of leading or trailing
sizes, at most once). Example: ``check_shapes("Motion", {"rotation": (r, ("B", 3, 3)),
"translation": (t, ("B", 3))})`` checks both and that they share ``B``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

__all__ = ["Pattern", "check_shapes", "format_pattern", "match_shape"]

Pattern = Sequence[int | str | type(Ellipsis)]


def format_pattern(pattern: Pattern) -> str:
    """``("B", 3, 3)`` -> ``"(B, 3, 3)"``."""
    return "(" + ", ".join("..." if p is Ellipsis else str(p) for p in pattern) + ")"


def match_shape(shape: Sequence[int], pattern: Pattern, bound: dict[str, int]) -> str | None:
    """Match ``shape`` against ``pattern``, extending ``bound`` with the named sizes.

    Returns None on success, else a short reason (the caller adds what it is about).
    """
    shape = tuple(int(s) for s in shape)
    pattern = tuple(pattern)
    if Ellipsis in pattern:
        i = pattern.index(Ellipsis)
        head, tail = pattern[:i], pattern[i + 1 :]
        if len(shape) < len(head) + len(tail):
            return f"expected at least {len(head) + len(tail)} dims {format_pattern(pattern)}, got {shape}"
        pairs = list(zip(head, shape[: len(head)])) + list(zip(tail, shape[len(shape) - len(tail) :]))
    else:
        if len(shape) != len(pattern):
            return f"expected {len(pattern)} dims {format_pattern(pattern)}, got shape {shape}"
        pairs = list(zip(pattern, shape))
    local = dict(bound)
    for want, got in pairs:
        if isinstance(want, int):
            if want != got:
                return f"expected shape {format_pattern(pattern)}, got {shape}"
        elif want in local and local[want] != got:
            return f"expected shape {format_pattern(pattern)} with {want}={local[want]}, got {shape}"
        else:
            local[want] = got
    bound.update(local)
    return None


def check_shapes(
    owner: str, fields: Mapping[str, tuple[Any, Pattern]], *, exc: type[Exception] = ValueError
) -> dict[str, int]:
    """Check each ``name: (tensor, pattern)``; raise ``exc`` naming ``owner.name`` on the first mismatch.

    Returns the named sizes that were bound (e.g. ``{"B": 4, "Z": 128}``).
    """
    bound: dict[str, int] = {}
    for name, (value, pattern) in fields.items():
        if value is None:
            continue
        shape = getattr(value, "shape", None)
        if shape is None:
            raise exc(
                f"{owner}.{name}: expected a tensor of shape {format_pattern(pattern)}, got {type(value).__name__}"
            )
        reason = match_shape(shape, pattern, bound)
        if reason is not None:
            raise exc(f"{owner}.{name}: {reason}")
    return bound
