"""The shipped `train_speech_tiny` pipeline (E_aud's training, frozen tiny image model) on shards of a
sample video with sound: the command trains from a stage-1 checkpoint, the losses fall on one clip, a
resumed run is bit-identical, and only E_aud learns."""

from __future__ import annotations

import pytest
import torch
from conftest import DATA

from emoportraits_core.checkpoint import read_checkpoint, save_checkpoint
from emoportraits_core.cli import main
from emoportraits_core.pipeline import resolve_pipeline
from emoportraits_core.training import Trainer

VIDEO = DATA / "videos" / "drive_talking_a.mp4"

pytestmark = pytest.mark.filterwarnings(
    "ignore:.*no weights file configured", "ignore:.*PCA file configured", "ignore:.*no model directory given"
)

#: one clip to overfit: the first 10 frames (of 40), clips of 10 frames, one clip a batch.
ONE_CLIP = [
    "data.train.config.frames=10",
    "data.train.config.frames_window=[0, 0.25]",
    "components.whisper.config.samples=6400",
    "train.batch_size=1",
]


@pytest.fixture(scope="module")
def shards(tmp_path_factory):
    """Shards of the first 40 frames (1.6 s, with their audio) of a sample video at 64 x 64."""
    out = tmp_path_factory.mktemp("shards")
    argv = [
        "prepare",
        str(VIDEO),
        "-o",
        str(out),
        "--size",
        "64",
        "--max-frames",
        "40",
        "--val-fraction",
        "0",
    ]
    assert main([*argv, "--workers", "1", "-q"]) == 0
    return out


def _trainer(registry, root, out, extra=(), **kw):
    sets = [f'data.train.config.root="{root}"', *extra]
    return Trainer(resolve_pipeline("train_speech_tiny", sets, registry), registry, out, quiet=True, **kw)


def _states(modules):
    return {k: {n: t.clone() for n, t in m.state_dict().items()} for k, m in modules.items()}


def test_train_command_from_a_stage_one_checkpoint(project_cli, shards, tmp_path, capsys):
    """`emoportraits train train_speech_tiny --init IMAGE_MODEL`: the image components come from the
    file (here: a first run's, changed so that they differ from a fresh build), E_aud starts random."""
    first = ["train", "train_speech_tiny", "--data", str(shards), "--out", str(tmp_path / "a"), "-q"]
    assert main([*first, "--max-steps", "1"]) == 0
    ckpt = read_checkpoint(tmp_path / "a" / "checkpoints" / "last" / "model.safetensors")
    image = {k: v + 0.01 if v.is_floating_point() else v for k, v in ckpt.tensors.items()}
    image = {k: v for k, v in image.items() if not k.startswith("audio_expression.")}
    save_checkpoint(tmp_path / "image.safetensors", image, {})
    capsys.readouterr()
    second = ["train", "train_speech_tiny", "--data", str(shards), "--out", str(tmp_path / "b"), "-q"]
    assert main([*second, "--max-steps", "2", "--init", str(tmp_path / "image.safetensors")]) == 0
    out = capsys.readouterr().out
    assert "randomly initialised: audio_expression" in out and "loaded appearance_encoder" in out, out
    assert "trained to step 2" in out, out
    print(out.strip().splitlines()[-1])  # the measured seconds per step
    trained = read_checkpoint(tmp_path / "b" / "checkpoints" / "last" / "model.safetensors").tensors
    for key, value in image.items():  # the frozen image model: as loaded, untouched by training
        assert torch.equal(trained[key], value), key
    assert any(k.startswith("audio_expression.") for k in trained)


def test_losses_fall_on_one_clip(registry, shards, tmp_path):
    t = _trainer(registry, shards, tmp_path, [*ONE_CLIP, "optimizers.speech.lr=1e-3"])
    history = [{k: float(v) for k, v in t.step().items()} for _ in range(30)]

    def mean(key, part):
        return sum(h[key] for h in part) / len(part)

    for key, ratio in (("total/speech", 0.8), ("loss/pca", 0.5), ("loss/mouth_bce", 0.8)):
        assert mean(key, history[-5:]) < ratio * mean(key, history[:5]), (key, [h[key] for h in history])


def test_only_the_audio_encoder_learns(registry, shards, tmp_path):
    t = _trainer(registry, shards, tmp_path)
    before = _states(t.modules)
    t.fit(2)
    changed = {
        k
        for k, m in t.modules.items()
        if any(not torch.equal(v, before[k][n]) for n, v in m.state_dict().items())
    }
    assert changed == {"audio_expression"}
    assert all(
        not p.requires_grad for k, m in t.modules.items() if k != "audio_expression" for p in m.parameters()
    )


def test_resume_is_bit_identical(registry, shards, tmp_path):
    straight = _trainer(registry, shards, tmp_path / "a")
    straight.fit(4)
    first = _trainer(registry, shards, tmp_path / "b")
    first.fit(2)
    resumed = _trainer(registry, shards, tmp_path / "b", resume=tmp_path / "b")
    resumed.fit(4)
    assert resumed.state.step == 4
    a, b = _states(straight.modules), _states(resumed.modules)
    assert not torch.equal(
        a["audio_expression"]["base.0.weight"], _states(first.modules)["audio_expression"]["base.0.weight"]
    )
    for key in a:
        for name, x in a[key].items():
            assert torch.equal(x, b[key][name]), f"{key}.{name}"
