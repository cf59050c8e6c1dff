"""Face detection on the sample pictures and the release's crop rule."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from conftest import DATA

from emoportraits_core.errors import InputError
from emoportraits_core.io import read_image
from emoportraits_plugins.face.crop import (
    CropBox,
    check_face,
    crop_box_from_face,
    crop_face,
    crop_resize,
    resize_image,
)
from emoportraits_plugins.face.detector import FaceBox, FaceDetector, as_rgb_array
from emoportraits_plugins.face.synthetic import draw_face

IMAGES = DATA / "images"


@pytest.fixture(scope="module")
def detector() -> FaceDetector:
    return FaceDetector()


@pytest.mark.parametrize(
    "name",
    [
        "photo_woman.jpg",
        "photo_man_bw.jpg",
        "photo_man_gray.jpg",
        "painting_mona_lisa.jpg",
        "cartoon_boy.jpg",
    ],
)
def test_faces_are_found_on_the_samples(detector, name):
    image = read_image(IMAGES / name)
    crop, box = crop_face(image, detector, name=name)
    assert crop.shape == (3, 512, 512) and float(crop.min()) >= 0.0 and float(crop.max()) <= 1.0
    _, h, w = image.shape
    assert box is not None and box.x0 >= 0 and box.x0 + box.size <= w and box.y0 + box.size <= h
    face = detector.detect(image)
    assert face.score >= 0.5 and face.w >= 0.1 * min(h, w)


def test_the_dog_is_not_a_human_face(detector):
    path = IMAGES / "dog_no_human_face.jpg"
    with pytest.raises(InputError, match="no human face found"):
        crop_face(read_image(path), detector, name=str(path))


def test_crop_rule_by_hand():
    # W=1000, H=800; detector box x=100, y=200, w=150, h=160
    # head box: x0=100, y0=0.9*200=180, x1=250, y1=min(200+1.2*160, 799)=392
    # side = 150 + 212 = 362; centre (175, 286); left = 175-181 = -6 -> clamped to 0; top = 286-181 = 105
    assert crop_box_from_face(FaceBox(100, 200, 150, 160), 1000, 800) == CropBox(0, 105, 362)
    # y1 capped at H-1: box near the bottom of a 400x300 image
    # head box: (200.3, 198, 280.3, min(220+96, 299)=299) -> side 80+101=181, centre (240.3, 248.5)
    # -> left round(149.8)=150, top round(158)=158, bottom 339 > 300 -> top moves up to 300-181=119
    assert crop_box_from_face(FaceBox(200.3, 220, 80, 80), 400, 300) == CropBox(150, 119, 181)
    # ties round half up: side 80 + (0.1*100 + 1.2*75) = 180, centre x 240.5 -> left 150.5 -> 151
    assert crop_box_from_face(FaceBox(200.5, 100, 80, 75), 400, 300).x0 == 151
    # a square larger than the picture shrinks to the short side, centred as close as possible
    assert crop_box_from_face(FaceBox(50, 100, 300, 300), 640, 480) == CropBox(0, 0, 480)


def test_crop_rule_on_a_real_detection(detector):
    image = read_image(IMAGES / "painting_mona_lisa.jpg")  # 720 x 1280 portrait, small face
    face = detector.detect(image)
    w, h = 720, 1280
    x0, y0, x1, y1 = face.x, 0.9 * face.y, face.x + face.w, min(face.y + 1.2 * face.h, h - 1)
    side = int(np.floor(min((x1 - x0) + (y1 - y0), w, h) + 0.5))
    left = min(max(int(np.floor((x0 + x1) / 2 - side / 2 + 0.5)), 0), w - side)
    top = min(max(int(np.floor((y0 + y1) / 2 - side / 2 + 0.5)), 0), h - side)
    box = crop_box_from_face(face, w, h)
    assert box == CropBox(left, top, side)
    crop, got = crop_face(image, detector)
    assert got == box
    ref = F.interpolate(image[None, :, top : top + side, left : left + side], size=(512, 512), mode="bicubic")
    assert torch.allclose(crop, ref[0].clamp(0, 1), atol=1e-5)


def test_no_crop_resizes_the_whole_frame():
    image = read_image(IMAGES / "painting_mona_lisa.jpg")
    crop, box = crop_face(image, None, crop=False)
    assert box is None and crop.shape == (3, 512, 512)
    ref = F.interpolate(image[None], size=(512, 512), mode="bicubic", align_corners=False).clamp(0, 1)[0]
    assert torch.allclose(crop, ref, atol=1e-6)


@pytest.mark.parametrize("side", [97, 300, 512, 1243])
def test_array_and_tensor_paths_agree(side):
    arr = np.random.default_rng(side).integers(0, 256, (side + 10, side + 20, 3), dtype=np.uint8)
    box = CropBox(7, 3, side)
    from_array = crop_resize(arr, box, 512)
    tensor = torch.from_numpy(arr).permute(2, 0, 1).float() / 255
    from_tensor = crop_resize(tensor, box, 512)
    assert from_array.shape == from_tensor.shape == (3, 512, 512)
    assert torch.allclose(from_array, from_tensor, atol=2e-6)
    assert float(from_array.min()) >= 0.0 and float(from_array.max()) <= 1.0
    assert resize_image(tensor[None], 64).shape == (1, 3, 64, 64)


def test_small_images_and_faces_are_rejected(detector):
    with pytest.raises(InputError, match="too small"):
        crop_face(np.zeros((50, 80, 3), np.uint8), detector, name="tiny.png")
    with pytest.raises(InputError, match=r"tiny\.png: the face is too small"):
        check_face(FaceBox(0, 0, 20, 20, 0.9), "tiny.png")
    with pytest.raises(InputError, match=r"grey\.png: no human face found"):
        crop_face(np.full((200, 200, 3), 127, np.uint8), detector, name="grey.png")


def test_synthetic_face_is_detected(detector):
    face = detector.detect(draw_face(256))
    assert face is not None and 100 < face.w < 200
    assert as_rgb_array(torch.zeros(1, 3, 4, 5)).shape == (4, 5, 3)


def test_detector_downscale_gives_the_same_box(detector):
    image = read_image(IMAGES / "photo_man_gray.jpg")  # 2048 x 2048
    full = FaceDetector(max_side=None).detect(image)
    small = detector.detect(image)  # detected at 640 px
    assert abs(full.x - small.x) < 0.03 * full.w and abs(full.w - small.w) < 0.05 * full.w
