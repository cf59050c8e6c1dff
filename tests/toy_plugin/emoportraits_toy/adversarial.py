"""A toy discriminator and hinge losses: enough of a GAN to test the trainer's G step / D step rule."""

from __future__ import annotations

import attrs
import torch
from torch import Tensor, nn

from emoportraits_core import PortSpec
from emoportraits_core.interfaces import Discriminator, Loss


@attrs.frozen
class ToyDiscriminatorConfig:
    """Config of :class:`ToyDiscriminator`."""

    channels: int = 4
    image_size: int = 32


class ToyDiscriminator(Discriminator):
    """Image ``(B, 3, S, S)`` in [0, 1] -> one score map ``(B, 1, S/2, S/2)`` and its feature map."""

    def __init__(self, config: ToyDiscriminatorConfig) -> None:
        super().__init__(config)
        self.features = nn.Conv2d(3, config.channels, 3, stride=2, padding=1)
        self.score = nn.Conv2d(config.channels, 1, 1)

    def input_specs(self) -> dict[str, PortSpec]:
        s = self.config.image_size
        return {"image": PortSpec("image", ("B", 3, s, s), (0.0, 1.0))}

    def forward(self, image: Tensor) -> dict[str, list]:
        feat = torch.relu(self.features(image))
        return {"scores": [self.score(feat)], "features": [[feat]]}


@attrs.frozen
class ToyHingeConfig:
    """Config of the toy hinge losses (none needed)."""


class ToyHingeGenerator(Loss):
    """``-mean(D(fake))``: the generator's hinge term."""

    inputs = {"scores": "features"}

    def forward(self, scores: list[Tensor]) -> Tensor:
        return -torch.stack([s.mean() for s in scores]).mean()


class ToyHingeDiscriminator(Loss):
    """``mean(relu(1 - D(real))) + mean(relu(1 + D(fake)))``: the discriminator's hinge term."""

    inputs = {"real": "features", "fake": "features"}

    def forward(self, real: list[Tensor], fake: list[Tensor]) -> Tensor:
        terms = [torch.relu(1 - r).mean() + torch.relu(1 + f).mean() for r, f in zip(real, fake)]
        return torch.stack(terms).mean()
