"""``whisper_features``: waveforms -> Whisper encoder states, one row per video frame (a graph op).

Where a pipeline needs the audio of a clip as features (speech training: the clip's audio in the
batch, ``waveform (B, N)`` at 16 kHz): each item is encoded on its own
(:meth:`~.whisper.WhisperAudioEncoder.encode`: windows, cut padding) and aligned to ``fps``
(:func:`~.align.align_to_fps`, frame centres), giving ``audio (B, T, C)`` with
``T = frames_for(N, fps)``.

The Whisper encoder is frozen: its tensors are non-persistent buffers (no optimizer sees them, no
checkpoint holds them; they come from ``whisper``, a local directory, on every build), it runs in
eval mode without gradients. With ``whisper = ""`` it is a seeded random model (warned once):
``random = "tiny"`` has whisper-tiny's geometry (C = 384), ``"test"`` the 64-channel test model of
:func:`~.whisper.tiny_whisper_config`.
"""

from __future__ import annotations

from typing import Literal

import attrs
import torch
from torch import Tensor

from emoportraits_core import Component, PortSpec
from emoportraits_core.errors import ConfigError
from emoportraits_core.validators import positive

from .align import align_to_fps, frames_for
from .whisper import WhisperAudioEncoder, tiny_whisper_config

__all__ = ["WhisperFeatures", "WhisperFeaturesConfig", "load_frozen_whisper", "load_whisper"]


def load_whisper(path: str, random: Literal["tiny", "test"] = "tiny") -> WhisperAudioEncoder:
    """The Whisper encoder of directory ``path`` or, with ``path == ""``, a seeded random one of the
    ``random`` geometry (whisper-tiny, or the test model), with a one-time warning.

    Raises:
        InputError: see :meth:`WhisperAudioEncoder.from_directory`.
    """
    if path:
        return WhisperAudioEncoder.from_directory(path)
    from emoportraits_plugins.lossnets._frozen import warn_once

    warn_once(
        "Whisper",
        "Whisper: no model directory given (--whisper DIR), using a random encoder (only for tests "
        "and smoke runs)",
    )
    if random == "test":
        return WhisperAudioEncoder.from_config(tiny_whisper_config())
    from transformers import WhisperConfig

    return WhisperAudioEncoder.from_config(WhisperConfig())  # whisper-tiny's geometry


def load_frozen_whisper(
    path: str, random: Literal["tiny", "test"], audio_dim: int, what: str
) -> WhisperAudioEncoder:
    """:func:`load_whisper`, checked to give ``audio_dim`` channels, frozen into non-persistent
    buffers (no optimizer sees it, no checkpoint holds it). ``what`` names the user in messages.

    Raises:
        ConfigError: the model gives another number of channels.
    """
    from emoportraits_plugins.lossnets._frozen import freeze

    encoder = load_whisper(path, random)
    if encoder.hidden_size != audio_dim:
        where = path or f"the random '{random}' Whisper"
        raise ConfigError(
            f"{what}: {where} gives {encoder.hidden_size} channels, but audio_dim = {audio_dim} (the width "
            "the networks reading it take); use the Whisper size they were trained with, or set audio_dim"
        )
    return freeze(encoder)


@attrs.frozen
class WhisperFeaturesConfig:
    """``whisper``: a local Whisper directory ("" = random, see ``random``); ``fps``: frames per second
    of the rows; ``audio_dim``: C, checked against the model (declared ports); ``samples``: N of the
    example inputs (any N runs: the declared waveform length is free)."""

    whisper: str = ""
    random: Literal["tiny", "test"] = "tiny"
    fps: float = attrs.field(default=25.0, validator=positive)
    audio_dim: int = attrs.field(default=384, validator=positive)
    samples: int = attrs.field(default=6400, validator=positive)


class WhisperFeatures(Component):
    """``waveform (B, N)`` 16 kHz mono in [-1, 1] -> ``audio (B, T, C)`` per-frame Whisper states."""

    kind = "op"
    inputs = {"waveform": "waveform"}
    outputs = {"audio": "audio_features"}

    def __init__(self, config: WhisperFeaturesConfig) -> None:
        super().__init__(config)
        self.encoder = load_frozen_whisper(
            config.whisper, config.random, config.audio_dim, "whisper_features"
        )

    def train(self, mode: bool = True) -> WhisperFeatures:
        """Ignore ``mode``: Whisper is frozen."""
        return super().train(False)

    def input_specs(self) -> dict[str, PortSpec]:
        return {"waveform": PortSpec("waveform", ("B", "N"), (-1.0, 1.0))}

    def output_specs(self) -> dict[str, PortSpec]:
        return {"audio": PortSpec("audio_features", ("B", "T", self.config.audio_dim))}

    def example_inputs(
        self,
        batch: int = 2,
        *,
        generator: torch.Generator | None = None,
        dtype: torch.dtype = torch.float32,
        device: torch.device | str = "cpu",
    ) -> dict[str, Tensor]:
        """Noise ``waveform (B, samples)`` in [-1, 1]."""
        wave = torch.rand(batch, self.config.samples, generator=generator, dtype=dtype) * 2 - 1
        return {"waveform": (0.3 * wave).to(device)}

    @torch.no_grad()
    def forward(self, waveform: Tensor) -> Tensor:
        frames = frames_for(waveform.shape[-1], self.config.fps)
        rows = [
            align_to_fps(self.encoder.encode(w.float()), self.config.fps, frames) for w in waveform.unbind(0)
        ]
        return torch.stack(rows).to(waveform.dtype)
