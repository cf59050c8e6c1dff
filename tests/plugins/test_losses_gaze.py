"""Gaze loss: the eye mask is zero outside the eyes, the gradient reaches eye pixels only, the eye
patches follow the landmarks (RT-GENE's box), unusable items drop out."""

from __future__ import annotations

import math
import warnings

import pytest
import torch
from conftest import plugin_registry

from emoportraits_plugins import losses
from emoportraits_plugins.losses import GazeConfig
from emoportraits_plugins.losses.eyes import eye_mask, eye_patch_thetas, eye_patches
from emoportraits_plugins.losses.landmarks import TEMPLATE_68, template_landmarks


@pytest.fixture(autouse=True)
def _quiet_random_weights():
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*no weights file configured.*")
        yield


@pytest.fixture
def gaze():
    return plugin_registry(losses).create("loss", "gaze", preset="tiny", image_size=64, resize=0)


def _faces(batch: int = 2, seed: int = 0) -> torch.Tensor:
    return template_landmarks(batch, generator=torch.Generator().manual_seed(seed))


def _pixel_grid(size: int) -> tuple[torch.Tensor, torch.Tensor]:
    c = (torch.arange(size) + 0.5) / size * 2 - 1
    return torch.meshgrid(c, c, indexing="ij")  # y, x


def test_release_defaults():
    c = GazeConfig()
    assert c.layers == (1, 6, 11, 18, 25) and c.layer_weights == (1 / 32, 1 / 16, 1 / 8, 1 / 4, 1.0)
    assert c.resize == 224 and c.patch_size == (60, 36) and c.mask_kernel == 5 and c.layout == "forward_sum"


def test_mask_is_the_eye_hulls_and_zero_elsewhere():
    lm = _faces(2)
    hull = eye_mask(lm, 128, kernel=1)
    soft = eye_mask(lm, 128, kernel=5)
    assert hull.shape == (2, 1, 128, 128) and set(hull.unique().tolist()) <= {0.0, 1.0}
    assert float(soft.min()) >= 0 and float(soft.max()) <= 1
    y, x = _pixel_grid(128)
    for b in range(2):
        eyes = lm[b, 36:48, :2]
        lo, hi = eyes.min(0).values, eyes.max(0).values
        margin = 4 * 2 / 128  # dilation + blur reach: 2 + 2 pixels
        outside = (x < lo[0] - margin) | (x > hi[0] + margin) | (y < lo[1] - margin) | (y > hi[1] + margin)
        assert float(soft[b, 0][outside].abs().max()) == 0.0
        inside_hull = hull[b, 0] > 0
        assert inside_hull.sum() > 20
        assert bool((soft[b, 0][inside_hull] > 0).all())
        for eye in (slice(36, 42), slice(42, 48)):  # the eye centre is in
            cx, cy = lm[b, eye, :2].mean(0)
            j, i = int((cx + 1) / 2 * 128), int((cy + 1) / 2 * 128)
            assert hull[b, 0, i, j] == 1


def test_mask_of_a_hand_made_eye_is_its_convex_hull():
    lm = torch.zeros(1, 68, 3)
    square = torch.tensor(
        [[-0.5, 0.0], [-0.25, -0.25], [0.25, -0.25], [0.5, 0.0], [0.25, 0.25], [-0.25, 0.25]]
    )
    lm[0, 36:42, :2] = square
    lm[0, 42:48, :2] = square  # the same hexagon twice
    mask = eye_mask(lm, 8, kernel=1)[0, 0]
    y, x = _pixel_grid(8)
    inside = (y.abs() <= 0.25) & (x.abs() <= 0.5 - y.abs())
    assert torch.equal(mask.bool(), inside)


def test_gradient_reaches_eye_pixels_only(gaze):
    lm = _faces(2, seed=3)
    pred = torch.rand(2, 3, 64, 64, requires_grad=True)
    target = torch.rand(2, 3, 64, 64)
    gaze(pred, target, lm).backward()
    mask = eye_mask(lm, 64, gaze.config.mask_kernel)
    grad = pred.grad.abs().sum(1, keepdim=True)
    assert float(grad[mask == 0].max()) == 0.0
    assert float(grad[mask > 0.5].sum()) > 0


