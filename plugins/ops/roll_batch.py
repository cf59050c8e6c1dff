"""``roll_batch``: a ``(B, ...)`` value with its items rolled along the batch (item k gets item k - shift)."""

from __future__ import annotations

import attrs
import torch
from torch import Tensor

from emoportraits_core import Component, PortSpec
from emoportraits_core.validators import positive

__all__ = ["RollBatch", "RollBatchConfig"]


@attrs.frozen
class RollBatchConfig:
    """``shift``: items rolled (``torch.roll``; -1: item k gets item k + 1); ``dim``: the latent size."""

    shift: int = 1
    dim: int = attrs.field(default=128, validator=positive)


class RollBatch(Component):
    """``latent (B, Z)`` -> ``latent`` rolled by ``shift`` along the batch (the release pairs the
    mixing image k + 1, which carries driver k's expression, with driver k: ``shift = -1``)."""

    kind = "op"
    conformance_batch_coupled = True  # items are rolled along the batch by design
    inputs = {"latent": "descriptor"}
    outputs = {"latent": "descriptor"}

    def input_specs(self) -> dict[str, PortSpec]:
        return {"latent": PortSpec("descriptor", ("B", self.config.dim))}

    def output_specs(self) -> dict[str, PortSpec]:
        return self.input_specs()

    def forward(self, latent: Tensor) -> Tensor:
        return torch.roll(latent, self.config.shift, dims=0)
