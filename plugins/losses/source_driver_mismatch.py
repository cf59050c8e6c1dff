"""The source-driver mismatch loss L_sdm with its FEED weighting (supplementary §1.3, TRAINING_FACTS §2.7).

Per item, ``h_k = max(0, cos(sg(z_source_k), z_driver_k) - margin)``: source and driver of one pair
share the identity, so a high cosine between their expression latents means identity leaks into the
expression. Weighting as released (2-item batches, one FEED pair on every second step):

- a batch without FEED items: ``weight * mean_k h_k`` (weight 10);
- a batch with FEED items: ``sum_k w_k h_k`` with ``w_k = feed_weight`` (10) for FEED items and
  ``mixed_weight`` (1.5) for the others (release: ``1.5 h_0 + 10 h_1``).

``is_feed (B,)`` flags the FEED items (1) among the VoxCeleb2 ones (0). Paper: weight 1, 10 for FEED
pairs (the paper's exact formula was not retrievable).
"""

from __future__ import annotations

from typing import Any

import attrs
import torch
from torch import Tensor

from emoportraits_core import PortSpec
from emoportraits_core.interfaces import Loss
from emoportraits_core.validators import non_negative, positive

from ._common import SCALAR, cosine, require_same_shape
from .cosface import latent_spec

__all__ = ["SourceDriverMismatchConfig", "SourceDriverMismatchLoss"]


@attrs.frozen
class SourceDriverMismatchConfig:
    """Config of :class:`SourceDriverMismatchLoss` (defaults: the release).

    Attributes:
        margin: cosine margin of the hinge.
        weight: weight of the batch mean on batches without FEED items.
        feed_weight: per-item weight of FEED items on batches with FEED items (summed).
        mixed_weight: per-item weight of the other items on those batches (summed).
        dim: latent size (declared ports and example inputs; any size runs).
    """

    margin: float = 0.5
    weight: float = attrs.field(default=10.0, validator=non_negative)
    feed_weight: float = attrs.field(default=10.0, validator=non_negative)
    mixed_weight: float = attrs.field(default=1.5, validator=non_negative)
    dim: int = attrs.field(default=128, validator=positive)


class SourceDriverMismatchLoss(Loss):
    """``z_source``, ``z_driver`` (B, Z) and ``is_feed`` (B,) in {0, 1} -> () loss (gradient to z_driver only)."""

    inputs = {"z_source": "descriptor", "z_driver": "descriptor", "is_feed": "flags"}

    def __init__(self, config: SourceDriverMismatchConfig | None = None) -> None:
        super().__init__(config if config is not None else SourceDriverMismatchConfig())

    def input_specs(self) -> dict[str, PortSpec]:
        spec = latent_spec(self.config.dim)
        return {"z_source": spec, "z_driver": spec, "is_feed": PortSpec("flags", ("B",), (0.0, 1.0))}

    def output_specs(self) -> dict[str, PortSpec]:
        return {"loss": SCALAR}

    def example_inputs(
        self, batch: int = 2, *, generator: Any = None, dtype: Any = torch.float32, device: Any = "cpu"
    ) -> dict[str, Any]:
        d = self.config.dim
        z_source = torch.randn(batch, d, generator=generator, dtype=dtype)
        z_driver = z_source + 0.5 * torch.randn(batch, d, generator=generator, dtype=dtype)  # h > 0 mostly
        is_feed = (torch.rand(batch, generator=generator, dtype=dtype) < 0.5).to(dtype)
        return {
            "z_source": z_source.to(device),
            "z_driver": z_driver.to(device),
            "is_feed": is_feed.to(device),
        }

    def hinge(self, z_source: Tensor, z_driver: Tensor) -> Tensor:
        """``(B,)``: ``max(0, cos(sg(z_source), z_driver) - margin)``."""
        return torch.relu(cosine(z_source.detach(), z_driver) - self.config.margin)

    def forward(self, z_source: Tensor, z_driver: Tensor, is_feed: Tensor) -> Tensor:
        require_same_shape("source_driver_mismatch", z_source=z_source, z_driver=z_driver)
        c = self.config
        h = self.hinge(z_source, z_driver)
        feed = is_feed.to(h.dtype).reshape(-1)
        mixed = (feed * c.feed_weight + (1 - feed) * c.mixed_weight) * h
        return torch.where(feed.amax() > 0.5, mixed.sum(), c.weight * h.mean())
