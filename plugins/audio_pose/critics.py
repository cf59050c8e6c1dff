"""The two WGAN critics of the audio -> head-pose GAN (EMOPortraits supplementary, section 3.3).

- :class:`LocalTemporalCritic`: a 1D temporal PatchGAN (after Isola et al. 2017): the pose sequence is
  cut into every window of N = 8 consecutive frames (stride 1), each window is scored by a Conv1d stack
  and the scores are averaged: frame-to-frame coherence.
- :class:`GlobalContentCritic`: the whole sequence through 1D residual blocks and global average
  pooling over time, concatenated with the time-averaged audio features, then an MLP: coherence of
  the whole sequence with its audio.

Both output one score per sequence ``(B,)`` with no sigmoid (WGAN-GP critics) and use no
normalisation layer (the gradient penalty is per item). The window N = 8 is the paper's; channel
widths and depths of the ``release`` defaults are ours.
"""

from __future__ import annotations

from typing import Any

import attrs
import torch
import torch.nn.functional as F
from einops import rearrange
from torch import Tensor, nn

from emoportraits_core import InputError, PortSpec
from emoportraits_core.validators import in_range, positive

from ._blocks import ResBlock1d
from .interface import SequenceCritic
from .pose import random_pose_sequence

__all__ = [
    "GlobalContentCritic",
    "GlobalContentCriticConfig",
    "LocalTemporalCritic",
    "LocalTemporalCriticConfig",
]


def _pose_spec() -> PortSpec:
    return PortSpec("pose_sequence", ("B", "T", 9))


def _score_spec() -> PortSpec:
    return PortSpec("critic_score", ("B",))


def _check_pose(pose: Tensor, min_frames: int) -> None:
    if pose.dim() != 3 or pose.shape[-1] != 9 or pose.shape[1] < min_frames:
        raise InputError(f"'pose' must be (B, T, 9) with T >= {min_frames}, got {tuple(pose.shape)}")


# -- local temporal critic ---------------------------------------------------------------------------


@attrs.frozen
class LocalTemporalCriticConfig:
    """Config of :class:`LocalTemporalCritic` (window: the paper's; widths: ours).

    Attributes:
        window: N, frames per patch (8 in the paper); the input needs T >= N.
        channels: output channels of the Conv1d blocks (kernel 3, stride 2, padding 1, LeakyReLU).
        negative_slope: of the LeakyReLUs.
        frames: T of the example inputs.
    """

    window: int = attrs.field(default=8, validator=positive)
    channels: tuple[int, ...] = attrs.field(default=(64, 128, 256), converter=tuple, validator=positive)
    negative_slope: float = attrs.field(default=0.2, validator=in_range(0.0, 1.0))
    frames: int = attrs.field(default=64, validator=positive)

    def __attrs_post_init__(self) -> None:
        if not self.channels:
            raise ValueError("'channels' must hold at least one width")
        if self.frames < self.window:
            raise ValueError(f"'frames' ({self.frames}) must be >= 'window' ({self.window})")


class LocalTemporalCritic(SequenceCritic):
    """``pose (B, T, 9)``, T >= N -> ``score (B,)``: mean PatchGAN score of every N-frame window."""

    def __init__(self, config: LocalTemporalCriticConfig | None = None) -> None:
        config = config if config is not None else LocalTemporalCriticConfig()
        super().__init__(config)
        layers: list[nn.Module] = []
        cin = 9
        for cout in config.channels:
            layers += [nn.Conv1d(cin, cout, 3, stride=2, padding=1), nn.LeakyReLU(config.negative_slope)]
            cin = cout
        self.blocks = nn.Sequential(*layers)
        self.score = nn.Conv1d(cin, 1, 1)

    def input_specs(self) -> dict[str, PortSpec]:
        return {"pose": _pose_spec()}

    def output_specs(self) -> dict[str, PortSpec]:
        return {"score": _score_spec()}

    def example_inputs(
        self, batch: int = 2, *, generator: Any = None, dtype: Any = torch.float32, device: Any = "cpu"
    ) -> dict[str, Any]:
        return {
            "pose": random_pose_sequence(
                batch, self.config.frames, generator=generator, dtype=dtype, device=device
            )
        }

    def window_scores(self, pose: Tensor) -> Tensor:
        """``pose (B, T, 9)`` -> ``(B, T - N + 1)`` scores, one per window of N frames (stride 1)."""
        n = self.config.window
        _check_pose(pose, n)
        windows = pose.unfold(1, n, 1)  # (B, W, 9, N)
        b = windows.shape[0]
        x = self.blocks(rearrange(windows, "b w c n -> (b w) c n"))
        return rearrange(self.score(x).mean(dim=(1, 2)), "(b w) -> b w", b=b)

    def forward(self, pose: Tensor) -> Tensor:
        return self.window_scores(pose).mean(dim=1)


