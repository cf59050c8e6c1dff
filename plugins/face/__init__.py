"""Face preprocessing: detection, the release's crop rule, box smoothing, source masks, paste-back."""

from .crop import CropBox, crop_box_from_face, crop_face, crop_resize, resize_image
from .detector import FaceBox, FaceDetector, shared_detector
from .masks import MediapipeHeadMask, ParserHeadMask, load_bisenet, load_mask_png
from .paste_back import paste_back
from .smoothing import BoxSmoother, NoFaceInStreamError, smooth_boxes
from .source import SourceImage, prepare_source

__all__ = [
    "BoxSmoother",
    "CropBox",
    "FaceBox",
    "FaceDetector",
    "MediapipeHeadMask",
    "NoFaceInStreamError",
    "ParserHeadMask",
    "SourceImage",
    "crop_box_from_face",
    "crop_face",
    "crop_resize",
    "load_bisenet",
    "load_mask_png",
    "paste_back",
    "prepare_source",
    "resize_image",
    "shared_detector",
    "smooth_boxes",
]
