"""Training sections of a pipeline: the known optimizer and schedule types and their parameters.

Each type is a frozen attrs config, so ``[optimizers.X]`` / ``[schedules.X]`` tables are checked
like component configs (unknown key, wrong type, out-of-range value). Training itself is run by the
trainer; this module only defines and validates.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import attrs
import torch

from ..config import build_config
from ..errors import ConfigError, did_you_mean
from ..validators import non_negative as _non_negative
from ..validators import positive as _positive

__all__ = [
    "OPTIMIZERS",
    "SCHEDULES",
    "AdamConfig",
    "AdamWConfig",
    "ConstantScheduleConfig",
    "CosineScheduleConfig",
    "SGDConfig",
    "StepScheduleConfig",
    "WarmupScheduleConfig",
    "make_optimizer_config",
    "make_schedule_config",
]


def _betas(inst: Any, attr: attrs.Attribute, value: tuple[float, float]) -> None:
    if not all(0 <= b < 1 for b in value):
        raise ValueError(f"'betas' must both lie in [0, 1), got {list(value)}")


@attrs.frozen
class AdamConfig:
    """``type = "adam"``: :class:`torch.optim.Adam`."""

    lr: float = attrs.field(validator=_positive)
    betas: tuple[float, float] = attrs.field(default=(0.9, 0.999), validator=_betas)
    eps: float = attrs.field(default=1e-8, validator=_positive)
    weight_decay: float = attrs.field(default=0.0, validator=_non_negative)


@attrs.frozen
class AdamWConfig:
    """``type = "adamw"``: :class:`torch.optim.AdamW`."""

    lr: float = attrs.field(validator=_positive)
    betas: tuple[float, float] = attrs.field(default=(0.9, 0.999), validator=_betas)
    eps: float = attrs.field(default=1e-8, validator=_positive)
    weight_decay: float = attrs.field(default=0.01, validator=_non_negative)


@attrs.frozen
class SGDConfig:
    """``type = "sgd"``: :class:`torch.optim.SGD`."""

    lr: float = attrs.field(validator=_positive)
    momentum: float = attrs.field(default=0.0, validator=_non_negative)
    weight_decay: float = attrs.field(default=0.0, validator=_non_negative)
    nesterov: bool = False


@attrs.frozen
class ConstantScheduleConfig:
    """``type = "constant"``: the optimizer's lr, after an optional linear warm-up."""

    warmup_steps: int = attrs.field(default=0, validator=_non_negative)


@attrs.frozen
class WarmupScheduleConfig:
    """``type = "linear_warmup"``: lr rises linearly from 0 over ``warmup_steps``, then stays."""

    warmup_steps: int = attrs.field(default=1000, validator=_positive)


@attrs.frozen
class CosineScheduleConfig:
    """``type = "cosine"``: cosine decay from lr to ``min_lr`` over ``total_steps``."""

    total_steps: int = attrs.field(validator=_positive)
    min_lr: float = attrs.field(default=0.0, validator=_non_negative)
    warmup_steps: int = attrs.field(default=0, validator=_non_negative)


@attrs.frozen
class StepScheduleConfig:
    """``type = "step"``: lr times ``gamma`` every ``step_size`` steps."""

    step_size: int = attrs.field(validator=_positive)
    gamma: float = attrs.field(default=0.1, validator=_positive)
    warmup_steps: int = attrs.field(default=0, validator=_non_negative)


#: optimizer type -> (config class, torch optimizer class)
OPTIMIZERS: dict[str, tuple[type, type]] = {
    "adam": (AdamConfig, torch.optim.Adam),
    "adamw": (AdamWConfig, torch.optim.AdamW),
    "sgd": (SGDConfig, torch.optim.SGD),
}

#: schedule type -> config class
SCHEDULES: dict[str, type] = {
    "constant": ConstantScheduleConfig,
    "linear_warmup": WarmupScheduleConfig,
    "cosine": CosineScheduleConfig,
    "step": StepScheduleConfig,
}


def _build(
    table: Mapping[str, type],
    what: str,
    type_: str,
    params: Mapping[str, Any],
    fixed: tuple[str, ...],
    where: str,
) -> Any:
    if type_ not in table:
        raise ConfigError(
            f"{where} type: unknown {what} type '{type_}'; valid types: {', '.join(table)}"
            f"{did_you_mean(type_, table)}"
        )
    cls = table[type_]
    fields = {f.name: f for f in attrs.fields(cls)}
    valid = sorted([*fixed, *fields])
    for key in params:
        if key not in fields:
            raise ConfigError(
                f"{where}: unknown key '{key}' for {what} type '{type_}'; valid keys: {', '.join(valid)}"
                f"{did_you_mean(key, valid)}"
            )
    for name, field in fields.items():
        if field.default is attrs.NOTHING and name not in params:
            raise ConfigError(f"{where}: missing key '{name}' (required by {what} type '{type_}')")
    return build_config(cls, params, where=where)


def make_optimizer_config(type_: str, params: Mapping[str, Any], *, where: str) -> Any:
    """Validate an ``[optimizers.X]`` table's hyper-parameters into the type's config."""
    configs = {name: cls for name, (cls, _) in OPTIMIZERS.items()}
    return _build(configs, "optimizer", type_, params, ("type", "components"), where)


def make_schedule_config(type_: str, params: Mapping[str, Any], *, where: str) -> Any:
    """Validate a ``[schedules.X]`` table's parameters into the type's config."""
    return _build(SCHEDULES, "schedule", type_, params, ("type", "optimizer"), where)
