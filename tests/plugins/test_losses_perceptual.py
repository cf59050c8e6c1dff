"""VGG19, VGG-Face and identity losses: the release's numbers by default, values against a direct
computation, no gradient into the target, and the zero-safe cosine."""

from __future__ import annotations

import warnings

import pytest
import torch
import torch.nn.functional as F
from conftest import plugin_registry

from emoportraits_core.normalize import imagenet_normalize
from emoportraits_plugins import losses
from emoportraits_plugins.losses import (
    IdentityCosineConfig,
    VGG19PerceptualConfig,
    VGGFacePerceptualConfig,
)
from emoportraits_plugins.losses._common import cosine

TINY = (4, 8, 8, 16, 16)


@pytest.fixture(autouse=True)
def _quiet_random_weights():
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*no weights file configured.*")
        yield


@pytest.fixture
def registry():
    return plugin_registry(losses)


def test_release_defaults():
    vgg = VGG19PerceptualConfig()
    assert vgg.layers == (1, 6, 11, 20, 29) and vgg.layer_weights == (0.2,) * 5 and vgg.num_scales == 4
    face = VGGFacePerceptualConfig()
    assert face.layers == (1, 6, 11, 18, 25) and face.layer_weights == (1 / 32, 1 / 16, 1 / 8, 1 / 4, 1.0)
    assert face.resize == 224 and face.num_scales == 2 and face.crop_size == 128
    ident = IdentityCosineConfig()
    assert ident.input_size == 244 and ident.layers == (3, 4, 6, 3) and ident.bgr


def _pyramid_l1(features, pred, target, weights, scales):
    total = 0.0
    for s in range(scales):
        if s:
            pred = F.interpolate(pred, scale_factor=0.5, mode="bilinear", align_corners=False)
            target = F.interpolate(target, scale_factor=0.5, mode="bilinear", align_corners=False)
        fp, ft = features(imagenet_normalize(pred)), features(imagenet_normalize(target))
        total += sum(w * (a - b).abs().mean() for w, a, b in zip(weights, fp, ft))
    return total / scales


def test_vgg19_value_gradient_and_zero(registry):
    loss = registry.create("loss", "vgg19_perceptual", preset="tiny", num_scales=3)
    pred = torch.rand(2, 3, 64, 64, requires_grad=True)  # scales 64, 32, 16
    target = torch.rand(2, 3, 64, 64, requires_grad=True)
    value = loss(pred, target)
    expected = _pyramid_l1(loss.vgg, pred, target, (0.2,) * 5, 3)
    torch.testing.assert_close(value, expected)
    value.backward()
    assert pred.grad.abs().sum() > 0 and target.grad is None
    assert float(loss(pred, pred).detach()) == 0.0


def test_vggface_resizes_crops_then_two_scales(registry):
    loss = registry.create("loss", "vggface_perceptual", preset="tiny")  # crops 16 -> 32, scales 32, 16
    pred, target = torch.rand(2, 3, 16, 16), torch.rand(2, 3, 16, 16)
    up = lambda x: F.interpolate(x, size=(32, 32), mode="bilinear", align_corners=False)  # noqa: E731
    expected = _pyramid_l1(loss.vggface, up(pred), up(target), (1 / 32, 1 / 16, 1 / 8, 1 / 4, 1.0), 2)
    torch.testing.assert_close(loss(pred, target), expected)


def test_identity_cosine_value(registry):
    loss = registry.create("loss", "identity_cosine", preset="tiny")
    pred, target = torch.rand(3, 3, 16, 16, requires_grad=True), torch.rand(3, 3, 16, 16)
    value = loss(pred, target)
    up = lambda x: F.interpolate(x, size=(32, 32), mode="bilinear", align_corners=False)  # noqa: E731
    expected = (1 - F.cosine_similarity(loss.senet(up(pred)), loss.senet(up(target)), dim=-1)).mean()
    torch.testing.assert_close(value, expected)
    value.backward()
    assert pred.grad.abs().sum() > 0
    assert abs(float(loss(target, target))) < 1e-6


def test_senet_preprocessing_is_bgr_minus_the_vggface2_mean():
    from emoportraits_plugins.lossnets import SENet50

    net = SENet50(layers=(1, 1, 1, 1), widths=(4, 8, 8, 16), stem_channels=8)
    red = torch.tensor([1.0, 0.0, 0.0]).view(1, 3, 1, 1)
    got = net.preprocess(red).flatten().tolist()
    assert got == pytest.approx([-91.4953, -103.8827, 255 - 131.0912])
    rgb = SENet50(layers=(1, 1, 1, 1), widths=(4, 8, 8, 16), stem_channels=8, bgr=False)
    assert rgb.preprocess(red).flatten().tolist() == pytest.approx([255 - 131.0912, -103.8827, -91.4953])


def test_cosine_is_safe_at_zero_and_exact_at_equal():
    a = torch.tensor(
        [[1.0, 0.0], [1.0, 0.0], [0.0, 0.0], [3.0, 4.0]], dtype=torch.float64, requires_grad=True
    )
    b = torch.tensor([[0.0, 1.0], [-1.0, 0.0], [0.0, 0.0], [3.0, 4.0]], dtype=torch.float64)
    c = cosine(a, b)
    assert c.tolist() == pytest.approx([0.0, -1.0, 1.0, 1.0], abs=1e-7)
    c.sum().backward()
    assert torch.isfinite(a.grad).all()
