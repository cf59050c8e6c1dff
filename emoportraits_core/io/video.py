"""Reading videos in streams with PyAV: probe the header, then decode frames in batches.

Conventions:

- frames come out upright: the container's display matrix (phone videos) is applied, rounded to a
  multiple of 90 degrees; mirror flips in the matrix are ignored;
- ``width`` / ``height`` / frames are the *displayed* size (after rotation);
- colour: YUV -> RGB with the frame's own colour matrix and range (BT.601 when untagged);
- variable frame rate: frames are yielded in order, one per decoded frame; the nominal rate is the
  stream's average rate (``average_rate``, else ``guessed_rate``, else 25);
- a frame whose size differs from the first one (a mid-stream resolution change) is rescaled to
  the first frame's size;
- nothing holds more than one batch of decoded frames.

Every unreadable, empty or non-video file raises :class:`InputError` naming the file.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from fractions import Fraction
from pathlib import Path

import attrs
import av
import numpy as np
import torch
from torch import Tensor

from ..errors import InputError

__all__ = ["VideoInfo", "iter_frame_arrays", "iter_frames", "probe_video", "rotate_array"]

_DEFAULT_RATE = Fraction(25)
_EXPECTED = "expected a video file (MP4, MOV, MKV, WebM, AVI)"


@attrs.frozen
class VideoInfo:
    """Header of a video file.

    Attributes:
        path: the file.
        width, height: displayed frame size in pixels (after applying ``rotation``).
        fps: nominal frames per second (float).
        rate: the same as an exact fraction (e.g. ``30000/1001``), for writing.
        num_frames: frame count from the header, else ``round(duration * fps)``, else None.
        rotation: counter-clockwise degrees (0, 90, 180, 270) applied to coded frames for display.
        has_audio: True if the file has an audio stream.
        codec: video codec name (e.g. ``"h264"``).
        duration: seconds, or None if unknown.
        audio_codec: audio codec name, or None.
    """

    path: Path
    width: int
    height: int
    fps: float
    rate: Fraction
    num_frames: int | None
    rotation: int
    has_audio: bool
    codec: str
    duration: float | None
    audio_codec: str | None = None

    def describe(self) -> str:
        """One line for logs."""
        frames = "?" if self.num_frames is None else str(self.num_frames)
        audio = f", audio {self.audio_codec}" if self.has_audio else ", no audio"
        rot = f", rotated {self.rotation}" if self.rotation else ""
        return f"{self.path.name}: {self.width}x{self.height} {self.codec}, {self.fps:.3g} fps, {frames} frames{rot}{audio}"


def probe_video(path: str | os.PathLike[str]) -> VideoInfo:
    """Read the header of a video (and decode its first frame, to check it and find the rotation).

    Raises:
        InputError: missing, unreadable or empty file, or no video stream.
    """
    path = Path(path)
    with _open(path) as container:
        stream = _video_stream(container, path)
        rate = _rate_of(stream)
        first = _first_frame(container, stream, path)
        rotation = _rotation_of(first)
        w, h = first.width, first.height
        if rotation in (90, 270):
            w, h = h, w
        duration = _duration_of(stream, container)
        num_frames: int | None = int(stream.frames) if stream.frames else None
        if num_frames is None and duration is not None:
            num_frames = max(1, round(duration * float(rate)))
        audio = container.streams.audio
        return VideoInfo(
            path=path,
            width=w,
            height=h,
            fps=float(rate),
            rate=rate,
            num_frames=num_frames,
            rotation=rotation,
            has_audio=bool(audio),
            codec=stream.codec_context.name,
            duration=duration,
            audio_codec=audio[0].codec_context.name if audio else None,
        )


def iter_frame_arrays(path: str | os.PathLike[str]) -> Iterator[np.ndarray]:
    """Yield the frames of a video one by one as ``(H, W, 3)`` uint8 RGB arrays, upright.

    Raises:
        InputError: unreadable file, no video stream, no decodable frame, or a decoding error.
    """
    path = Path(path)
    with _open(path) as container:
        stream = _video_stream(container, path)
        stream.thread_type = "AUTO"
        size: tuple[int, int] | None = None
        index = 0
        try:
            for frame in container.decode(stream):
                if size is None:
                    size = (frame.width, frame.height)
                yield rotate_array(_to_rgb(frame, size), _rotation_of(frame))
                index += 1
        except av.FFmpegError as exc:
            raise InputError(
                f"{path}: video decoding failed at frame {index} ({av_reason(exc)}); {_EXPECTED}"
            ) from None
        if index == 0:
            raise InputError(f"{path}: the video stream has no decodable frames; {_EXPECTED}")


def iter_frames(
    path: str | os.PathLike[str], batch_size: int, *, dtype: torch.dtype = torch.float32
) -> Iterator[Tensor]:
    """Yield batches ``(B, 3, H, W)`` of at most ``batch_size`` frames, in order.

    ``dtype`` float -> values in ``[0, 1]``; ``torch.uint8`` -> values in ``[0, 255]``.
    """
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    batch: list[np.ndarray] = []
    for arr in iter_frame_arrays(path):
        batch.append(arr)
        if len(batch) == batch_size:
            yield _stack(batch, dtype)
            batch = []
    if batch:
        yield _stack(batch, dtype)


def rotate_array(arr: np.ndarray, rotation: int) -> np.ndarray:
    """Rotate an ``(H, W, ...)`` array counter-clockwise by ``rotation`` degrees (multiple of 90)."""
    k = (round(rotation / 90.0)) % 4
    return np.ascontiguousarray(np.rot90(arr, k)) if k else arr


# -- helpers ---------------------------------------------------------------------------------------
def av_reason(exc: BaseException) -> str:
    """The reason of a PyAV/OS error without the file name FFmpeg repeats in ``str(exc)``."""
    return getattr(exc, "strerror", None) or str(exc).splitlines()[0]


def _open(path: Path) -> av.container.InputContainer:
    if not path.is_file():
        raise InputError(f"{path}: no such video file")
    if path.stat().st_size == 0:
        raise InputError(f"{path}: empty file; {_EXPECTED}")
    try:
        return av.open(str(path), mode="r")
    except (av.FFmpegError, OSError, UnicodeDecodeError) as exc:
        raise InputError(f"{path}: not a readable video ({av_reason(exc)}); {_EXPECTED}") from None


def _video_stream(container: av.container.InputContainer, path: Path) -> av.video.stream.VideoStream:
    if not container.streams.video:
        raise InputError(f"{path}: no video stream; {_EXPECTED}")
    return container.streams.video[0]


def _first_frame(container, stream, path: Path) -> av.VideoFrame:
    try:
        for frame in container.decode(stream):
            return frame
    except av.FFmpegError as exc:
        raise InputError(f"{path}: video decoding failed ({av_reason(exc)}); {_EXPECTED}") from None
    raise InputError(f"{path}: the video stream has no decodable frames; {_EXPECTED}")


def _rate_of(stream) -> Fraction:
    for rate in (stream.average_rate, stream.guessed_rate, stream.base_rate):
        if rate is not None and rate > 0 and float(rate) < 1000:
            return Fraction(rate)
    return _DEFAULT_RATE


def _duration_of(stream, container) -> float | None:
    if stream.duration is not None and stream.time_base is not None:
        return float(stream.duration * stream.time_base)
    if container.duration is not None:
        return container.duration / av.time_base
    return None


def _rotation_of(frame: av.VideoFrame) -> int:
    """Counter-clockwise display rotation in {0, 90, 180, 270} (FFmpeg's display-matrix angle)."""
    try:
        angle = float(frame.rotation)
    except (AttributeError, ValueError, TypeError):
        return 0
    return round(angle / 90.0) % 4 * 90


def _to_rgb(frame: av.VideoFrame, size: tuple[int, int]) -> np.ndarray:
    w, h = size
    kwargs = {"src_color_range": frame.color_range or None}
    if (frame.width, frame.height) != (w, h):
        kwargs.update(width=w, height=h, interpolation="BICUBIC")
    return frame.to_ndarray(format="rgb24", **kwargs)


def _stack(batch: list[np.ndarray], dtype: torch.dtype) -> Tensor:
    t = torch.from_numpy(np.stack(batch)).permute(0, 3, 1, 2).contiguous()
    if dtype == torch.uint8:
        return t
    return t.to(dtype).div_(255.0)
