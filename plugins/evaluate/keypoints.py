"""Facial keypoints for AKD (average keypoint distance) from mediapipe's face mesh (inside its wheel).

Each image (an output, a driver crop, a source crop) is upsampled bicubically to ``mesh_size``
(256: the size ``emoportraits prepare`` meshes at; the mesh is unstable on 64-pixel inputs) and
meshed on its own (``static_image_mode``); the 468 vertices are mapped to the 68 iBUG points
(:data:`emoportraits_plugins.data.landmarks.MESH_TO_IBUG68`) and returned in pixels of the image
as given (``x`` right, ``y`` down, pixel edges at integers: ``x = x_mp * S``).

AKD of an (output, target) pair = the mean over the 68 points of the Euclidean distance between the
two images' points, in pixels of the crop. A pair where either image has no face found is not
given a distance; the evaluation counts those pairs and reports them.
"""

from __future__ import annotations

import contextlib

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

from ..data.landmarks import MESH_TO_IBUG68
from ..face._quiet import quiet_native_stderr

__all__ = ["FaceMeshKeypoints", "keypoint_distance"]


class FaceMeshKeypoints:
    """``images (B, 3, S, S)`` in [0, 1] -> ``(points (B, 68, 2) float64 pixels, found (B,) bool)``.

    Points of images without a face are NaN. Build one per process (mediapipe graphs are not
    thread-safe); :meth:`close` releases the graph.
    """

    def __init__(self, mesh_size: int = 256) -> None:
        import mediapipe as mp

        self.mesh_size = mesh_size
        with quiet_native_stderr():
            self._mesh = mp.solutions.face_mesh.FaceMesh(static_image_mode=True, max_num_faces=1)
            self._mesh.process(np.zeros((mesh_size, mesh_size, 3), np.uint8))  # it logs while starting
        self._index = list(MESH_TO_IBUG68)
        self._seen_face = False  # mediapipe logs when it first projects a face: quiet until then

    def __call__(self, images: Tensor) -> tuple[Tensor, Tensor]:
        if images.dim() != 4 or images.shape[1] != 3:
            raise ValueError(f"expected images (B, 3, S, S), got shape {tuple(images.shape)}")
        size = images.shape[-1]
        x = images.detach().float().cpu().clamp(0, 1)
        if size != self.mesh_size:
            x = F.interpolate(x, size=(self.mesh_size, self.mesh_size), mode="bicubic", align_corners=False)
        arrays = (x.clamp(0, 1) * 255 + 0.5).to(torch.uint8).permute(0, 2, 3, 1).numpy()
        points = torch.full((len(arrays), 68, 2), float("nan"), dtype=torch.float64)
        found = torch.zeros(len(arrays), dtype=torch.bool)
        for i, arr in enumerate(arrays):
            with quiet_native_stderr() if not self._seen_face else contextlib.nullcontext():
                result = self._mesh.process(np.ascontiguousarray(arr)).multi_face_landmarks
            self._seen_face = self._seen_face or bool(result)
            if result:
                mesh = np.array([(p.x, p.y) for p in result[0].landmark], np.float64)
                points[i] = torch.from_numpy(mesh[self._index] * size)
                found[i] = True
        return points, found

    def close(self) -> None:
        self._mesh.close()


def keypoint_distance(a: Tensor, b: Tensor) -> Tensor:
    """``(B, K, 2)`` x 2 -> ``(B,)``: the mean over the K points of ``|a - b|`` (NaN where either is NaN)."""
    if a.shape != b.shape or a.dim() != 3:
        raise ValueError(
            f"expected two (B, K, 2) point sets of one shape, got {tuple(a.shape)}, {tuple(b.shape)}"
        )
    return (a.double() - b.double()).norm(dim=-1).mean(-1)
