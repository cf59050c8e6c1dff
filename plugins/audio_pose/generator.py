"""The audio -> head-pose generator of speech mode (EMOPortraits supplementary, section 3.2, Fig. 4).

Per frame: the audio features (Whisper encoder states at the video frame rate) concatenated with a
per-sequence noise vector ``z ~ N(0, I)`` (the same ``z`` at every step; sampling it from a seeded
``torch.Generator`` makes the motion reproducible: :meth:`AudioPoseGenerator.generate`) -> linear
projection to the hidden size + sinusoidal positions -> transformer encoder (pre-norm, batch first)
-> 1D ResNet blocks over time -> MLP -> 9 raw numbers per frame (6D rotation + translation, plus the
identity's 6D so that an untrained net rests near the identity).

Relative to the first frame (:mod:`.pose`): the raw rotations ``R_k`` (Gram-Schmidt) and translations
``t_k`` become ``R_k R_0^T`` and ``t_k - t_0``, and frame 0 is set to the exact identity. Composing with
the first prediction (rather than overwriting frame 0 alone) keeps frame 1 as close to frame 0 as the
network makes ``R_1`` to ``R_0``: no jump after the first frame.

The paper gives the layout, not the sizes: the ``release`` defaults (hidden 256, 4 layers, 4 heads,
feed-forward 1024, 2 residual blocks, noise 64) are ours.
"""

from __future__ import annotations

from typing import Any

import attrs
import torch
from einops import rearrange, repeat
from torch import Tensor, nn

from emoportraits_core import InputError, PortSpec
from emoportraits_core.geometry import rotation_6d_to_matrix
from emoportraits_core.validators import in_range, positive

from ._blocks import ResBlock1d, sinusoidal_positions
from .interface import SequenceNetwork
from .pose import IDENTITY_POSE, relative_to_first

__all__ = ["AudioPoseGenerator", "AudioPoseGeneratorConfig"]


@attrs.frozen
class AudioPoseGeneratorConfig:
    """Config of :class:`AudioPoseGenerator` (defaults: our ``release`` sizes; the paper gives none).

    Attributes:
        audio_dim: C of the audio features (384: the whisper-tiny encoder's width).
        noise_dim: N of the per-sequence noise vector.
        hidden: the transformer's width H (also the residual blocks' channels).
        layers: transformer encoder layers.
        heads: attention heads (must divide ``hidden``).
        feedforward: the transformer layers' feed-forward width.
        dropout: dropout inside the transformer layers (training only).
        res_blocks: 1D residual blocks after the transformer.
        kernel_size: temporal kernel of the residual blocks (odd).
        mlp_hidden: width of the MLP head's hidden layer.
        negative_slope: of the LeakyReLUs.
        output_init_std: std of the MLP's last weights (small: the initial motion is near rest).
        frames: T of the example inputs (any T >= 1 runs).
    """

    audio_dim: int = attrs.field(default=384, validator=positive)
    noise_dim: int = attrs.field(default=64, validator=positive)
    hidden: int = attrs.field(default=256, validator=positive)
    layers: int = attrs.field(default=4, validator=positive)
    heads: int = attrs.field(default=4, validator=positive)
    feedforward: int = attrs.field(default=1024, validator=positive)
    dropout: float = attrs.field(default=0.1, validator=in_range(0.0, 0.9))
    res_blocks: int = attrs.field(default=2, validator=in_range(0, 64))
    kernel_size: int = attrs.field(default=3, validator=positive)
    mlp_hidden: int = attrs.field(default=256, validator=positive)
    negative_slope: float = attrs.field(default=0.2, validator=in_range(0.0, 1.0))
    output_init_std: float = attrs.field(default=0.01, validator=positive)
    frames: int = attrs.field(default=64, validator=positive)

    def __attrs_post_init__(self) -> None:
        if self.hidden % self.heads:
            raise ValueError(f"'heads' ({self.heads}) must divide 'hidden' ({self.hidden})")
        if self.hidden % 2:
            raise ValueError(f"'hidden' must be even (sinusoidal positions), got {self.hidden}")
        if self.kernel_size % 2 == 0:
            raise ValueError(f"'kernel_size' must be odd (length-preserving), got {self.kernel_size}")


