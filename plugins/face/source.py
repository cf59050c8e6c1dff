"""The source picture, prepared as the release does: read, crop to 512 around the face, mask.

:func:`prepare_source` bundles :mod:`.crop` and :mod:`.masks` for the one photo to animate; keep
the result's ``image`` and ``box`` to paste the animated crop back (:mod:`.paste_back`).
"""

from __future__ import annotations

import os
from pathlib import Path

import attrs
from torch import Tensor

from emoportraits_core.io import read_image

from .crop import CropBox, crop_face
from .detector import FaceDetector, shared_detector
from .masks import MediapipeHeadMask, ParserHeadMask, load_mask_png

__all__ = ["SourceImage", "prepare_source"]


@attrs.frozen
class SourceImage:
    """A prepared source.

    Attributes:
        path: the file it came from.
        image: the whole picture ``(3, H, W)`` float in [0, 1] (EXIF-rotated, alpha over white).
        crop: ``(1, 3, S, S)`` float in [0, 1], the model's input (not yet masked).
        box: the crop square in ``image`` pixels, or None without cropping.
        mask: ``(1, 1, S, S)`` binary float head mask on ``crop``.
    """

    path: Path
    image: Tensor
    crop: Tensor
    box: CropBox | None
    mask: Tensor

    @property
    def masked(self) -> Tensor:
        """``crop * mask``: what the source encoders see."""
        return self.crop * self.mask


def prepare_source(
    path: str | os.PathLike[str],
    *,
    crop: bool = True,
    size: int = 512,
    face_parser: str | os.PathLike[str] | None = None,
    source_mask: str | os.PathLike[str] | None = None,
    detector: FaceDetector | None = None,
    masker: MediapipeHeadMask | ParserHeadMask | None = None,
) -> SourceImage:
    """Read ``path``, crop it around its face and compute its head mask.

    Args:
        crop: False resizes the whole picture instead of cropping (``--no-crop``).
        size: crop side in pixels.
        face_parser: BiSeNet weights for the mask (``--face-parser``); default: mediapipe mask.
        source_mask: a mask PNG to use as is (``--source-mask``); wins over ``face_parser``.
        detector, masker: reuse already-built ones (they are slow to build).

    Raises:
        InputError: unreadable image, too small, no face. CheckpointError: bad parser weights.
    """
    path = Path(path)
    image = read_image(path)
    det = detector if detector is not None or not crop else shared_detector()
    crop_img, box = crop_face(image, det, size=size, crop=crop, name=str(path))
    crop_img = crop_img.unsqueeze(0)
    if source_mask is not None:
        mask = load_mask_png(source_mask, size)
    else:
        if masker is None:
            masker = ParserHeadMask(face_parser) if face_parser is not None else MediapipeHeadMask()
        mask = masker(crop_img)
    return SourceImage(path, image, crop_img, box, mask)
