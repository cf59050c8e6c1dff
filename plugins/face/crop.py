"""The face crop of the released inference: detector box -> square around the head -> 512 x 512.

Rule (ARCHITECTURE_FACTS section 4), for a detector box ``(x, y, w, h)`` in an image ``W x H``:

1. head box ``(x0, y0, x1, y1) = (x, 0.9 * y, x + w, min(y + 1.2 * h, H - 1))`` (a little above the
   detector box, which starts at the brows, and down to the chin and neck);
2. a square of side ``(x1 - x0) + (y1 - y0)`` centred on the head box centre;
3. shrunk to fit: the side becomes ``min(side, W, H)`` (the largest square no bigger than wanted
   that fits), then its centre is moved by the least amount that puts it inside the image. The
   face stays at the scale the model was trained on; it is off-centre only near the image border;
4. corners and side are rounded to whole pixels (half up), the square is cut out and resized to
   ``size x size`` with ``F.interpolate(mode="bicubic", align_corners=False)`` on float, then
   clamped to ``[0, 1]`` (bicubic overshoots; the release clips the same way).

Without cropping (``--no-crop``) the whole frame is resized to ``size x size`` the same way (a
non-square frame is stretched, as in the release).
"""

from __future__ import annotations

import math

import attrs
import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

from emoportraits_core.errors import InputError

from .detector import FaceBox, FaceDetector, as_rgb_array

__all__ = [
    "MIN_FACE_SIZE",
    "MIN_IMAGE_SIZE",
    "CropBox",
    "crop_box_from_face",
    "crop_face",
    "crop_resize",
    "crop_resize_array",
    "resize_image",
]

#: Smallest accepted image side and detected face width, in pixels.
MIN_IMAGE_SIZE = 64
MIN_FACE_SIZE = 32


@attrs.frozen
class CropBox:
    """A square ``[x0, x0 + size) x [y0, y0 + size)`` in source-image pixels (inside the image)."""

    x0: int
    y0: int
    size: int

    def as_tuple(self) -> tuple[int, int, int, int]:
        """``(x0, y0, x1, y1)``, exclusive end."""
        return self.x0, self.y0, self.x0 + self.size, self.y0 + self.size


def _round(x: float) -> int:
    """Round half up (not to even), so that crops do not depend on the parity of a tie."""
    return math.floor(x + 0.5)


def head_box(face: FaceBox, height: int) -> tuple[float, float, float, float]:
    """Step 1 of the rule: ``(x0, y0, x1, y1)`` from a detector box in an image of ``height`` rows."""
    return face.x, 0.9 * face.y, face.x + face.w, min(face.y + 1.2 * face.h, height - 1.0)


def crop_box_from_face(face: FaceBox, width: int, height: int) -> CropBox:
    """The crop square of the release for ``face`` in a ``width x height`` image (module rule)."""
    x0, y0, x1, y1 = head_box(face, height)
    side = (x1 - x0) + (y1 - y0)
    cx, cy = (x0 + x1) / 2.0, (y0 + y1) / 2.0
    size = _round(min(side, width, height))
    size = max(1, min(size, width, height))
    left = _round(cx - size / 2.0)
    top = _round(cy - size / 2.0)
    left = min(max(left, 0), width - size)
    top = min(max(top, 0), height - size)
    return CropBox(left, top, size)


def resize_image(image: Tensor, size: int) -> Tensor:
    """Bicubic resize of ``(B, 3, h, w)`` (or ``(3, h, w)``) float in [0, 1] to ``size x size``, clamped."""
    squeeze = image.dim() == 3
    x = image.unsqueeze(0) if squeeze else image
    if x.shape[-2:] != (size, size):
        x = F.interpolate(x, size=(size, size), mode="bicubic", align_corners=False).clamp_(0.0, 1.0)
    return x[0] if squeeze else x


