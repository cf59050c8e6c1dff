"""Driver ``video``: a driving video (or a still picture) -> 512 x 512 face crops, frame by frame.

Each frame is decoded (:func:`~emoportraits_core.io.iter_frame_arrays`, upright), its main face
detected (mediapipe, :mod:`emoportraits_plugins.face.detector`), the boxes smoothed over time
(:class:`~emoportraits_plugins.face.smoothing.BoxSmoother`, ``smoothing`` frames of look-ahead)
and the frame cropped by the release's rule (:mod:`emoportraits_plugins.face.crop`). Frames without
a face reuse the last box (counted in :meth:`VideoDriver.statistics`, logged at the end); a video with
no face at all raises :class:`InputError` before anything is yielded. The audio of the output is the
video's own audio track (:attr:`StreamInfo.audio`).

A still image (PNG, JPEG, ...) is a one-frame stream at 1 fps whose output is a still picture. With ``crop = false`` frames are
resized whole to ``size x size`` and no detection runs.

Output: ``{"driver": (B, 3, size, size) float RGB in [0, 1]}``, at most ``batch_size`` frames per
batch, the same values for any batch size. Memory: one batch plus ``smoothing`` frames.
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import attrs
import numpy as np
import torch

from emoportraits_core import PortSpec
from emoportraits_core.interfaces import Driver, StreamInfo
from emoportraits_core.io import (
    VideoWriter,
    is_image_file,
    iter_frame_arrays,
    probe_video,
    read_image,
    write_image,
)
from emoportraits_core.validators import in_range

from ..face.crop import (
    MIN_FACE_SIZE,
    CropBox,
    check_face,
    check_image_size,
    crop_box_from_face,
    crop_face,
    crop_resize_array,
)
from ..face.detector import FaceBox, FaceDetector
from ..face.smoothing import BoxSmoother
from ..face.synthetic import draw_face

__all__ = ["VideoDriver", "VideoDriverConfig"]

log = logging.getLogger(__name__)


@attrs.frozen
class VideoDriverConfig:
    """Config of :class:`VideoDriver`.

    Attributes:
        crop: crop around the face (release rule); False resizes whole frames (``--no-crop``).
        size: side of the output crops in pixels (512 for the release).
        smoothing: look-ahead / look-behind of the box smoothing in frames (0 = per-frame boxes).
        model_selection: mediapipe detector, 0 short range or 1 full range.
        min_confidence: minimum face detection score.
        detect_max_side: frames larger than this are downscaled for detection only (speed).
    """

    crop: bool = True
    size: int = attrs.field(default=512, validator=in_range(64, 4096))
    smoothing: int = attrs.field(default=3, validator=in_range(0, 60))
    model_selection: int = attrs.field(default=1, validator=in_range(0, 1))
    min_confidence: float = attrs.field(default=0.5, validator=in_range(0.0, 1.0))
    detect_max_side: int = attrs.field(default=640, validator=in_range(128, 8192))


class VideoDriver(Driver):
    """Driving video or picture -> face crops ``(B, 3, 512, 512)`` in [0, 1] (release crop rule)."""

    outputs = {"driver": "image"}

    def __init__(self, config: VideoDriverConfig | None = None) -> None:
        super().__init__(config or VideoDriverConfig())
        self._detector: FaceDetector | None = None
        self.frames_without_face = 0
        self.frames_seen = 0

    def output_specs(self) -> dict[str, PortSpec]:
        s = self.config.size
        return {"driver": PortSpec("image", ("B", 3, s, s), (0.0, 1.0))}

    @property
    def detector(self) -> FaceDetector:
        """The face detector, built on first use and kept."""
        if self._detector is None:
            c = self.config
            self._detector = FaceDetector(c.model_selection, c.min_confidence, c.detect_max_side)
        return self._detector

    # -- Driver API --------------------------------------------------------------------------------
    def probe(self, path: str | Path) -> StreamInfo:
        path = Path(path)
        if is_image_file(path):
            image = read_image(path)
            desc = f"{path.name}: still image {image.shape[2]}x{image.shape[1]}"
            return StreamInfo(1, 1.0, None, desc, still=True)
        info = probe_video(path)
        return StreamInfo(info.num_frames, info.fps, path if info.has_audio else None, info.describe())

    @classmethod
    def accepts(cls, path: str | Path) -> bool:
        """Any picture or video file (decoding tells); not a ``.safetensors`` file."""
        return Path(path).suffix.lower() != ".safetensors"

    def statistics(self) -> dict[str, int]:
        return {"frames without a face (the last box was reused)": self.frames_without_face}

    def stream(self, path: str | Path, batch_size: int) -> Iterator[Mapping[str, Any]]:
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        self.frames_seen, self.frames_without_face = 0, 0
        path = Path(path)
        if is_image_file(path):
            yield {"driver": self._still(path)}
            return
        probe_video(path)  # errors early, before any detection
        yield from _batches(self._jobs(path), batch_size, self.config.size)

    # -- internals ---------------------------------------------------------------------------------
    def _still(self, path: Path) -> torch.Tensor:
        image = read_image(path)
        self.frames_seen, self.frames_without_face = 1, 0
        det = self.detector if self.config.crop else None
        crop, _ = crop_face(image, det, size=self.config.size, crop=self.config.crop, name=str(path))
        return crop.unsqueeze(0)

    def _jobs(self, path: Path) -> Iterator[tuple[np.ndarray, CropBox | None]]:
        """(frame, crop square) per frame, in order; the square is None without cropping."""
        if not self.config.crop:
            for i, arr in enumerate(iter_frame_arrays(path)):
                if i == 0:
                    check_image_size(arr.shape[1], arr.shape[0], str(path))
                yield arr, None
            return
        smoother = BoxSmoother(self.config.smoothing, initial=self._first_face(path))
        pending: deque[np.ndarray] = deque()  # frames waiting for their smoothed box
        for arr in iter_frame_arrays(path):
            pending.append(arr)
            for box in smoother.push(self._detect(arr)):
                yield _square(pending.popleft(), box)
        for box in smoother.finish():
            yield _square(pending.popleft(), box)
        self.frames_seen, self.frames_without_face = smoother.frames, smoother.missing
        if smoother.missing:
            log.warning(
                "%s: %d of %d frames had no face; reused the last box",
                path.name,
                smoother.missing,
                smoother.frames,
            )

    def _detect(self, arr: np.ndarray) -> FaceBox | None:
        box = self.detector.detect(arr)
        return box if box is not None and min(box.w, box.h) >= MIN_FACE_SIZE else None

    def _first_face(self, path: Path) -> FaceBox:
        """The box of the first frame with a face (decoding only as far as needed)."""
        for i, arr in enumerate(iter_frame_arrays(path)):
            if i == 0:
                check_image_size(arr.shape[1], arr.shape[0], str(path))
            box = self._detect(arr)
            if box is not None:
                return box
        check_face(None, f"{path} (driving video, all frames)")
        raise AssertionError("unreachable")

    # -- conformance ---------------------------------------------------------------------------------
    @classmethod
    def conformance_sources(cls, tmp_dir: str | Path) -> list[Path]:
        """Small self-contained sources for the driver contract: a 6-frame 25 fps clip of a drawn,
        moving face (the face leaves frame 3, testing box reuse) and a still PNG of it."""
        tmp = Path(tmp_dir)
        tmp.mkdir(parents=True, exist_ok=True)
        clip, still = tmp / "video_driver_clip.mp4", tmp / "video_driver_still.png"
        frames = [draw_face(192, dx=3.0 * i, dy=-2.0 * i, mouth=i / 5) for i in range(6)]
        frames[3] = np.full_like(frames[3], 128)
        batch = torch.from_numpy(np.stack(frames)).permute(0, 3, 1, 2)
        with VideoWriter(clip, 25, crf=12, preset="ultrafast") as writer:
            writer.write(batch)
        write_image(still, batch[0].float() / 255.0)
        return [clip, still]

    @classmethod
    def conformance_long_source(cls, tmp_dir: str | Path, frames: int) -> Path:
        """A clip of ``frames`` frames of one drawn face (for the suite's bounded-memory check)."""
        path = Path(tmp_dir) / f"video_driver_long_{frames}.mp4"
        face = torch.from_numpy(draw_face(192)).permute(2, 0, 1)
        with VideoWriter(path, 25, crf=12, preset="ultrafast") as writer:
            for start in range(0, frames, 64):
                writer.write(face.expand(min(64, frames - start), -1, -1, -1))
        return path


def _square(arr: np.ndarray, box: FaceBox) -> tuple[np.ndarray, CropBox]:
    return arr, crop_box_from_face(box, arr.shape[1], arr.shape[0])


def _batches(
    jobs: Iterator[tuple[np.ndarray, CropBox | None]], batch_size: int, size: int
) -> Iterator[dict[str, torch.Tensor]]:
    """Crop and resize straight into a fresh ``(B, 3, size, size)`` buffer per batch (no stacking)."""
    buffer = np.empty((batch_size, 3, size, size), np.float32)
    n = 0
    for arr, box in jobs:
        crop_resize_array(arr, box, size, out=buffer[n])
        n += 1
        if n == batch_size:
            yield {"driver": torch.from_numpy(buffer)}
            buffer = np.empty((batch_size, 3, size, size), np.float32)
            n = 0
    if n:
        yield {"driver": torch.from_numpy(buffer[:n])}
