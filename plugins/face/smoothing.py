"""Temporal smoothing of per-frame face boxes, streaming, with a fixed look-ahead.

Each frame's box ``(x, y, w, h)`` becomes a Gaussian-weighted mean of the boxes of the frames
``i - radius .. i + radius`` (sigma = radius / 2; the first and last boxes are repeated past the
ends). Centred weights remove jitter without the lag of a causal filter; the price is a delay of
``radius`` frames, so a stream holds ``radius`` frames back.

Frames without a face reuse the last detected box; frames before the first detection use the
first detected box (the smoother waits until it has one, or takes ``initial``). The result depends
only on the sequence of boxes, never on how the pushes are grouped: streaming equals batch.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from .detector import FaceBox

__all__ = ["BoxSmoother", "NoFaceInStreamError", "smooth_boxes"]


class NoFaceInStreamError(ValueError):
    """No frame of the stream had a face (the driver turns it into an InputError naming the file)."""


class BoxSmoother:
    """Streaming centred Gaussian smoother of face boxes.

    Args:
        radius: look-ahead / look-behind in frames; 0 passes boxes through (misses still filled).
        initial: box to use for frames before the first detection (else they wait for it).

    ``push(box_or_None)`` returns the smoothed boxes that became final (in frame order);
    ``finish()`` returns the rest. ``frames`` and ``missing`` count the frames seen and those
    without a face.
    """

    def __init__(self, radius: int = 3, initial: FaceBox | None = None) -> None:
        if radius < 0:
            raise ValueError(f"radius must be >= 0, got {radius}")
        self.radius = radius
        offsets = np.arange(-radius, radius + 1, dtype=np.float64)
        sigma = max(radius / 2.0, 1e-6)
        weights = np.exp(-0.5 * (offsets / sigma) ** 2)
        self._weights = weights / weights.sum()
        self._last: FaceBox | None = initial
        self._waiting = 0  # frames before the first detection, not yet filled
        self._raw: list[np.ndarray] = []  # filled boxes from frame self._base on
        self._scores: list[float] = []
        self._base = 0  # frame index of self._raw[0]
        self._next = 0  # next frame to emit
        self.frames = 0
        self.missing = 0

    def push(self, box: FaceBox | None) -> list[FaceBox]:
        """Add the next frame's detection (None: no face); return the boxes now final."""
        self.frames += 1
        if box is None:
            self.missing += 1
            if self._last is None:
                self._waiting += 1
                return []
            box = self._last
        elif self._last is None:
            for _ in range(self._waiting):
                self._append(box)
            self._waiting = 0
        self._last = box
        self._append(box)
        return self._emit(final=False)

    def extend(self, boxes: Iterable[FaceBox | None]) -> list[FaceBox]:
        """Push several frames; return the boxes now final."""
        out: list[FaceBox] = []
        for box in boxes:
            out += self.push(box)
        return out

    def finish(self) -> list[FaceBox]:
        """End of stream: return the remaining boxes.

        Raises:
            NoFaceInStreamError: no frame had a face (and no ``initial`` box was given).
        """
        if self._waiting and self._last is None:
            raise NoFaceInStreamError(f"none of the {self.frames} frames had a face")
        if self.frames == 0:
            return []
        return self._emit(final=True)

    # -- internals -----------------------------------------------------------------------------
    def _append(self, box: FaceBox) -> None:
        self._raw.append(np.array([box.x, box.y, box.w, box.h], np.float64))
        self._scores.append(box.score)

    def _emit(self, final: bool) -> list[FaceBox]:
        end = self._base + len(self._raw)  # frames known so far
        limit = end if final else end - self.radius
        out = []
        while self._next < limit:
            out.append(self._smoothed(self._next, end, final))
            self._next += 1
        drop = self._next - self.radius - self._base  # no longer needed as look-behind
        if drop > 0:
            del self._raw[:drop], self._scores[:drop]
            self._base += drop
        return out

    def _smoothed(self, i: int, end: int, final: bool) -> FaceBox:
        r = self.radius
        # look-behind is clamped at frame 0; look-ahead at the last frame (only reached when final)
        idx = np.clip(np.arange(i - r, i + r + 1), 0, end - 1) - self._base
        idx = np.maximum(idx, 0)
        stacked = np.stack([self._raw[j] for j in idx])
        x, y, w, h = (self._weights[:, None] * stacked).sum(axis=0)
        return FaceBox(float(x), float(y), float(w), float(h), self._scores[i - self._base])


def smooth_boxes(boxes: Iterable[FaceBox | None], radius: int = 3) -> list[FaceBox]:
    """Smooth a whole sequence at once (the batch form of :class:`BoxSmoother`)."""
    smoother = BoxSmoother(radius)
    out = smoother.extend(boxes)
    return out + smoother.finish()
