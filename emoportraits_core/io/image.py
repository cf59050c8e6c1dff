"""Still images: read any common file as ``(3, H, W)`` float RGB in ``[0, 1]``; write atomically.

Conventions, fixed here once for the whole project:

- tensors are ``(3, H, W)`` (or ``(1, 3, H, W)`` on write) float32, RGB, values in ``[0, 1]``;
- 8-bit quantisation rounds to nearest, ``floor(clamp(x, 0, 1) * 255 + 0.5)`` (:func:`to_uint8`),
  everywhere (images and video), never truncation;
- EXIF orientation is applied (the tensor is what a viewer shows);
- transparency (RGBA, LA, palette with transparency) is composited over **white**: cut-out
  portraits are usually shown on white, and a white background keeps the face detector working;
- 16-bit files (grey ``I;16`` PNG/TIFF, and 16-bit RGB(A) PNG/TIFF, which Pillow would reduce to
  8 bits and are therefore read with OpenCV) keep their full precision (divided by 65535);
- CMYK, palette, grey, bilevel and 32-bit int/float images are converted to RGB;
- every unreadable, truncated or non-image file raises :class:`InputError` naming the file.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageFile, ImageOps, UnidentifiedImageError
from torch import Tensor

from ..errors import InputError
from .atomic import atomic_output

__all__ = ["IMAGE_SUFFIXES", "is_image_file", "pil_to_tensor", "read_image", "to_uint8", "write_image"]

#: File suffixes that :func:`write_image` can write (Pillow decides the format from the suffix).
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp")

ImageFile.LOAD_TRUNCATED_IMAGES = False  # a truncated file is an error, not a grey half-image

_WHITE = 1.0


def to_uint8(t: Tensor) -> Tensor:
    """Quantise a float tensor in ``[0, 1]`` to uint8 by rounding to nearest (any shape).

    ``floor(clamp(x, 0, 1) * 255 + 0.5)``; NaN becomes 0. A uint8 input is returned unchanged.
    """
    if t.dtype == torch.uint8:
        return t
    x = torch.nan_to_num(t.detach().float(), nan=0.0).clamp(0.0, 1.0)
    return torch.floor(x * 255.0 + 0.5).to(torch.uint8)


def is_image_file(path: str | os.PathLike[str]) -> bool:
    """True if Pillow recognises ``path`` as a single-frame still image (by content, not suffix)."""
    try:
        with Image.open(path) as im:
            return int(getattr(im, "n_frames", 1)) == 1
    except (OSError, UnidentifiedImageError, ValueError, Image.DecompressionBombError):
        return False


def read_image(path: str | os.PathLike[str]) -> Tensor:
    """Read an image file as ``(3, H, W)`` float32 RGB in ``[0, 1]`` (see the module conventions).

    Raises:
        InputError: the file is missing, unreadable, truncated or not an image.
    """
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: no such image file")
    try:
        with Image.open(path) as im:
            if _is_16bit_rgb(im):
                return _read_16bit_rgb(path, im)
            im.load()
            return pil_to_tensor(ImageOps.exif_transpose(im), name=str(path))
    except InputError:
        raise
    except UnidentifiedImageError:
        raise InputError(
            f"{path}: not a readable image; expected a PNG, JPEG, BMP, TIFF or WebP file"
        ) from None
    except Image.DecompressionBombError as exc:
        raise InputError(f"{path}: image too large to decode safely ({exc})") from None
    except (OSError, SyntaxError, ValueError) as exc:
        raise InputError(
            f"{path}: corrupt or truncated image ({exc}); expected a complete image file"
        ) from None


def pil_to_tensor(im: Image.Image, *, name: str = "image") -> Tensor:
    """Convert a loaded PIL image of any mode to ``(3, H, W)`` float32 RGB in ``[0, 1]``.

    No EXIF handling here (call :func:`PIL.ImageOps.exif_transpose` first if needed).
    """
    mode = im.mode
    if mode in ("I;16", "I;16L", "I;16B", "I;16N"):
        grey = np.asarray(im).astype(np.float32) / 65535.0
        return _grey_to_rgb(grey)
    if mode == "I":  # 32-bit int; Pillow uses it for 16-bit grey PNGs on some versions
        arr = np.asarray(im).astype(np.float64)
        scale = 65535.0 if arr.max(initial=0) <= 65535 else float(2**32 - 1)
        return _grey_to_rgb((arr / scale).astype(np.float32))
    if mode == "F":  # float image, assumed in [0, 1]
        return _grey_to_rgb(np.asarray(im).astype(np.float32))
    if mode == "P":
        im = im.convert("RGBA") if "transparency" in im.info else im.convert("RGB")
    elif mode in ("LA", "La", "PA", "RGBa"):
        im = im.convert("RGBA")
    elif mode not in ("RGB", "RGBA"):
        im = im.convert("RGB")  # L, 1, CMYK, YCbCr, LAB, HSV...
    arr = np.asarray(im).astype(np.float32) / 255.0
    if arr.ndim != 3 or arr.shape[0] < 1 or arr.shape[1] < 1:
        raise InputError(f"{name}: empty image of shape {arr.shape}")
    return _composite(torch.from_numpy(np.ascontiguousarray(arr)).permute(2, 0, 1))


def write_image(path: str | os.PathLike[str], image: Tensor) -> Path:
    """Write ``image`` ((3, H, W) or (1, 3, H, W) float in [0, 1], or uint8) as an 8-bit RGB file.

    The format comes from the suffix (:data:`IMAGE_SUFFIXES`); the file appears whole or not at all.
    Returns the path written.
    """
    path = Path(path)
    if path.suffix.lower() not in IMAGE_SUFFIXES:
        raise InputError(f"{path}: unsupported image suffix; expected one of {', '.join(IMAGE_SUFFIXES)}")
    if image.dim() == 4:
        if image.shape[0] != 1:
            raise ValueError(f"write_image: expected one image, got a batch of shape {tuple(image.shape)}")
        image = image[0]
    if image.dim() != 3 or image.shape[0] != 3:
        raise ValueError(f"write_image: expected (3, H, W), got shape {tuple(image.shape)}")
    arr = to_uint8(image.cpu()).permute(1, 2, 0).contiguous().numpy()
    fmt = Image.registered_extensions()[path.suffix.lower()]
    options = {"quality": 95} if fmt in ("JPEG", "WEBP") else {}
    with atomic_output(path) as tmp:
        Image.fromarray(arr, "RGB").save(tmp, format=fmt, **options)
    return path


# -- helpers ---------------------------------------------------------------------------------------
def _grey_to_rgb(grey: np.ndarray) -> Tensor:
    t = torch.from_numpy(np.ascontiguousarray(grey)).clamp(0.0, 1.0)
    return t.unsqueeze(0).expand(3, -1, -1).contiguous()


def _composite(t: Tensor) -> Tensor:
    """``(3|4, H, W)`` -> ``(3, H, W)``: alpha over white."""
    if t.shape[0] == 3:
        return t.contiguous()
    rgb, alpha = t[:3], t[3:4]
    return (rgb * alpha + _WHITE * (1.0 - alpha)).contiguous()


def _is_16bit_rgb(im: Image.Image) -> bool:
    """Pillow decodes 16-bit-per-channel RGB(A) to 8 bits; detect those files from the raw mode."""
    if im.mode not in ("RGB", "RGBA") or not im.tile:
        return False
    args = im.tile[0].args
    rawmode = args[0] if isinstance(args, tuple) and args else args
    return isinstance(rawmode, str) and ";16" in rawmode


def _read_16bit_rgb(path: Path, im: Image.Image) -> Tensor:
    import cv2  # only for 16-bit colour files; OpenCV comes with mediapipe

    data = np.fromfile(path, dtype=np.uint8)
    arr = cv2.imdecode(data, cv2.IMREAD_UNCHANGED)
    if arr is None or arr.dtype != np.uint16 or arr.ndim != 3:
        im.load()  # fall back to Pillow's 8-bit decoding
        return pil_to_tensor(ImageOps.exif_transpose(im), name=str(path))
    arr = arr[..., [2, 1, 0, 3]] if arr.shape[2] == 4 else arr[..., ::-1]  # BGR(A) -> RGB(A)
    arr = _apply_orientation(arr, im.getexif().get(0x0112, 1))
    t = torch.from_numpy(np.ascontiguousarray(arr).astype(np.float32) / 65535.0).permute(2, 0, 1)
    return _composite(t)


def _apply_orientation(arr: np.ndarray, orientation: int) -> np.ndarray:
    """Apply an EXIF orientation (1-8) to an ``(H, W, C)`` array, as ImageOps.exif_transpose does."""
    ops = {
        2: lambda a: a[:, ::-1],
        3: lambda a: a[::-1, ::-1],
        4: lambda a: a[::-1],
        5: lambda a: np.transpose(a, (1, 0, 2)),
        6: lambda a: np.rot90(a, -1),
        7: lambda a: np.rot90(np.transpose(a, (1, 0, 2)), 2),
        8: lambda a: np.rot90(a, 1),
    }
    return ops[orientation](arr) if orientation in ops else arr