# -- global content critic ---------------------------------------------------------------------------


@attrs.frozen
class GlobalContentCriticConfig:
    """Config of :class:`GlobalContentCritic` (sizes: ours).

    Attributes:
        audio_dim: C of the audio features (384: whisper-tiny).
        channels: width of the pose encoder (input 1x1 conv, residual blocks).
        res_blocks: 1D residual blocks over time.
        kernel_size: temporal kernel of the residual blocks (odd).
        mlp_hidden: width of the MLP's hidden layer.
        negative_slope: of the LeakyReLUs.
        frames: T of the example inputs (any T >= 1 runs).
    """

    audio_dim: int = attrs.field(default=384, validator=positive)
    channels: int = attrs.field(default=128, validator=positive)
    res_blocks: int = attrs.field(default=3, validator=positive)
    kernel_size: int = attrs.field(default=3, validator=positive)
    mlp_hidden: int = attrs.field(default=256, validator=positive)
    negative_slope: float = attrs.field(default=0.2, validator=in_range(0.0, 1.0))
    frames: int = attrs.field(default=64, validator=positive)

    def __attrs_post_init__(self) -> None:
        if self.kernel_size % 2 == 0:
            raise ValueError(f"'kernel_size' must be odd (length-preserving), got {self.kernel_size}")


class GlobalContentCritic(SequenceCritic):
    """``pose (B, T, 9)``, ``audio (B, T, C)`` -> ``score (B,)``: whole-sequence coherence with the audio."""

    inputs = {"pose": "pose_sequence", "audio": "audio_features"}

    def __init__(self, config: GlobalContentCriticConfig | None = None) -> None:
        config = config if config is not None else GlobalContentCriticConfig()
        super().__init__(config)
        c = config
        self.stem = nn.Conv1d(9, c.channels, 1)
        self.res = nn.Sequential(
            *(
                ResBlock1d(c.channels, c.kernel_size, c.negative_slope, norm=False)
                for _ in range(c.res_blocks)
            )
        )
        self.mlp = nn.Sequential(
            nn.Linear(c.channels + c.audio_dim, c.mlp_hidden),
            nn.LeakyReLU(c.negative_slope),
            nn.Linear(c.mlp_hidden, 1),
        )

    def input_specs(self) -> dict[str, PortSpec]:
        return {"pose": _pose_spec(), "audio": PortSpec("audio_features", ("B", "T", self.config.audio_dim))}

    def output_specs(self) -> dict[str, PortSpec]:
        return {"score": _score_spec()}

    def example_inputs(
        self, batch: int = 2, *, generator: Any = None, dtype: Any = torch.float32, device: Any = "cpu"
    ) -> dict[str, Any]:
        c = self.config
        pose = random_pose_sequence(batch, c.frames, generator=generator, dtype=dtype, device=device)
        audio = torch.randn(batch, c.frames, c.audio_dim, generator=generator, dtype=dtype).to(device)
        return {"pose": pose, "audio": audio}

    def forward(self, pose: Tensor, audio: Tensor) -> Tensor:
        c = self.config
        _check_pose(pose, 1)
        if audio.shape != (*pose.shape[:2], c.audio_dim):
            raise InputError(
                f"'audio' must be ({pose.shape[0]}, {pose.shape[1]}, {c.audio_dim}) for 'pose' {tuple(pose.shape)}, "
                f"got {tuple(audio.shape)}"
            )
        h = self.res(self.stem(rearrange(pose, "b t c -> b c t")))
        pooled = F.leaky_relu(h, c.negative_slope).mean(dim=2)
        return self.mlp(torch.cat((pooled, audio.mean(dim=1)), dim=-1)).squeeze(-1)
