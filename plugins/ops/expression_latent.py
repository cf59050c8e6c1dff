"""``expression_latent``: the expression latent of a ``Motion`` as a ``(B, Z)`` descriptor."""

from __future__ import annotations

import attrs
from torch import Tensor

from emoportraits_core import Component, Motion, PortSpec
from emoportraits_core.validators import positive

__all__ = ["ExpressionLatent", "ExpressionLatentConfig"]


@attrs.frozen
class ExpressionLatentConfig:
    """``dim``: Z, the latent's size (128 for the release)."""

    dim: int = attrs.field(default=128, validator=positive)


class ExpressionLatent(Component):
    """``motion`` -> ``latent (B, Z)`` = ``motion.expression`` (gradients flow through)."""

    kind = "op"
    inputs = {"motion": "motion"}
    outputs = {"latent": "descriptor"}

    def input_specs(self) -> dict[str, PortSpec]:
        return {"motion": PortSpec("motion", ("B", self.config.dim))}

    def output_specs(self) -> dict[str, PortSpec]:
        return {"latent": PortSpec("descriptor", ("B", self.config.dim))}

    def forward(self, motion: Motion) -> Tensor:
        return motion.expression
