"""Paste-back: the crop returns to its square, blended; outside the square nothing changes."""

from __future__ import annotations

import pytest
import torch

from emoportraits_plugins.face.crop import CropBox, crop_resize
from emoportraits_plugins.face.paste_back import feathered_square, paste_back, soften_mask


def test_shapes_range_and_untouched_outside():
    full = torch.rand(3, 300, 400)
    box = CropBox(120, 40, 200)
    face = torch.rand(3, 512, 512)
    out = paste_back(full, face, box)
    assert out.shape == (3, 300, 400) and float(out.min()) >= 0.0 and float(out.max()) <= 1.0
    inside = torch.zeros(300, 400, dtype=torch.bool)
    inside[40:240, 120:320] = True
    assert torch.equal(out[:, ~inside], full[:, ~inside])
    assert not torch.allclose(out[:, 100:180, 180:260], full[:, 100:180, 180:260])


def test_round_trip_of_an_unchanged_crop():
    yy, xx = torch.meshgrid(torch.linspace(0, 1, 240), torch.linspace(0, 1, 320), indexing="ij")
    full = torch.stack([yy, xx, (yy + xx) / 2])  # smooth, so resampling twice loses little
    box = CropBox(50, 20, 180)
    crop = crop_resize(full, box, 512)
    out = paste_back(full, crop, box)
    assert (out - full).abs().max() < 0.01


def test_centre_is_the_face_and_border_is_the_source():
    full = torch.zeros(3, 100, 100)
    out = paste_back(full, torch.ones(3, 512, 512), CropBox(0, 0, 100), feather=0.2)
    assert torch.allclose(out[:, 40:60, 40:60], torch.ones(3, 20, 20))
    assert float(out[:, 0, 0].max()) < 0.05


def test_batch_mask_and_no_crop():
    full = torch.rand(3, 120, 90)
    faces = torch.rand(4, 3, 512, 512)
    mask = torch.zeros(1, 1, 512, 512)
    mask[:, :, 128:384, 128:384] = 1
    out = paste_back(full, faces, CropBox(10, 20, 64), mask)
    assert out.shape == (4, 3, 120, 90)
    assert torch.allclose(out[:, :, 20:24, 10:74], full[:, 20:24, 10:74].expand(4, -1, -1, -1))
    stretched = paste_back(full, faces[0], None)
    assert stretched.shape == (3, 120, 90)
    with pytest.raises(ValueError, match="inside"):
        paste_back(full, faces[0], CropBox(50, 50, 100))


def test_weights():
    w = feathered_square(64, 0.25)
    assert w.shape == (1, 1, 64, 64) and float(w[0, 0, 32, 32]) == 1.0 and float(w[0, 0, 0, 0]) < 0.01
    m = torch.zeros(1, 1, 64, 64)
    m[:, :, 16:48, 16:48] = 1
    soft = soften_mask(m, erode=4, blur=2.0)
    assert float(soft[0, 0, 32, 32]) == pytest.approx(1.0, abs=1e-4)
    assert float(soft[0, 0, 17, 32]) < 0.5 and float(soft.max()) <= 1.0
