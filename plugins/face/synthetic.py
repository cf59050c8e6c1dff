"""A drawn cartoon face that mediapipe detects (score ~0.85): self-contained test sources.

Used by :meth:`VideoDriver.conformance_sources` and tests that need a face but no sample files.
"""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

__all__ = ["draw_face"]


def draw_face(size: int = 256, dx: float = 0.0, dy: float = 0.0, mouth: float = 0.0) -> np.ndarray:
    """``(size, size, 3)`` uint8 RGB picture of a simple face, shifted by ``(dx, dy)`` pixels
    (at size 256; scaled with ``size``) with the mouth opened by ``mouth`` in ``[0, 1]``."""
    base = 256
    im = Image.new("RGB", (base, base), (90, 120, 160))
    g = ImageDraw.Draw(im)

    def box(x0: float, y0: float, x1: float, y1: float) -> tuple[float, float, float, float]:
        return x0 + dx, y0 + dy, x1 + dx, y1 + dy

    g.ellipse(box(58, 20, 198, 250), fill=(120, 80, 50))  # hair
    g.ellipse(box(70, 50, 186, 210), fill=(225, 180, 150))  # face
    for ex in (100, 156):
        g.ellipse(box(ex - 14, 110, ex + 14, 126), fill=(255, 255, 255))
        g.ellipse(box(ex - 6, 112, ex + 6, 124), fill=(60, 40, 30))
        g.line(box(ex - 16, 98, ex + 16, 96), fill=(80, 50, 30), width=5)
    g.polygon([(128 + dx, 120 + dy), (118 + dx, 158 + dy), (138 + dx, 158 + dy)], fill=(205, 150, 120))
    g.ellipse(box(108, 170 - 6 * mouth, 148, 186 + 8 * mouth), fill=(180, 70, 70))
    im = im.filter(ImageFilter.GaussianBlur(1.5))
    if size != base:
        im = im.resize((size, size), Image.Resampling.BICUBIC)
    return np.asarray(im).copy()
