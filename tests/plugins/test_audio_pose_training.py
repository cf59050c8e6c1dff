"""Training the audio -> head-pose GAN: the critics' training nodes (both scores and the gradient penalty
from one call) and the shipped pipelines `train_audio_pose` / `train_audio_pose_tiny`."""

from __future__ import annotations

import pytest
import torch

from emoportraits_conformance import conformance_tests
from emoportraits_core.pipeline import load_pipeline, resolve_pipeline
from emoportraits_plugins.audio_pose import DEFAULT_WEIGHTS, random_pose_sequence
from emoportraits_plugins.audio_pose.dataset import clip_samples

PIPELINES = ("train_audio_pose", "train_audio_pose_tiny")


@pytest.mark.parametrize(
    ("name", "conditions"), [("local_temporal_critic", {}), ("global_content_critic", {"audio"})]
)
def test_a_critic_node_gives_the_critics_scores_and_penalty(registry, name, conditions):
    torch.manual_seed(0)
    pair = registry.create("sequence", f"{name}_gp", preset="tiny")
    plain = registry.create("sequence", name, preset="tiny")
    assert type(pair).inputs == {"real": "pose_sequence", "fake": "pose_sequence"} | (
        {"audio": "audio_features"} if conditions else {}
    )
    assert set(type(pair).outputs) == {"real_score", "fake_score", "penalty"}
    assert list(pair.state_dict()) == [f"critic.{k}" for k in plain.state_dict()]
    plain.load_state_dict({k.removeprefix("critic."): v for k, v in pair.state_dict().items()})
    inputs = pair.example_inputs(3, generator=torch.Generator().manual_seed(1))
    real, fake = inputs["real"], inputs["fake"].requires_grad_(True)
    extra = {k: v for k, v in inputs.items() if k in conditions}
    torch.manual_seed(7)  # the penalty's interpolation weights come from the global RNG
    out = pair.run(**inputs)
    torch.manual_seed(7)
    penalty = plain.gradient_penalty(real, fake, **extra)
    torch.testing.assert_close(out["real_score"], plain(real, **extra))
    torch.testing.assert_close(out["fake_score"], plain(fake, **extra))
    torch.testing.assert_close(out["penalty"], penalty)
    assert out["penalty"].dim() == 0 and float(out["penalty"].detach()) > 0
    (grad,) = torch.autograd.grad(out["fake_score"].sum(), fake)  # the generator's adversarial gradient
    assert grad.abs().sum() > 0
    half = real.new_full((3,), 0.5)  # eval mode: the midpoints, no randomness
    torch.testing.assert_close(
        pair.eval().run(**inputs)["penalty"], plain.gradient_penalty(real, fake, alpha=half, **extra)
    )
    with pytest.raises(Exception, match="pose"):
        pair.run(**(inputs | {"fake": random_pose_sequence(3, 4)}))


def test_the_pipelines_validate_and_share_their_graph(registry):
    tiny, release = (resolve_pipeline(n, (), registry) for n in ("train_audio_pose_tiny", "train_audio_pose"))
    assert load_pipeline("train_audio_pose").nodes == load_pipeline("train_audio_pose_tiny").nodes
    for r in (tiny, release):
        assert {k: o.steps for k, o in r.optimizers.items()} == {"critics": 5, "generator": 1}
        assert list(r.optimizers) == ["critics", "generator"]  # the critics' steps come first
        for loss in r.losses.values():
            assert loss.weight == DEFAULT_WEIGHTS[loss.entry.name], loss.key
            assert loss.optimizer == ("critics" if loss.entry.name == "wgan_gp_critic" else "generator")
            if loss.entry.name == "wgan_gp_critic":
                assert loss.config.gradient_penalty_weight == 10.0
        data = r.data["train"].config
        whisper = r.components["whisper"].config
        assert whisper.samples == clip_samples(data.frames, data.fps) and whisper.fps == data.fps
        assert data.noise_dim == r.components["generator"].config.noise_dim
    assert release.components["whisper"].config.audio_dim == 384
    assert release.components["generator"].config.hidden == 256  # release sizes
    assert tiny.components["whisper"].config.random == "test"


test_conformance_local_critic_gp = conformance_tests(
    "sequence", "local_temporal_critic_gp", registry="registry", preset="tiny"
)
test_conformance_global_critic_gp = conformance_tests(
    "sequence", "global_content_critic_gp", registry="registry", preset="tiny"
)
