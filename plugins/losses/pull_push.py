"""Pull / push cosine-embedding losses on expression latents (release-only; TRAINING_FACTS §2.7).

``loss = pull_weight * mean_k (1 - cos(z_k, z_driver_k)) + push_weight * mean_k max(0, cos(z_k,
z_driver_{k-1}) - margin)`` (item k-1: the batch rolled by one, another video). The release applies
it to ``z`` = E_mtn(x_hat) with weights (1, 1) and to ``z`` = E_mtn(x_hat_mix) with pull weight a =
0.5 (epoch 1), 2 (epoch 2), 3 (later) and push weight a' = 0.5 (epoch <= 1), 3 (later); margin 0.3.
The source-driver mismatch term it adds to "push" is :mod:`.source_driver_mismatch`.
"""

from __future__ import annotations

import attrs
import torch
from torch import Tensor

from emoportraits_core import PortSpec
from emoportraits_core.interfaces import Loss
from emoportraits_core.validators import non_negative, positive

from ._common import SCALAR, cosine, require_same_shape
from .cosface import latent_spec, other_items

__all__ = ["PullPushConfig", "PullPushLoss"]


@attrs.frozen
class PullPushConfig:
    """Config of :class:`PullPushLoss` (defaults: the release's instance on E_mtn(x_hat)).

    Attributes:
        pull_weight: weight of ``1 - cos(z, z_driver)``.
        push_weight: weight of the hinge on the other item's driver latent.
        margin: cosine margin of the push hinge.
        dim: latent size (declared ports and example inputs; any size runs).
    """

    pull_weight: float = attrs.field(default=1.0, validator=non_negative)
    push_weight: float = attrs.field(default=1.0, validator=non_negative)
    margin: float = 0.3
    dim: int = attrs.field(default=128, validator=positive)


class PullPushLoss(Loss):
    """Pull ``z`` to its own driver latent, push it from the other item's: ``z``, ``z_driver`` (B, Z) -> ()."""

    inputs = {"z": "descriptor", "z_driver": "descriptor"}

    def __init__(self, config: PullPushConfig | None = None) -> None:
        super().__init__(config if config is not None else PullPushConfig())

    def input_specs(self) -> dict[str, PortSpec]:
        spec = latent_spec(self.config.dim)
        return {"z": spec, "z_driver": spec}

    def output_specs(self) -> dict[str, PortSpec]:
        return {"loss": SCALAR}

    def forward(self, z: Tensor, z_driver: Tensor) -> Tensor:
        require_same_shape("pull_push", z=z, z_driver=z_driver)
        c = self.config
        pull = (1 - cosine(z, z_driver)).mean()
        push = torch.relu(cosine(z, other_items(z_driver)) - c.margin).mean()
        return c.pull_weight * pull + c.push_weight * push
