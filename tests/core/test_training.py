"""The training loop on the toy components: losses fall, G step then D step, gates, exact resume, CLI."""

from __future__ import annotations

import os

import pytest
import torch
from pipeline_files import PIPES

from emoportraits_core.checkpoint import read_checkpoint
from emoportraits_core.cli import main
from emoportraits_core.errors import CheckpointError, PipelineError
from emoportraits_core.pipeline import resolve_pipeline
from emoportraits_core.training import MixedBatches, Trainer, find_checkpoint

TRAIN = PIPES / "toy_train.toml"
GAN = PIPES / "toy_gan.toml"
FAST = ["optimizers.generator.lr=1e-2", "schedules.generator.warmup_steps=0"]


def trainer(registry, path, out, overrides=(), **kw) -> Trainer:
    return Trainer(resolve_pipeline(path, list(overrides), registry), registry, out, quiet=True, **kw)


def params(t: Trainer) -> dict[str, torch.Tensor]:
    return {f"{k}.{n}": p.detach().clone() for k, m in t.modules.items() for n, p in m.state_dict().items()}


def test_losses_fall_when_overfitting_one_pair(toy_registry, tmp_path):
    one = ["data.vox.config.items=1", "data.mead.config.items=1", *FAST]
    t = trainer(toy_registry, TRAIN, tmp_path, one)
    losses = [float(t.step()["total/generator"]) for _ in range(60)]
    assert sum(losses[-5:]) / 5 < 0.5 * sum(losses[:5]) / 5, losses


def test_resume_is_bit_identical(toy_registry, tmp_path):
    """6 steps straight equal 3 steps, a checkpoint, a fresh process-like trainer resumed, 3 steps:
    weights, optimizer moments, schedule and the data position all carried over."""
    straight = trainer(toy_registry, GAN, tmp_path / "a", FAST)
    straight.fit(6)
    first = trainer(toy_registry, GAN, tmp_path / "b", FAST)
    first.fit(3)
    torch.manual_seed(1234)  # whatever the global RNG did meanwhile, the checkpoint restores it
    resumed = trainer(toy_registry, GAN, tmp_path / "b", FAST, resume=tmp_path / "b")
    assert resumed.state.step == 3
    resumed.fit(6)
    want, got = params(straight), params(resumed)
    assert want.keys() == got.keys()
    assert all(torch.equal(want[k], got[k]) for k in want), [
        k for k in want if not torch.equal(want[k], got[k])
    ]


def test_the_resume_test_can_fail(toy_registry, tmp_path):
    """Without the sampler's position the resumed run draws other batches: the weights differ."""
    straight = trainer(toy_registry, GAN, tmp_path / "a", FAST)
    straight.fit(6)
    first = trainer(toy_registry, GAN, tmp_path / "b", FAST)
    first.fit(3)
    resumed = trainer(toy_registry, GAN, tmp_path / "b", FAST, resume=tmp_path / "b")
    resumed.batches.load_state_dict({"slot": 0, "counts": [0, 0]})
    resumed.fit(6)
    assert any(not torch.equal(a, b) for a, b in zip(params(straight).values(), params(resumed).values()))


def test_generator_step_then_discriminator_step(toy_registry, tmp_path):
    """The D loss neither moves the generator (it sees the prediction detached: the generator's
    gradients are those of its own losses) nor is the discriminator moved by the generator's
    adversarial loss (it is frozen during the G step)."""
    with_d = trainer(toy_registry, GAN, tmp_path / "a", FAST)
    without_d = trainer(toy_registry, GAN, tmp_path / "b", [*FAST, "losses.discriminator.weight=0"])
    d0 = params(without_d)
    with_d.step()
    without_d.step()
    for key in ("encoder", "motion", "warp", "render"):
        for pa, pb in zip(with_d.modules[key].parameters(), without_d.modules[key].parameters()):
            assert torch.equal(pa.grad, pb.grad), key  # no D-loss gradient reached the generator
    for _ in range(2):
        with_d.step()
        without_d.step()
    a, b = params(with_d), params(without_d)
    d_keys = [k for k in a if k.startswith("discriminator.")]
    assert all(torch.equal(b[k], d0[k]) for k in d_keys)  # G's adversarial loss never moved D
    assert any(not torch.equal(a[k], d0[k]) for k in d_keys)  # D's own loss did


