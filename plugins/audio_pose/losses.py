"""The losses of the audio -> head-pose GAN (EMOPortraits supplementary, section 3.4), kind ``loss``.

``L_tot = lambda_rot L_rot + lambda_trans L_trans + lambda_adv L_G + lambda_smooth L_smooth`` for the
generator, ``L_D`` for each critic (WGAN-GP, 5 critic updates per generator update: the training
loop's business). Each term is its own loss; its weight lives in the pipeline.

- ``wgan_gp_critic`` (:class:`WGANCriticLoss`): ``mean D(fake) - mean D(real) + lambda_gp * penalty``
  with lambda_gp = 10 (the paper's). A loss only receives tensors, so the penalty is computed by the
  critic (:meth:`~.interface.SequenceCritic.gradient_penalty`) and arrives on the ``penalty`` port.
- ``wgan_generator`` (:class:`WGANGeneratorLoss`): ``-mean D(fake)``.
- ``pose_rotation_l1`` / ``pose_translation_l1`` (:class:`PoseRotationL1Loss`,
  :class:`PoseTranslationL1Loss`): L1 between predicted and ground-truth 6D rotations / translations.
- ``pose_smoothness`` (:class:`PoseSmoothnessLoss`): ``sum_t |X_t - X_{t-1}|`` over the 9 numbers.

Reduction of the pose losses (``reduction``): ``"sum"`` (default) is the paper's equations (6), (7):
a sum over frames and components, averaged over the batch; ``"mean"`` averages over every element
(weights then do not scale with T).

Weights: the paper leaves every lambda but lambda_gp unknown. :data:`DEFAULT_WEIGHTS` are ours: the
reconstruction terms at 1, smoothness at 0.1 (a regulariser, it must not freeze the head), the
adversarial term at 1 (the gradient penalty keeps a critic's gradient per sequence near norm 1, while
a summed L1's grows like sqrt(9 T): the adversarial term stays a small but non-negligible pull).
"""

from __future__ import annotations

from typing import Any, ClassVar

import attrs
import torch
from torch import Tensor

from emoportraits_core import InputError, PortSpec
from emoportraits_core.interfaces import Loss
from emoportraits_core.validators import non_negative, positive

from .pose import random_pose_sequence

__all__ = [
    "DEFAULT_WEIGHTS",
    "PoseLossConfig",
    "PoseRotationL1Loss",
    "PoseSmoothnessLoss",
    "PoseTranslationL1Loss",
    "WGANCriticLoss",
    "WGANCriticLossConfig",
    "WGANGeneratorLoss",
    "WGANGeneratorLossConfig",
]

#: our weights for a training pipeline (the paper gives none): registry name -> weight.
DEFAULT_WEIGHTS: dict[str, float] = {
    "pose_rotation_l1": 1.0,
    "pose_translation_l1": 1.0,
    "pose_smoothness": 0.1,
    "wgan_generator": 1.0,
    "wgan_gp_critic": 1.0,
}

_SCALAR = PortSpec("scalar", ())
_SCORES = PortSpec("critic_score", ("B",))
_POSE = PortSpec("pose_sequence", ("B", "T", 9))


def _scores(name: str, value: Any) -> Tensor:
    if not isinstance(value, Tensor) or value.dim() != 1:
        got = tuple(value.shape) if isinstance(value, Tensor) else type(value).__name__
        raise InputError(f"'{name}' must be (B,) critic scores, got {got}")
    return value


def _example_scores(batch: int, generator: Any, dtype: Any, device: Any) -> Tensor:
    return torch.randn(batch, generator=generator, dtype=dtype).to(device)


# -- WGAN-GP -----------------------------------------------------------------------------------------


@attrs.frozen
class WGANCriticLossConfig:
    """Config of :class:`WGANCriticLoss`.

    Attributes:
        gradient_penalty_weight: lambda_gp (10: the paper's, after Gulrajani et al. 2017).
    """

    gradient_penalty_weight: float = attrs.field(default=10.0, validator=non_negative)


@attrs.frozen
class WGANGeneratorLossConfig:
    """Config of :class:`WGANGeneratorLoss` (no settings)."""


class WGANCriticLoss(Loss):
    """``real_scores (B,)``, ``fake_scores (B,)``, ``penalty ()`` -> ``mean D(fake) - mean D(real) +
    lambda_gp penalty`` (the critic's WGAN-GP loss, to minimise)."""

    inputs = {"real_scores": "critic_score", "fake_scores": "critic_score", "penalty": "scalar"}

    def __init__(self, config: WGANCriticLossConfig | None = None) -> None:
        super().__init__(config if config is not None else WGANCriticLossConfig())

    def input_specs(self) -> dict[str, PortSpec]:
        return {"real_scores": _SCORES, "fake_scores": _SCORES, "penalty": _SCALAR}

    def output_specs(self) -> dict[str, PortSpec]:
        return {"loss": _SCALAR}

    def example_inputs(
        self, batch: int = 2, *, generator: Any = None, dtype: Any = torch.float32, device: Any = "cpu"
    ) -> dict[str, Any]:
        return {
            "real_scores": _example_scores(batch, generator, dtype, device),
            "fake_scores": _example_scores(batch, generator, dtype, device),
            "penalty": torch.rand((), generator=generator, dtype=dtype).to(device),
        }

    def forward(self, real_scores: Tensor, fake_scores: Tensor, penalty: Tensor) -> Tensor:
        real, fake = _scores("real_scores", real_scores), _scores("fake_scores", fake_scores)
        if not isinstance(penalty, Tensor) or penalty.dim() != 0:
            got = tuple(penalty.shape) if isinstance(penalty, Tensor) else type(penalty).__name__
            raise InputError(f"'penalty' must be a () tensor (the critic's gradient_penalty), got {got}")
        return fake.mean() - real.mean() + self.config.gradient_penalty_weight * penalty


