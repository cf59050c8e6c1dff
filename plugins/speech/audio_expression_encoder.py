"""E_aud, the audio expression encoder of the speech-driven mode (supplementary section 2.1, Fig. 3).

Per clip: ``z_base = MLP_b(z0)`` from the first frame's expression latent (gaze, upper face: what the
audio does not say). Per frame ``n``, autoregressively::

    a_n = MLP_a(z_prev)                      z_prev = z0 at n = 0, then the previous prediction
    x_n = concat(norm(audio_n), a_n)         (C + F,)  the merge: concatenation
    z_n = z_base + MLP_c(x_n)                (D,)

The paper says "merging" without saying how; concatenation is our reading (TRAINING_FACTS section 6:
sizes, activations and the merge are unknown, so every size here is a config field with our default).
``norm`` is a LayerNorm over the audio channels (``audio_norm``): Whisper states have a large dynamic
range from layer to layer and model to model.

Streaming: the state (:class:`AudioExpressionState`) holds ``z_base`` and ``z_prev``; every frame is
computed alone (a contiguous ``(B, C)`` slice), so chunks give exactly the latents of the whole clip.
"""

from __future__ import annotations

import itertools

import attrs
import torch
from torch import Tensor, nn

from emoportraits_core import InputError, PortSpec
from emoportraits_core.validators import positive

from .interface import AudioExpressionEncoder

__all__ = [
    "ACTIVATIONS",
    "AudioExpressionState",
    "MLPAudioExpressionEncoder",
    "MLPAudioExpressionEncoderConfig",
]

#: activation name -> module class (the config's ``activation``).
ACTIVATIONS: dict[str, type[nn.Module]] = {
    "relu": nn.ReLU,
    "leaky_relu": nn.LeakyReLU,
    "gelu": nn.GELU,
    "silu": nn.SiLU,
    "tanh": nn.Tanh,
}


def _activation_name(_inst: object, attribute: attrs.Attribute, value: str) -> None:
    if value not in ACTIVATIONS:
        raise ValueError(f"'{attribute.name}' must be one of {', '.join(ACTIVATIONS)}, got {value!r}")


@attrs.frozen
class MLPAudioExpressionEncoderConfig:
    """Config of :class:`MLPAudioExpressionEncoder` (sizes are ours: the paper gives none).

    Attributes:
        audio_dim: C, channels of the per-frame audio embeddings (384: Whisper tiny's encoder width;
            base 512, small 768).
        latent_dim: D, size of the expression latent (128 for the released motion encoder, 16 tiny).
        hidden: width of the hidden layers of MLP_a, MLP_b and MLP_c.
        depth: linear layers per MLP (1: a single linear map; activations between layers only).
        align_features: F, width of MLP_a's output (concatenated with the audio embedding).
        activation: between the linear layers: relu, leaky_relu (slope 0.01), gelu, silu or tanh.
        audio_norm: LayerNorm (with affine) over the audio channels before the merge.
    """

    audio_dim: int = attrs.field(default=384, validator=positive)
    latent_dim: int = attrs.field(default=128, validator=positive)
    hidden: int = attrs.field(default=512, validator=positive)
    depth: int = attrs.field(default=3, validator=positive)
    align_features: int = attrs.field(default=256, validator=positive)
    activation: str = attrs.field(default="leaky_relu", validator=_activation_name)
    audio_norm: bool = True


@attrs.frozen(eq=False)
class AudioExpressionState:
    """Where a clip stands: ``base (B, D)`` = z_base, ``previous (B, D)`` = the last latent (z0 before
    the first frame), ``frames``: frames produced so far."""

    base: Tensor
    previous: Tensor
    frames: int = 0


def _mlp(inputs: int, hidden: int, outputs: int, depth: int, activation: str) -> nn.Sequential:
    """``depth`` linear layers ``inputs -> hidden -> ... -> outputs`` with the activation between."""
    widths = [inputs, *[hidden] * (depth - 1), outputs]
    layers: list[nn.Module] = []
    for i, (a, b) in enumerate(itertools.pairwise(widths)):
        if i > 0:
            layers.append(ACTIVATIONS[activation]())
        layers.append(nn.Linear(a, b))
    return nn.Sequential(*layers)


class MLPAudioExpressionEncoder(AudioExpressionEncoder):
    """E_aud of the paper: ``audio (B, T, C)``, ``z0 (B, D)`` -> ``latents (B, T, D)`` = z_base + residual.

    Submodules: ``base`` (MLP_b, D -> D), ``align`` (MLP_a, D -> F), ``residual`` (MLP_c, C + F -> D),
    ``audio_norm`` (LayerNorm over C, or identity).
    """

    def __init__(self, config: MLPAudioExpressionEncoderConfig | None = None) -> None:
        config = config if config is not None else MLPAudioExpressionEncoderConfig()
        super().__init__(config)
        c = config
        self.base = _mlp(c.latent_dim, c.hidden, c.latent_dim, c.depth, c.activation)
        self.align = _mlp(c.latent_dim, c.hidden, c.align_features, c.depth, c.activation)
        self.residual = _mlp(c.audio_dim + c.align_features, c.hidden, c.latent_dim, c.depth, c.activation)
        self.audio_norm = nn.LayerNorm(c.audio_dim) if c.audio_norm else nn.Identity()

    def input_specs(self) -> dict[str, PortSpec]:
        return {
            "audio": PortSpec("audio_features", ("B", "T", self.config.audio_dim)),
            "z0": PortSpec("descriptor", ("B", self.config.latent_dim)),
        }

    def output_specs(self) -> dict[str, PortSpec]:
        return {"latents": PortSpec("descriptor", ("B", "T", self.config.latent_dim))}

    def start(self, z0: Tensor) -> AudioExpressionState:
        """``z0 (B, D)`` -> the state before frame 0: ``base = MLP_b(z0)``, ``previous = z0``."""
        dim = self.config.latent_dim
        if z0.dim() != 2 or z0.shape[1] != dim:
            raise InputError(f"audio expression encoder: z0 must be (B, {dim}), got {tuple(z0.shape)}")
        return AudioExpressionState(self.base(z0), z0, 0)

    def step(self, audio: Tensor, state: AudioExpressionState) -> tuple[Tensor, AudioExpressionState]:
        """``audio (B, t, C)`` (the next t frames, t may be 0), ``state`` -> ``latents (B, t, D)``, the
        new state."""
        batch, channels = state.base.shape[0], self.config.audio_dim
        if audio.dim() != 3 or audio.shape[0] != batch or audio.shape[2] != channels:
            raise InputError(
                f"audio expression encoder: audio must be (B={batch}, T, C={channels}), got {tuple(audio.shape)}"
            )
        previous, outs = state.previous, []
        for n in range(audio.shape[1]):
            frame = self.audio_norm(audio[:, n].contiguous())
            previous = state.base + self.residual(torch.cat([frame, self.align(previous)], dim=-1))
            outs.append(previous)
        if outs:
            latents = torch.stack(outs, dim=1)
        else:
            latents = state.base.new_zeros(batch, 0, self.config.latent_dim)
        return latents, AudioExpressionState(state.base, previous, state.frames + len(outs))
