"""Reading audio for speech drivers: any media file (or its bytes) -> mono float32 at a fixed rate.

Any input FFmpeg reads works: WAV, FLAC, MP3, M4A/AAC, OGG, and the first audio track of a video.
The samples follow the conventions of :func:`emoportraits_core.io.load_audio` (which the ``prepare``
command uses) and give the same values: channels averaged into mono (a plain mean, so a stereo
signal cannot clip), resampled by FFmpeg's resampler (swr), float32 clipped to ``[-1, 1]``.
Unlike ``load_audio``, the source may also be bytes, and :func:`iter_audio` decodes in a stream
(memory stays flat for files of any length).
"""

from __future__ import annotations

import io
import os
from collections.abc import Iterator
from pathlib import Path

import av
import numpy as np
import torch
from torch import Tensor

from emoportraits_core.errors import InputError
from emoportraits_core.io.video import av_reason

__all__ = ["AudioSource", "iter_audio", "read_audio"]

AudioSource = str | os.PathLike[str] | bytes
"""A media file: a path, or the bytes of the whole file."""

_EXPECTED = "expected an audio file (WAV, FLAC, MP3, M4A, OGG, ...) or a video with an audio track"


def read_audio(source: AudioSource, *, sample_rate: int = 16000) -> Tensor:
    """Decode the first audio track of ``source`` to a mono waveform.

    Args:
        source: a media file path, or the bytes of one.
        sample_rate: output rate in Hz.

    Returns:
        ``(T,)`` float32 in ``[-1, 1]``, ``T ~= duration * sample_rate`` (silence is valid: zeros).

    Raises:
        InputError: missing, empty or unreadable file, no audio track, or no samples.
    """
    return torch.cat(list(iter_audio(source, 60.0, sample_rate=sample_rate)))


def iter_audio(source: AudioSource, chunk_seconds: float, *, sample_rate: int = 16000) -> Iterator[Tensor]:
    """Decode ``source`` like :func:`read_audio`, in chunks of ``chunk_seconds``, holding one at a time.

    The source is opened (and checked) when this is called; decoding happens as the chunks are
    taken. Concatenated, the chunks equal :func:`read_audio`'s waveform.

    Args:
        source: a media file path, or the bytes of one.
        chunk_seconds: length of each chunk, > 0; ``round(chunk_seconds * sample_rate)`` samples
            (at least 1) per chunk, the last one shorter.
        sample_rate: output rate in Hz.

    Yields:
        ``(n,)`` float32 in ``[-1, 1]``.

    Raises:
        InputError: missing, empty or unreadable file, or no audio track (at the call); a decoding
            failure, or no samples at all (while iterating).
    """
    if sample_rate <= 0:
        raise ValueError(f"sample_rate must be positive, got {sample_rate}")
    if not chunk_seconds > 0:
        raise ValueError(f"chunk_seconds must be positive, got {chunk_seconds}")
    name, container = _open(source)
    return _chunks(container, name, max(1, round(chunk_seconds * sample_rate)), sample_rate)


def _open(source: AudioSource) -> tuple[str, av.container.InputContainer]:
    """The source's name for messages and its opened container, with at least one audio stream."""
    if isinstance(source, bytes | bytearray | memoryview):
        name, data = f"<{len(source)} bytes of audio>", bytes(source)
        if not data:
            raise InputError(f"{name}: no data; {_EXPECTED}")
        file: io.BytesIO | str = io.BytesIO(data)
    else:
        path = Path(source)
        name, file = str(path), str(path)
        if not path.is_file():
            raise InputError(f"{name}: no such file; {_EXPECTED}")
        if path.stat().st_size == 0:
            raise InputError(f"{name}: empty file; {_EXPECTED}")
    try:
        container = av.open(file, mode="r")
    except (av.FFmpegError, OSError, UnicodeDecodeError) as exc:
        raise InputError(f"{name}: not a readable media file ({av_reason(exc)}); {_EXPECTED}") from None
    if not container.streams.audio:
        container.close()
        raise InputError(f"{name}: no audio track; {_EXPECTED}")
    return name, container


def _chunks(container: av.container.InputContainer, name: str, size: int, rate: int) -> Iterator[Tensor]:
    """Decode, resample, mix to mono and cut into ``size``-sample chunks."""
    pending: list[np.ndarray] = []
    held = 0
    total = 0
    with container:
        stream = container.streams.audio[0]
        stream.thread_type = "AUTO"
        for block in _mono_blocks(container, stream, name, rate):
            pending.append(block)
            held += len(block)
            if held < size:
                continue
            joined = np.concatenate(pending)
            full = held - held % size
            for start in range(0, full, size):
                yield _tensor(joined[start : start + size])
            total += full
            pending, held = [joined[full:]], held - full
    if held:
        total += held
        yield _tensor(np.concatenate(pending))
    if total == 0:
        raise InputError(f"{name}: the audio track has no samples; {_EXPECTED}")


def _mono_blocks(container, stream, name: str, rate: int) -> Iterator[np.ndarray]:
    """``(n,)`` float64 mono blocks of the resampled track, in order."""
    resampler = av.AudioResampler(format="fltp", rate=rate)
    try:
        for frame in container.decode(stream):
            for out in resampler.resample(frame):
                yield out.to_ndarray().mean(axis=0, dtype=np.float64)
        for out in resampler.resample(None):
            yield out.to_ndarray().mean(axis=0, dtype=np.float64)
    except av.FFmpegError as exc:
        raise InputError(f"{name}: audio decoding failed ({av_reason(exc)}); {_EXPECTED}") from None


def _tensor(wave: np.ndarray) -> Tensor:
    return torch.from_numpy(np.clip(wave, -1.0, 1.0).astype(np.float32))