def test_losses_start_at_their_step(toy_registry, tmp_path):
    t = trainer(toy_registry, GAN, tmp_path)
    assert "loss/adversarial" not in t.step() and "loss/adversarial" in t.step()
    r = resolve_pipeline(GAN, ["losses.l1.start_epoch=1", "train.steps_per_epoch=2"], toy_registry)
    t = Trainer(r, toy_registry, tmp_path / "e", quiet=True)
    seen = [("loss/l1" in t.step()) for _ in range(3)]
    assert seen == [False, False, True]


def test_checkpoints_are_atomic_directories_with_a_last_link(toy_registry, tmp_path):
    t = trainer(toy_registry, GAN, tmp_path, ["train.checkpoint_every=2", "train.keep_checkpoints=2"])
    t.fit(5)
    root = tmp_path / "checkpoints"
    assert sorted(p.name for p in root.iterdir()) == ["last", "step_0000004", "step_0000005"]
    assert os.readlink(root / "last") == "step_0000005" and find_checkpoint(tmp_path) == (
        root / "step_0000005"
    )
    model = read_checkpoint(root / "last" / "model.safetensors")
    assert {k.split(".")[0] for k in model.tensors} == {
        "encoder",
        "motion",
        "warp",
        "render",
        "discriminator",
    }
    assert model.components["render"]["name"] == "toy_renderer"
    assert not list(root.glob(".*"))  # no temporary left
    with pytest.raises(CheckpointError, match="no training checkpoint here"):
        find_checkpoint(tmp_path / "nothing")


def test_mixed_batches_follow_the_release_pattern_and_shard_per_rank(toy_registry):
    data = {
        "a": toy_registry.create("dataset", "toy_pairs", items=8),
        "b": toy_registry.create("dataset", "toy_pairs", items=4),
    }
    mixed = MixedBatches(data, {"a": 0.75, "b": 0.25}, 2, seed=0)
    picks = []
    for _ in range(4):
        counts = list(mixed.counts)
        next(mixed)
        picks.append([n - c for n, c in zip(mixed.counts, counts)])
    assert picks == [[1, 1], [2, 0], [1, 1], [2, 0]]  # item 1 from the second dataset every 2nd step
    ranks = [MixedBatches({"a": data["a"]}, {"a": 1.0}, 1, seed=3, rank=r, world_size=2) for r in (0, 1)]
    seen = []
    for rank in ranks:
        indices = []
        for _ in range(4):  # one epoch: 8 items over 2 processes
            indices.append(rank._index(0))
            rank.counts[0] += 1
        seen.append(set(indices))
    assert seen[0].isdisjoint(seen[1]) and seen[0] | seen[1] == set(range(8))


def test_train_command_runs_resumes_and_refuses_inference_pipelines(toy_cli, capsys, tmp_path):
    code = main(["train", str(GAN), "--out", str(tmp_path), "--max-steps", "3", "-q"])
    out, err = capsys.readouterr()
    assert code == 0, err
    assert "trained to step 3" in out and (tmp_path / "checkpoints" / "last" / "trainer.json").is_file()
    assert any((tmp_path / "tb").iterdir())
    code = main(
        ["train", str(GAN), "--out", str(tmp_path), "--resume", str(tmp_path), "--max-steps", "5", "-q"]
    )
    assert code == 0 and "trained to step 5" in capsys.readouterr().out
    code = main(["train", str(PIPES / "toy_animate.toml"), "--out", str(tmp_path / "x")])
    assert code == 2 and "not a training pipeline" in capsys.readouterr().err
    code = main(["train", str(GAN), "--out", str(tmp_path / "y"), "--set", "losses.l1.optimizer=generater"])
    err = capsys.readouterr().err
    assert code == 2 and "unknown optimizer 'generater'" in err and "did you mean 'generator'" in err


