"""Learning-rate schedules as ``schedule`` plugins, stepped once per iteration.

Each is a :class:`torch.optim.lr_scheduler.LambdaLR` whose factor is a pure function of the step and
the config (so ``state_dict`` / ``load_state_dict`` resume it exactly), with an optional linear
warm-up from 0 over ``warmup_steps``:

- ``constant``: the optimizer's lr;
- ``linear_warmup``: lr rises linearly over ``warmup_steps``, then stays;
- ``cosine``: from lr to ``min_lr`` over ``total_steps`` (after the warm-up), then stays at
  ``min_lr`` (torch's ``CosineAnnealingLR`` with ``eta_min``, stopped at ``T_max``: the release's
  schedule, T_max 400 000, eta_min 1e-6 for G and 4e-6 for D);
- ``step``: lr times ``gamma`` every ``step_size`` steps.
"""

from __future__ import annotations

import math

import attrs
import torch

from emoportraits_core.interfaces import Schedule
from emoportraits_core.validators import non_negative, positive

__all__ = [
    "ConstantSchedule",
    "ConstantScheduleConfig",
    "CosineSchedule",
    "CosineScheduleConfig",
    "StepSchedule",
    "StepScheduleConfig",
    "WarmupSchedule",
    "WarmupScheduleConfig",
]


@attrs.frozen
class ConstantScheduleConfig:
    """``type = "constant"``: the optimizer's lr, after an optional linear warm-up."""

    warmup_steps: int = attrs.field(default=0, validator=non_negative)


@attrs.frozen
class WarmupScheduleConfig:
    """``type = "linear_warmup"``: lr rises linearly from 0 over ``warmup_steps``, then stays."""

    warmup_steps: int = attrs.field(default=1000, validator=positive)


@attrs.frozen
class CosineScheduleConfig:
    """``type = "cosine"``: cosine decay from lr to ``min_lr`` over ``total_steps``."""

    total_steps: int = attrs.field(validator=positive)
    min_lr: float = attrs.field(default=0.0, validator=non_negative)
    warmup_steps: int = attrs.field(default=0, validator=non_negative)


@attrs.frozen
class StepScheduleConfig:
    """``type = "step"``: lr times ``gamma`` every ``step_size`` steps."""

    step_size: int = attrs.field(validator=positive)
    gamma: float = attrs.field(default=0.1, validator=positive)
    warmup_steps: int = attrs.field(default=0, validator=non_negative)


class _Factor:
    """``factor(step)`` of one param group: warm-up, then the schedule's ``shape(step)``."""

    def __init__(self, schedule: _LambdaSchedule, base_lr: float) -> None:
        self.schedule, self.base_lr = schedule, base_lr

    def __call__(self, step: int) -> float:
        warmup = getattr(self.schedule.config, "warmup_steps", 0)
        if step < warmup:
            return (step + 1) / warmup
        return self.schedule.shape(step - warmup, self.base_lr)


class _LambdaSchedule(Schedule):
    def shape(self, step: int, base_lr: float) -> float:
        return 1.0

    def build(self, optimizer: torch.optim.Optimizer) -> torch.optim.lr_scheduler.LRScheduler:
        factors = [_Factor(self, group["lr"]) for group in optimizer.param_groups]
        return torch.optim.lr_scheduler.LambdaLR(optimizer, factors)


class ConstantSchedule(_LambdaSchedule):
    """The optimizer's lr (after an optional warm-up)."""


class WarmupSchedule(_LambdaSchedule):
    """Linear warm-up, then the optimizer's lr."""


class CosineSchedule(_LambdaSchedule):
    """Cosine decay to ``min_lr`` over ``total_steps``, then ``min_lr``."""

    def shape(self, step: int, base_lr: float) -> float:
        c = self.config
        t = min(step, c.total_steps) / c.total_steps
        lr = c.min_lr + (base_lr - c.min_lr) * 0.5 * (1 + math.cos(math.pi * t))
        return lr / base_lr


class StepSchedule(_LambdaSchedule):
    """``gamma`` every ``step_size`` steps."""

    def shape(self, step: int, base_lr: float) -> float:
        return self.config.gamma ** (step // self.config.step_size)