class WGANGeneratorLoss(Loss):
    """``fake_scores (B,)`` -> ``-mean D(fake)`` (the generator's WGAN loss)."""

    inputs = {"fake_scores": "critic_score"}

    def __init__(self, config: WGANGeneratorLossConfig | None = None) -> None:
        super().__init__(config if config is not None else WGANGeneratorLossConfig())

    def input_specs(self) -> dict[str, PortSpec]:
        return {"fake_scores": _SCORES}

    def output_specs(self) -> dict[str, PortSpec]:
        return {"loss": _SCALAR}

    def example_inputs(
        self, batch: int = 2, *, generator: Any = None, dtype: Any = torch.float32, device: Any = "cpu"
    ) -> dict[str, Any]:
        return {"fake_scores": _example_scores(batch, generator, dtype, device)}

    def forward(self, fake_scores: Tensor) -> Tensor:
        return -_scores("fake_scores", fake_scores).mean()


# -- pose reconstruction and smoothness -----------------------------------------------------------


@attrs.frozen
class PoseLossConfig:
    """Config of the pose losses.

    Attributes:
        reduction: ``"sum"`` (the paper's: sum over frames and components, mean over the batch) or
            ``"mean"`` (mean over every element).
        frames: T of the example inputs.
    """

    reduction: str = attrs.field(default="sum", validator=attrs.validators.in_(("sum", "mean")))
    frames: int = attrs.field(default=64, validator=positive)


def _reduce(diff: Tensor, reduction: str) -> Tensor:
    """``|diff| (B, ...)`` summed per item then averaged over B (``"sum"``) or averaged (``"mean"``);
    0 for an empty ``diff`` (kept on the graph)."""
    if diff.numel() == 0:
        return diff.sum()
    a = diff.abs()
    return a.flatten(1).sum(1).mean() if reduction == "sum" else a.mean()


def _check_pose(name: str, x: Any) -> Tensor:
    if not isinstance(x, Tensor) or x.dim() != 3 or x.shape[-1] != 9:
        got = tuple(x.shape) if isinstance(x, Tensor) else type(x).__name__
        raise InputError(f"'{name}' must be a (B, T, 9) pose sequence, got {got}")
    return x


class _PosePairL1(Loss):
    """L1 between ``pred`` and ``target`` ``(B, T, 9)`` on the components ``part``."""

    inputs = {"pred": "pose_sequence", "target": "pose_sequence"}
    zero_on_identical = True
    part: ClassVar[slice] = slice(None)

    def __init__(self, config: PoseLossConfig | None = None) -> None:
        super().__init__(config if config is not None else PoseLossConfig())

    def input_specs(self) -> dict[str, PortSpec]:
        return {"pred": _POSE, "target": _POSE}

    def output_specs(self) -> dict[str, PortSpec]:
        return {"loss": _SCALAR}

    def example_inputs(
        self, batch: int = 2, *, generator: Any = None, dtype: Any = torch.float32, device: Any = "cpu"
    ) -> dict[str, Any]:
        f = self.config.frames
        return {
            "pred": random_pose_sequence(batch, f, generator=generator, dtype=dtype, device=device),
            "target": random_pose_sequence(batch, f, generator=generator, dtype=dtype, device=device),
        }

    def forward(self, pred: Tensor, target: Tensor) -> Tensor:
        pred, target = _check_pose("pred", pred), _check_pose("target", target)
        if pred.shape != target.shape:
            raise InputError(f"'pred' {tuple(pred.shape)} and 'target' {tuple(target.shape)} must match")
        return _reduce(pred[..., self.part] - target[..., self.part], self.config.reduction)


class PoseRotationL1Loss(_PosePairL1):
    """``pred``, ``target`` ``(B, T, 9)`` -> L1 of the 6D rotations ``[..., :6]`` (lambda_rot's term)."""

    part = slice(0, 6)


class PoseTranslationL1Loss(_PosePairL1):
    """``pred``, ``target`` ``(B, T, 9)`` -> L1 of the translations ``[..., 6:]`` (lambda_trans's term)."""

    part = slice(6, 9)


class PoseSmoothnessLoss(Loss):
    """``pose (B, T, 9)`` -> ``sum_{t >= 1} |X_t - X_{t-1}|`` (all 9 numbers; 0 for T = 1)."""

    inputs = {"pose": "pose_sequence"}

    def __init__(self, config: PoseLossConfig | None = None) -> None:
        super().__init__(config if config is not None else PoseLossConfig())

    def input_specs(self) -> dict[str, PortSpec]:
        return {"pose": _POSE}

    def output_specs(self) -> dict[str, PortSpec]:
        return {"loss": _SCALAR}

    def example_inputs(
        self, batch: int = 2, *, generator: Any = None, dtype: Any = torch.float32, device: Any = "cpu"
    ) -> dict[str, Any]:
        return {
            "pose": random_pose_sequence(
                batch, self.config.frames, generator=generator, dtype=dtype, device=device
            )
        }

    def forward(self, pose: Tensor) -> Tensor:
        pose = _check_pose("pose", pose)
        return _reduce(pose[:, 1:] - pose[:, :-1], self.config.reduction)
