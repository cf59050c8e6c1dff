"""Kind ``driver``: a modality stream (video, audio, motion file, ...) -> per-frame pipeline inputs.

A driver opens a source (a path) and yields batches: mappings from its declared output ports to
values whose batch dim counts frames (e.g. ``{"driver": images (B, 3, 512, 512)}`` for a video, or
``{"motion": Motion}`` for speech). Contract:

- one item per frame: the batch sizes sum to ``info.num_frames`` (when known);
- streaming equals batch: concatenating the batches gives the same values for any ``batch_size``;
- a stream never holds the whole source in memory.
"""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any, ClassVar

import attrs

from ..component import Component

__all__ = ["Driver", "StreamInfo"]


@attrs.frozen
class StreamInfo:
    """What is known of a driver stream before it is read.

    Attributes:
        num_frames: number of frames, or None if unknown.
        fps: frames per second (1.0 for a still image).
        audio: path of a media file whose audio track belongs with the output, or None.
        description: one line for logs (file name, size, codec...).
    """

    num_frames: int | None
    fps: float
    audio: Path | None = None
    description: str = ""


class Driver(Component):
    """Abstract driver. ``outputs`` declares the per-frame values it yields."""

    kind: ClassVar[str] = "driver"
    inputs: ClassVar[dict[str, str]] = {}

    @abstractmethod
    def probe(self, source: str | Path) -> StreamInfo:
        """Read the stream's header; raise InputError if it is unreadable."""

    @abstractmethod
    def stream(self, source: str | Path, batch_size: int) -> Iterator[Mapping[str, Any]]:
        """Yield batches of at most ``batch_size`` frames, in order."""

    def forward(self, *args: Any, **kwargs: Any) -> Any:  # drivers are not called like modules
        raise TypeError(f"{type(self).__name__} is a driver: use .stream(source, batch_size)")
