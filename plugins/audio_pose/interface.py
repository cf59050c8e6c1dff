"""Kind ``sequence``: networks over per-frame sequences ``(B, T, C)`` (the speech mode's audio -> head-pose
GAN: its generator and its two critics).

Registered by this plugin package (it is not one of the core's kinds) through :func:`register_kinds`,
which the package's ``emoportraits_register_kinds`` hook calls. None of the core kinds fits: a
``discriminator`` takes an ``image`` and returns score maps per scale, these take pose sequences and
audio features and return one score per sequence.

Contract:
    inputs and outputs as declared, each a ``(B, T, C)`` per-frame sequence or a ``(B, ...)`` per-item
    tensor (the ``T`` of every sequence port of one call is the same); items of a batch are
    independent in eval mode; any ``T`` the component's docstring allows runs (``example_inputs``
    draws ``config.frames`` frames).

Port types of this package (wires need equal type strings):

===============  ====================================================================================
type             value
===============  ====================================================================================
audio_features   ``(B, T, C)`` float per-frame audio features (e.g. Whisper encoder states resampled to
                 the video frame rate), unbounded
pose_sequence    ``(B, T, 9)`` float head poses relative to the first frame: 6D rotation (the first two
                 columns of R) then translation (see :mod:`.pose`)
noise            ``(B, N)`` float, standard normal: the generator's per-sequence latent
critic_score     ``(B,)`` float per-sequence critic score (no sigmoid: a WGAN critic)
===============  ====================================================================================
"""

from __future__ import annotations

from abc import abstractmethod
from typing import Any, ClassVar

import torch
from torch import Tensor

from emoportraits_core import Component, Registry

from .penalty import gradient_penalty

__all__ = ["SEQUENCE_PORT_TYPES", "SequenceCritic", "SequenceNetwork", "register_kinds"]

#: the port types of this package: type -> what its values are.
SEQUENCE_PORT_TYPES: dict[str, str] = {
    "audio_features": "(B, T, C) float per-frame audio features at the video frame rate",
    "pose_sequence": "(B, T, 9) float poses relative to the first frame: 6D rotation + translation",
    "noise": "(B, N) float standard-normal per-sequence latent",
    "critic_score": "(B,) float per-sequence critic score, no sigmoid",
}


class SequenceNetwork(Component):
    """Abstract network over per-frame sequences (ports as declared by the subclass)."""

    kind: ClassVar[str] = "sequence"

    @abstractmethod
    def forward(self, **inputs: Any) -> Any:
        """Sequences ``(B, T, C)`` and per-item tensors in, as declared."""


class SequenceCritic(SequenceNetwork):
    """A WGAN critic: a ``pose (B, T, 9)`` sequence (plus conditions) -> ``score (B,)``, no sigmoid.

    The gradient penalty needs the critic itself (a loss only receives tensors), so it is a method:
    :meth:`gradient_penalty` gives the unweighted penalty that the ``wgan_gp_critic`` loss receives on
    its ``penalty`` port and weights by its ``gradient_penalty_weight`` (lambda = 10).
    """

    inputs: ClassVar[dict[str, str]] = {"pose": "pose_sequence"}
    outputs: ClassVar[dict[str, str]] = {"score": "critic_score"}

    @abstractmethod
    def forward(self, pose: Tensor, **conditions: Tensor) -> Tensor:
        """``pose (B, T, 9)`` (and conditions) -> ``(B,)`` scores."""

    def gradient_penalty(
        self,
        real: Tensor,
        fake: Tensor,
        *,
        alpha: Tensor | None = None,
        generator: torch.Generator | None = None,
        **conditions: Tensor,
    ) -> Tensor:
        """WGAN-GP penalty (Gulrajani et al. 2017) of this critic at random interpolates of the pose
        sequences: ``mean_b (|grad_x D(x_b)|_2 - 1)^2`` with ``x = alpha real + (1 - alpha) fake``,
        ``alpha ~ U[0, 1]`` per sequence; differentiable w.r.t. the critic's parameters.

        Args:
            real, fake: ``(B, T, 9)`` pose sequences (``fake`` is detached here).
            alpha: ``(B,)`` interpolation weights in [0, 1]; drawn with ``generator`` when None.
            generator: random source of ``alpha``.
            **conditions: the critic's other inputs (e.g. ``audio (B, T, C)``), the same for real and
                fake; the gradient is taken with respect to the pose only.

        Returns:
            ``()`` unweighted penalty, >= 0.
        """
        return gradient_penalty(lambda x: self(x, **conditions), real, fake, alpha=alpha, generator=generator)


def register_kinds(registry: Registry) -> None:
    """Add the ``sequence`` kind to ``registry`` (idempotent)."""
    registry.register_kind("sequence", SequenceNetwork, "network over per-frame sequences (B, T, C)")
