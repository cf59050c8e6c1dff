"""68 facial landmarks in the iBUG 300-W layout from mediapipe's 468-point face mesh, normalised as the
release's datasets store them.

Mapping. :data:`MESH_TO_IBUG68` gives, for each iBUG point 0..67, the face-mesh vertex that stands
for it. It is the table most projects converting the face mesh to the 68-point layout use (LatentSync,
OpenPose-face converters, many mediapipe-to-dlib snippets); the jaw follows the face oval, the brows
their upper contour, the eyes and lips mediapipe's eye and lip contours:

=========  ==========================  ==========================================================
iBUG       part (subject's side)       face-mesh vertices
=========  ==========================  ==========================================================
0-16       jaw, image left to right    162 234 93 58 172 136 149 148 152 377 378 365 397 288 323 454 389
17-21      right brow, outer -> inner  71 63 105 66 107
22-26      left brow, inner -> outer   336 296 334 293 301
27-30      nose bridge, top -> tip     168 197 5 4
31-35      nostrils, left to right     75 97 2 326 305
36-41      right eye (image left)      33 160 158 133 153 144  (outer corner, upper lid, inner corner, lower lid)
42-47      left eye (image right)      362 385 387 263 373 380
48-59      outer lips from the left    61 39 37 0 267 269 291 405 314 17 84 181
           corner, upper then lower
60-67      inner lips                  78 82 13 312 308 317 14 87
=========  ==========================  ==========================================================

The mesh is symmetric: each iBUG mirror pair (0/16, 36/45, 48/54, ...) maps to a mirror pair of mesh
vertices (tests check it on a real face). Brow ends 17 and 26 (71, 301) sit just outside mediapipe's
brow contour (70, 300), as in that table.

Normalisation (TRAINING_FACTS section 5, the release's ``preprocess_data``). A landmark ``(x, y, z)``
in pixels of a source frame, for the square crop with top-left ``(cx, cy)`` and side ``w = h = s``
pixels (the crop of :mod:`emoportraits_plugins.face.crop`; the release's "size box" is the stored
square image, so ``w`` and ``h`` are both the crop side)::

    x' = ((x - cx) / w - 0.5) * 2        y' = ((y - cy) / h - 0.5) * 2        z' = z / (w + h) * 2 * 2

so ``x', y'`` are in ``[-1, 1]`` over the crop (left/top edge -1, right/bottom edge +1, pixel edges,
as ``align_corners=False``) and ``z' = 2 z / s``, whatever the stored resolution. Mediapipe gives
``x, y`` as fractions of the image it saw (the crop) and ``z`` in the same units as ``x`` (fractions of
the crop width, smaller = nearer the camera, 0 near the head centre), so with ``z = z_mp * s``:
``x' = 2 x_mp - 1``, ``y' = 2 y_mp - 1``, ``z' = 2 z_mp``.
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "IBUG68_MIRROR",
    "IBUG68_PARTS",
    "MESH_TO_IBUG68",
    "mesh_to_ibug68",
    "normalize_landmarks",
]

#: Face-mesh vertex for each iBUG 300-W point 0..67 (module table).
MESH_TO_IBUG68: tuple[int, ...] = (
    162, 234, 93, 58, 172, 136, 149, 148, 152, 377, 378, 365, 397, 288, 323, 454, 389,  # 0-16 jaw
    71, 63, 105, 66, 107,  # 17-21 right brow
    336, 296, 334, 293, 301,  # 22-26 left brow
    168, 197, 5, 4,  # 27-30 nose bridge
    75, 97, 2, 326, 305,  # 31-35 nostrils
    33, 160, 158, 133, 153, 144,  # 36-41 right eye
    362, 385, 387, 263, 373, 380,  # 42-47 left eye
    61, 39, 37, 0, 267, 269, 291, 405, 314, 17, 84, 181,  # 48-59 outer lips
    78, 82, 13, 312, 308, 317, 14, 87,  # 60-67 inner lips
)  # fmt: skip

#: iBUG part name -> point indices (half-open ranges of the layout).
IBUG68_PARTS: dict[str, range] = {
    "jaw": range(0, 17),
    "right_brow": range(17, 22),
    "left_brow": range(22, 27),
    "nose_bridge": range(27, 31),
    "nostrils": range(31, 36),
    "right_eye": range(36, 42),
    "left_eye": range(42, 48),
    "outer_lips": range(48, 60),
    "inner_lips": range(60, 68),
}

#: For each iBUG point, its mirror image across the face's mid-line (itself on the mid-line).
IBUG68_MIRROR: tuple[int, ...] = (
    *range(16, -1, -1),  # jaw
    *range(26, 16, -1),  # brows
    27, 28, 29, 30,  # bridge
    35, 34, 33, 32, 31,  # nostrils
    45, 44, 43, 42, 47, 46,  # right eye -> left eye
    39, 38, 37, 36, 41, 40,  # left eye -> right eye
    54, 53, 52, 51, 50, 49, 48, 59, 58, 57, 56, 55,  # outer lips
    64, 63, 62, 61, 60, 67, 66, 65,  # inner lips
)  # fmt: skip


def mesh_to_ibug68(mesh: np.ndarray) -> np.ndarray:
    """``(..., 468 or 478, C)`` face-mesh points -> ``(..., 68, C)`` in the iBUG layout (same units)."""
    if mesh.shape[-2] < 468:
        raise ValueError(f"expected (..., 468, C) face-mesh points, got shape {mesh.shape}")
    return mesh[..., list(MESH_TO_IBUG68), :]


def normalize_landmarks(points: np.ndarray) -> np.ndarray:
    """Mediapipe landmarks of a square crop -> the release's normalised landmarks (module docstring).

    Args:
        points: ``(..., 3)`` ``(x, y, z)`` as mediapipe returns them for the crop: ``x, y`` fractions of
            the crop's width and height (``[0, 1]`` inside it), ``z`` in units of the crop width.

    Returns:
        ``(..., 3)`` float32: ``x', y'`` in ``[-1, 1]`` over the crop, ``z' = 2 z``.
    """
    out = np.asarray(points, dtype=np.float32) * 2.0
    out[..., :2] -= 1.0
    return out
