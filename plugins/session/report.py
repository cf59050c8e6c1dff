"""What one session run did: frames, times, memory and the driver's statistics, and its summary line."""

from __future__ import annotations

import resource
from collections.abc import Mapping
from pathlib import Path

import attrs
import torch

__all__ = ["SessionReport", "peak_memory_gb"]


@attrs.frozen
class SessionReport:
    """What one :meth:`Session.run` call did.

    Attributes:
        output: the file written.
        frames: frames written.
        seconds: wall time from the first driver batch requested to the output closed (the source
            already encoded): what ``frames`` cost end to end.
        size: ``(width, height)`` of the output pictures (``(0, 0)`` for non-picture outputs).
        peak_memory_gb: peak GPU memory (CUDA) or peak resident memory of the process (CPU).
        statistics: the driver's counts for this stream (e.g. frames without a face).
        source_seconds: time spent preparing and encoding the source (0 when it was cached).
        first_batch_seconds: wall time of the first batch alone (warm-up, compilation included).
    """

    output: Path
    frames: int
    seconds: float
    size: tuple[int, int] = (0, 0)
    peak_memory_gb: float = 0.0
    statistics: Mapping[str, int] = attrs.field(factory=dict)
    source_seconds: float = 0.0
    first_batch_seconds: float = 0.0

    @property
    def fps(self) -> float:
        return self.frames / self.seconds if self.seconds > 0 else float("inf")

    @property
    def seconds_per_frame(self) -> float:
        return self.seconds / self.frames if self.frames else 0.0

    @property
    def frames_without_face(self) -> int:
        """The video driver's count of frames whose face box was reused (0 for other drivers)."""
        return sum(v for k, v in self.statistics.items() if "without a face" in k)

    def summary(self) -> str:
        """One line: ``wrote out.mp4: 12 frames 512x512 in 70.1 s (5.84 s/frame, 0.17 fps; ...)``."""
        w, h = self.size
        frames = f"{self.frames} frame{'s' if self.frames != 1 else ''}"
        size = f" {w}x{h}" if w else ""
        rate = (
            f"{self.seconds_per_frame:.2f} s/frame, {self.fps:.2f} fps"
            if self.seconds_per_frame >= 1
            else f"{1e3 * self.seconds_per_frame:.0f} ms/frame, {self.fps:.1f} fps"
        )
        source = f"; source encoded once in {self.source_seconds:.1f} s" if self.source_seconds else ""
        stats = "".join(f"; {v} {k}" for k, v in self.statistics.items() if v)
        return (
            f"wrote {self.output}: {frames}{size} in {self.seconds:.1f} s ({rate}{source}), "
            f"peak memory {self.peak_memory_gb:.1f} GB{stats}"
        )


def peak_memory_gb(device: torch.device) -> float:
    """Peak CUDA memory allocated on ``device``, or the process's peak resident memory on the CPU."""
    if device.type == "cuda":
        return torch.cuda.max_memory_allocated(device) / 2**30
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20  # KiB on Linux
