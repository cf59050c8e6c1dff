"""torch's Adam, AdamW and SGD as ``optimizer`` plugins with typed, validated hyper-parameters.

Defaults are torch's; the release trains both G and D with AdamW, lr 2e-4, betas (0.5, 0.999) and
torch's default weight decay 0.01 (TRAINING_FACTS section 4), which the pipeline files set.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import attrs
import torch

from emoportraits_core.interfaces import Optimizer
from emoportraits_core.validators import non_negative, positive

__all__ = ["SGD", "Adam", "AdamConfig", "AdamW", "AdamWConfig", "SGDConfig"]


def _betas(inst: Any, attr: attrs.Attribute, value: tuple[float, float]) -> None:
    if not all(0 <= b < 1 for b in value):
        raise ValueError(f"'betas' must both lie in [0, 1), got {list(value)}")


@attrs.frozen
class AdamConfig:
    """``type = "adam"``: :class:`torch.optim.Adam`."""

    lr: float = attrs.field(validator=positive)
    betas: tuple[float, float] = attrs.field(default=(0.9, 0.999), validator=_betas)
    eps: float = attrs.field(default=1e-8, validator=positive)
    weight_decay: float = attrs.field(default=0.0, validator=non_negative)


@attrs.frozen
class AdamWConfig:
    """``type = "adamw"``: :class:`torch.optim.AdamW` (decoupled weight decay)."""

    lr: float = attrs.field(validator=positive)
    betas: tuple[float, float] = attrs.field(default=(0.9, 0.999), validator=_betas)
    eps: float = attrs.field(default=1e-8, validator=positive)
    weight_decay: float = attrs.field(default=0.01, validator=non_negative)


@attrs.frozen
class SGDConfig:
    """``type = "sgd"``: :class:`torch.optim.SGD`."""

    lr: float = attrs.field(validator=positive)
    momentum: float = attrs.field(default=0.0, validator=non_negative)
    weight_decay: float = attrs.field(default=0.0, validator=non_negative)
    nesterov: bool = False


class _TorchOptimizer(Optimizer):
    torch_class: type[torch.optim.Optimizer]

    def build(self, params: Iterable[Any]) -> torch.optim.Optimizer:
        return self.torch_class(params, **attrs.asdict(self.config))


class Adam(_TorchOptimizer):
    """torch.optim.Adam."""

    torch_class = torch.optim.Adam


class AdamW(_TorchOptimizer):
    """torch.optim.AdamW (decoupled weight decay; the release's optimizer for G and D)."""

    torch_class = torch.optim.AdamW


class SGD(_TorchOptimizer):
    """torch.optim.SGD."""

    torch_class = torch.optim.SGD
