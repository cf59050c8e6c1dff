"""The warp-embedding head of EMOPortraits (ARCHITECTURE_FACTS section 4, step 7).

``e = Linear(z)`` (no bias) viewed ``(B, E, s, s)``; ``w = Conv1x1((e + descriptor) / 2)`` (no
bias). The source and the driver branch share this component (the pipeline calls it twice, with
the source's or the driver's motion and the SOURCE descriptor both times).
"""

from __future__ import annotations

from typing import ClassVar

import attrs
from torch import Tensor, nn

from emoportraits_core import Motion, PortSpec

from .interface import Embedder

__all__ = ["WarpEmbedder", "WarpEmbedderConfig"]


@attrs.frozen
class WarpEmbedderConfig:
    """Config of :class:`WarpEmbedder` (defaults: the release).

    Attributes:
        expression_dim: Z, size of the expression latent (128).
        embed_channels: E, channels of the descriptor and of the embedding (512).
        embed_size: s, spatial size of the descriptor and of the embedding (4).
    """

    expression_dim: int = 128
    embed_channels: int = 512
    embed_size: int = 4


class WarpEmbedder(Embedder):
    """Expression latent + identity descriptor -> warp embedding ``(B, E, s, s)``.

    Inputs: ``motion`` (only ``motion.expression (B, Z)`` is read), ``descriptor (B or 1, E, s, s)``.
    Output: ``embedding (B, E, s, s)``.
    """

    full_precision: ClassVar[bool] = True  # cheap, and bfloat16 moves its outputs by ~10 %

    def __init__(self, config: WarpEmbedderConfig) -> None:
        super().__init__(config)
        c = config
        self.expression_proj = nn.Linear(c.expression_dim, c.embed_channels * c.embed_size**2, bias=False)
        self.head = nn.Conv2d(c.embed_channels, c.embed_channels, 1, bias=False)

    def _embedding_shape(self) -> tuple:
        c = self.config
        return ("B", c.embed_channels, c.embed_size, c.embed_size)

    def input_specs(self) -> dict[str, PortSpec]:
        return {
            "motion": PortSpec("motion", ("B", self.config.expression_dim)),
            "descriptor": PortSpec("descriptor", self._embedding_shape()),
        }

    def output_specs(self) -> dict[str, PortSpec]:
        return {"embedding": PortSpec("embedding", self._embedding_shape())}

    def embed(self, expression: Tensor, descriptor: Tensor) -> Tensor:
        """``expression (B, Z)``, ``descriptor (B or 1, E, s, s)`` -> ``(B, E, s, s)``."""
        c = self.config
        e = self.expression_proj(expression).view(-1, c.embed_channels, c.embed_size, c.embed_size)
        return self.head((e + descriptor) * 0.5)

    def forward(self, motion: Motion, descriptor: Tensor) -> Tensor:
        return self.embed(motion.expression, descriptor)
