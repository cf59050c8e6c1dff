"""Hinge adversarial losses on the multi-scale patch discriminator's scores (TRAINING_FACTS §2.5, §3).

Generator: ``-mean D(x_hat)`` per scale, averaged over scales. Discriminator: ``mean relu(1 - D(x)) +
mean relu(1 + D(x_hat))`` per scale, averaged over scales; the training step feeds it the scores of
the real (masked ground truth on green) and of the *detached* generated image, in the D step that
follows the G step. Inputs are the discriminator's ``scores`` output: a list per scale of ``(B, 1, h,
w)`` maps.
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

__all__ = [
    "AdversarialHingeConfig",
    "AdversarialHingeDiscriminatorLoss",
    "AdversarialHingeGeneratorLoss",
    "example_scores",
]


@attrs.frozen
class AdversarialHingeConfig:
    """Config of the hinge losses (only the example inputs depend on it).

    Attributes:
        num_scales: score maps per example input (the discriminator's scales).
        score_size: side of the first example score map (halved per scale).
    """

    num_scales: int = attrs.field(default=2, validator=positive)
    score_size: int = attrs.field(default=64, validator=positive)


def example_scores(
    batch: int, num_scales: int, size: int, generator: Any, dtype: torch.dtype, device: Any
) -> list[Tensor]:
    """Random score maps ``[(batch, 1, size / 2**i, size / 2**i)]`` around 0 (both hinge sides active)."""
    sizes = [max(size >> i, 1) for i in range(num_scales)]
    return [(2 * torch.randn(batch, 1, s, s, generator=generator, dtype=dtype)).to(device) for s in sizes]


def _score_maps(name: str, scores: Any) -> list[Tensor]:
    if not isinstance(scores, list | tuple) or not scores or not all(isinstance(s, Tensor) for s in scores):
        raise InputError(
            f"'{name}' must be a non-empty list of score maps (one per scale), got {type(scores).__name__}"
        )
    return list(scores)


class AdversarialHingeGeneratorLoss(Loss):
    """``fake_scores`` (list per scale of (B, 1, h, w)) -> () ``mean over scales of -mean D(x_hat)``."""

    inputs = {"fake_scores": "features"}

    def __init__(self, config: AdversarialHingeConfig | None = None) -> None:
        super().__init__(config if config is not None else AdversarialHingeConfig())

    def input_specs(self) -> dict[str, PortSpec]:
        return {"fake_scores": features_spec()}

    def output_specs(self) -> dict[str, PortSpec]:
        return {"loss": SCALAR}

    def example_inputs(
        self, batch: int = 2, *, generator: Any = None, dtype: Any = torch.float32, device: Any = "cpu"
    ) -> dict[str, Any]:
        c = self.config
        return {"fake_scores": example_scores(batch, c.num_scales, c.score_size, generator, dtype, device)}

    def forward(self, fake_scores: list[Tensor]) -> Tensor:
        scores = _score_maps("fake_scores", fake_scores)
        return torch.stack([-s.mean() for s in scores]).mean()


class AdversarialHingeDiscriminatorLoss(Loss):
    """``real_scores``, ``fake_scores`` (lists per scale) -> () ``mean over scales of mean relu(1 - D(x))
    + mean relu(1 + D(x_hat))``."""

    inputs = {"real_scores": "features", "fake_scores": "features"}

    def __init__(self, config: AdversarialHingeConfig | None = None) -> None:
        super().__init__(config if config is not None else AdversarialHingeConfig())

    def input_specs(self) -> dict[str, PortSpec]:
        return {"real_scores": features_spec(), "fake_scores": features_spec()}

    def output_specs(self) -> dict[str, PortSpec]:
        return {"loss": SCALAR}

    def example_inputs(
        self, batch: int = 2, *, generator: Any = None, dtype: Any = torch.float32, device: Any = "cpu"
    ) -> dict[str, Any]:
        c = self.config
        return {
            "real_scores": example_scores(batch, c.num_scales, c.score_size, generator, dtype, device),
            "fake_scores": example_scores(batch, c.num_scales, c.score_size, generator, dtype, device),
        }

    def forward(self, real_scores: list[Tensor], fake_scores: list[Tensor]) -> Tensor:
        real = _score_maps("real_scores", real_scores)
        fake = _score_maps("fake_scores", fake_scores)
        if len(real) != len(fake):
            raise InputError(f"real_scores has {len(real)} scales, fake_scores {len(fake)}")
        terms = [torch.relu(1 - r).mean() + torch.relu(1 + f).mean() for r, f in zip(real, fake)]
        return torch.stack(terms).mean()
