"""``emoportraits fit-mouth-pca`` end to end: shards of two sample videos (``emoportraits prepare``), the
tiny motion encoder with random or checkpoint weights, the PCA file read back (and by the loss
``mouth_pca``), and one-line errors with nothing written."""

from __future__ import annotations

import importlib
import json
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F
from conftest import DATA, PROJECT_PLUGINS, project_plugin_manager, use_plugins

from emoportraits_core.checkpoint import save_checkpoint, save_components
from emoportraits_core.cli import main
from emoportraits_core.config import config_to_dict
from emoportraits_plugins.data.format import read_index
from emoportraits_plugins.data.shard import VideoShard
from emoportraits_plugins.speech import MouthPCA

PLUGIN = "emoportraits_plugins.speech.plugin"
VIDEOS = ("drive_talking_a.mp4", "drive_talking_b.mp4")
ENCODER = "emoportraits_motion_encoder"


def _plugin_manager():
    extra = [] if PLUGIN in PROJECT_PLUGINS else [importlib.import_module(PLUGIN)]
    return project_plugin_manager(*extra)


@pytest.fixture
def cli(monkeypatch):
    """The command line over the project's plugins and the speech plugin (added here until it is one of
    ``PROJECT_PLUGINS``). Returns its registry."""
    return use_plugins(monkeypatch, _plugin_manager())


@pytest.fixture(scope="module")
def shards(tmp_path_factory) -> list[Path]:
    """Two shard directories, one video each, 40 frames at 64x64."""
    dirs = []
    with pytest.MonkeyPatch.context() as mp:
        use_plugins(mp, _plugin_manager())
        for name in VIDEOS:
            out = tmp_path_factory.mktemp("shards")
            argv = [
                "prepare",
                str(DATA / "videos" / name),
                "-o",
                str(out),
                "--size",
                "64",
                "--max-frames",
                "40",
            ]
            assert main([*argv, "--workers", "1", "--val-fraction", "0", "-q"]) == 0
            dirs.append(out)
    return dirs


def _run(capsys, *argv: object) -> tuple[int, str, str]:
    code = main(["fit-mouth-pca", *map(str, argv)])
    out, err = capsys.readouterr()
    return code, out, err


def _valid_frames(dirs: list[Path]) -> list[tuple[Path, int]]:
    return [
        (root / v["dir"], int(i))
        for root in dirs
        for v in read_index(root)["videos"]
        for i in torch.nonzero(VideoShard(root / v["dir"]).valid).flatten()
    ]


def _latents(encoder, frames: list[tuple[Path, int]]) -> torch.Tensor:
    """The expression latents of ``frames``, computed here independently of the command."""
    with torch.no_grad():
        images = torch.stack([VideoShard(path).frame(i) for path, i in frames])
        return encoder.eval()(images).expression


def test_random_weights_fit_every_frame_and_the_loss_reads_the_file(cli, shards, tmp_path, capsys):
    out = tmp_path / "mouth_pca.safetensors"
    with pytest.warns(UserWarning, match="fit-mouth-pca: random motion-encoder weights"):
        code, printed, err = _run(capsys, *shards, "-o", out, "--random-weights", "--preset", "tiny", "-q")
    assert code == 0, err
    frames = _valid_frames(shards)
    assert len(frames) >= 60
    assert printed.startswith(f"fit the mouth PCA of {len(frames)} frames (2 video(s)) of 16-d latents")
    assert "kept 8 of 16 components" in printed and printed.rstrip().endswith(f"-> {out}")
    pca = MouthPCA.load(out)
    assert pca.dim == 16 and pca.num_components == 8 and len(pca.scores) == 16
    assert pca.metadata["preset"] == "tiny" and pca.metadata["frames"] == str(len(frames))
    assert pca.metadata["weights"] == "random weights (seed 0)"
    assert json.loads(pca.metadata["data"]) == [str(d) for d in shards]
    scores = pca.scores[pca.order]
    assert (scores[:-1] >= scores[1:]).all() and float(scores[0]) == float(pca.scores.max())
    torch.manual_seed(0)  # the command's random weights: seed 0
    encoder = cli.create("encoder", ENCODER, preset="tiny")
    torch.testing.assert_close(pca.mean, _latents(encoder, frames).mean(0), atol=1e-5, rtol=1e-4)

    loss = cli.create("loss", "mouth_pca", preset="tiny", pca=str(out))
    z = torch.randn(2, 16)
    assert float(loss(pred=z, target=z)) == 0.0 and float(loss(pred=z, target=z + pca.components[0])) > 0


