"""Writing videos in streams: H.264 (libx264, yuv420p, BT.709 tagged) plus an optional audio track.

Conventions:

- frames are written as they come (``(B, 3, H, W)`` float in ``[0, 1]`` or uint8), quantised with
  :func:`~emoportraits_core.io.image.to_uint8` (round to nearest);
- odd sizes are padded by one replicated column / row (yuv420p needs even sizes); nothing is cropped;
- the frame rate is kept as an exact fraction (25, 30000/1001, ...); floats are turned into the
  closest fraction with a denominator <= 1001;
- ``audio_from``: the first audio track of that file (or of the media file held in ``bytes``) is
  copied in, interleaved with the video and trimmed to the video's duration. AAC is remuxed packet by packet without re-encoding (so the
  last packet may overrun the end by < 1 AAC frame, ~23 ms); anything else (WAV, MP3, Opus...) is
  transcoded to AAC and cut at the exact sample. A file without audio gives a silent video;
- the output is written to a temporary file next to ``path`` and renamed on success; an exception
  (Ctrl-C included) inside the ``with`` block leaves no file behind.
"""

from __future__ import annotations

import contextlib
import io
import os
from fractions import Fraction
from pathlib import Path
from types import TracebackType

import av
import numpy as np
from torch import Tensor

from ..errors import InputError
from .atomic import atomic_output
from .image import to_uint8
from .video import av_reason

__all__ = ["VideoWriter", "as_rate", "audio_track_bytes"]

_AAC_RATES = (96000, 88200, 64000, 48000, 44100, 32000, 24000, 22050, 16000, 12000, 11025, 8000)
_BT709 = 1  # AVCOL_PRI_BT709 == AVCOL_TRC_BT709 == AVCOL_SPC_BT709
_LIMITED = 1  # AVCOL_RANGE_MPEG


def as_rate(fps: float | Fraction | int) -> Fraction:
    """Frame rate as a fraction; floats snap to the nearest fraction with denominator <= 1001."""
    rate = fps if isinstance(fps, Fraction) else Fraction(fps).limit_denominator(1001)
    if rate <= 0:
        raise ValueError(f"frame rate must be positive, got {fps}")
    return rate


