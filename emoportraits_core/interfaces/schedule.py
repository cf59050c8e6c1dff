"""Kind ``schedule``: a named learning-rate schedule with a typed config, stepped once per iteration.

A pipeline's ``[schedules.<key>]`` table names one (``type = "cosine"``), the optimizer it drives
and its parameters; the trainer builds it with :meth:`Schedule.build` on that optimizer. A plugin
adds a schedule by registering a subclass under kind ``schedule``.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any, ClassVar

import torch

__all__ = ["Schedule"]


class Schedule(ABC):
    """Abstract schedule factory."""

    kind: ClassVar[str] = "schedule"

    def __init__(self, config: Any) -> None:
        self.config = config

    @abstractmethod
    def build(self, optimizer: torch.optim.Optimizer) -> torch.optim.lr_scheduler.LRScheduler:
        """A torch LR scheduler of ``optimizer`` (its ``state_dict`` is saved with the run)."""
