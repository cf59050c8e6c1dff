"""Typed component configs: frozen attrs classes, built from plain mappings with clear errors.

:func:`build_config` turns a mapping (from TOML, the CLI or Python) into a config instance. It
rejects unknown keys (naming the valid ones and the closest), checks each value against the
field's type annotation (``int``, ``float``, ``bool``, ``str``, ``Literal[...]``,
``tuple[T, ...]``, ``X | None``, nested attrs classes) and turns lists into tuples and ints into
floats where the annotation asks for it. Field validators and ``__attrs_post_init__`` then run as
usual; their errors are re-raised as :class:`ConfigError` naming where the config came from.
"""

from __future__ import annotations

import types
import typing
from collections.abc import Mapping
from typing import Any, Literal, get_args, get_origin

import attrs

from .errors import ConfigError, did_you_mean

__all__ = ["build_config", "config_to_dict", "describe_config"]


class _TypeMismatch(Exception):
    pass


def _type_name(tp: Any) -> str:
    if tp is type(None):
        return "None"
    origin = get_origin(tp)
    if origin is Literal:
        return " | ".join(repr(a) for a in get_args(tp))
    if origin in (typing.Union, types.UnionType):
        return " | ".join(_type_name(a) for a in get_args(tp))
    if origin is tuple:
        args = get_args(tp)
        if len(args) == 2 and args[1] is Ellipsis:
            return f"tuple[{_type_name(args[0])}, ...]"
        return "tuple[" + ", ".join(_type_name(a) for a in args) + "]"
    return getattr(tp, "__name__", str(tp))


def _coerce(value: Any, tp: Any, where: str) -> Any:
    """Return ``value`` converted to ``tp`` or raise _TypeMismatch."""
    if tp is Any or tp is typing.Any:
        return value
    origin = get_origin(tp)
    if origin is Literal:
        if value in get_args(tp) and type(value) in {type(a) for a in get_args(tp)}:
            return value
        raise _TypeMismatch
    if origin in (typing.Union, types.UnionType):
        for arg in get_args(tp):
            try:
                return _coerce(value, arg, where)
            except _TypeMismatch:
                continue
        raise _TypeMismatch
    if origin is tuple:
        if not isinstance(value, list | tuple):
            raise _TypeMismatch
        args = get_args(tp)
        if len(args) == 2 and args[1] is Ellipsis:
            return tuple(_coerce(v, args[0], where) for v in value)
        if len(args) != len(value):
            raise _TypeMismatch
        return tuple(_coerce(v, a, where) for a, v in zip(args, value))
    if origin in (dict, Mapping) or tp in (dict, Mapping):
        if not isinstance(value, Mapping):
            raise _TypeMismatch
        return dict(value)
    if tp is type(None):
        if value is None:
            return None
        raise _TypeMismatch
    if tp is bool:
        if isinstance(value, bool):
            return value
        raise _TypeMismatch
    if tp is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        raise _TypeMismatch
    if tp is float:
        if isinstance(value, int | float) and not isinstance(value, bool):
            return float(value)
        raise _TypeMismatch
    if tp is str:
        if isinstance(value, str):
            return value
        raise _TypeMismatch
    if isinstance(tp, type) and attrs.has(tp):
        if isinstance(value, tp):
            return value
        if isinstance(value, Mapping):
            return build_config(tp, value, where=where)
        raise _TypeMismatch
    if isinstance(tp, type):
        if isinstance(value, tp):
            return value
        raise _TypeMismatch
    return value  # an annotation we do not understand: leave it to the field's own validators


def build_config(cls: type, values: Mapping[str, Any] | None = None, *, where: str = "config") -> Any:
    """Build the attrs config ``cls`` from ``values``.

    Args:
        cls: a (frozen) attrs class.
        values: field name -> value; missing fields take their defaults.
        where: how to name this config in errors, e.g. ``"pipelines/animate.toml [components.warp.config]"``.

    Raises:
        ConfigError: unknown key, wrong type or a value that the class's validators reject.
    """
    values = dict(values or {})
    if isinstance(values, cls):  # pragma: no cover - convenience
        return values
    hints = typing.get_type_hints(cls)
    fields = {f.name: f for f in attrs.fields(cls) if f.init}
    kwargs: dict[str, Any] = {}
    for key, value in values.items():
        if key not in fields:
            raise ConfigError(
                f"{where}: unknown key '{key}'; valid keys: {', '.join(sorted(fields)) or '(none)'}"
                f"{did_you_mean(key, fields)}"
            )
        tp = hints.get(key, Any)
        try:
            kwargs[key] = _coerce(value, tp, f"{where}.{key}")
        except _TypeMismatch:
            raise ConfigError(
                f"{where}: key '{key}' expects {_type_name(tp)}, got {value!r} ({type(value).__name__})"
            ) from None
    try:
        return cls(**kwargs)
    except ConfigError:
        raise
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"{where}: {exc}") from None


def config_to_dict(config: Any) -> dict[str, Any]:
    """A plain dict of a config (nested configs become dicts; JSON writes tuples as lists)."""
    if config is None:
        return {}
    return attrs.asdict(config)


def describe_config(cls: type) -> list[tuple[str, str, Any]]:
    """``[(field, type name, default), ...]`` for listings and docs."""
    if cls is None:
        return []
    hints = typing.get_type_hints(cls)
    out = []
    for f in attrs.fields(cls):
        default = f.default
        if isinstance(default, attrs.Factory):  # type: ignore[arg-type]
            default = default.factory()
        out.append((f.name, _type_name(hints.get(f.name, Any)), default))
    return out
