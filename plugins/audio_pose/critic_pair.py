"""The critics as training-graph nodes: real and generated sequences in, both scores and the WGAN-GP
gradient penalty out (EMOPortraits supplementary, section 3.4).

The penalty needs the critic itself, at random interpolates of the two sequences
(:meth:`~.interface.SequenceCritic.gradient_penalty`), and a pipeline node can only call one
component's forward with its declared ports. So each critic has a training twin whose ports are the
pair: ``real (B, T, 9)``, ``fake (B, T, 9)`` (plus the critic's conditions, e.g. ``audio``) ->
``real_score (B,)``, ``fake_score (B,)``, ``penalty ()``. One node per critic then feeds the critic's
``wgan_gp_critic`` loss (all three outputs) and the generator's ``wgan_generator`` loss
(``fake_score``): in the generator's turn the trainer reruns the node on the new, differentiable
``fake`` with the critic frozen (the penalty is recomputed there too, unused: about one more critic
forward and backward).

The twin holds the plain critic as ``critic`` (checkpoint keys ``<component>.critic.*``; the plain
critic loads ``critic.*`` with the prefix removed) and takes the same config class and presets. The
plain critics, their ports and :meth:`gradient_penalty` are unchanged. In train mode the penalty's
interpolation weights ``alpha ~ U[0, 1]`` are drawn from torch's global RNG (the trainer checkpoints
it: resume stays bit-identical); in eval mode they are 1/2 (the midpoints), so that the node is a
function of its inputs there, like a network with dropout. Registered (kind ``sequence``) as
``local_temporal_critic_gp`` and ``global_content_critic_gp``.
"""

from __future__ import annotations

from typing import Any, ClassVar

import torch
from torch import Tensor

from emoportraits_core import PortSpec

from .critics import GlobalContentCritic, LocalTemporalCritic
from .interface import SequenceCritic, SequenceNetwork
from .pose import random_pose_sequence

__all__ = ["GlobalContentCriticGP", "LocalTemporalCriticGP"]

_PAIR_OUTPUTS = {"real_score": "critic_score", "fake_score": "critic_score", "penalty": "scalar"}


class _CriticPair(SequenceNetwork):
    """``real``, ``fake`` ``(B, T, 9)`` (+ conditions) -> ``real_score``, ``fake_score`` ``(B,)`` and
    the unweighted ``penalty ()`` of the critic :attr:`critic_class` (module docstring)."""

    inputs: ClassVar[dict[str, str]] = {"real": "pose_sequence", "fake": "pose_sequence"}
    outputs: ClassVar[dict[str, str]] = _PAIR_OUTPUTS
    critic_class: ClassVar[type[SequenceCritic]]
    conformance_batch_coupled = True  # the penalty is a mean over the batch

    def __init__(self, config: Any = None) -> None:
        critic = self.critic_class(config)
        super().__init__(critic.config)
        self.critic = critic

    def input_specs(self) -> dict[str, PortSpec]:
        specs = self.critic.input_specs()
        pose = specs.pop("pose")
        return {"real": pose, "fake": pose, **specs}

    def output_specs(self) -> dict[str, PortSpec]:
        score = self.critic.output_specs()["score"]
        return {"real_score": score, "fake_score": score, "penalty": PortSpec("scalar", ())}

    def example_inputs(
        self, batch: int = 2, *, generator: Any = None, dtype: Any = torch.float32, device: Any = "cpu"
    ) -> dict[str, Any]:
        conditions = self.critic.example_inputs(batch, generator=generator, dtype=dtype, device=device)
        real = conditions.pop("pose")
        frames = real.shape[1]
        fake = random_pose_sequence(batch, frames, generator=generator, dtype=dtype, device=device)
        return {"real": real, "fake": fake, **conditions}

    def forward(self, real: Tensor, fake: Tensor, **conditions: Tensor) -> dict[str, Tensor]:
        alpha = None if self.training else real.new_full(real.shape[:1], 0.5)  # module docstring
        return {
            "real_score": self.critic(real, **conditions),
            "fake_score": self.critic(fake, **conditions),
            "penalty": self.critic.gradient_penalty(real, fake, alpha=alpha, **conditions),
        }


class LocalTemporalCriticGP(_CriticPair):
    """:class:`~.critics.LocalTemporalCritic` as a training node: ``real``, ``fake`` ``(B, T, 9)``,
    T >= N -> both scores and the penalty."""

    critic_class = LocalTemporalCritic


class GlobalContentCriticGP(_CriticPair):
    """:class:`~.critics.GlobalContentCritic` as a training node: ``real``, ``fake`` ``(B, T, 9)``,
    ``audio (B, T, C)`` -> both scores and the penalty (the gradient with respect to the pose only)."""

    inputs = {"real": "pose_sequence", "fake": "pose_sequence", "audio": "audio_features"}
    critic_class = GlobalContentCritic
