"""Driver ``speech``: an audio file -> per-frame Whisper features and a relative head motion.

The session reads it like any driver (:class:`~emoportraits_core.interfaces.Driver`); the ``speak``
pipeline turns its two outputs into a Motion per frame (E_aud on ``audio``, the source's pose moved
by ``pose``: :mod:`.speech_motion`).

- ``audio (B, C)``: Whisper encoder states at the output frame rate (:class:`WhisperStream`: the file
  decoded in chunks, 30 s windows cross-faded, each row at its frame's centre). Frames =
  ``frames_for(samples, fps)``: the audio's length at ``fps``, rounded to the nearest frame.
- ``pose (B, 9)``: the head motion relative to the first frame (6D rotation + translation,
  :mod:`emoportraits_plugins.audio_pose.pose`):

  - ``pose = "generator"``: the audio-to-pose generator, run on windows of ``pose_window`` frames
    (its transformer sees a whole window), each window's motion continuing from the last frame of
    the one before; the noise of window ``k`` is the ``k``-th draw of a generator seeded with
    ``seed``: the same seed and audio give the same motion. ``pose_scale`` in [0, 1] damps it.
  - ``pose = "still"``: the identity (the source's own pose throughout).
  - ``pose = "file"``: the head motion of a motion file (``emoportraits extract-motion``) relative
    to its first frame; past its last frame the last pose is held.

Networks: Whisper from ``whisper`` (a local directory; "" = a seeded random encoder, warned), the
generator from ``pose_weights`` (a project checkpoint holding a component ``audio_pose_generator``,
e.g. a ``train_audio_pose`` run's ``model.safetensors``; "" = seeded random weights of
``pose_preset``, warned). Both are frozen into non-persistent buffers: the driver has no state dict,
so the image model's checkpoint never holds them. Memory stays flat in the audio's length: one
Whisper window and one pose window at a time.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any, Literal

import attrs
import torch
from torch import Tensor

from emoportraits_core import PortSpec
from emoportraits_core.checkpoint import load_into, read_checkpoint, split_by_component
from emoportraits_core.errors import InputError
from emoportraits_core.geometry import matrix_to_rotation_6d
from emoportraits_core.interfaces import Driver, StreamInfo
from emoportraits_core.validators import in_range, positive

from ..audio import WhisperStream, frames_for, iter_audio
from ..audio.features import load_frozen_whisper
from ..lossnets._frozen import warn_once

__all__ = [
    "AUDIO_SUFFIXES",
    "SpeechDriver",
    "SpeechDriverConfig",
    "whisper_rows",
    "write_test_wav",
]

#: files :meth:`SpeechDriver.accepts` (any file with an audio track is read).
AUDIO_SUFFIXES = frozenset({".wav", ".flac", ".mp3", ".m4a", ".aac", ".ogg", ".opus", ".wma"})

_CHUNK_SECONDS = 2.0


@attrs.frozen
class SpeechDriverConfig:
    """Config of :class:`SpeechDriver` (module docstring).

    Attributes:
        whisper: local Whisper directory ("" = random: ``random_whisper`` geometry).
        random_whisper: ``"tiny"`` (whisper-tiny's, 384 channels) or ``"test"`` (64 channels).
        audio_dim: C the pipeline's networks read; the Whisper model must give it.
        fps: output frames per second.
        pose: ``"generator"``, ``"still"`` or ``"file"``.
        pose_weights: project checkpoint with an ``audio_pose_generator`` ("" = random, warned).
        pose_preset: the random generator's preset (``release`` or ``tiny``).
        pose_file: the motion file of ``pose = "file"``.
        pose_scale: damping of the head motion, 0 (still) .. 1 (as generated or recorded).
        pose_window: frames per generator call.
        seed: seed of the generator's noise.
    """

    whisper: str = ""
    random_whisper: Literal["tiny", "test"] = "tiny"
    audio_dim: int = attrs.field(default=384, validator=positive)
    fps: float = attrs.field(default=25.0, validator=in_range(1.0, 240.0))
    pose: Literal["generator", "still", "file"] = "generator"
    pose_weights: str = ""
    pose_preset: Literal["release", "tiny"] = "release"
    pose_file: str = ""
    pose_scale: float = attrs.field(default=1.0, validator=in_range(0.0, 1.0))
    pose_window: int = attrs.field(default=250, validator=positive)
    seed: int = 0

    def __attrs_post_init__(self) -> None:
        if self.pose == "file" and not self.pose_file:
            raise ValueError("pose = 'file' needs 'pose_file' (a motion file)")


class SpeechDriver(Driver):
    """Audio file -> ``{"audio": (B, C), "pose": (B, 9)}`` per batch of output frames."""

    outputs = {"audio": "audio_features", "pose": "pose_sequence"}

    def __init__(self, config: SpeechDriverConfig | None = None) -> None:
        super().__init__(config or SpeechDriverConfig())
        from ..lossnets._frozen import freeze

        c = self.config
        self.whisper = load_frozen_whisper(c.whisper, c.random_whisper, c.audio_dim, "speech driver")
        self.generator = freeze(self._pose_generator()) if c.pose == "generator" else None

    def _pose_generator(self) -> torch.nn.Module:
        from ..audio_pose import NETWORKS

        cls, config_cls, presets = NETWORKS["audio_pose_generator"]
        c = self.config
        if not c.pose_weights:
            warn_once(
                "pose generator",
                "speech driver: no pose generator weights (--pose-checkpoint), using a random generator "
                "(only for tests and smoke runs)",
                stacklevel=3,
            )
            with torch.random.fork_rng(devices=[]):
                torch.manual_seed(c.seed)
                return cls(config_cls(**{**presets[c.pose_preset], "audio_dim": c.audio_dim})).eval()
        ckpt = read_checkpoint(c.pose_weights)
        keys = [k for k, v in ckpt.components.items() if v.get("name") == "audio_pose_generator"]
        if not keys:
            raise InputError(
                f"{c.pose_weights}: no audio_pose_generator in this checkpoint (it holds "
                f"{', '.join(sorted(ckpt.components)) or 'no components'}); expected a train_audio_pose run's"
            )
        key = keys[0]
        try:
            config = config_cls(**ckpt.components[key].get("config", {}))
        except (TypeError, ValueError) as exc:
            raise InputError(f"{c.pose_weights} [component {key}]: unreadable config ({exc})") from None
        if config.audio_dim != c.audio_dim:
            raise InputError(
                f"{c.pose_weights}: the pose generator reads {config.audio_dim}-channel audio features, "
                f"the Whisper model gives {c.audio_dim}; use the Whisper it was trained with"
            )
        generator = cls(config)
        load_into(
            generator, split_by_component(ckpt.tensors)[key], where=f"{c.pose_weights} [component {key}]"
        )
        return generator.eval()

    def output_specs(self) -> dict[str, PortSpec]:
        return {
            "audio": PortSpec("audio_features", ("B", self.config.audio_dim)),
            "pose": PortSpec("pose_sequence", ("B", 9)),
        }

    def train(self, mode: bool = True) -> SpeechDriver:
        """Ignore ``mode``: the driver's networks are frozen."""
        return super().train(False)

    @classmethod
    def accepts(cls, path: str | Path) -> bool:
        """Audio files by their suffix (a video's audio is read too when named explicitly)."""
        return Path(path).suffix.lower() in AUDIO_SUFFIXES

    def probe(self, path: str | Path) -> StreamInfo:
        samples = sum(len(chunk) for chunk in iter_audio(path, 30.0))
        if samples == 0:
            raise InputError(f"{path}: no audio samples; expected speech (silence is fine, but not nothing)")
        frames = frames_for(samples, self.config.fps)
        if frames == 0:
            raise InputError(
                f"{path}: {samples} samples are shorter than one frame at {self.config.fps:g} fps"
            )
        seconds = samples / 16000
        desc = f"{Path(path).name}: {seconds:.2f} s of audio -> {frames} frames at {self.config.fps:g} fps"
        return StreamInfo(frames, float(self.config.fps), Path(path), desc)

    # -- the stream ---------------------------------------------------------------------------------------
    def stream(self, path: str | Path, batch_size: int) -> Iterator[Mapping[str, Any]]:
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        window = self.config.pose_window  # not the batch size: the motion must not depend on it
        poses = _PoseTrack(self)
        pending: list[Tensor] = []
        held = 0
        for rows in self._rows(path):
            pending.append(rows)
            held += len(rows)
            while held >= window:
                block = torch.cat(pending)
                pending, held = [block[window:]], held - window
                yield from _batches(block[:window], poses(block[:window]), batch_size)
        if held:
            block = torch.cat(pending)
            yield from _batches(block, poses(block), batch_size)

    def _rows(self, path: str | Path) -> Iterator[Tensor]:
        """The per-frame Whisper rows ``(k, C)``, as they become final."""
        return whisper_rows(self.whisper, iter_audio(path, _CHUNK_SECONDS), self.config.fps)

    # -- conformance ----------------------------------------------------------------------------------
    def conformance_sources(self, tmp_dir: str | Path) -> list[Path]:
        """Speech-like WAV files of 1 and 7 frames (7: not a multiple of small batch sizes)."""
        return [write_test_wav(Path(tmp_dir) / f"speech_{n}.wav", n / self.config.fps, n) for n in (1, 7)]

    def conformance_long_source(self, tmp_dir: str | Path, frames: int) -> Path:
        """A WAV file of ``frames`` frames."""
        return write_test_wav(Path(tmp_dir) / "long.wav", frames / self.config.fps, 3)


def write_test_wav(path: Path, seconds: float, seed: int) -> Path:
    """A 16 kHz mono 16-bit WAV of ``seconds`` of a noisy 150 Hz tone (speech-like enough for tests)."""
    import wave

    n = round(seconds * 16000)
    t = torch.arange(n) / 16000
    noise = torch.randn(n, generator=torch.Generator().manual_seed(seed))
    wave_ = (0.3 * torch.sin(2 * torch.pi * 150 * t) + 0.05 * noise).clamp(-1, 1)
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(16000)
        w.writeframes((wave_ * 32767).to(torch.int16).numpy().tobytes())
    return path


def whisper_rows(encoder: torch.nn.Module, chunks: Iterable[Tensor], fps: float) -> Iterator[Tensor]:
    """Audio chunks -> the Whisper rows ``(k, C)`` of the frames at ``fps`` as they become final
    (:class:`WhisperStream`); all of them once the chunks end."""
    stream = WhisperStream(encoder, fps=fps)
    with torch.inference_mode():
        for chunk in chunks:
            rows = stream.push(chunk)
            if len(rows):
                yield rows
        rows = stream.flush()
        if len(rows):
            yield rows


class _PoseTrack:
    """The ``pose`` output, block after block of rows (module docstring, ``pose``): call with the rows
    ``(n, C)`` of the next ``n`` frames, get their ``(n, 9)`` poses relative to the stream's frame 0."""

    def __init__(self, driver: SpeechDriver) -> None:
        from ..audio_pose.pose import IDENTITY_POSE

        self.driver, self.config = driver, driver.config
        self.noise = torch.Generator().manual_seed(self.config.seed)
        self.identity = torch.tensor(IDENTITY_POSE)
        self.last_r, self.last_t = torch.eye(3), torch.zeros(3)  # the previous block's last pose
        self.motion = _file_motion(self.config.pose_file) if self.config.pose == "file" else None
        self.done = 0

    def __call__(self, rows: Tensor) -> Tensor:
        from ..audio_pose.pose import pose_scale, to_absolute

        n, c = len(rows), self.config
        if c.pose == "still":
            poses = self.identity.expand(n, 9).clone()
        elif self.motion is not None:
            poses = self.motion[torch.arange(self.done, self.done + n).clamp(max=len(self.motion) - 1)]
        else:
            with torch.inference_mode():
                rel = self.driver.generator.generate(rows[None].float(), generator=self.noise)[0].cpu()
            r, t = to_absolute(rel, self.last_r, self.last_t)  # continue from the block before
            self.last_r, self.last_t = r[-1], t[-1]
            poses = torch.cat([matrix_to_rotation_6d(r), t], dim=-1)  # relative to the stream's frame 0
        self.done += n
        return pose_scale(poses, c.pose_scale) if c.pose_scale < 1.0 else poses


def _file_motion(path: str) -> Tensor:
    """The head motion of a motion file, ``(N, 9)`` relative to its first frame (small: 12 numbers a frame)."""
    from safetensors import safe_open

    from ..audio_pose.pose import relative_to_first
    from ..motion.format import read_header

    header = read_header(path)
    if header.num_frames < 1:
        raise InputError(f"{path}: the motion file has no frames")
    with safe_open(str(path), framework="pt") as f:
        rotation, translation = f.get_tensor("rotation").float(), f.get_tensor("translation").float()
    return relative_to_first(rotation, translation)


def _batches(rows: Tensor, poses: Tensor, batch_size: int) -> Iterator[dict[str, Tensor]]:
    for start in range(0, len(rows), batch_size):
        yield {"audio": rows[start : start + batch_size], "pose": poses[start : start + batch_size]}
