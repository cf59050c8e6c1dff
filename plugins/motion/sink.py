"""Session sink that writes the pipeline output ``motion`` as a motion file (``extract-motion``).

Rows are gathered on the CPU as they come (0.6 KB per frame: an hour at 25 fps is 52 MB) and the
file is written once, atomically, when the stream ends, with the driver's audio copied in and cut
to the frames kept.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import attrs

from emoportraits_core.errors import InputError
from emoportraits_core.interfaces import StreamInfo
from emoportraits_core.io.video_writer import audio_track_bytes
from emoportraits_core.types import Motion, concat_batches

from ..session.sinks import Write
from .format import SUFFIX, write_motion_file

__all__ = ["MotionFileSink"]


@attrs.define
class MotionFileSink:
    """Gathers ``outputs[output]`` (a Motion per batch) and writes them as a motion file.

    Attributes:
        path: the output file (``.motion.safetensors`` recommended, ``.safetensors`` required).
        model: how the motion is extracted (stored in the file, see the format).
        driver: name of the driver file (stored in the file).
        output: the pipeline output holding the motion.
    """

    path: Path = attrs.field(converter=Path)
    model: dict[str, Any] = attrs.field(factory=dict)
    driver: str = ""
    output: str = "motion"

    def check(self, info: StreamInfo) -> None:
        if not self.path.name.endswith(".safetensors"):
            raise InputError(f"{self.path}: a motion file is written as NAME{SUFFIX}")

    @contextlib.contextmanager
    def open(self, info: StreamInfo) -> Iterator[Write]:
        rows: list[Motion] = []

        def write(outputs: Mapping[str, Any], inputs: Mapping[str, Any]) -> tuple[int, int]:
            rows.append(outputs[self.output].map(lambda t: t.detach().float().cpu()))
            return (0, 0)

        yield write
        if not rows:
            raise InputError(f"{self.path}: the driver gave no frames; nothing to write")
        motion = concat_batches(rows)
        end = motion.batch_size / info.fps
        audio = None if info.audio is None else audio_track_bytes(info.audio, end)
        write_motion_file(self.path, motion, fps=info.fps, model=self.model, driver=self.driver, audio=audio)
