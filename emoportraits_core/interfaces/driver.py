"""Kind ``driver``: a modality stream (video, motion file, audio, camera...) -> per-frame pipeline inputs.

A driver is declared in a pipeline file like any component (``[components.driver]`` with
``kind = "driver"``), but no node calls it: its output ports feed the pipeline's stream inputs of
the same names and types. A session opens the driver's input (a path) with :meth:`Driver.probe`, then pulls
batches from :meth:`Driver.stream`: mappings from the declared output ports to values whose batch
dim counts frames (e.g. ``{"driver": images (B, 3, 512, 512)}`` for a video, or
``{"motion": Motion}`` for a motion file). Contract:

- one item per frame: the batch sizes sum to ``info.num_frames`` (when known);
- streaming equals batch: concatenating the batches gives the same values for any ``batch_size``;
- a stream never holds its whole input in memory;
- what the output needs besides the frames (frame rate, whether it is a still picture, the audio
  to carry) is in the :class:`StreamInfo` of :meth:`Driver.probe`; counts about a finished stream
  (e.g. frames without a face) come from :meth:`Driver.statistics`.
"""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any, ClassVar

import attrs

from ..component import Component

__all__ = ["AudioSource", "Driver", "StreamInfo"]

#: A media file, or the bytes of one, whose first audio track belongs with the output.
AudioSource = Path | bytes


@attrs.frozen
class StreamInfo:
    """What is known of a driver stream before it is read.

    Attributes:
        num_frames: number of frames, or None if unknown (a live input).
        fps: frames per second of the output (1.0 for a still picture).
        audio: the audio that belongs with the output (a media file, or its bytes), or None.
        description: one line for logs (file name, size, codec...).
        still: the input is one picture, so the output is one picture (not a video).
    """

    num_frames: int | None
    fps: float
    audio: AudioSource | None = attrs.field(
        default=None, repr=lambda a: f"<{len(a)} bytes>" if isinstance(a, bytes) else repr(a)
    )
    description: str = ""
    still: bool = False


class Driver(Component):
    """Abstract driver. ``outputs`` declares the per-frame values it yields (port name -> type)."""

    kind: ClassVar[str] = "driver"
    inputs: ClassVar[dict[str, str]] = {}

    @abstractmethod
    def probe(self, path: str | Path) -> StreamInfo:
        """Read the stream's header; raise InputError if it is unreadable or not for this driver."""

    @abstractmethod
    def stream(self, path: str | Path, batch_size: int) -> Iterator[Mapping[str, Any]]:
        """Yield batches of at most ``batch_size`` frames, in order."""

    @classmethod
    def accepts(cls, path: str | Path) -> bool:
        """Whether ``path`` looks like this driver's input (a cheap sniff: suffix, header).

        Used to choose among pipelines for a driver file; the default accepts anything.
        """
        return True

    def statistics(self) -> Mapping[str, int]:
        """Counts about the last finished stream, keyed by what they count, e.g.
        ``{"frames without a face (the last box was reused)": 3}``; zeros may be left out."""
        return {}

    def forward(self, *args: Any, **kwargs: Any) -> Any:  # drivers are not called like modules
        raise TypeError(f"{type(self).__name__} is a driver: use .stream(path, batch_size)")
