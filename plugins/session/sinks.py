"""Where a session's results go, batch by batch: a video, one picture, or (elsewhere) a motion file.

A sink is chosen by the command (``animate`` writes pictures, ``extract-motion`` a motion file); the
session knows only this protocol::

    sink.check(info)                  # before any work: is the output path right for this stream?
    with sink.open(info) as write:    # the file appears atomically when the block ends
        write(outputs, inputs)        # per batch: the pipeline's outputs and the batch's inputs
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any, Protocol

import attrs
from torch import Tensor

from emoportraits_core.errors import InputError
from emoportraits_core.interfaces import StreamInfo
from emoportraits_core.io import VideoWriter, write_image

from ..face.source import SourceImage
from .compose import compose_frames

__all__ = ["PictureSink", "Sink", "Write"]

#: ``write(outputs, inputs) -> (width, height)`` of what was written for one batch.
Write = Callable[[Mapping[str, Any], Mapping[str, Any]], tuple[int, int]]


class Sink(Protocol):
    """The protocol of session outputs (see the module docstring)."""

    path: Path

    def check(self, info: StreamInfo) -> None:
        """Raise InputError if this output cannot hold the stream described by ``info``."""

    def open(self, info: StreamInfo) -> contextlib.AbstractContextManager[Write]:
        """A context whose value writes one batch; the file is complete only when it exits cleanly."""


@attrs.define
class PictureSink:
    """The pipeline output ``image`` as an H.264 video (``.mp4``: the stream's frame rate and audio),
    or as one picture (``.png``) when the driver is a still picture.

    Attributes:
        path: the output file.
        source: the prepared source (for ``paste`` and ``side_by_side``), or None.
        paste: put each result back into the whole source picture.
        side_by_side: ``source | image inputs of the batch | result`` per frame.
        output: the pipeline output holding the pictures.
        crf: H.264 quality (x264 constant rate factor: 0 lossless, 18 visually lossless, 51 worst).
    """

    path: Path = attrs.field(converter=Path)
    source: SourceImage | None = None
    paste: bool = False
    side_by_side: bool = False
    output: str = "image"
    crf: int = 18

    def check(self, info: StreamInfo) -> None:
        if not 0 <= self.crf <= 51:
            raise InputError(
                f"--crf {self.crf}: expected an x264 quality in [0, 51] (0 lossless, 18 default)"
            )
        want = ".png" if info.still else ".mp4"
        if self.path.suffix.lower() != want:
            kind = "a still picture" if info.still else "a video"
            raise InputError(
                f"{self.path}: the driver ({info.description or 'input'}) is {kind}, so the output must end in {want}"
            )

    @contextlib.contextmanager
    def open(self, info: StreamInfo) -> Iterator[Write]:
        if info.still:
            yield self._write_still
            return
        with VideoWriter(self.path, info.fps, audio_from=info.audio, crf=self.crf) as writer:

            def write(outputs: Mapping[str, Any], inputs: Mapping[str, Any]) -> tuple[int, int]:
                frames = self._compose(outputs, inputs)
                writer.write(frames)
                return frames.shape[-1], frames.shape[-2]

            yield write

    def _write_still(self, outputs: Mapping[str, Any], inputs: Mapping[str, Any]) -> tuple[int, int]:
        frames = self._compose(outputs, inputs)
        write_image(self.path, frames[0])
        return frames.shape[-1], frames.shape[-2]

    def _compose(self, outputs: Mapping[str, Any], inputs: Mapping[str, Any]) -> Tensor:
        shown = [v for v in inputs.values() if isinstance(v, Tensor) and v.dim() == 4 and v.shape[1] == 3]
        result = outputs[self.output].float().clamp(0.0, 1.0)
        return compose_frames(result, shown, self.source, paste=self.paste, side_by_side=self.side_by_side)