def test_init_loads_the_components_it_has(toy_registry, tmp_path):
    from emoportraits_core.checkpoint import save_components

    first = trainer(toy_registry, GAN, tmp_path / "a")
    save_components(tmp_path / "g.safetensors", {k: first.modules[k] for k in ("encoder", "render")})
    t = trainer(toy_registry, GAN, tmp_path / "b", init=tmp_path / "g.safetensors")
    assert torch.equal(
        t.modules["render"].state_dict()["to_rgb.weight"],
        first.modules["render"].state_dict()["to_rgb.weight"],
    )
    assert "loaded encoder, render" in t.init_report and "randomly initialised: motion" in t.init_report


def test_data_option_needs_no_more_directories_than_tables(tmp_path):
    from emoportraits_core.cli.train_cmd import data_overrides

    assert data_overrides(str(TRAIN), ["d1"], []) == ['data.vox.config.root="d1"']
    with pytest.raises(PipelineError, match="3 directories for 2"):
        data_overrides(str(TRAIN), ["a", "b", "c"], [])


def test_bfloat16_autocast_trains_with_float32_weights(toy_registry, tmp_path):
    t = trainer(toy_registry, GAN, tmp_path, [*FAST, "train.precision=bfloat16"])
    metrics = [t.step() for _ in range(3)]
    assert all(torch.isfinite(v).all() for m in metrics for v in m.values())
    assert all(p.dtype == torch.float32 for m in t.modules.values() for p in m.parameters())
    with pytest.raises(Exception, match="precision"):
        resolve_pipeline(GAN, ["train.precision=float64"], toy_registry)


def test_an_optimizer_with_steps_takes_its_turn_that_often_on_fresh_batches(toy_registry, tmp_path):
    """``[optimizers.discriminator] steps = 3``: per iteration the discriminator steps 3 times (the
    generator once), the repeats on fresh batches; the generator's run is unchanged by it except
    through the discriminator; resume stays bit-identical."""
    three = [*FAST, "optimizers.discriminator.steps=3"]
    t = trainer(toy_registry, GAN, tmp_path / "a", three)
    assert t.resolved.optimizers["discriminator"].steps == 3
    assert t.resolved.optimizers["generator"].steps == 1
    t.step()
    t.step()
    d_state = t.optimizers["discriminator"].state
    g_state = t.optimizers["generator"].state
    assert {int(s["step"]) for s in d_state.values()} == {6}  # 3 per iteration
    assert {int(s["step"]) for s in g_state.values()} == {2}
    assert t.state.step == 2 and t.batches.slot == 2 * 2 * 3  # 2 iterations x 3 batches of 2 items
    one = trainer(toy_registry, GAN, tmp_path / "b", FAST)
    one.step()
    one.step()
    assert one.batches.slot == 2 * 2
    assert any(
        not torch.equal(a, b)
        for a, b in zip(t.modules["discriminator"].parameters(), one.modules["discriminator"].parameters())
    )
    straight = trainer(toy_registry, GAN, tmp_path / "c", three)
    straight.fit(4)
    first = trainer(toy_registry, GAN, tmp_path / "d", three)
    first.fit(2)
    resumed = trainer(toy_registry, GAN, tmp_path / "d", three, resume=tmp_path / "d")
    resumed.fit(4)
    want, got = params(straight), params(resumed)
    assert all(torch.equal(want[k], got[k]) for k in want)


@pytest.mark.parametrize("value", ["0", "1.5", '"5"', "-2"])
def test_optimizer_steps_must_be_a_whole_number_of_at_least_one(toy_registry, value):
    with pytest.raises(
        PipelineError, match=r"toy_gan\.toml: \[optimizers\.discriminator\] steps: expected a"
    ):
        resolve_pipeline(GAN, [f"optimizers.discriminator.steps={value}"], toy_registry)
