"""Face detection with mediapipe's BlazeFace models (shipped inside the mediapipe wheel).

``model_selection=1`` (full range, 192 x 192 input) is the default: on the sample images it finds
the small face of the Mona Lisa and the cartoon face and, unlike the short-range model (0), does not
take the dog for a human face. Boxes are in pixels of the image given, ``(x, y, w, h)`` with
``(x, y)`` the top-left corner; they may extend past the image border.

A detector is slow to build and not thread-safe: build one per thread and reuse it
(:func:`shared_detector` caches one per setting).
"""

from __future__ import annotations

import functools
from collections.abc import Sequence

import attrs
import numpy as np
from torch import Tensor

from emoportraits_core.io import to_uint8

from ._quiet import quiet_native_stderr

__all__ = ["FaceBox", "FaceDetector", "as_rgb_array", "shared_detector"]


@attrs.frozen
class FaceBox:
    """A detected face: top-left ``(x, y)``, size ``(w, h)`` in pixels, and confidence ``score``."""

    x: float
    y: float
    w: float
    h: float
    score: float = 1.0

    @property
    def area(self) -> float:
        return self.w * self.h

    def scaled(self, factor: float) -> FaceBox:
        """The box in an image resized by ``factor``."""
        return FaceBox(self.x * factor, self.y * factor, self.w * factor, self.h * factor, self.score)


def as_rgb_array(image: np.ndarray | Tensor) -> np.ndarray:
    """``(H, W, 3)`` uint8 RGB array (contiguous) from such an array or a ``(3, H, W)`` tensor in [0, 1]."""
    if isinstance(image, Tensor):
        if image.dim() == 4 and image.shape[0] == 1:
            image = image[0]
        if image.dim() != 3 or image.shape[0] != 3:
            raise ValueError(f"expected an image (3, H, W), got shape {tuple(image.shape)}")
        image = to_uint8(image.detach().cpu()).permute(1, 2, 0).numpy()
    if image.dtype != np.uint8 or image.ndim != 3 or image.shape[2] != 3:
        raise ValueError(f"expected an (H, W, 3) uint8 array, got {image.dtype} {image.shape}")
    return np.ascontiguousarray(image)


class FaceDetector:
    """mediapipe face detection, returning every face or the main one.

    Args:
        model_selection: 0 = short range (faces within ~2 m, 128 px model), 1 = full range.
        min_confidence: minimum detection score in ``[0, 1]``.
        max_side: images larger than this (longest side, pixels) are downscaled (area) before
            detection and the boxes scaled back; None detects at full size. The models see 128 or
            192 px anyway, so this only saves the conversion time on large frames.
    """

    def __init__(self, model_selection: int = 1, min_confidence: float = 0.5, max_side: int | None = 640):
        if model_selection not in (0, 1):
            raise ValueError(f"model_selection must be 0 or 1, got {model_selection}")
        import mediapipe as mp

        self.model_selection = model_selection
        self.min_confidence = min_confidence
        self.max_side = max_side
        with quiet_native_stderr():
            self._impl = mp.solutions.face_detection.FaceDetection(
                model_selection=model_selection, min_detection_confidence=min_confidence
            )
            self._impl.process(np.zeros((64, 64, 3), np.uint8))  # start the graph: it logs while starting
        self._shape: tuple[int, ...] | None = (64, 64, 3)

    def detect_all(self, image: np.ndarray | Tensor) -> list[FaceBox]:
        """All faces in ``image`` ((H, W, 3) uint8 RGB or (3, H, W) float in [0, 1]), best first."""
        arr = as_rgb_array(image)
        h, w = arr.shape[:2]
        factor = 1.0
        if self.max_side is not None and max(h, w) > self.max_side:
            import cv2

            factor = self.max_side / max(h, w)
            size = (max(1, round(w * factor)), max(1, round(h * factor)))
            arr = cv2.resize(arr, size, interpolation=cv2.INTER_AREA)
            factor = size[0] / w
        result = self._process(arr)
        hs, ws = arr.shape[:2]
        boxes = []
        for det in result.detections or []:
            rel = det.location_data.relative_bounding_box
            box = FaceBox(rel.xmin * ws, rel.ymin * hs, rel.width * ws, rel.height * hs, float(det.score[0]))
            boxes.append(box.scaled(1.0 / factor) if factor != 1.0 else box)
        return _rank(boxes)

    def detect(self, image: np.ndarray | Tensor) -> FaceBox | None:
        """The main face (largest box) or None if no face scores ``min_confidence``."""
        boxes = self.detect_all(image)
        return boxes[0] if boxes else None

    def _process(self, arr: np.ndarray):
        if arr.shape == self._shape:
            return self._impl.process(arr)
        with quiet_native_stderr():  # the graph (re)starts and logs on a new frame size
            result = self._impl.process(arr)
        self._shape = arr.shape
        return result

    def close(self) -> None:
        self._impl.close()


def _rank(boxes: Sequence[FaceBox]) -> list[FaceBox]:
    """Largest face first (ties: higher score); the main subject is the largest face."""
    return sorted(boxes, key=lambda b: (-b.area, -b.score))


@functools.lru_cache(maxsize=8)
def shared_detector(model_selection: int = 1, min_confidence: float = 0.5, max_side: int | None = 640):
    """A process-wide detector per setting (built once; not for concurrent use from threads)."""
    return FaceDetector(model_selection, min_confidence, max_side)
