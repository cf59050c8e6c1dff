"""Source masks (mediapipe default, BiSeNet parser, PNG), the BiSeNet loader, prepare_source."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
import torch
from conftest import DATA
from PIL import Image

from emoportraits_core.errors import CheckpointError, InputError
from emoportraits_core.io import read_image
from emoportraits_plugins.face.bisenet import BiSeNet
from emoportraits_plugins.face.crop import crop_face
from emoportraits_plugins.face.detector import shared_detector
from emoportraits_plugins.face.masks import (
    HEAD_CLASSES,
    MediapipeHeadMask,
    ParserHeadMask,
    load_bisenet,
    load_mask_png,
)
from emoportraits_plugins.face.source import prepare_source


@pytest.fixture(scope="module")
def masker() -> MediapipeHeadMask:
    return MediapipeHeadMask()


@pytest.fixture(scope="module")
def bisenet_file(tmp_path_factory) -> Path:
    torch.manual_seed(0)
    path = tmp_path_factory.mktemp("parser") / "random_bisenet.pth"
    torch.save(BiSeNet().state_dict(), path)
    return path


def _binary(mask: torch.Tensor) -> bool:
    return bool(((mask == 0) | (mask == 1)).all())


@pytest.mark.parametrize("name", ["photo_woman.jpg", "photo_man_bw.jpg", "cartoon_boy.jpg"])
def test_mediapipe_head_mask_covers_the_head(masker, name):
    crop, _ = crop_face(read_image(DATA / "images" / name), shared_detector())
    mask = masker(crop)
    assert mask.shape == (1, 1, 512, 512) and mask.dtype == torch.float32 and _binary(mask)
    assert 0.1 < float(mask.mean()) < 0.7
    face = shared_detector().detect(crop)
    x0, y0, x1, y1 = (int(v) for v in (face.x, face.y, face.x + face.w, face.y + face.h))
    m = int(0.15 * face.w)  # the detector's square box reaches past the cheeks and chin
    assert float(mask[0, 0, y0 + m : y1 - m, x0 + m : x1 - m].mean()) > 0.97  # the face itself is in
    cx, w = (x0 + x1) // 2, x1 - x0
    head = mask[0, 0, :, max(0, cx - w) : cx + w]  # within one face width of the face centre
    assert float(head.sum()) > 0.9 * float(mask.sum())
    assert float(mask[0, 0, -20:].mean()) < 0.5  # mostly no torso along the bottom edge
    assert float(mask[0, 0, :, :20].mean()) < 0.05 and float(mask[0, 0, :, -20:].mean()) < 0.05


def test_bisenet_key_layout():
    keys = BiSeNet().state_dict().keys()
    for key in (
        "cp.resnet.conv1.weight",
        "cp.resnet.bn1.running_var",
        "cp.resnet.layer2.0.downsample.0.weight",
        "cp.resnet.layer4.1.conv2.weight",
        "cp.arm16.conv.conv.weight",
        "cp.arm32.conv_atten.weight",
        "cp.arm32.bn_atten.weight",
        "cp.conv_head32.conv.weight",
        "cp.conv_avg.bn.running_mean",
        "ffm.convblk.conv.weight",
        "ffm.conv1.weight",
        "ffm.conv2.weight",
        "conv_out.conv.conv.weight",
        "conv_out.conv_out.weight",
        "conv_out16.conv_out.weight",
        "conv_out32.conv.bn.bias",
    ):
        assert key in keys, key
    outs = BiSeNet().eval()(torch.rand(1, 3, 64, 64))
    assert [tuple(o.shape) for o in outs] == [(1, 19, 64, 64)] * 3
    assert 17 in HEAD_CLASSES and 16 not in HEAD_CLASSES and 0 not in HEAD_CLASSES


def test_parser_mask_with_random_weights(bisenet_file):
    mask = ParserHeadMask(bisenet_file)(torch.rand(1, 3, 128, 128))
    assert mask.shape == (1, 1, 128, 128) and _binary(mask)


def test_bisenet_loader_accepts_wrappers_and_rejects_wrong_files(tmp_path, bisenet_file):
    state = torch.load(bisenet_file, weights_only=True)
    torch.save({"state_dict": {f"module.{k}": v for k, v in state.items()}}, tmp_path / "wrapped.pth")
    assert isinstance(load_bisenet(tmp_path / "wrapped.pth"), BiSeNet)
    no_counters = {k: v for k, v in state.items() if not k.endswith("num_batches_tracked")}
    torch.save(no_counters, tmp_path / "old.pth")
    load_bisenet(tmp_path / "old.pth")

    missing = dict(state)
    del missing["ffm.conv1.weight"]
    torch.save(missing, tmp_path / "missing.pth")
    with pytest.raises(CheckpointError, match=r"missing\.pth.*missing key 'ffm\.conv1\.weight'"):
        load_bisenet(tmp_path / "missing.pth")
    torch.save({**state, "extra.weight": torch.zeros(1)}, tmp_path / "extra.pth")
    with pytest.raises(CheckpointError, match=re.escape("unexpected key 'extra.weight'")):
        load_bisenet(tmp_path / "extra.pth")
    torch.save({**state, "conv_out.conv_out.weight": torch.zeros(5, 256, 1, 1)}, tmp_path / "shape.pth")
    with pytest.raises(CheckpointError, match=re.escape("conv_out.conv_out.weight")):
        load_bisenet(tmp_path / "shape.pth")
    (tmp_path / "text.pth").write_text("not a checkpoint")
    with pytest.raises(CheckpointError, match=re.escape("text.pth")):
        load_bisenet(tmp_path / "text.pth")
    with pytest.raises(CheckpointError, match="no such"):
        load_bisenet(tmp_path / "absent.pth")


def test_mask_png(tmp_path):
    arr = np.zeros((256, 256), np.uint8)
    arr[64:192, 100:160] = 200
    Image.fromarray(arr).save(tmp_path / "m.png")
    mask = load_mask_png(tmp_path / "m.png")
    assert mask.shape == (1, 1, 512, 512) and _binary(mask)
    assert float(mask.sum()) == 128 * 60 * 4
    Image.fromarray(np.stack([arr] * 3 + [np.full_like(arr, 255)], -1)).save(tmp_path / "rgba.png")
    assert torch.equal(load_mask_png(tmp_path / "rgba.png"), mask)
    Image.fromarray(np.full((512, 512), 100, np.uint8)).save(tmp_path / "dark.png")
    with pytest.raises(InputError, match="empty"):
        load_mask_png(tmp_path / "dark.png")
    (tmp_path / "bad.png").write_text("x")
    with pytest.raises(InputError, match=re.escape("bad.png")):
        load_mask_png(tmp_path / "bad.png")


def test_prepare_source_variants(tmp_path, masker, bisenet_file):
    path = DATA / "images" / "photo_man_bw.jpg"
    src = prepare_source(path, masker=masker)
    assert src.image.shape == (3, 500, 375) and src.crop.shape == (1, 3, 512, 512)
    assert src.box is not None and src.mask.shape == (1, 1, 512, 512)
    assert torch.equal(src.masked, src.crop * src.mask)
    Image.fromarray(np.full((512, 512), 255, np.uint8)).save(tmp_path / "all.png")
    given = prepare_source(path, crop=False, source_mask=tmp_path / "all.png")
    assert given.box is None and float(given.mask.mean()) == 1.0
    parsed = prepare_source(path, face_parser=bisenet_file)
    assert _binary(parsed.mask)
    with pytest.raises(InputError, match="no human face"):
        prepare_source(DATA / "images" / "dog_no_human_face.jpg", masker=masker)