def crop_resize(image: np.ndarray | Tensor, box: CropBox | None, size: int = 512) -> Tensor:
    """Cut ``box`` out of ``image`` and resize it to ``(3, size, size)`` float in ``[0, 1]``.

    Args:
        image: ``(H, W, 3)`` uint8 RGB array or ``(3, H, W)`` float tensor in ``[0, 1]``.
        box: crop square, or None for the whole frame (``--no-crop``).

    Arrays go through :func:`crop_resize_array`, tensors through ``F.interpolate``; both agree
    within 1e-6.
    """
    if isinstance(image, np.ndarray):
        return torch.from_numpy(crop_resize_array(image, box, size))
    t = image if box is None else image[:, box.y0 : box.y0 + box.size, box.x0 : box.x0 + box.size]
    return resize_image(t.float(), size)


def crop_resize_array(
    image: np.ndarray, box: CropBox | None, size: int = 512, out: np.ndarray | None = None
) -> np.ndarray:
    """:func:`crop_resize` for an ``(H, W, 3)`` uint8 array, into ``out`` ``(3, size, size)`` float32
    if given (e.g. a row of a batch buffer, to avoid copies).

    OpenCV's float bicubic (``INTER_CUBIC``: the same kernel, a = -0.75, and half-pixel centres)
    equals ``F.interpolate(mode="bicubic", align_corners=False)`` within 1e-6 and is several times
    faster on CPU; each colour plane is resized separately, so nothing large is transposed.
    """
    arr = image if box is None else image[box.y0 : box.y0 + box.size, box.x0 : box.x0 + box.size]
    planes = np.ascontiguousarray(arr.transpose(2, 0, 1)).astype(np.float32)  # (3, h, w)
    planes *= np.float32(1.0 / 255.0)
    if out is None:
        out = np.empty((3, size, size), np.float32)
    if planes.shape[1:] == (size, size):
        out[...] = planes
        return out
    import cv2

    for c in range(3):
        res = cv2.resize(planes[c], (size, size), dst=out[c], interpolation=cv2.INTER_CUBIC)
        if not np.shares_memory(res, out[c]):  # OpenCV reallocates if dst does not fit
            out[c] = res
    return np.clip(out, 0.0, 1.0, out=out)


def check_image_size(width: int, height: int, name: str) -> None:
    """InputError if the image is smaller than :data:`MIN_IMAGE_SIZE` on a side."""
    if min(width, height) < MIN_IMAGE_SIZE:
        raise InputError(
            f"{name}: image too small ({width}x{height} px); expected at least "
            f"{MIN_IMAGE_SIZE}x{MIN_IMAGE_SIZE} px with a clearly visible face"
        )


def check_face(face: FaceBox | None, name: str) -> FaceBox:
    """InputError if no face was found or it is smaller than :data:`MIN_FACE_SIZE` pixels."""
    if face is None:
        raise InputError(f"{name}: no human face found; expected a photo with one clearly visible face")
    if min(face.w, face.h) < MIN_FACE_SIZE:
        raise InputError(
            f"{name}: the face is too small ({face.w:.0f}x{face.h:.0f} px); expected a face at least "
            f"{MIN_FACE_SIZE} px wide (use a larger or closer photo)"
        )
    return face


def crop_face(
    image: np.ndarray | Tensor,
    detector: FaceDetector | None,
    *,
    size: int = 512,
    crop: bool = True,
    name: str = "image",
) -> tuple[Tensor, CropBox | None]:
    """Detect the main face and crop it by the release's rule.

    Args:
        image: ``(H, W, 3)`` uint8 RGB or ``(3, H, W)`` float in ``[0, 1]``.
        detector: face detector (unused when ``crop`` is False).
        size: output side in pixels.
        crop: False resizes the whole image instead (no detection).
        name: how errors name the input (usually its path).

    Returns:
        ``(3, size, size)`` float in ``[0, 1]`` and the crop square (None when not cropping).

    Raises:
        InputError: image too small, no face, or a face too small.
    """
    arr = as_rgb_array(image) if isinstance(image, Tensor) else image
    height, width = arr.shape[:2]
    check_image_size(width, height, name)
    if not crop:
        return crop_resize(image, None, size), None
    if detector is None:
        raise ValueError("crop_face: a detector is needed when crop=True")
    face = check_face(detector.detect(arr), name)
    box = crop_box_from_face(face, width, height)
    return crop_resize(image, box, size), box