class VideoWriter:
    """Context manager writing an H.264 video, frame batches at a time.

    Args:
        path: output file (``.mp4`` recommended; ``.mov`` / ``.mkv`` work too).
        fps: frame rate (float, int or Fraction).
        size: ``(width, height)`` of the frames, or None to take it from the first batch.
        audio_from: media file (a path, or its bytes) whose first audio track is copied in, or None.
        crf: x264 constant rate factor (0 lossless .. 51; 18 is visually lossless).
        preset: x264 preset (``"ultrafast"`` .. ``"veryslow"``).

    Example:
        >>> with VideoWriter("out.mp4", 25, audio_from="drive.mp4") as w:  # doctest: +SKIP
        ...     for batch in batches:
        ...         w.write(batch)
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        fps: float | Fraction | int,
        size: tuple[int, int] | None = None,
        *,
        audio_from: str | os.PathLike[str] | bytes | None = None,
        crf: int = 18,
        preset: str = "medium",
    ) -> None:
        self.path = Path(path)
        self.rate = as_rate(fps)
        self.size = size
        self.audio_from = (
            audio_from if audio_from is None or isinstance(audio_from, bytes) else Path(audio_from)
        )
        self.crf = crf
        self.preset = preset
        self.frames_written = 0
        self._stack: contextlib.ExitStack | None = None
        self._container: av.container.OutputContainer | None = None
        self._stream = None
        self._audio: _AudioTrack | None = None

    # -- context manager -----------------------------------------------------------------------
    def __enter__(self) -> VideoWriter:
        self._stack = contextlib.ExitStack()
        tmp = self._stack.enter_context(atomic_output(self.path))
        options = {"movflags": "+faststart"} if tmp.suffix.lower() in (".mp4", ".mov", ".m4v") else {}
        try:
            self._container = av.open(str(tmp), mode="w", options=options)
        except (av.FFmpegError, ValueError) as exc:
            self._stack.__exit__(type(exc), exc, exc.__traceback__)
            raise InputError(
                f"{self.path}: cannot write a video here ({av_reason(exc)}); expected an .mp4 path"
            ) from None
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        assert self._stack is not None
        stack, self._stack = self._stack, None
        if exc_type is None:
            try:
                self._finish()
            except BaseException as err:
                self._abort()
                stack.__exit__(type(err), err, err.__traceback__)
                raise
            stack.__exit__(None, None, None)
        else:
            self._abort()
            stack.__exit__(exc_type, exc, tb)

    # -- writing -------------------------------------------------------------------------------
    def write(self, frames: Tensor) -> None:
        """Append frames ``(B, 3, H, W)`` (or one ``(3, H, W)``), float in ``[0, 1]`` or uint8."""
        if self._container is None:
            raise RuntimeError("VideoWriter.write called outside its `with` block")
        if frames.dim() == 3:
            frames = frames.unsqueeze(0)
        if frames.dim() != 4 or frames.shape[1] != 3:
            raise ValueError(f"VideoWriter.write: expected (B, 3, H, W), got {tuple(frames.shape)}")
        h, w = int(frames.shape[2]), int(frames.shape[3])
        if self._stream is None:
            self._start(w, h)
        if (w, h) != self.size:
            raise ValueError(
                f"VideoWriter.write: frames are {w}x{h}, the video is {self.size[0]}x{self.size[1]}"
            )
        arrays = to_uint8(frames.detach().cpu()).permute(0, 2, 3, 1).contiguous().numpy()
        for arr in arrays:
            self._encode(_pad_even(arr))
        if self._audio is not None:
            self._audio.advance(float(self.frames_written / self.rate))

    def _start(self, w: int, h: int) -> None:
        if self.size is None:
            self.size = (w, h)
        assert self._container is not None
        stream = self._container.add_stream("libx264", rate=self.rate)
        stream.width, stream.height = w + w % 2, h + h % 2
        stream.pix_fmt = "yuv420p"
        stream.options = {"crf": str(self.crf), "preset": self.preset}
        ctx = stream.codec_context
        ctx.color_primaries = ctx.color_trc = ctx.colorspace = _BT709
        ctx.color_range = _LIMITED
        self._stream = stream
        if self.audio_from is not None:
            self._audio = _AudioTrack.open(self.audio_from, self._container)

    def _encode(self, arr: np.ndarray) -> None:
        frame = av.VideoFrame.from_ndarray(arr, format="rgb24")
        frame = frame.reformat(format="yuv420p", dst_colorspace="ITU709", dst_color_range="MPEG")
        frame.pts = self.frames_written
        frame.time_base = 1 / self.rate
        self.frames_written += 1
        for packet in self._stream.encode(frame):
            self._container.mux(packet)

    def _finish(self) -> None:
        if self._stream is None:
            raise ValueError(f"VideoWriter: no frames were written to {self.path}")
        for packet in self._stream.encode(None):
            self._container.mux(packet)
        if self._audio is not None:
            self._audio.finish(float(self.frames_written / self.rate))
        self._container.close()
        self._container = None

    def _abort(self) -> None:
        if self._audio is not None:
            self._audio.close()
        if self._container is not None:
            with contextlib.suppress(Exception):
                self._container.close()
            self._container = None


def _pad_even(arr: np.ndarray) -> np.ndarray:
    h, w = arr.shape[:2]
    if h % 2 == 0 and w % 2 == 0:
        return arr
    return np.pad(arr, ((0, h % 2), (0, w % 2), (0, 0)), mode="edge")


class _AudioTrack:
    """Copies (AAC) or transcodes (anything else) the audio of a source file into the output."""

    def __init__(self, source: Path | str, inp, in_stream, out_container) -> None:
        self.source = source
        self.inp = inp
        self.in_stream = in_stream
        self.out = out_container
        self.copy = in_stream.codec_context.name == "aac"
        video = inp.streams.video
        vstart = video[0].start_time if video and video[0].start_time else 0
        self.shift = float(vstart * video[0].time_base) if vstart else 0.0  # seconds
        if self.copy:
            self.out_stream = out_container.add_stream_from_template(in_stream)
        else:
            in_rate = in_stream.codec_context.sample_rate or 48000
            rate = in_rate if in_rate in _AAC_RATES else 48000
            layout = "mono" if in_stream.codec_context.channels == 1 else "stereo"
            self.out_stream = out_container.add_stream("aac", rate=rate)
            self.out_stream.layout = layout
            self.resampler = av.AudioResampler(format="fltp", layout=layout, rate=rate)
            self.samples_out = 0
            self.rate = rate
        self.packets = inp.demux(in_stream)
        self.pending = None
        self.done = False

    @classmethod
    def open(cls, source: Path | bytes, out_container) -> _AudioTrack | None:
        """None (no audio track in the output) if ``source`` (a file, or its bytes) has no audio stream."""
        if isinstance(source, bytes):
            name, target = "the embedded audio", io.BytesIO(source)
        elif not source.is_file():
            raise InputError(f"{source}: no such file to take the audio from")
        else:
            name, target = source, str(source)
        try:
            inp = av.open(target)
        except (av.FFmpegError, OSError) as exc:
            raise InputError(
                f"{name}: not a readable media file ({av_reason(exc)}); expected audio or video"
            ) from None
        if not inp.streams.audio:
            inp.close()
            return None
        return cls(name, inp, inp.streams.audio[0], out_container)

    def _next_packet(self):
        if self.pending is None and not self.done:
            try:
                for packet in self.packets:
                    if packet.size:
                        self.pending = packet
                        break
                else:
                    self.done = True
            except av.FFmpegError as exc:
                raise InputError(f"{self.source}: audio demuxing failed ({av_reason(exc)})") from None
        return self.pending

    def advance(self, until: float) -> None:
        """Mux the source's audio that starts before ``until`` seconds of the output.

        Source times are shifted by the source video's start time, so that audio and frames stay
        in sync when the source video does not start at 0; audio before that start is dropped.
        """
        while (packet := self._next_packet()) is not None:
            tb = packet.time_base
            start = float(packet.pts * tb) - self.shift if packet.pts is not None else 0.0
            if start >= until:
                return
            self.pending = None
            if self.copy:
                if self.shift:
                    if start + float((packet.duration or 0) * tb) <= 0.0:
                        continue  # entirely before the first video frame
                    ticks = round(self.shift / tb)
                    packet.pts -= ticks
                    if packet.dts is not None:
                        packet.dts -= ticks
                packet.stream = self.out_stream
                self.out.mux(packet)
            else:
                for frame in packet.decode():
                    frame = self._skip_before_start(frame)
                    if frame is not None:
                        self._encode_frames(self.resampler.resample(frame), until)

    def _skip_before_start(self, frame: av.AudioFrame) -> av.AudioFrame | None:
        """Drop the samples of ``frame`` that lie before the source video's first frame."""
        if not self.shift or frame.pts is None:
            return frame
        t0 = float(frame.pts * frame.time_base) - self.shift
        if t0 >= 0.0:
            return frame
        cut = round(-t0 * frame.sample_rate)
        if cut >= frame.samples:
            return None
        arr = frame.to_ndarray()
        arr = arr[:, cut:] if frame.format.is_planar else arr[:, cut * len(frame.layout.channels) :]
        trimmed = av.AudioFrame.from_ndarray(
            np.ascontiguousarray(arr), format=frame.format.name, layout=frame.layout.name
        )
        trimmed.sample_rate = frame.sample_rate
        return trimmed

    def _encode_frames(self, frames, until: float) -> None:
        limit = round(until * self.rate)
        for frame in frames:
            arr = frame.to_ndarray()
            keep = min(arr.shape[1], limit - self.samples_out)
            if keep <= 0:
                continue
            if keep < arr.shape[1]:
                arr = np.ascontiguousarray(arr[:, :keep])
                frame = av.AudioFrame.from_ndarray(arr, format="fltp", layout=self.out_stream.layout.name)
                frame.sample_rate = self.rate
            frame.pts = self.samples_out
            frame.time_base = Fraction(1, self.rate)
            self.samples_out += keep
            for packet in self.out_stream.encode(frame):
                self.out.mux(packet)

    def finish(self, end: float) -> None:
        """Mux everything up to ``end`` seconds, flush the encoder and close the source."""
        self.advance(end)
        if not self.copy:
            self._encode_frames(self.resampler.resample(None), end)
            for packet in self.out_stream.encode(None):
                self.out.mux(packet)
        self.close()

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.inp.close()


def audio_track_bytes(source: str | os.PathLike[str] | bytes, end: float) -> bytes | None:
    """The first audio track of ``source`` (a file or its bytes) up to ``end`` seconds, as the bytes of an audio-only MP4
    (M4A); None if ``source`` has no audio.

    The same rules as :class:`VideoWriter`'s ``audio_from`` apply (AAC copied packet by packet,
    anything else transcoded to AAC; times relative to the source video's first frame), so that
    muxing the result into a video gives the same track as muxing ``source`` itself.
    """
    buffer = io.BytesIO()
    with contextlib.closing(av.open(buffer, mode="w", format="mp4")) as out:
        track = _AudioTrack.open(source if isinstance(source, bytes) else Path(source), out)
        if track is None:
            return None
        try:
            track.finish(end)
        finally:
            track.close()
    return buffer.getvalue()
