"""What a training run is at one moment, beyond its weights: the step counters and every RNG.

Everything that must survive a restart for the following steps to be bit-identical (CPU, float32)
is a *stateful* (``state_dict()`` / ``load_state_dict()``): the networks, the optimizers, the
schedules, the batch sampler, :class:`TrainState` and :class:`RngState` (torch's CPU and CUDA
generators and Python's ``random``). :mod:`.run_files` saves and loads them together.
"""

from __future__ import annotations

import random
from typing import Any

import attrs
import torch

__all__ = ["RngState", "TrainState"]


@attrs.define
class TrainState:
    """Counters of a run: ``step`` steps done (0-based index of the next one), ``epoch`` it is in."""

    step: int = 0
    epoch: int = 0

    def state_dict(self) -> dict[str, int]:
        return {"step": self.step, "epoch": self.epoch}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.step, self.epoch = int(state["step"]), int(state["epoch"])


class RngState:
    """The global random generators: torch (CPU and every CUDA device) and Python's ``random``."""

    def state_dict(self) -> dict[str, Any]:
        state: dict[str, Any] = {"torch": torch.get_rng_state(), "python": random.getstate()}
        if torch.cuda.is_available():
            state["cuda"] = torch.cuda.get_rng_state_all()
        return state

    def load_state_dict(self, state: dict[str, Any]) -> None:
        torch.set_rng_state(state["torch"])
        random.setstate(_as_tuple(state["python"]))
        if "cuda" in state and torch.cuda.is_available():
            torch.cuda.set_rng_state_all(state["cuda"])


def _as_tuple(value: Any) -> Any:
    """JSON turned Python's random state (nested tuples) into lists; turn it back."""
    return tuple(_as_tuple(v) for v in value) if isinstance(value, list) else value
