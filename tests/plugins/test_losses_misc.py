"""Head-region L1, canonical-volume L1, hinge and feature-matching losses on hand-made inputs, the
Procrustes helper, and the registry entries."""

from __future__ import annotations

import math

import pytest
import torch
from conftest import plugin_registry

from emoportraits_core import ConfigError, InputError
from emoportraits_plugins import losses
from emoportraits_plugins.losses import (
    CV_LANDMARKS,
    AdversarialHingeDiscriminatorLoss,
    AdversarialHingeGeneratorLoss,
    CanonicalVolumeL1Loss,
    FeatureMatchingLoss,
    HeadRegionL1Config,
    HeadRegionL1Loss,
    similarity_matrix,
    similarity_procrustes,
)

NAMES = [
    "vgg19_perceptual", "vggface_perceptual", "gaze", "head_region_l1", "adversarial_hinge_generator",
    "adversarial_hinge_discriminator", "feature_matching", "cosface", "pull_push", "source_driver_mismatch",
    "canonical_volume_l1", "identity_cosine",
]  # fmt: skip


def test_registry_names_and_presets():
    registry = plugin_registry(losses)
    assert sorted(e.name for e in registry.list("loss")) == sorted(NAMES)
    for name in NAMES:
        assert {"release", "tiny"} <= set(registry.get("loss", name).presets)


def test_head_region_l1_on_one_hot_regions():
    parsing = torch.zeros(1, 14, 4, 4)
    parsing[0, 0] = 1  # background
    parsing[0, :, 0, :2] = 0
    parsing[0, 4, 0, :2] = 1  # left eye: 2 pixels
    parsing[0, :, 3, :] = 0
    parsing[0, 8, 3, :] = 1  # inner mouth: 4 pixels
    parsing[0, :, 1, 0] = 0
    parsing[0, 11, 1, 0] = 1  # ear: 1 pixel
    pred, target = torch.ones(1, 3, 4, 4, requires_grad=True), torch.zeros(1, 3, 4, 4)
    loss = HeadRegionL1Loss(HeadRegionL1Config(image_size=4, region_weights=(1.0, 2.0, 3.0)))
    value = loss(pred, target, parsing.requires_grad_(True))
    assert float(value.detach()) == pytest.approx(2 / 16 + 2 * 4 / 16 + 3 * 1 / 16)
    value.backward()
    assert parsing.grad is None  # detached
    assert float(pred.grad.abs().sum()) > 0
    assert float(loss(target, target, parsing)) == 0.0


def test_head_region_l1_bisenet_classes_and_errors():
    registry = plugin_registry(losses)
    loss = registry.create("loss", "head_region_l1", preset="bisenet_tiny")
    assert loss.config.num_classes == 19 and loss.config.mouth == (11, 12, 13) and loss.config.ears == (7, 8)
    parsing = torch.zeros(1, 19, 16, 16)
    parsing[0, 12] = 1  # upper lip everywhere
    masks = loss.region_masks(parsing)
    assert masks[0, 1].min() == 1 and masks[0, 0].max() == 0 and masks[0, 2].max() == 0
    with pytest.raises(InputError, match=r"'parsing' must be \(B, 19, H, W\)"):
        loss(torch.rand(1, 3, 16, 16), torch.rand(1, 3, 16, 16), torch.rand(1, 14, 16, 16))
    with pytest.raises(ConfigError, match="not below num_classes"):
        registry.create("loss", "head_region_l1", eyes=(2, 15))


def test_canonical_volume_l1_detaches_the_target():
    pred = torch.zeros(2, 3, 2, 4, 4, requires_grad=True)
    target = torch.full((2, 3, 2, 4, 4), 0.5, requires_grad=True)
    value = CanonicalVolumeL1Loss()(pred, target)
    value.backward()
    assert float(value.detach()) == pytest.approx(0.5) and target.grad is None and pred.grad.abs().sum() > 0


def test_hinge_values():
    g = AdversarialHingeGeneratorLoss()
    assert float(g([torch.full((2, 1, 4, 4), 2.0), torch.full((2, 1, 2, 2), -1.0)])) == pytest.approx(-0.5)
    d = AdversarialHingeDiscriminatorLoss()
    real = [torch.full((2, 1, 4, 4), 2.0), torch.zeros(2, 1, 2, 2)]
    fake = [torch.full((2, 1, 4, 4), -2.0), torch.zeros(2, 1, 2, 2)]
    assert float(d(real, fake)) == pytest.approx(
        (0.0 + 2.0) / 2
    )  # scale 0 beyond both margins; scale 1: 1 + 1
    real[1] = torch.tensor([0.5, 3.0]).view(2, 1, 1, 1)
    fake[1] = torch.tensor([-0.5, 1.0]).view(2, 1, 1, 1)
    assert float(d(real, fake)) == pytest.approx((0.0 + (0.25 + 1.25)) / 2)
    with pytest.raises(InputError, match="2 scales"):
        d(real, fake[:1])


