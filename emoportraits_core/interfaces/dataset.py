"""Kind ``dataset``: a named source of training items, with a typed config (where the data is, splits).

A pipeline's ``[data.<key>]`` table names one (``name = "..."``), its config and its mixing ratio.
An item is a mapping from the names in :attr:`Dataset.outputs` to tensors without a batch dim (e.g.
``source (3, 512, 512)``, ``driver (3, 512, 512)``, ``driver_landmarks (68, 3)``); the trainer
batches items and feeds them to the pipeline's inputs of the same names. Contract: ``len()`` is
finite and fixed; ``item(i)`` is deterministic for a given ``i`` and ``generator`` state (random
choices, e.g. which two frames of a video form a pair, are drawn from ``generator``), so a run
resumes bit for bit. Choices shared by the items of a batch (e.g. a clip length, since the items are
stacked) are drawn in :meth:`Dataset.begin_batch`, which the trainer's batcher calls before each
batch with a generator seeded by the batch's position (so a resumed run draws the same).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from typing import Any, ClassVar

import torch

__all__ = ["Dataset"]


class Dataset(ABC):
    """Abstract dataset. ``outputs`` declares the item's fields (name -> port type)."""

    kind: ClassVar[str] = "dataset"
    outputs: ClassVar[Mapping[str, str]] = {}

    def __init__(self, config: Any) -> None:
        self.config = config

    @abstractmethod
    def __len__(self) -> int:
        """Number of items (e.g. videos, or frames) an epoch visits."""

    def begin_batch(self, generator: torch.Generator) -> None:
        """Draw what the next batch's items share (module docstring); the default draws nothing."""
        return None

    @abstractmethod
    def item(self, index: int, generator: torch.Generator) -> dict[str, torch.Tensor]:
        """Item ``index`` (0 <= index < len), its random choices drawn from ``generator``."""