class AudioPoseGenerator(SequenceNetwork):
    """``audio (B, T, C)``, ``noise (B, N)`` -> ``pose (B, T, 9)`` relative to frame 0 (frame 0 = identity)."""

    inputs = {"audio": "audio_features", "noise": "noise"}
    outputs = {"pose": "pose_sequence"}

    def __init__(self, config: AudioPoseGeneratorConfig | None = None) -> None:
        config = config if config is not None else AudioPoseGeneratorConfig()
        super().__init__(config)
        c = config
        self.input = nn.Linear(c.audio_dim + c.noise_dim, c.hidden)
        layer = nn.TransformerEncoderLayer(
            c.hidden,
            c.heads,
            c.feedforward,
            c.dropout,
            activation="gelu",
            batch_first=True,
            norm_first=True,
        )
        self.transformer = nn.TransformerEncoder(
            layer, c.layers, norm=nn.LayerNorm(c.hidden), enable_nested_tensor=False
        )
        self.res = nn.Sequential(
            *(ResBlock1d(c.hidden, c.kernel_size, c.negative_slope) for _ in range(c.res_blocks))
        )
        self.head = nn.Sequential(
            nn.Linear(c.hidden, c.mlp_hidden), nn.LeakyReLU(c.negative_slope), nn.Linear(c.mlp_hidden, 9)
        )
        nn.init.normal_(self.head[-1].weight, std=c.output_init_std)
        nn.init.zeros_(self.head[-1].bias)

    # -- ports ------------------------------------------------------------------------------------
    def input_specs(self) -> dict[str, PortSpec]:
        c = self.config
        return {
            "audio": PortSpec("audio_features", ("B", "T", c.audio_dim)),
            "noise": PortSpec("noise", ("B", c.noise_dim)),
        }

    def output_specs(self) -> dict[str, PortSpec]:
        return {"pose": PortSpec("pose_sequence", ("B", "T", 9))}

    def example_inputs(
        self, batch: int = 2, *, generator: Any = None, dtype: Any = torch.float32, device: Any = "cpu"
    ) -> dict[str, Any]:
        c = self.config
        audio = torch.randn(batch, c.frames, c.audio_dim, generator=generator, dtype=dtype).to(device)
        return {
            "audio": audio,
            "noise": self.sample_noise(batch, generator=generator, dtype=dtype, device=device),
        }

    # -- sampling ---------------------------------------------------------------------------------
    def sample_noise(
        self,
        batch: int,
        *,
        generator: torch.Generator | None = None,
        dtype: torch.dtype = torch.float32,
        device: torch.device | str = "cpu",
    ) -> Tensor:
        """``(batch, N)`` standard normal, drawn on the CPU from ``generator`` then moved to ``device``
        (so a seed gives the same noise on every device)."""
        return torch.randn(batch, self.config.noise_dim, generator=generator, dtype=dtype).to(device)

    def generate(
        self, audio: Tensor, *, generator: torch.Generator | None = None, seed: int | None = None
    ) -> Tensor:
        """``audio (B, T, C)`` -> ``pose (B, T, 9)`` with noise drawn from ``generator`` (or a fresh one
        seeded with ``seed``; the global RNG when both are None): the same seed gives the same motion."""
        if generator is None and seed is not None:
            generator = torch.Generator().manual_seed(seed)
        noise = self.sample_noise(audio.shape[0], generator=generator, dtype=audio.dtype, device=audio.device)
        return self(audio=audio, noise=noise)

    # -- forward ----------------------------------------------------------------------------------
    def forward(self, audio: Tensor, noise: Tensor) -> Tensor:
        c = self.config
        if audio.dim() != 3 or audio.shape[-1] != c.audio_dim or audio.shape[1] < 1:
            raise InputError(f"'audio' must be (B, T, {c.audio_dim}) with T >= 1, got {tuple(audio.shape)}")
        if noise.shape != (audio.shape[0], c.noise_dim):
            raise InputError(f"'noise' must be ({audio.shape[0]}, {c.noise_dim}), got {tuple(noise.shape)}")
        frames = audio.shape[1]
        z = repeat(noise.to(audio.dtype), "b n -> b t n", t=frames)
        h = self.input(torch.cat((audio, z), dim=-1)) + sinusoidal_positions(frames, c.hidden, audio)
        h = self.transformer(h)
        h = rearrange(self.res(rearrange(h, "b t c -> b c t")), "b c t -> b t c")
        raw = self.head(h) + h.new_tensor(IDENTITY_POSE)
        rotations = rotation_6d_to_matrix(raw[..., :6], check=False)
        return relative_to_first(rotations, raw[..., 6:])