def test_a_checkpoint_gives_its_encoder_and_config(cli, shards, tmp_path, capsys):
    torch.manual_seed(7)
    encoder = cli.create("encoder", ENCODER, preset="tiny")
    meta = {"kind": "encoder", "name": ENCODER, "config": config_to_dict(encoder.config)}
    ckpt = tmp_path / "model.safetensors"
    save_components(ckpt, {"motion_encoder": encoder}, {"motion_encoder": meta})
    out = tmp_path / "pca.safetensors"
    code, printed, err = _run(capsys, shards[0], "-o", out, "--checkpoint", ckpt, "--max-frames", "12", "-q")
    assert code == 0, err
    assert "of 12 frames (1 video(s)) of 16-d latents" in printed and "kept 8 of 11 components" in printed
    pca = MouthPCA.load(out)
    assert pca.metadata["weights"] == "model.safetensors" and pca.metadata["preset"] == "from the checkpoint"
    every = _valid_frames(shards[:1])
    picked = torch.linspace(0, len(every) - 1, 12, dtype=torch.float64).round().long()
    latents = _latents(encoder, [every[int(i)] for i in picked])
    torch.testing.assert_close(pca.mean, latents.mean(0), atol=1e-5, rtol=1e-4)


def test_the_frames_are_resized_to_the_encoder(cli, shards, tmp_path, capsys):
    """A release-sized encoder config on 64-pixel shards: frames are resized to its image size."""
    torch.manual_seed(3)
    encoder = cli.create("encoder", ENCODER, preset="tiny", image_size=96)
    meta = {"kind": "encoder", "name": ENCODER, "config": config_to_dict(encoder.config)}
    ckpt = tmp_path / "model.safetensors"
    save_components(ckpt, {"motion_encoder": encoder}, {"motion_encoder": meta})
    out = tmp_path / "pca.safetensors"
    code, _, err = _run(capsys, shards[1], "-o", out, "--checkpoint", ckpt, "--max-frames", "10", "-q")
    assert code == 0, err
    every = _valid_frames(shards[1:])
    picked = torch.linspace(0, len(every) - 1, 10, dtype=torch.float64).round().long()
    images = torch.stack([VideoShard(p).frame(i) for p, i in (every[int(k)] for k in picked)])
    images = F.interpolate(images, size=(96, 96), mode="bilinear", align_corners=False, antialias=True)
    with torch.no_grad():
        mean = encoder.eval()(images).expression.mean(0)
    torch.testing.assert_close(MouthPCA.load(out).mean, mean, atol=1e-5, rtol=1e-4)


def _one_line_error(code: int, err: str) -> str:
    lines = err.strip().splitlines()
    assert code == 2 and len(lines) == 1 and lines[0].startswith("error: "), err
    return lines[0]


@pytest.mark.filterwarnings("ignore:fit-mouth-pca. random motion-encoder weights")
def test_user_errors_are_one_line_and_write_nothing(cli, shards, tmp_path, capsys):
    out = tmp_path / "pca.safetensors"
    tiny = ("--random-weights", "--preset", "tiny", "-q")

    line = _one_line_error(*_run(capsys, tmp_path, "-o", out, *tiny)[::2])
    assert f"{tmp_path}: no index.json; expected a directory written by `emoportraits prepare`" in line

    line = _one_line_error(*_run(capsys, shards[0], "-o", out, "--max-frames", "5", *tiny)[::2])
    assert "5 frame(s) with landmarks; need at least 9 for 8 components" in line

    line = _one_line_error(*_run(capsys, shards[0], "-o", out, "--components", "17", *tiny)[::2])
    assert "--components 17 exceeds the expression latent's size 16" in line

    line = _one_line_error(*_run(capsys, shards[0], "-o", tmp_path, *tiny)[::2])
    assert "is a directory; expected the PCA file to write" in line

    other = tmp_path / "renderer.safetensors"
    save_checkpoint(
        other, {"renderer.w": torch.zeros(2)}, {"renderer": {"kind": "renderer", "name": "x", "config": {}}}
    )
    line = _one_line_error(*_run(capsys, shards[0], "-o", out, "--checkpoint", other, "-q")[::2])
    assert f"{other}: no {ENCODER} component(s); it holds: renderer" in line

    torch.manual_seed(0)
    small = cli.create("encoder", ENCODER, preset="tiny")
    ckpt = tmp_path / "tiny.safetensors"
    save_components(ckpt, {"motion_encoder": small}, {"motion_encoder": {"kind": "encoder", "name": ENCODER}})
    line = _one_line_error(
        *_run(capsys, shards[0], "-o", out, "--checkpoint", ckpt, "--preset", "release")[::2]
    )
    assert f"{ckpt} [component motion_encoder]: missing key" in line and "expected shape" in line

    junk = tmp_path / "junk.safetensors"
    junk.write_bytes(b"junk")
    line = _one_line_error(*_run(capsys, shards[0], "-o", out, "--checkpoint", junk)[::2])
    assert "not a readable safetensors checkpoint" in line
    assert not out.exists() and not list(tmp_path.glob(".pca*"))
