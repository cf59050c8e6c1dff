"""The audio -> head-pose GAN of speech mode: the pose representation, the generator (relative to frame
0, seeded noise), the critics and the WGAN-GP penalty, the losses, a tiny overfit, the registration
(its own plugin module) and the conformance suite on every registered component."""

from __future__ import annotations

import math

import pytest
import torch
from conftest import project_plugin_manager
from torch import nn

from emoportraits_conformance import conformance_tests
from emoportraits_core import InputError, Registry, build_registry
from emoportraits_core.geometry import euler_to_matrix, geodesic_angle, matrix_to_rotation_6d
from emoportraits_plugins import audio_pose
from emoportraits_plugins.audio_pose import (
    DEFAULT_WEIGHTS,
    IDENTITY_POSE,
    AudioPoseGenerator,
    AudioPoseGeneratorConfig,
    GlobalContentCritic,
    GlobalContentCriticConfig,
    LocalTemporalCritic,
    LocalTemporalCriticConfig,
    gradient_penalty,
    pose_scale,
    pose_targets,
    random_pose_sequence,
    relative_to_first,
    to_absolute,
    to_matrices,
)
from emoportraits_plugins.audio_pose import plugin as audio_pose_plugin

NETWORK_NAMES = ("audio_pose_generator", "local_temporal_critic", "global_content_critic")
LOSS_NAMES = (
    "wgan_gp_critic",
    "wgan_generator",
    "pose_rotation_l1",
    "pose_translation_l1",
    "pose_smoothness",
)


