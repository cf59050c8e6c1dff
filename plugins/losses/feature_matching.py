"""Feature matching on the discriminator's block outputs (TRAINING_FACTS §2.5; pix2pixHD, Wang et al. 2018).

``loss = mean over scales of mean over blocks of mean |D_k(x_hat) - sg(D_k(x))|``, with ``D_k`` the
outputs of the four blocks of each scale of the multi-scale patch discriminator (the release runs D on
the ground truth under no_grad; the target is detached here too). Inputs are the discriminator's
``features`` output: a list per scale of lists of ``(B, C, h, w)`` maps.
"""

from __future__ import annotations

from typing import Any

import attrs
import torch
from torch import Tensor

from emoportraits_core import InputError, PortSpec
from emoportraits_core.interfaces import Loss
from emoportraits_core.validators import positive

from ._common import SCALAR, features_spec

__all__ = ["FeatureMatchingConfig", "FeatureMatchingLoss"]


@attrs.frozen
class FeatureMatchingConfig:
    """Config of :class:`FeatureMatchingLoss` (only the example inputs depend on it).

    Attributes:
        num_scales, num_blocks: structure of the example features.
        channels: channels of the example feature maps, per block.
        size: side of the first block's example map (halved per block and per scale).
    """

    num_scales: int = attrs.field(default=2, validator=positive)
    num_blocks: int = attrs.field(default=4, validator=positive)
    channels: int = attrs.field(default=4, validator=positive)
    size: int = attrs.field(default=16, validator=positive)


class FeatureMatchingLoss(Loss):
    """``fake_features``, ``real_features`` (list per scale of lists of (B, C, h, w)) -> () loss."""

    inputs = {"fake_features": "features", "real_features": "features"}
    zero_on_identical = True

    def __init__(self, config: FeatureMatchingConfig | None = None) -> None:
        super().__init__(config if config is not None else FeatureMatchingConfig())

    def input_specs(self) -> dict[str, PortSpec]:
        return {"fake_features": features_spec(), "real_features": features_spec()}

    def output_specs(self) -> dict[str, PortSpec]:
        return {"loss": SCALAR}

    def example_inputs(
        self, batch: int = 2, *, generator: Any = None, dtype: Any = torch.float32, device: Any = "cpu"
    ) -> dict[str, Any]:
        c = self.config

        def draw() -> list[list[Tensor]]:
            return [
                [
                    torch.randn(
                        batch,
                        c.channels,
                        *(2 * [max(c.size >> (s + k), 1)]),
                        generator=generator,
                        dtype=dtype,
                    ).to(device)
                    for k in range(c.num_blocks)
                ]
                for s in range(c.num_scales)
            ]

        return {"fake_features": draw(), "real_features": draw()}

    def forward(self, fake_features: list[list[Tensor]], real_features: list[list[Tensor]]) -> Tensor:
        if len(fake_features) != len(real_features) or not fake_features:
            raise InputError(
                f"fake_features and real_features must hold the same number of scales (> 0), got "
                f"{len(fake_features)} and {len(real_features)}"
            )
        per_scale = []
        for s, (fake, real) in enumerate(zip(fake_features, real_features)):
            if len(fake) != len(real) or not fake:
                raise InputError(f"scale {s}: {len(fake)} fake and {len(real)} real block outputs")
            per_scale.append(torch.stack([(f - r.detach()).abs().mean() for f, r in zip(fake, real)]).mean())
        return torch.stack(per_scale).mean()
