"""Loading audio tracks as mono waveforms (for speech drivers).

Any file FFmpeg reads works: WAV, MP3, FLAC, OGG, M4A, and the audio track of a video. Channels
are averaged into mono (a plain mean, so a stereo signal cannot clip), resampled with FFmpeg's
resampler (swr) to the requested rate and returned as float32 in ``[-1, 1]``.
"""

from __future__ import annotations

import os
from pathlib import Path

import av
import numpy as np
import torch
from torch import Tensor

from ..errors import InputError
from .video import av_reason

__all__ = ["check_audio_file", "load_audio"]

_EXPECTED = "expected an audio file (WAV, MP3, FLAC, M4A, ...) or a video with an audio track"


def check_audio_file(path: str | os.PathLike[str], *, what: str = "") -> Path:
    """Check that ``path`` is a readable media file with an audio stream (nothing is decoded).

    Raises:
        InputError: missing, empty or unreadable file, or no audio stream (``what`` prefixes the name,
            e.g. ``"--audio"``).
    """
    path = Path(path)
    name = f"{what} {path}".strip()
    if not path.is_file():
        raise InputError(f"{name}: no such file; {_EXPECTED}")
    if path.stat().st_size == 0:
        raise InputError(f"{name}: empty file; {_EXPECTED}")
    try:
        with av.open(str(path)) as container:
            if not container.streams.audio:
                raise InputError(f"{name}: no audio stream; {_EXPECTED}")
    except (av.FFmpegError, OSError, UnicodeDecodeError) as exc:
        raise InputError(f"{name}: not a readable media file ({av_reason(exc)}); {_EXPECTED}") from None
    return path


def load_audio(path: str | os.PathLike[str], sample_rate: int = 16000) -> Tensor:
    """Decode the first audio track of ``path`` to a mono waveform.

    Args:
        path: audio or video file.
        sample_rate: output rate in Hz.

    Returns:
        ``(T,)`` float32 in ``[-1, 1]``, ``T ~= duration * sample_rate``.

    Raises:
        InputError: missing, unreadable or empty file, no audio stream, or no samples.
    """
    path = Path(path)
    if sample_rate <= 0:
        raise ValueError(f"sample_rate must be positive, got {sample_rate}")
    if not path.is_file():
        raise InputError(f"{path}: no such audio file")
    if path.stat().st_size == 0:
        raise InputError(f"{path}: empty file; {_EXPECTED}")
    try:
        container = av.open(str(path))
    except (av.FFmpegError, OSError, UnicodeDecodeError) as exc:
        raise InputError(f"{path}: not a readable media file ({av_reason(exc)}); {_EXPECTED}") from None
    chunks: list[np.ndarray] = []
    with container:
        if not container.streams.audio:
            raise InputError(f"{path}: no audio stream; {_EXPECTED}")
        stream = container.streams.audio[0]
        stream.thread_type = "AUTO"
        resampler = av.AudioResampler(format="fltp", rate=sample_rate)
        try:
            for frame in container.decode(stream):
                chunks += [f.to_ndarray() for f in resampler.resample(frame)]
            chunks += [f.to_ndarray() for f in resampler.resample(None)]
        except av.FFmpegError as exc:
            raise InputError(f"{path}: audio decoding failed ({av_reason(exc)}); {_EXPECTED}") from None
    if not chunks:
        raise InputError(f"{path}: the audio stream has no samples; {_EXPECTED}")
    wave = np.concatenate(chunks, axis=1).mean(axis=0, dtype=np.float64)  # (channels, T) -> (T,)
    return torch.from_numpy(np.clip(wave, -1.0, 1.0).astype(np.float32))
