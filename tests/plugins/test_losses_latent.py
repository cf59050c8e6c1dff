"""Expression-latent losses on hand-made latents: CosFace against its formula (TRAINING_FACTS §2.6),
pull / push, the source-driver mismatch margins and FEED weights (§2.7)."""

from __future__ import annotations

import math

import pytest
import torch

from emoportraits_plugins.losses import (
    CosFaceConfig,
    CosFaceLoss,
    PullPushConfig,
    PullPushLoss,
    SourceDriverMismatchConfig,
    SourceDriverMismatchLoss,
)


def _unit(deg: float) -> list[float]:
    return [math.cos(math.radians(deg)), math.sin(math.radians(deg))]


def _latents(*angles: float) -> torch.Tensor:
    return torch.tensor([_unit(a) for a in angles], dtype=torch.float64)


def _cosface(p: float, negatives: list[float], s: float = 5.0, m: float = 0.2) -> float:
    pos = math.exp(s * (p - m))
    return -math.log(pos / (pos + sum(math.exp(s * n) for n in negatives)))


def _cos(a: float, b: float) -> float:
    return math.cos(math.radians(a - b))


def test_release_defaults():
    c = CosFaceConfig()
    assert (c.s, c.m, c.negatives, c.source_negative, c.sdm_margin, c.reduction) == (
        5.0,
        0.2,
        "roll",
        True,
        0.5,
        "sum",
    )
    assert PullPushConfig().margin == 0.3
    sdm = SourceDriverMismatchConfig()
    assert (sdm.margin, sdm.weight, sdm.feed_weight, sdm.mixed_weight) == (0.5, 10.0, 10.0, 1.5)


def test_cosface_matches_the_formula():
    z, zd, zs = _latents(0, 90), _latents(30, 100), _latents(10, 170)
    loss = CosFaceLoss(CosFaceConfig(dim=2))
    value = float(loss(z, zd, zs))
    # item 0: positive cos(0, 30), negative: the previous item's driver (item 1: 100), hinge cos(10, 30) - 0.5
    h0 = max(0.0, _cos(10, 30) - 0.5)
    h1 = max(0.0, _cos(170, 100) - 0.5)  # cos 70 = 0.34 < 0.5: 0
    expected = _cosface(_cos(0, 30), [_cos(0, 100), h0]) + _cosface(_cos(90, 100), [_cos(90, 30), h1])
    assert h0 > 0 and h1 == 0
    assert value == pytest.approx(expected, rel=1e-7)
    no_source = CosFaceLoss(CosFaceConfig(dim=2, source_negative=False))
    expected = _cosface(_cos(0, 30), [_cos(0, 100)]) + _cosface(_cos(90, 100), [_cos(90, 30)])
    assert float(no_source(z, zd, zs)) == pytest.approx(expected, rel=1e-7)
    mean = CosFaceLoss(CosFaceConfig(dim=2, source_negative=False, reduction="mean"))
    assert float(mean(z, zd, zs)) == pytest.approx(expected / 2, rel=1e-7)


def test_cosface_all_negatives():
    z, zd, zs = _latents(0, 90, 200), _latents(20, 80, 190), _latents(0, 0, 0)
    loss = CosFaceLoss(CosFaceConfig(dim=2, negatives="all", source_negative=False))
    angles_z, angles_d = (0, 90, 200), (20, 80, 190)
    expected = sum(
        _cosface(_cos(a, angles_d[k]), [_cos(a, d) for j, d in enumerate(angles_d) if j != k])
        for k, a in enumerate(angles_z)
    )
    assert float(loss(z, zd, zs)) == pytest.approx(expected, rel=1e-7)


def test_cosface_gradients_reach_z_and_the_drivers_not_the_source():
    z, zd, zs = (torch.randn(2, 8, dtype=torch.float64, requires_grad=True) for _ in range(3))
    with torch.no_grad():
        zs.copy_(zd + 0.1 * torch.randn(2, 8, dtype=torch.float64))  # hinge active
    CosFaceLoss(CosFaceConfig(dim=8))(z, zd, zs).backward()
    assert z.grad.abs().sum() > 0 and zd.grad.abs().sum() > 0 and zs.grad is None


def test_pull_push():
    z, zd = _latents(0, 90), _latents(60, 80)
    loss = PullPushLoss(PullPushConfig(dim=2, pull_weight=2.0, push_weight=3.0))
    pull = ((1 - _cos(0, 60)) + (1 - _cos(90, 80))) / 2
    push = (max(0.0, _cos(0, 80) - 0.3) + max(0.0, _cos(90, 60) - 0.3)) / 2  # cos 80 = 0.17: 0
    assert float(loss(z, zd)) == pytest.approx(2 * pull + 3 * push, rel=1e-7)
    assert float(PullPushLoss(PullPushConfig(dim=2))(zd, zd)) == pytest.approx(
        (max(0.0, _cos(60, 80) - 0.3) + max(0.0, _cos(80, 60) - 0.3)) / 2
    )


def test_source_driver_mismatch_margin_and_feed_weights():
    zs, zd = _latents(0, 0), _latents(20, 50)
    h = [max(0.0, _cos(0, 20) - 0.5), max(0.0, _cos(0, 50) - 0.5)]  # 0.44, 0.14
    loss = SourceDriverMismatchLoss(SourceDriverMismatchConfig(dim=2))
    vc2 = torch.zeros(2, dtype=torch.float64)
    assert float(loss(zs, zd, vc2)) == pytest.approx(10 * (h[0] + h[1]) / 2, rel=1e-7)
    mixed = torch.tensor([0.0, 1.0], dtype=torch.float64)  # item 0 VoxCeleb2, item 1 FEED
    assert float(loss(zs, zd, mixed)) == pytest.approx(1.5 * h[0] + 10 * h[1], rel=1e-7)
    far = _latents(100, 120)  # cosines below the margin: nothing
    assert float(loss(zs, far, mixed)) == 0.0


def test_source_driver_mismatch_gradient_goes_to_the_driver_only():
    zs = torch.randn(3, 4, dtype=torch.float64, requires_grad=True)
    zd = (zs.detach() + 0.1 * torch.randn(3, 4, dtype=torch.float64)).requires_grad_(True)
    SourceDriverMismatchLoss(SourceDriverMismatchConfig(dim=4))(
        zs, zd, torch.tensor([0.0, 1.0, 0.0])
    ).backward()
    assert zs.grad is None and zd.grad.abs().sum() > 0
