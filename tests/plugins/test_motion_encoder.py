"""The motion encoder: Motion output, pose geometry, alignment, frozen head pose, dropout."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F
from conftest import plugin_registry

from emoportraits_core import Motion, Registry
from emoportraits_plugins import backbones, encoders
from emoportraits_plugins.encoders import MotionEncoder
from emoportraits_plugins.encoders.expression import alignment_affine
from emoportraits_plugins.encoders.head_pose import split_pose


@pytest.fixture(scope="module")
def registry() -> Registry:
    return plugin_registry(backbones, encoders)


def _tiny(registry, **values) -> MotionEncoder:
    torch.manual_seed(0)
    enc = registry.create("encoder", "emoportraits_motion_encoder", preset="tiny", **values)
    with torch.no_grad():  # a plausible pose: scale ~1, small angles and translation
        enc.head_pose.fc.weight.mul_(0.01)
        enc.head_pose.fc.bias.copy_(torch.tensor([1.0, 1.0, 1.0, 0.1, -0.2, 0.05, 0.02, -0.03, 0.01]))
    return enc.eval()


@pytest.fixture
def tiny(registry) -> MotionEncoder:
    return _tiny(registry)


def test_ports_and_motion(tiny):
    assert tiny.outputs == {"motion": "motion"}
    assert tiny.input_specs()["image"].shape == ("B", 3, 64, 64)
    assert tiny.output_specs()["motion"].shape == ("B", 16)
    motion = tiny.run(image=torch.rand(3, 3, 64, 64))["motion"]
    assert isinstance(motion, Motion)
    assert motion.rotation.shape == (3, 3, 3) and motion.translation.shape == (3, 3)
    assert motion.expression.shape == (3, 16) and motion.scale.shape == (3, 3)


def test_rotation_is_orthonormal_with_det_one(tiny):
    rot = tiny(torch.rand(4, 3, 64, 64)).rotation.double()
    torch.testing.assert_close(
        rot @ rot.transpose(-1, -2), torch.eye(3, dtype=torch.float64).expand(4, 3, 3), atol=1e-6, rtol=0
    )
    torch.testing.assert_close(torch.linalg.det(rot), torch.ones(4, dtype=torch.float64), atol=1e-6, rtol=0)


def test_pose_split_clamp_and_theta(tiny):
    raw = torch.tensor([[1.1, 0.9, 1.0, 2.0, -2.0, 4.0, 0.1, 0.2, 0.3]])
    scale, angles, translation = split_pose(raw)
    torch.testing.assert_close(angles, torch.tensor([[2.0, -math.pi / 2, math.pi]]))
    torch.testing.assert_close(scale, torch.tensor([[1.1, 0.9, 1.0]]))
    torch.testing.assert_close(translation, torch.tensor([[0.1, 0.2, 0.3]]))
    # theta = S @ R @ T with the released Euler convention R = Rz(yaw) Ry(pitch) Rx(roll)
    yaw, pitch, roll = 0.3, -0.2, 0.1
    rz = torch.tensor([[math.cos(yaw), -math.sin(yaw), 0], [math.sin(yaw), math.cos(yaw), 0], [0, 0, 1]])
    ry = torch.tensor(
        [[math.cos(pitch), 0, math.sin(pitch)], [0, 1, 0], [-math.sin(pitch), 0, math.cos(pitch)]]
    )
    rx = torch.tensor([[1, 0, 0], [0, math.cos(roll), -math.sin(roll)], [0, math.sin(roll), math.cos(roll)]])
    s, r, t = torch.eye(4), torch.eye(4), torch.eye(4)
    s[:3, :3] = torch.diag(torch.tensor([1.1, 0.9, 1.0]))
    r[:3, :3] = rz @ ry @ rx
    t[:3, 3] = torch.tensor([0.1, 0.2, 0.3])
    out = tiny.intermediates(torch.rand(1, 3, 64, 64))
    from emoportraits_core.geometry import euler_to_matrix

    rot = euler_to_matrix(torch.tensor([[yaw, pitch, roll]]))
    torch.testing.assert_close(rot[0], rz @ ry @ rx)
    theta = tiny.pose_theta(torch.tensor([[1.1, 0.9, 1.0]]), rot, torch.tensor([[0.1, 0.2, 0.3]]))
    torch.testing.assert_close(theta[0], s @ r @ t)
    assert out["theta"].shape == (1, 4, 4)


def test_alignment_matches_an_affine_grid_on_linspace_coordinates(tiny):
    """align = grid_sample(image, (u, v, 1) -> A (u, v, 1)) over a linspace(-1, 1) grid, which is
    affine_grid with align_corners=True coordinates, sampled with align_corners=False."""
    image = torch.rand(2, 3, 64, 64)
    theta = tiny.intermediates(image)["theta"]
    affine = alignment_affine(theta, 0.5)
    grid = F.affine_grid(affine[:, :2], [2, 3, 64, 64], align_corners=True)
    want = F.grid_sample(image, grid, mode="bilinear", padding_mode="zeros", align_corners=False)
    torch.testing.assert_close(tiny.align(image, theta), want, atol=1e-5, rtol=1e-5)
    # with the identity pose the crop is the central half of the image, magnified 2x
    eye = torch.eye(4).expand(2, 4, 4)
    torch.testing.assert_close(
        alignment_affine(eye, 0.5), torch.diag(torch.tensor([0.5, 0.5, 1.0])).expand(2, 3, 3)
    )


def test_head_pose_is_frozen_and_always_eval(tiny):
    assert not any(p.requires_grad for p in tiny.head_pose.parameters())
    assert all(p.requires_grad for p in tiny.expression.parameters())
    tiny.train()
    assert tiny.training and tiny.expression.training
    assert not tiny.head_pose.training and not any(m.training for m in tiny.head_pose.modules())
    before = tiny.head_pose.bn1.running_mean.clone()
    tiny(torch.rand(2, 3, 64, 64))
    torch.testing.assert_close(tiny.head_pose.bn1.running_mean, before)  # eval BN: no stat update


def test_dropout_only_in_training(registry):
    enc = _tiny(registry, dropout=0.5)
    image = torch.rand(2, 3, 64, 64)
    torch.testing.assert_close(enc(image).expression, enc(image).expression)
    enc.train()
    torch.manual_seed(1)
    a = enc(image).expression
    b = enc(image).expression
    assert not torch.allclose(a, b)


def test_gradients_reach_every_trainable_parameter(tiny):
    tiny.train()
    motion = tiny(torch.rand(2, 3, 64, 64))
    (motion.expression.square().sum() + motion.rotation.sum()).backward()
    missing = [
        n
        for n, p in tiny.named_parameters()
        if p.requires_grad and (p.grad is None or not p.grad.abs().sum() > 0)
    ]
    assert missing == []


def test_batch_independence(tiny):
    image = torch.rand(3, 3, 64, 64)
    full, one = tiny(image), tiny(image[2:])
    torch.testing.assert_close(full.expression[2:], one.expression, rtol=1e-4, atol=1e-5)
    torch.testing.assert_close(full.rotation[2:], one.rotation, rtol=1e-4, atol=1e-5)


def test_float64(tiny):
    motion = tiny.double()(torch.rand(1, 3, 64, 64, dtype=torch.float64))
    assert motion.expression.dtype == torch.float64 and motion.rotation.dtype == torch.float64


def test_release_layout():
    with torch.device("meta"):
        enc = MotionEncoder()
    assert sum(p.numel() for p in enc.head_pose.parameters()) == 11_181_129
    assert sum(p.numel() for p in enc.expression.parameters()) == 11_506_112  # ARCHITECTURE_FACTS §1
    sd = enc.state_dict()
    assert tuple(sd["expression.head.weight"].shape) == (128, 2048)
    assert tuple(sd["expression.fc.weight"].shape) == (128, 512, 1, 1)
    assert tuple(sd["head_pose.fc.bias"].shape) == (9,)
    assert "align_grid" not in sd and enc.align_grid.shape == (1, 128 * 128, 3)
