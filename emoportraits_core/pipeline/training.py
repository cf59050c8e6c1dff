"""Training sections of a pipeline: optimizer, schedule and dataset configs, checked against the registry.

Optimizers (``[optimizers.X] type = "adamw"``), schedules (``[schedules.X] type = "cosine"``) and
datasets (``[data.X] name = "..."``) are registry kinds like the components (``optimizer``,
``schedule``, ``dataset``): a plugin adds one by registering it, and its attrs config checks the
table's values (unknown key, wrong type, missing or out-of-range value) before anything runs.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import attrs

from ..config import build_config
from ..errors import ConfigError, did_you_mean
from ..registry import Registry

__all__ = ["make_dataset_config", "make_optimizer_config", "make_schedule_config"]


def _build(
    registry: Registry,
    kind: str,
    type_: str,
    params: Mapping[str, Any],
    fixed: tuple[str, ...],
    where: str,
    key_name: str = "type",
) -> Any:
    names = [e.name for e in registry.list(kind)]
    if not registry.has(kind, type_):
        raise ConfigError(
            f"{where} {key_name}: unknown {kind} {key_name} '{type_}'; valid {key_name}s: {', '.join(names) or '(none)'}"
            f"{did_you_mean(type_, names)}"
        )
    cls = registry.get(kind, type_).config_cls
    fields = {f.name: f for f in attrs.fields(cls)} if cls is not None else {}
    valid = sorted([*fixed, *fields])
    for key in params:
        if key not in fields:
            raise ConfigError(
                f"{where}: unknown key '{key}' for {kind} {key_name} '{type_}'; valid keys: {', '.join(valid)}"
                f"{did_you_mean(key, valid)}"
            )
    for name, field in fields.items():
        if field.default is attrs.NOTHING and name not in params:
            raise ConfigError(f"{where}: missing key '{name}' (required by {kind} {key_name} '{type_}')")
    return build_config(cls, params, where=where) if cls is not None else None


def make_optimizer_config(type_: str, params: Mapping[str, Any], *, where: str, registry: Registry) -> Any:
    """Validate an ``[optimizers.X]`` table's hyper-parameters into the registered optimizer's config."""
    return _build(registry, "optimizer", type_, params, ("type", "components", "steps"), where)


def make_schedule_config(type_: str, params: Mapping[str, Any], *, where: str, registry: Registry) -> Any:
    """Validate a ``[schedules.X]`` table's parameters into the registered schedule's config."""
    return _build(registry, "schedule", type_, params, ("type", "optimizer"), where)


def make_dataset_config(name: str, config: Mapping[str, Any], *, where: str, registry: Registry) -> Any:
    """Validate a ``[data.X]`` table's ``config`` into the registered dataset's config."""
    return _build(registry, "dataset", name, config, (), where, key_name="name")
