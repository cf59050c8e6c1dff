"""Config field validators, written once: positive, non-negative, in a closed range, a time window.

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

__all__ = ["fraction_window", "in_range", "is_fraction_window", "non_negative", "positive"]

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


def is_fraction_window(value: Any) -> bool:
    """``value`` is ``(a, b)`` with ``0 <= a < b <= 1``: a window of a sequence as fractions of its
    length (e.g. the frames of a video a dataset draws from)."""
    return isinstance(value, tuple | list) and len(value) == 2 and 0.0 <= value[0] < value[1] <= 1.0


def fraction_window(_inst: Any, attribute: attrs.Attribute, value: Any) -> None:
    """``(a, b)`` with ``0 <= a < b <= 1`` (:func:`is_fraction_window`)."""
    if not is_fraction_window(value):
        raise ValueError(f"'{attribute.name}' must be [a, b] with 0 <= a < b <= 1, got {list(value)}")