@pytest.fixture(autouse=True)
def _one_thread():
    """The tiny networks are latency-bound: one thread is many times faster than several on a shared CPU."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def audio_pose_registry() -> Registry:
    """The project's plugins, this package's own plugin module among them (its entry point)."""
    registry = build_registry(project_plugin_manager())
    assert {k.name: k for k in registry.kinds()}["sequence"].provider == audio_pose_plugin.__name__
    return registry


def _tiny(registry: Registry, name: str, kind: str = "sequence"):
    torch.manual_seed(0)
    return registry.create(kind, name, preset="tiny")


def _rotations(batch: int, frames: int, seed: int = 0, spread: float = 1.0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return euler_to_matrix(spread * (torch.rand(batch, frames, 3, generator=g, dtype=torch.float64) * 2 - 1))


# -- registration --------------------------------------------------------------------------------------


def test_plugin_module_registers_kind_networks_and_losses(audio_pose_registry):
    assert audio_pose_registry.get_kind("sequence").interface is audio_pose.SequenceNetwork
    for name in NETWORK_NAMES:
        assert audio_pose_registry.get("sequence", name).presets.keys() == {"release", "tiny"}
    for name in LOSS_NAMES:
        audio_pose_registry.get("loss", name)
    assert set(DEFAULT_WEIGHTS) == set(LOSS_NAMES)


def test_tiny_presets_are_small(audio_pose_registry):
    for name in NETWORK_NAMES:
        params = sum(p.numel() for p in _tiny(audio_pose_registry, name).parameters())
        assert 500 < params < 6000, (name, params)


# -- the pose representation -----------------------------------------------------------------------------


def test_relative_to_first_and_back():
    rotations, translations = _rotations(2, 5), torch.randn(2, 5, 3, dtype=torch.float64)
    x = relative_to_first(rotations, translations)
    assert x.shape == (2, 5, 9)
    assert torch.equal(x[:, 0], x.new_tensor(IDENTITY_POSE).expand(2, 9))
    rel_r, rel_t = to_matrices(x)
    torch.testing.assert_close(rel_r[:, 2], rotations[:, 2] @ rotations[:, 0].transpose(-1, -2))
    torch.testing.assert_close(rel_t, translations - translations[:, :1])
    back_r, back_t = to_absolute(x, rotations[:, 0], translations[:, 0])
    torch.testing.assert_close(back_r, rotations)
    torch.testing.assert_close(back_t, translations)


def test_pose_scale_endpoints_and_halfway():
    rotations = _rotations(3, 6, seed=1, spread=math.pi / 2)
    rotations[0, 3] = torch.diag(torch.tensor([1.0, -1.0, -1.0], dtype=torch.float64))  # a half turn
    x = relative_to_first(rotations, torch.randn(3, 6, 3, dtype=torch.float64))
    identity = x.new_tensor(IDENTITY_POSE).expand_as(x)
    torch.testing.assert_close(pose_scale(x, 0.0), identity)
    torch.testing.assert_close(pose_scale(x, 1.0), x)
    half_r, half_t = to_matrices(pose_scale(x, 0.5))
    full_r, full_t = to_matrices(x)
    torch.testing.assert_close(half_r @ half_r, full_r)  # the same axis, half the angle
    eye = torch.eye(3, dtype=torch.float64)
    torch.testing.assert_close(geodesic_angle(eye, half_r), geodesic_angle(eye, full_r) / 2)
    torch.testing.assert_close(half_t, full_t / 2)
    per_sequence = pose_scale(x, torch.tensor([[0.0], [1.0], [0.5]], dtype=torch.float64))
    torch.testing.assert_close(per_sequence[1], x[1])
    torch.testing.assert_close(per_sequence[0], identity[0])
    with pytest.raises(InputError, match="scale"):
        pose_scale(x, 1.5)


def test_pose_targets_from_raw_regressor_output():
    raw = torch.zeros(4, 9, dtype=torch.float64)
    raw[:, :3] = 1.3  # scale: dropped
    raw[:, 3:6] = torch.tensor([[0.1, 0.2, -0.1], [0.3, -0.2, 0.0], [-0.4, 0.1, 0.2], [3.5, 0.0, 0.0]])
    raw[:, 6:] = torch.randn(4, 3, dtype=torch.float64)
    x = pose_targets(raw)
    assert torch.equal(x[0], x.new_tensor(IDENTITY_POSE))
    r = euler_to_matrix(raw[:, 3:6].clamp(-math.pi / 2, math.pi))  # the release's clamp
    torch.testing.assert_close(x[3, :6], matrix_to_rotation_6d(r[3] @ r[0].T))
    torch.testing.assert_close(x[:, 6:], raw[:, 6:] - raw[:1, 6:])
    assert pose_targets(raw.expand(2, 4, 9)).shape == (2, 4, 9)
    with pytest.raises(InputError, match="head_pose"):
        pose_targets(raw[:, :6])


# -- generator --------------------------------------------------------------------------------------------


def _generator() -> AudioPoseGenerator:
    torch.manual_seed(0)
    return AudioPoseGenerator(
        AudioPoseGeneratorConfig(audio_dim=8, noise_dim=4, hidden=16, layers=1, heads=2, feedforward=32,
                                 res_blocks=1, mlp_hidden=16, frames=16, output_init_std=0.3)
    ).eval()  # fmt: skip


def test_generator_shapes_and_identity_first_frame():
    g = _generator()
    audio = torch.randn(3, 11, 8)
    x = g(audio=audio, noise=g.sample_noise(3))
    assert x.shape == (3, 11, 9)
    assert torch.equal(x[:, 0], x.new_tensor(IDENTITY_POSE).expand(3, 9))
    rotations, _ = to_matrices(x)
    eye = torch.eye(3).expand_as(rotations)
    torch.testing.assert_close(rotations.transpose(-1, -2) @ rotations, eye, atol=1e-5, rtol=0)
    assert (x[:, 1:] - x[:, :1]).abs().amax() > 1e-3  # it does move
    assert g(audio=audio[:, :1], noise=g.sample_noise(3)).shape == (3, 1, 9)
    with pytest.raises(InputError, match="audio"):
        g(audio=torch.randn(3, 11, 7), noise=g.sample_noise(3))


def test_generator_seeded_sampling():
    g = _generator()
    audio = torch.randn(2, 12, 8)
    with torch.no_grad():
        a, b, c = g.generate(audio, seed=3), g.generate(audio, seed=3), g.generate(audio, seed=4)
        d = g.generate(audio, generator=torch.Generator().manual_seed(3))
    assert torch.equal(a, b) and torch.equal(a, d)
    assert (a - c).abs().amax() > 1e-3


# -- critics and the gradient penalty ------------------------------------------------------------------------


class _Linear(nn.Module):
    """``x -> <w, x>`` per item: its gradient is w everywhere."""

    def __init__(self, norm: float) -> None:
        super().__init__()
        w = torch.randn(12 * 9, dtype=torch.float64)
        self.w = nn.Parameter(norm * w / w.norm())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.flatten(1) @ self.w


def test_gradient_penalty_of_linear_critics():
    real, fake = (
        random_pose_sequence(4, 12, dtype=torch.float64),
        random_pose_sequence(4, 12, dtype=torch.float64),
    )
    gen = torch.Generator().manual_seed(0)
    assert float(gradient_penalty(_Linear(1.0), real, fake, generator=gen).detach()) < 1e-10
    steep = _Linear(3.0)
    penalty = gradient_penalty(steep, real, fake, generator=gen)
    torch.testing.assert_close(penalty, penalty.new_tensor(4.0))  # (3 - 1)^2
    penalty.backward()  # through the gradient into the critic's weights
    torch.testing.assert_close(steep.w.grad, 2 * (3 - 1) * steep.w / 3)
    with pytest.raises(InputError, match="same"):
        gradient_penalty(steep, real, fake[:, :5])


def test_critics_scores_and_their_penalty():
    torch.manual_seed(0)
    local = LocalTemporalCritic(LocalTemporalCriticConfig(channels=(8, 16), frames=16))
    glob = GlobalContentCritic(GlobalContentCriticConfig(audio_dim=8, channels=8, res_blocks=1, mlp_hidden=8))
    real, fake, audio = random_pose_sequence(3, 20), random_pose_sequence(3, 20), torch.randn(3, 20, 8)
    assert local(real).shape == (3,) and glob(real, audio).shape == (3,)
    windows = local.window_scores(real)
    assert windows.shape == (3, 13)
    torch.testing.assert_close(local(real), windows.mean(1))
    torch.testing.assert_close(windows[:, 4], local.window_scores(real[:, 4:12])[:, 0])  # frames 4..11 only
    for critic, conditions in ((local, {}), (glob, {"audio": audio})):
        penalty = critic.gradient_penalty(
            real, fake, generator=torch.Generator().manual_seed(1), **conditions
        )
        assert penalty.dim() == 0 and torch.isfinite(penalty) and penalty >= 0
        penalty.backward()
        grads = {n: p.grad for n, p in critic.named_parameters() if p.grad is not None}
        assert all(torch.isfinite(g).all() for g in grads.values())
        assert len(grads) == len(list(critic.parameters())) - 1  # all but the last bias (no input gradient)
    with pytest.raises(InputError, match="T >= 8"):
        local(real[:, :7])
    with pytest.raises(InputError, match="audio"):
        glob(real, audio[:, :5])


# -- losses -----------------------------------------------------------------------------------------------


def test_loss_values(audio_pose_registry):
    create = audio_pose_registry.create
    pred, target = torch.zeros(2, 3, 9), torch.zeros(2, 3, 9)
    target[0, 1, 2], target[1, 2, 7] = 1.0, -2.0
    assert float(create("loss", "pose_rotation_l1")(pred=pred, target=target)) == pytest.approx(0.5)
    assert float(create("loss", "pose_translation_l1")(pred=pred, target=target)) == pytest.approx(1.0)
    mean = create("loss", "pose_translation_l1", reduction="mean")(pred=pred, target=target)
    assert float(mean) == pytest.approx(2.0 / (2 * 3 * 3))
    # sum_t |X_t - X_{t-1}|, mean over the batch: item 0 moves 1 and back, item 1 moves 2
    assert float(create("loss", "pose_smoothness")(pose=target)) == pytest.approx((2 + 2) / 2)
    assert float(create("loss", "pose_smoothness")(pose=target[:, :1])) == 0.0
    real, fake = torch.tensor([1.0, 3.0]), torch.tensor([-1.0, 0.0])
    critic = create("loss", "wgan_gp_critic")(real_scores=real, fake_scores=fake, penalty=torch.tensor(0.5))
    assert float(critic) == pytest.approx(-0.5 - 2.0 + 10 * 0.5)
    assert float(create("loss", "wgan_generator")(fake_scores=fake)) == pytest.approx(0.5)


def test_overfit_one_sequence(audio_pose_registry):
    """100 generator steps, 5 steps of both critics before each: the reconstruction falls, all finite."""
    torch.manual_seed(0)
    create = audio_pose_registry.create
    gen = _tiny(audio_pose_registry, "audio_pose_generator")
    local, glob = (
        _tiny(audio_pose_registry, "local_temporal_critic"),
        _tiny(audio_pose_registry, "global_content_critic"),
    )
    losses = {name: create("loss", name) for name in LOSS_NAMES}
    frames = 16
    audio = torch.randn(1, frames, 8)
    angles = torch.stack([0.3 * torch.sin(torch.linspace(0, 3, frames)), 0.2 * torch.cos(torch.linspace(0, 2, frames)),
                          torch.zeros(frames)], dim=-1)  # fmt: skip
    real = relative_to_first(euler_to_matrix(angles), 0.05 * torch.randn(frames, 3).cumsum(0)).unsqueeze(0)
    noise = gen.sample_noise(1, generator=torch.Generator().manual_seed(0))
    opt_g = torch.optim.Adam(gen.parameters(), lr=3e-3)
    opt_d = torch.optim.Adam([*local.parameters(), *glob.parameters()], lr=1e-3, betas=(0.5, 0.9))

    def reconstruction(fake: torch.Tensor) -> torch.Tensor:
        return losses["pose_rotation_l1"](pred=fake, target=real) + losses["pose_translation_l1"](
            pred=fake, target=real
        )

    first = None
    for _ in range(100):
        for _ in range(5):
            fake = gen(audio=audio, noise=noise).detach()
            d_loss = sum(
                losses["wgan_gp_critic"](
                    real_scores=critic(real, **cond), fake_scores=critic(fake, **cond),
                    penalty=critic.gradient_penalty(real, fake, **cond),
                )
                for critic, cond in ((local, {}), (glob, {"audio": audio}))
            )  # fmt: skip
            opt_d.zero_grad()
            d_loss.backward()
            opt_d.step()
        fake = gen(audio=audio, noise=noise)
        rec = reconstruction(fake)
        first = float(rec.detach()) if first is None else first
        g_loss = (
            rec
            + DEFAULT_WEIGHTS["pose_smoothness"] * losses["pose_smoothness"](pose=fake)
            + DEFAULT_WEIGHTS["wgan_generator"]
            * (
                losses["wgan_generator"](fake_scores=local(fake))
                + losses["wgan_generator"](fake_scores=glob(fake, audio))
            )
        )
        opt_g.zero_grad()
        g_loss.backward()
        opt_g.step()
        assert torch.isfinite(g_loss) and torch.isfinite(d_loss)
    with torch.no_grad():
        last = float(reconstruction(gen(audio=audio, noise=noise)))
    assert last < 0.3 * first, (first, last)


# -- conformance --------------------------------------------------------------------------------------------

test_conformance_generator = conformance_tests(
    "sequence", "audio_pose_generator", registry="audio_pose_registry", preset="tiny"
)
test_conformance_local_critic = conformance_tests(
    "sequence", "local_temporal_critic", registry="audio_pose_registry", preset="tiny"
)
test_conformance_global_critic = conformance_tests(
    "sequence", "global_content_critic", registry="audio_pose_registry", preset="tiny"
)
test_conformance_wgan_gp_critic = conformance_tests(
    "loss", "wgan_gp_critic", registry="audio_pose_registry", preset="tiny"
)
test_conformance_wgan_generator = conformance_tests(
    "loss", "wgan_generator", registry="audio_pose_registry", preset="tiny"
)
test_conformance_rotation_l1 = conformance_tests(
    "loss", "pose_rotation_l1", registry="audio_pose_registry", preset="tiny"
)
test_conformance_translation_l1 = conformance_tests(
    "loss", "pose_translation_l1", registry="audio_pose_registry", preset="tiny"
)
test_conformance_smoothness = conformance_tests(
    "loss", "pose_smoothness", registry="audio_pose_registry", preset="tiny"
)
