"""Config field validators, written once: positive, non-negative, in a closed range.

Use them as attrs field validators; a failing value raises ``ValueError`` naming the field and the
value, which :func:`~emoportraits_core.config.build_config` re-raises as a one-line ConfigError
naming where the config came from::

    @attrs.frozen
    class MyConfig:
        channels: int = attrs.field(default=64, validator=positive)
        dropout: float = attrs.field(default=0.2, validator=in_range(0.0, 1.0))
        layers: tuple[int, ...] = attrs.field(default=(2, 2), validator=positive)  # every item

Tuples are checked item by item.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import attrs

__all__ = ["in_range", "non_negative", "positive"]

Validator = Callable[[Any, attrs.Attribute, Any], None]


def _items(value: Any) -> tuple:
    return value if isinstance(value, tuple) else (value,)


def positive(_inst: Any, attribute: attrs.Attribute, value: Any) -> None:
    """``value > 0`` (every item of a tuple)."""
    if any(not v > 0 for v in _items(value)):
        raise ValueError(f"'{attribute.name}' must be > 0, got {value!r}")


def non_negative(_inst: Any, attribute: attrs.Attribute, value: Any) -> None:
    """``value >= 0`` (every item of a tuple)."""
    if any(not v >= 0 for v in _items(value)):
        raise ValueError(f"'{attribute.name}' must be >= 0, got {value!r}")


def in_range(low: float, high: float) -> Validator:
    """``low <= value <= high`` (every item of a tuple)."""

    def check(_inst: Any, attribute: attrs.Attribute, value: Any) -> None:
        if any(not low <= v <= high for v in _items(value)):
            raise ValueError(f"'{attribute.name}' must be in [{low:g}, {high:g}], got {value!r}")

    check.__doc__ = f"in [{low:g}, {high:g}]"
    return check