def test_feature_matching_averages_blocks_then_scales():
    fm = FeatureMatchingLoss()
    fake = [[torch.ones(1, 2, 4, 4), torch.ones(1, 3, 2, 2)], [torch.full((1, 2, 2, 2), 3.0)] * 2]
    real = [[torch.zeros(1, 2, 4, 4), torch.full((1, 3, 2, 2), 3.0)], [torch.ones(1, 2, 2, 2)] * 2]
    assert float(fm(fake, real)) == pytest.approx(((1 + 2) / 2 + 2) / 2)
    fake_grad = [[t.clone().requires_grad_(True) for t in s] for s in fake]
    real_grad = [[t.clone().requires_grad_(True) for t in s] for s in real]
    fm(fake_grad, real_grad).backward()
    assert all(t.grad is None for s in real_grad for t in s)
    assert all(t.grad.abs().sum() > 0 for s in fake_grad for t in s)


@pytest.mark.parametrize("dim", [2, 3])
def test_procrustes_recovers_a_similarity(dim):
    gen = torch.Generator().manual_seed(dim)
    x = torch.randn(4, 7, dim, generator=gen, dtype=torch.float64)
    q, _ = torch.linalg.qr(torch.randn(4, dim, dim, generator=gen, dtype=torch.float64))
    q[:, :, 0] *= torch.sign(torch.linalg.det(q))[:, None]  # proper rotations
    scale = torch.rand(4, generator=gen, dtype=torch.float64) + 0.5
    t = torch.randn(4, dim, generator=gen, dtype=torch.float64)
    y = scale[:, None, None] * x @ q.transpose(1, 2) + t[:, None]
    s, r, tt = similarity_procrustes(x, y)
    torch.testing.assert_close(s, scale)
    torch.testing.assert_close(r, q)
    torch.testing.assert_close(tt, t)
    m = similarity_matrix(s, r, tt)
    assert m.shape == (4, dim, dim + 1)
    homogeneous = similarity_matrix(s, r, tt, homogeneous=True)
    ones = torch.ones(4, 7, 1, dtype=torch.float64)
    torch.testing.assert_close((torch.cat([x, ones], -1) @ homogeneous.transpose(1, 2))[..., :dim], y)


def test_procrustes_excludes_reflections_and_weights_out_outliers():
    x = torch.tensor([[[0.0, 0, 0], [1, 0, 0], [0, 2, 0], [0, 0, 3], [1, 1, 1]]], dtype=torch.float64)
    mirrored = x * torch.tensor([-1.0, 1, 1], dtype=torch.float64)
    _, r, _ = similarity_procrustes(x, mirrored)
    assert float(torch.linalg.det(r)) == pytest.approx(1.0)
    y = 2 * x + 1
    y[0, 4] = 100  # an outlier with weight 0
    s, r, t = similarity_procrustes(x, y, torch.tensor([[1.0, 1, 1, 1, 0]]))
    assert float(s) == pytest.approx(2) and torch.allclose(r, torch.eye(3, dtype=torch.float64))
    torch.testing.assert_close(t, torch.ones(1, 3, dtype=torch.float64))
    s, r, _t = similarity_procrustes(torch.zeros(1, 5, 3), torch.randn(1, 5, 3))  # degenerate
    assert torch.isfinite(s).all() and float(torch.linalg.det(r)) == pytest.approx(1.0, abs=1e-5)
    assert CV_LANDMARKS == (30, 36, 39, 42, 45)


def test_procrustes_aligns_a_rotated_face():
    from emoportraits_plugins.losses.landmarks import TEMPLATE_68

    face = TEMPLATE_68[None, list(CV_LANDMARKS)]
    a = 0.4
    rot = torch.tensor(
        [[math.cos(a), -math.sin(a), 0], [math.sin(a), math.cos(a), 0], [0, 0, 1]], dtype=torch.float64
    )
    moved = 1.3 * face @ rot.T + torch.tensor([0.1, -0.2, 0.0], dtype=torch.float64)
    s, r, _t = similarity_procrustes(moved, face)
    torch.testing.assert_close(s, torch.tensor([1 / 1.3], dtype=torch.float64))
    torch.testing.assert_close(r[0], rot.T)
