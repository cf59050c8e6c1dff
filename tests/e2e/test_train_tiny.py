"""The shipped `train_tiny` pipeline (the EMOPortraits training graph at tiny presets) on shards of a
sample video: it trains, its losses fall on one pair, and it resumes bit for bit."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import torch
from conftest import DATA

from emoportraits_core.cli import main
from emoportraits_core.pipeline import resolve_pipeline
from emoportraits_core.training import Trainer

VIDEO = DATA / "videos" / "drive_talking_a.mp4"


@pytest.fixture(scope="module")
def one_pair(tmp_path_factory):
    """Shards of the first 2 frames of a sample video at 64 x 64 (one pair to overfit)."""
    out = tmp_path_factory.mktemp("shards")
    argv = ["prepare", str(VIDEO), "-o", str(out), "--size", "64", "--max-frames", "2", "--val-fraction", "0"]
    assert main([*argv, "--workers", "1", "-q"]) == 0
    return out


def _trainer(registry, root, out, extra=(), **kw):
    sets = [f'data.train.config.root="{root}"', "data.train.config.augment=false", *extra]
    return Trainer(resolve_pipeline("train_tiny", sets, registry), registry, out, quiet=True, **kw)


@pytest.mark.filterwarnings("ignore:.*no weights file configured")
def test_losses_fall_on_one_pair(registry, one_pair, tmp_path):
    # epoch 0 for the whole test (one video: an epoch would be one step): the release's first-epoch
    # terms, without the latent and canonical-volume terms that join from epoch 1
    t = _trainer(registry, one_pair, tmp_path, ["optimizers.generator.lr=1e-3", "train.steps_per_epoch=1000"])
    vgg = [float(t.step()["loss/vgg19"]) for _ in range(60)]
    assert sum(vgg[-5:]) / 5 < 0.85 * sum(vgg[:5]) / 5, vgg


@pytest.mark.filterwarnings("ignore:.*no weights file configured")
def test_resume_is_bit_identical_with_the_release_networks(registry, one_pair, tmp_path):
    every_loss = ["train.steps_per_epoch=1"]  # epoch >= 1 from step 1: the mixing path and its pose pool run
    straight = _trainer(registry, one_pair, tmp_path / "a", every_loss)
    straight.fit(4)
    first = _trainer(registry, one_pair, tmp_path / "b", every_loss)
    first.fit(2)
    resumed = _trainer(registry, one_pair, tmp_path / "b", every_loss, resume=tmp_path / "b")
    resumed.fit(4)
    assert int(straight.modules["mixing"].pool_size) > 0  # the pool was filled, and saved/restored
    a, b = straight.modules, resumed.modules
    for key in a:
        for (name, x), y in zip(a[key].state_dict().items(), b[key].state_dict().values()):
            assert torch.equal(x, y), f"{key}.{name}"


def test_train_command_on_prepared_shards(one_pair, tmp_path):
    """The command as a user runs it: a checkpoint, the summary, warnings as one line each."""
    out = tmp_path / "run"
    exe = Path(sys.executable).parent / "emoportraits"
    argv = [
        str(exe),
        "train",
        "train_tiny",
        "--data",
        str(one_pair),
        "--out",
        str(out),
        "--max-steps",
        "3",
        *("--set", "train.eval_every=3", "--set", "train.eval_pairs=1", "--set", 'train.eval_split="train"'),
        "-q",
    ]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr
    assert (
        "trained to step 3" in done.stdout and (out / "checkpoints" / "last" / "model.safetensors").is_file()
    )
    assert "warning: gaze VGG16" in done.stderr and "UserWarning" not in done.stderr
    # [train] eval_every: the evaluate plugin's scores of the run's own modules, at step 3, in TensorBoard
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    events = EventAccumulator(str(out / "tb")).Reload()
    tags = events.Tags()["scalars"]
    assert {"eval/psnr_mask", "eval_baseline/psnr_mask", "loss/vgg19"} <= set(tags), tags
    assert [e.step for e in events.Scalars("eval/psnr_mask")] == [3]


def test_eval_every_without_an_evaluating_plugin_is_one_line(monkeypatch, one_pair, tmp_path, capsys):
    import importlib

    from conftest import PROJECT_PLUGINS, use_plugins

    from emoportraits_core import make_plugin_manager

    names = [n for n in PROJECT_PLUGINS if "evaluate" not in n]
    use_plugins(
        monkeypatch, make_plugin_manager(entry_points=False, plugins=map(importlib.import_module, names))
    )
    argv = ["train", "train_tiny", "--data", str(one_pair), "--out", str(tmp_path), "--max-steps", "1"]
    assert main([*argv, "--set", "train.eval_every=1", "-q"]) != 0
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: ") and "eval_every = 1" in err and "\n" not in err, err
    assert not (tmp_path / "checkpoints").exists()


@pytest.mark.filterwarnings("ignore:.*no weights file configured")
def test_every_loss_of_the_release_runs_from_its_epoch(registry, one_pair, tmp_path):
    """At epoch 10 every term is on: the canonical volume (driver through the source branch) and the
    head region (face-parser masks) are finite, and only they and the rest give gradients."""
    t = _trainer(registry, one_pair, tmp_path, ["train.steps_per_epoch=1"])
    t.state.step = 10  # epoch 10: as after 10 epochs
    metrics = t.step()
    assert set(t.resolved.losses) == {k.removeprefix("loss/") for k in metrics if k.startswith("loss/")}
    for key in ("loss/canonical_volume", "loss/head_region"):
        assert torch.isfinite(metrics[key]) and float(metrics[key]) > 0, key
    assert not list(t.modules["parser"].parameters())  # frozen: nothing to train or save
    assert not t.modules["parser"].state_dict()
