"""Per-frame labels of a face crop with mediapipe (models inside the wheel): 68 landmarks and a soft matte.

- Landmarks: the 468-point face mesh (``static_image_mode``: each frame on its own, so a frame's labels
  do not depend on the frames before it) on the crop at ``mesh_size`` pixels (at least 256: the mesh
  is more stable on a larger input, and a fixed input size keeps mediapipe's graph from restarting),
  mapped to the iBUG layout and normalised (:mod:`.landmarks`). No face found -> no landmarks; the
  frame is then marked invalid in the shard.
- Matte: mediapipe selfie segmentation (model 0, 256 x 256), its soft person probability in ``[0, 1]``
  on the stored crop. With ``matte="head"`` (the default) it is multiplied by the head region of
  :class:`~emoportraits_plugins.face.masks.MediapipeHeadMask` (face, hair, ears, a neck band; built
  from the same face mesh), so shoulders, clothes and other people are cut away while the soft edge
  of the silhouette is kept. Why: the release trains on ``matte x binary head mask`` (TRAINING_FACTS
  section 5: MODNet-like matte x BiSeNet head classes); without a face parser at training time, the
  stored matte should already be that product. ``matte="person"`` keeps the plain person matte (for a
  trainer that applies its own head mask, e.g. a BiSeNet parser). Frames without a mesh keep the
  plain person matte (they are invalid anyway).
"""

from __future__ import annotations

import contextlib

import attrs
import numpy as np

from ..face._quiet import quiet_native_stderr
from ..face.masks import _convex_hull, _face_frame, _fill, _head_polygon
from .landmarks import mesh_to_ibug68, normalize_landmarks

__all__ = ["MATTE_KINDS", "FrameAnnotator", "FrameLabels"]

#: Values of ``--matte``.
MATTE_KINDS = ("head", "person")
_FOREHEAD, _CHIN = 10, 152  # face-mesh vertices that orient the head region (as in face.masks)


@attrs.frozen
class FrameLabels:
    """Labels of one crop.

    Attributes:
        landmarks: ``(68, 3)`` float32 normalised (see :mod:`.landmarks`), or None without a face mesh.
        matte: ``(S, S)`` uint8, the soft matte times 255 rounded.
    """

    landmarks: np.ndarray | None
    matte: np.ndarray


class FrameAnnotator:
    """Landmarks and matte of face crops (module docstring). Build one per process; not thread-safe.

    Args:
        matte: ``"head"`` (person matte x head region) or ``"person"``.
        mesh_size: side of the crop the face mesh sees (pixels).
    """

    def __init__(self, matte: str = "head", mesh_size: int = 256) -> None:
        if matte not in MATTE_KINDS:
            raise ValueError(f"matte must be one of {', '.join(MATTE_KINDS)}, got {matte!r}")
        import mediapipe as mp

        self.matte_kind = matte
        self.mesh_size = mesh_size
        self._seen_face = False  # mediapipe logs when it first projects a face: filter until then
        self._seg_shape: tuple[int, ...] = (64, 64, 3)  # and when a graph sees a new image size
        with quiet_native_stderr():
            self._seg = mp.solutions.selfie_segmentation.SelfieSegmentation(model_selection=0)
            self._mesh = mp.solutions.face_mesh.FaceMesh(static_image_mode=True, max_num_faces=1)
            blank = np.zeros((64, 64, 3), np.uint8)  # start the graphs now: they log while starting
            self._seg.process(blank)
            self._mesh.process(np.zeros((mesh_size, mesh_size, 3), np.uint8))

    def __call__(self, crop: np.ndarray, mesh_input: np.ndarray | None = None) -> FrameLabels:
        """Label one crop.

        Args:
            crop: ``(S, S, 3)`` uint8 RGB, the stored crop (the matte is computed at this size).
            mesh_input: the same square at ``mesh_size`` (``(M, M, 3)`` uint8), or None to use ``crop``.
        """
        size = crop.shape[0]
        mesh_img = crop if mesh_input is None else mesh_input
        with quiet_native_stderr() if not self._seen_face else contextlib.nullcontext():
            result = self._mesh.process(np.ascontiguousarray(mesh_img)).multi_face_landmarks
        self._seen_face = self._seen_face or bool(result)
        with quiet_native_stderr() if crop.shape != self._seg_shape else contextlib.nullcontext():
            person = self._seg.process(np.ascontiguousarray(crop)).segmentation_mask
        self._seg_shape = crop.shape
        person = np.clip(np.asarray(person, np.float32), 0.0, 1.0)
        landmarks = None
        if result:
            mesh = np.array([(p.x, p.y, p.z) for p in result[0].landmark], np.float32)
            landmarks = normalize_landmarks(mesh_to_ibug68(mesh))
            if self.matte_kind == "head":
                person = person * _head_region(mesh[:, :2] * size, size)
        matte = np.floor(person * 255.0 + 0.5).astype(np.uint8)
        return FrameLabels(landmarks, matte)

    def close(self) -> None:
        self._seg.close()
        self._mesh.close()


def _head_region(points: np.ndarray, size: int) -> np.ndarray:
    """``(size, size)`` float32 in {0, 1}: the head region of ``face.masks`` from ``(468, 2)`` pixel points."""
    region = np.zeros((size, size), np.uint8)
    _fill(region, _head_polygon(*_face_frame(points[_FOREHEAD], points[_CHIN], points)))
    _fill(region, _convex_hull(points))
    return region.astype(np.float32)
