"""Kind ``optimizer``: a named torch optimizer with a typed config of its hyper-parameters.

A pipeline's ``[optimizers.<key>]`` table names one (``type = "adamw"``) with its hyper-parameters
and the components it trains; the trainer builds it with :meth:`Optimizer.build` over those
components' parameters. A plugin adds an optimizer by registering a subclass under kind
``optimizer``::

    registry.register("optimizer", "my_adam", MyAdam, config=MyAdamConfig)
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable
from typing import Any, ClassVar

import torch

__all__ = ["Optimizer"]


class Optimizer(ABC):
    """Abstract optimizer factory: ``config`` holds the hyper-parameters (``lr`` at least)."""

    kind: ClassVar[str] = "optimizer"

    def __init__(self, config: Any) -> None:
        self.config = config

    @abstractmethod
    def build(self, params: Iterable[torch.nn.Parameter] | Iterable[dict[str, Any]]) -> torch.optim.Optimizer:
        """A torch optimizer over ``params`` (tensors, or param-group dicts), from :attr:`config`."""
