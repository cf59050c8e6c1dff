"""Optimizers and learning-rate schedules, registered under kinds ``optimizer`` and ``schedule``."""

from __future__ import annotations

from emoportraits_core import Registry

from .optimizers import SGD, Adam, AdamConfig, AdamW, AdamWConfig, SGDConfig
from .schedules import (
    ConstantSchedule,
    ConstantScheduleConfig,
    CosineSchedule,
    CosineScheduleConfig,
    StepSchedule,
    StepScheduleConfig,
    WarmupSchedule,
    WarmupScheduleConfig,
)

__all__ = ["register"]


def register(registry: Registry) -> None:
    """Register the optimizers and schedules (called from the plugin's ``emoportraits_register`` hook)."""
    registry.register("optimizer", "adam", Adam, config=AdamConfig)
    registry.register("optimizer", "adamw", AdamW, config=AdamWConfig)
    registry.register("optimizer", "sgd", SGD, config=SGDConfig)
    registry.register("schedule", "constant", ConstantSchedule, config=ConstantScheduleConfig)
    registry.register("schedule", "linear_warmup", WarmupSchedule, config=WarmupScheduleConfig)
    registry.register("schedule", "cosine", CosineSchedule, config=CosineScheduleConfig)
    registry.register("schedule", "step", StepSchedule, config=StepScheduleConfig)
