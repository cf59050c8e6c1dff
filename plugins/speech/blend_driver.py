"""Driver ``blend``: a driving video's face crops with a speech file's Whisper features, frame by frame.

The ``blend`` pipeline takes the head pose and the upper face from the video and the mouth from the
speech (:mod:`.mouth_blend`). Per batch: ``driver (B, 3, S, S)`` as the video driver gives them
(:class:`~emoportraits_plugins.drivers.video.VideoDriver`: tracked, smoothed release crops) and
``audio (B, C)``: the Whisper rows of the speech file at the video's frame rate. The output has the
video's frame count and carries the speech: shorter speech is padded with silence, longer speech is
cut at the video's end.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any, Literal

import attrs
import torch
from torch import Tensor

from emoportraits_core import PortSpec
from emoportraits_core.errors import InputError
from emoportraits_core.interfaces import StreamInfo
from emoportraits_core.io.image import is_image_file
from emoportraits_core.validators import positive

from ..audio import iter_audio
from ..audio.features import load_frozen_whisper
from ..drivers.video import VideoDriver, VideoDriverConfig
from .driver import whisper_rows, write_test_wav

__all__ = ["BlendDriver", "BlendDriverConfig"]

_CHUNK_SECONDS = 2.0


@attrs.frozen
class BlendDriverConfig(VideoDriverConfig):
    """The video driver's fields (crop, size, smoothing, detector) and the speech: ``speech`` (the
    audio file), ``whisper`` ("" = random of ``random_whisper`` geometry, warned), ``audio_dim``."""

    speech: str = ""
    whisper: str = ""
    random_whisper: Literal["tiny", "test"] = "tiny"
    audio_dim: int = attrs.field(default=384, validator=positive)


class BlendDriver(VideoDriver):
    """Video + speech file -> ``{"driver": crops (B, 3, S, S), "audio": (B, C)}`` per batch."""

    outputs = {"driver": "image", "audio": "audio_features"}

    def __init__(self, config: BlendDriverConfig | None = None) -> None:
        super().__init__(config or BlendDriverConfig())
        c = self.config
        self.whisper = load_frozen_whisper(c.whisper, c.random_whisper, c.audio_dim, "blend driver")
        self.speech = c.speech  # the config's; the conformance hook points it at a test file

    def output_specs(self) -> dict[str, PortSpec]:
        return {**super().output_specs(), "audio": PortSpec("audio_features", ("B", self.config.audio_dim))}

    def train(self, mode: bool = True) -> BlendDriver:
        """Ignore ``mode``: Whisper is frozen."""
        return super().train(False)

    def probe(self, path: str | Path) -> StreamInfo:
        info = super().probe(path)
        if info.still:
            raise InputError(f"{path}: a still picture; blend needs a driving video")
        speech = self._speech()
        if next(iter_audio(speech, _CHUNK_SECONDS), None) is None:
            raise InputError(
                f"{speech}: no audio samples; expected speech (silence is fine, but not nothing)"
            )
        return attrs.evolve(info, audio=speech, description=f"{info.description}; speech {speech.name}")

    def _speech(self) -> Path:
        if not self.speech:
            raise InputError("blend driver: no speech file (config 'speech'); give the AUDIO argument")
        path = Path(self.speech)
        if not path.is_file():
            raise InputError(f"{path}: no such file; expected the speech audio")
        return path

    def stream(self, path: str | Path, batch_size: int) -> Iterator[Mapping[str, Any]]:
        info = self.probe(path)
        rows = _Rows(whisper_rows(self.whisper, self._padded(info), info.fps))
        for batch in super().stream(path, batch_size):
            yield {**batch, "audio": rows.take(len(batch["driver"]))}

    def _padded(self, info: StreamInfo) -> Iterator[Tensor]:
        """The speech's chunks, then silence until the video's duration (plus a frame) is covered."""
        chunks = iter_audio(self._speech(), _CHUNK_SECONDS)
        needed = int(((info.num_frames or 0) + 1) / info.fps * 16000)
        seen = 0
        for chunk in chunks:
            seen += len(chunk)
            yield chunk
        size = int(_CHUNK_SECONDS * 16000)
        while seen < needed:
            yield torch.zeros(min(size, needed - seen))
            seen += min(size, needed - seen)

    # -- conformance ----------------------------------------------------------------------------------
    def conformance_sources(self, tmp_dir: str | Path) -> list[Path]:
        """The video driver's test video (not its still picture), with a test speech file (2 s)."""
        self.speech = str(write_test_wav(Path(tmp_dir) / "speech.wav", 2.0, 0))
        return [p for p in super().conformance_sources(tmp_dir) if not is_image_file(p)]

    def conformance_long_source(self, tmp_dir: str | Path, frames: int) -> Path:
        self.speech = str(write_test_wav(Path(tmp_dir) / "speech.wav", 2.0, 0))
        return super().conformance_long_source(tmp_dir, frames)


class _Rows:
    """Hands out Whisper rows ``n`` at a time from a stream of row blocks."""

    def __init__(self, blocks: Iterator[Tensor]) -> None:
        self.blocks, self.buffer = blocks, None

    def take(self, n: int) -> Tensor:
        parts = [] if self.buffer is None else [self.buffer]
        held = sum(len(p) for p in parts)
        while held < n:
            block = next(self.blocks, None)
            if block is None:  # cannot happen with the padding; repeat the last row if it does
                last = parts[-1][-1:]
                parts.append(last.expand(n - held, -1))
                break
            parts.append(block)
            held += len(block)
        joined = torch.cat(parts)
        self.buffer = joined[n:]
        return joined[:n]
