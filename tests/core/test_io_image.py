"""emoportraits_core.io.image: awkward but valid images just work; broken files raise InputError."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from conftest import DATA
from PIL import Image, ImageOps

from emoportraits_core.errors import InputError
from emoportraits_core.io import is_image_file, read_image, to_uint8, write_image
from emoportraits_core.io.image import _apply_orientation


def test_to_uint8_rounds_to_nearest():
    x = torch.tensor([0.0, 0.49 / 255, 0.5 / 255, 1.49 / 255, 254.5 / 255, 1.0, -0.3, 1.7, float("nan")])
    assert to_uint8(x).tolist() == [0, 0, 1, 1, 255, 255, 0, 255, 0]
    v = torch.rand(10_000, dtype=torch.float64)
    expected = torch.floor(v * 255 + 0.5).to(torch.uint8)
    assert torch.equal(to_uint8(v), expected)
    u = torch.arange(256, dtype=torch.uint8)
    assert to_uint8(u) is u
    assert torch.equal(to_uint8(u.float() / 255), u)  # exact on the 8-bit grid


def test_reads_sample_photo():
    img = read_image(DATA / "images" / "photo_woman.jpg")
    assert img.shape == (3, 512, 512) and img.dtype == torch.float32
    assert img.min() >= 0.0 and img.max() <= 1.0


def _check(img: torch.Tensor, h: int, w: int) -> None:
    assert img.shape == (3, h, w) and img.dtype == torch.float32
    assert float(img.min()) >= 0.0 and float(img.max()) <= 1.0


def test_cmyk_jpeg(tmp_path):
    path = tmp_path / "cmyk.jpg"
    Image.new("CMYK", (40, 30), (0, 255, 255, 0)).save(path)  # pure red in CMYK
    img = read_image(path)
    _check(img, 30, 40)
    assert img[0].mean() > 0.9 and img[1].mean() < 0.15 and img[2].mean() < 0.15


def test_rgba_is_composited_over_white(tmp_path):
    path = tmp_path / "rgba.png"
    Image.new("RGBA", (8, 6), (255, 0, 0, 128)).save(path)
    img = read_image(path)
    _check(img, 6, 8)
    a = 128 / 255
    assert torch.allclose(img[:, 0, 0], torch.tensor([1.0, 1 - a, 1 - a]), atol=1e-6)


def test_la_and_palette_with_transparency(tmp_path):
    Image.new("LA", (5, 5), (0, 0)).save(tmp_path / "la.png")  # fully transparent black -> white
    assert torch.allclose(read_image(tmp_path / "la.png"), torch.ones(3, 5, 5))
    pal = Image.new("P", (6, 4), 1)
    pal.putpalette([0, 0, 0, 0, 0, 255] + [0] * 762)
    pal.save(tmp_path / "pal.png")
    img = read_image(tmp_path / "pal.png")
    _check(img, 4, 6)
    assert torch.allclose(img[:, 0, 0], torch.tensor([0.0, 0.0, 1.0]))
    pal.save(tmp_path / "pal_t.png", transparency=1)
    assert torch.allclose(read_image(tmp_path / "pal_t.png"), torch.ones(3, 4, 6))


@pytest.mark.parametrize("mode", ["L", "1", "I", "F", "YCbCr"])
def test_other_modes(tmp_path, mode):
    im = Image.new("RGB", (7, 9), (200, 100, 50)).convert(mode)
    suffix = ".tif" if mode in ("I", "F") else (".jpg" if mode == "YCbCr" else ".png")
    path = tmp_path / f"img{suffix}"
    im.save(path)
    _check(read_image(path), 9, 7)


def test_16bit_grey_png_and_tiff_keep_precision(tmp_path):
    grey = np.random.default_rng(0).integers(0, 65536, (12, 10), dtype=np.uint16)
    for suffix in (".png", ".tif"):
        path = tmp_path / f"g16{suffix}"
        Image.fromarray(grey).save(path)
        img = read_image(path)
        _check(img, 12, 10)
        assert torch.allclose(img[0], torch.from_numpy(grey.astype(np.float32) / 65535), atol=1e-6)
        assert torch.equal(img[0], img[2])


def test_16bit_rgb_png_and_tiff_keep_precision(tmp_path):
    import cv2

    rgb = np.random.default_rng(1).integers(0, 65536, (9, 11, 3), dtype=np.uint16)
    for suffix in (".png", ".tif"):
        path = tmp_path / f"rgb16{suffix}"
        cv2.imwrite(str(path), rgb[..., ::-1])  # OpenCV writes BGR
        img = read_image(path)
        _check(img, 9, 11)
        ref = torch.from_numpy(rgb.astype(np.float32) / 65535).permute(2, 0, 1)
        assert torch.allclose(img, ref, atol=1e-6)  # not quantised to 8 bits


def test_exif_orientation_6_is_applied(tmp_path):
    arr = np.zeros((20, 40, 3), np.uint8)
    arr[:5, :5] = 255  # white top-left corner in the stored pixels
    im = Image.fromarray(arr)
    exif = im.getexif()
    exif[0x0112] = 6  # "rotate 90 CW to display"
    path = tmp_path / "rot6.jpg"
    im.save(path, exif=exif, quality=100)
    img = read_image(path)
    _check(img, 40, 20)  # displayed upright: width and height swap
    assert img[:, :5, -5:].mean() > 0.8  # the corner is now top-right
    assert img[:, :5, :5].mean() < 0.2


@pytest.mark.parametrize("orientation", range(1, 9))
def test_orientation_helper_matches_pillow(orientation):
    arr = np.random.default_rng(orientation).integers(0, 255, (5, 7, 3), dtype=np.uint8)
    im = Image.fromarray(arr)
    exif = im.getexif()
    exif[0x0112] = orientation
    im.info["exif"] = exif.tobytes()
    expected = np.asarray(ImageOps.exif_transpose(im))
    assert np.array_equal(_apply_orientation(arr, orientation), expected)


def test_broken_files_raise_input_error(tmp_path):
    good = (DATA / "images" / "photo_woman.jpg").read_bytes()
    (tmp_path / "trunc.jpg").write_bytes(good[: len(good) // 3])
    (tmp_path / "text.png").write_text("this is not an image\n")
    (tmp_path / "empty.png").write_bytes(b"")
    png = tmp_path / "ok.png"
    Image.new("RGB", (64, 64), (1, 2, 3)).save(png)
    (tmp_path / "trunc.png").write_bytes(png.read_bytes()[:60])
    for name in ("trunc.jpg", "text.png", "empty.png", "trunc.png", "missing.png"):
        with pytest.raises(InputError) as info:
            read_image(tmp_path / name)
        msg = str(info.value)
        assert name in msg and "\n" not in msg


def test_is_image_file(tmp_path):
    (tmp_path / "text.png").write_text("no")
    assert is_image_file(DATA / "images" / "cartoon_boy.jpg")
    assert not is_image_file(DATA / "videos" / "drive_480.mp4")
    assert not is_image_file(tmp_path / "text.png")


def test_write_image_round_trip_and_atomic(tmp_path):
    img = torch.randint(0, 256, (3, 17, 23)).float() / 255
    out = write_image(tmp_path / "a.png", img[None])
    assert torch.equal(read_image(out), img)
    write_image(tmp_path / "b.jpg", img)
    _check(read_image(tmp_path / "b.jpg"), 17, 23)
    with pytest.raises(InputError, match="suffix"):
        write_image(tmp_path / "c.xyz", img)
    with pytest.raises(ValueError):
        write_image(tmp_path / "d.png", torch.zeros(2, 3, 4, 4))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.png", "b.jpg"]  # no temporaries left


def test_io_package_exports_lazily():
    import emoportraits_core.io as io

    assert set(io.__all__) == set(io._LAZY) | {"atomic_output"}
    for name in io.__all__:
        assert getattr(io, name) is not None
    with pytest.raises(AttributeError):
        io.no_such_name  # noqa: B018


def test_written_files_get_the_usual_permissions(tmp_path):
    """Atomic writes go through a 0600 temporary file; the result has a normal new file's mode."""
    import os
    import stat

    out = tmp_path / "img.png"
    write_image(out, torch.rand(3, 8, 8))
    mask = os.umask(0)
    os.umask(mask)
    assert stat.S_IMODE(out.stat().st_mode) == 0o666 & ~mask
