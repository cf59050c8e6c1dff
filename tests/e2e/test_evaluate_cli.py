"""`emoportraits evaluate` on a training run of `train_tiny` (random weights, step 0) over shards of a
sample video: the table beside the copy-the-source baseline, the JSON, and one-line errors."""

from __future__ import annotations

import json
import warnings

import pytest
from conftest import DATA, project_plugin_manager

from emoportraits_core.checkpoint import read_checkpoint, save_checkpoint
from emoportraits_core.cli import main
from emoportraits_core.pipeline import resolve_pipeline
from emoportraits_core.training import Trainer

VIDEO = DATA / "videos" / "drive_talking_a.mp4"


@pytest.fixture(scope="module")
def shards(tmp_path_factory):
    out = tmp_path_factory.mktemp("shards")
    argv = ["prepare", str(VIDEO), "-o", str(out), "--size", "64", "--max-frames", "8", "--val-fraction", "0"]
    assert main([*argv, "--workers", "1", "-q"]) == 0
    return out


@pytest.fixture(scope="module")
def run_dir(shards, tmp_path_factory):
    """A training run directory of train_tiny with one checkpoint (step 0, the random initial weights)."""
    from emoportraits_core import build_registry

    registry = build_registry(project_plugin_manager())
    out = tmp_path_factory.mktemp("run")
    resolved = resolve_pipeline("train_tiny", [f'data.train.config.root="{shards}"'], registry)
    with warnings.catch_warnings():  # the loss networks' random weights (warned once per process)
        warnings.filterwarnings("ignore", message=".*no weights file configured")
        Trainer(resolved, registry, out, quiet=True).save()
    return out


@pytest.mark.filterwarnings("ignore:.*no weights file configured")
def test_the_command_writes_the_table_and_the_json(project_cli, shards, run_dir, tmp_path, capsys):
    out = tmp_path / "eval.json"
    argv = ["evaluate", str(run_dir), "--data", str(shards), "--split", "train", "--pairs", "3"]
    assert main([*argv, "--no-csim", "--json", str(out), "--device", "cpu", "-q"]) == 0
    text = capsys.readouterr().out
    lines = text.splitlines()
    assert lines[0].startswith(f"evaluated {run_dir}") and "3 pairs of the 'train' split" in lines[0]
    assert "(1 video: drive_talking_a) at 64x64" in lines[0]
    assert lines[1].split() == ["metric", "model", "copy-source", "better"]
    names = [line.split()[0] for line in lines[2:12]]
    assert names[:8] == ["psnr_mask", "ssim_mask", "l1_mask", "psnr", "ssim", "l1", "akd", "face_found"]
    assert "note: LPIPS skipped: no weights (--lpips)" in text and f"wrote {out}" in text
    data = json.loads(out.read_text())
    assert (
        data["pairs"] == 3 and data["checkpoint"].endswith("model.safetensors") and data["image_size"] == 64
    )
    row = data["metrics"]["psnr_mask"]
    assert row["higher_is_better"] and row["better"] in ("model", "baseline") and row["pairs"] == 3
    assert data["metrics"]["face_found"]["baseline"] == 1.0 and "csim" not in data["metrics"]


def _one_line_error(capsys, argv) -> str:
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: ") and "\n" not in err, err
    return err


@pytest.mark.filterwarnings("ignore:.*no weights file configured")
def test_errors_are_one_line(project_cli, shards, run_dir, tmp_path, capsys):
    ckpt = run_dir / "checkpoints" / "last" / "model.safetensors"
    base = ["evaluate", str(ckpt), "--data", str(shards), "--pairs", "2", "--no-csim", "--no-akd", "-q"]
    assert "no 'val' videos to evaluate on" in _one_line_error(capsys, base)  # default --split val
    err = _one_line_error(capsys, ["evaluate", str(ckpt), "--data", str(tmp_path / "none"), "-q"])
    assert "no such directory" in err
    err = _one_line_error(
        capsys, ["evaluate", str(tmp_path), "--data", str(shards), "--split", "train", "-q"]
    )
    assert "no training checkpoint here" in err
    # a checkpoint whose renderer is tiny but says nothing of its config: the released renderer's shapes
    model = read_checkpoint(ckpt)
    components = {k: v for k, v in model.components.items() if k != "renderer"}
    odd = tmp_path / "odd.safetensors"
    save_checkpoint(odd, model.tensors, components)
    err = _one_line_error(capsys, ["evaluate", str(odd), *base[2:], "--split", "train"])
    assert err.startswith(f"error: {odd} [component renderer]") and "shape" in err, err
    # the pipeline's renderer weights missing altogether
    partial = tmp_path / "partial.safetensors"
    save_checkpoint(
        partial, {k: v for k, v in model.tensors.items() if not k.startswith("renderer.")}, components
    )
    err = _one_line_error(capsys, ["evaluate", str(partial), *base[2:], "--split", "train"])
    assert err.startswith(f"error: {partial}: no weights for component 'renderer'"), err