def test_gradient_stays_near_the_eyes_after_the_release_resize():
    loss = plugin_registry(losses).create("loss", "gaze", preset="tiny", image_size=64, resize=32)
    lm = _faces(1, seed=5)
    pred = torch.rand(1, 3, 64, 64, requires_grad=True)
    loss(pred, torch.rand(1, 3, 64, 64), lm).backward()
    rows = pred.grad.abs().sum((0, 1, 3))
    y = (torch.arange(64) + 0.5) / 64 * 2 - 1
    eyes_y = lm[0, 36:48, 1]
    far = (y < float(eyes_y.min()) - 0.3) | (y > float(eyes_y.max()) + 0.3)
    assert float(rows[far].max()) == 0.0 and float(rows.sum()) > 0


def test_changes_away_from_the_eyes_cost_nothing(gaze):
    lm = _faces(2, seed=1)
    target = torch.rand(2, 3, 64, 64)
    pred = target.clone()
    pred[:, :, 40:] = torch.rand(2, 3, 24, 64)  # below the nose
    assert float(gaze(pred, target, lm)) == 0.0
    pred[:, :, 16:24] = 0.5  # across the eyes
    assert float(gaze(pred, target, lm)) > 0


def test_patch_box_follows_rt_gene():
    angle = 0.3
    rot = torch.tensor([[math.cos(angle), -math.sin(angle)], [math.sin(angle), math.cos(angle)]])
    lm = TEMPLATE_68.float().clone()[None]
    lm[..., :2] = lm[..., :2] @ rot.T * 0.8
    thetas, widths = eye_patch_thetas(lm, (60, 36))
    e = torch.tensor([math.cos(angle), math.sin(angle)])
    n = torch.tensor([-math.sin(angle), math.cos(angle)])
    for k, (a, b) in enumerate(((42, 45), (36, 39))):
        pa, pb = lm[0, a, :2], lm[0, b, :2]
        w = float((pb - pa).norm())  # the eye corners lie on the eye line in the template
        assert float(widths[0, k]) == pytest.approx(w, rel=1e-5)
        torch.testing.assert_close(thetas[0, k, :, 2], (pa + pb) / 2)
        torch.testing.assert_close(thetas[0, k, :, 0], e * w)  # half-width: the eye's width (margin 1)
        torch.testing.assert_close(thetas[0, k, :, 1], n * w * 36 / 60)


def test_patches_sample_the_eye_region():
    lm = TEMPLATE_68.float().clone()[None]
    ramp = torch.linspace(-1 + 1 / 256, 1 - 1 / 256, 256)
    image = torch.stack(
        [ramp.view(1, -1).expand(256, 256), ramp.view(-1, 1).expand(256, 256), torch.zeros(256, 256)]
    )
    left, right = eye_patches(image[None], eye_patch_thetas(lm)[0], (60, 36))
    assert left.shape == (1, 3, 36, 60)
    for patch, (a, b) in ((left, (42, 45)), (right, (36, 39))):
        centre = (lm[0, a, :2] + lm[0, b, :2]) / 2
        w = float(lm[0, b, 0] - lm[0, a, 0])
        assert float(patch[0, 0].mean()) == pytest.approx(float(centre[0]), abs=1e-3)  # x ramp
        assert float(patch[0, 1].mean()) == pytest.approx(float(centre[1]), abs=1e-3)  # y ramp
        span = float(patch[0, 0, :, -1].mean() - patch[0, 0, :, 0].mean())
        assert span == pytest.approx(2 * w * 59 / 60, rel=0.02)  # the box is twice the eye wide


def test_items_without_usable_eyes_drop_out(gaze):
    lm = _faces(2, seed=2)
    pred, target = torch.rand(2, 3, 64, 64), torch.rand(2, 3, 64, 64)
    alone = gaze(pred[:1], target[:1], lm[:1])
    broken = lm.clone()
    broken[1] = 0  # collapsed landmarks: no eyes
    torch.testing.assert_close(gaze(pred, target, broken), alone)
    none = broken.clone()
    none[0] = 0
    p = pred.clone().requires_grad_(True)
    value = gaze(p, target, none)
    value.backward()
    assert float(value.detach()) == 0.0 and torch.isfinite(p.grad).all()
