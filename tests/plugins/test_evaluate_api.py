"""The evaluation API on shards of a sample video and a tiny random checkpoint: the pairs, the
copy-the-source baseline scored exactly as the source itself, a training run's own modules (modes and
RNG kept), the evaluator a training loop calls, and CSIM with or without dlib."""

from __future__ import annotations

import json
import sys

import pytest
import torch
from conftest import DATA, project_plugin_manager

from emoportraits_core import build_registry
from emoportraits_core.checkpoint import save_components
from emoportraits_core.cli import main
from emoportraits_core.config import config_to_dict
from emoportraits_core.errors import InputError
from emoportraits_core.pipeline import resolve_pipeline
from emoportraits_core.pipeline.executor import build_components
from emoportraits_plugins.evaluate import metrics as M
from emoportraits_plugins.evaluate.evaluate import GREEN, evaluate, evaluate_modules
from emoportraits_plugins.evaluate.identity import load_identity
from emoportraits_plugins.evaluate.keypoints import FaceMeshKeypoints, keypoint_distance
from emoportraits_plugins.evaluate.load import load_model
from emoportraits_plugins.evaluate.pairs import EvalSet
from emoportraits_plugins.evaluate.scorers import Scorers
from emoportraits_plugins.evaluate.training import TrainingEvaluator
from emoportraits_plugins.session import Session

VIDEO = DATA / "videos" / "drive_talking_a.mp4"


@pytest.fixture(scope="module")
def shards(tmp_path_factory):
    """8 frames of a sample video at 64 x 64, all in the train split."""
    out = tmp_path_factory.mktemp("shards")
    argv = ["prepare", str(VIDEO), "-o", str(out), "--size", "64", "--max-frames", "8", "--val-fraction", "0"]
    assert main([*argv, "--workers", "1", "-q"]) == 0
    return out


@pytest.fixture(scope="module")
def reg():
    return build_registry(project_plugin_manager())


@pytest.fixture(scope="module")
def tiny(reg, shards, tmp_path_factory):
    """train_tiny's components with random weights, and them saved as a project checkpoint."""
    resolved = resolve_pipeline("train_tiny", [f'data.train.config.root="{shards}"'], reg)
    torch.manual_seed(0)
    modules = build_components(resolved, reg)
    meta = {
        k: {"kind": c.kind, "name": c.entry.name, "config": config_to_dict(c.config)}
        for k, c in resolved.components.items()
    }
    path = tmp_path_factory.mktemp("ckpt") / "model.safetensors"
    save_components(path, modules, meta)
    return resolved, modules, meta, path


def test_pairs_are_deterministic_distinct_and_batched(shards):
    a = EvalSet.from_shards(shards, split="train", count=10, seed=3)
    assert a.pairs == EvalSet.from_shards(shards, split="train", count=10, seed=3).pairs
    assert a.pairs != EvalSet.from_shards(shards, split="train", count=10, seed=4).pairs
    assert all(p.source != p.driver and min(p.source, p.driver) >= 0 for p in a.pairs)
    assert a.videos == ["drive_talking_a"] and max(max(p.source, p.driver) for p in a.pairs) < 8
    batches = list(a.batches(4, 32))
    assert [len(b["source"]) for b in batches] == [4, 4, 2]
    assert batches[0]["driver_mask"].shape == (4, 1, 32, 32) and batches[0]["source"].shape == (4, 3, 32, 32)
    shard = a.shard("drive_talking_a")
    first = next(a.batches(1, 64))
    assert torch.equal(first["driver"][0], shard.frame(a.pairs[0].driver))


def test_pairs_errors_name_the_problem(shards, tmp_path):
    with pytest.raises(InputError, match=r"no 'val' videos .*1 train, 0 val.*--val-fraction"):
        EvalSet.from_shards(shards, split="val")
    with pytest.raises(InputError, match="--pairs 0"):
        EvalSet.from_shards(shards, split="train", count=0)
    with pytest.raises(InputError, match="no such directory"):
        EvalSet.from_shards(tmp_path / "nothing")
    held_out = tmp_path / "held_out"  # the same shard, marked as the validation split
    held_out.mkdir()
    (held_out / "videos").symlink_to(shards / "videos", target_is_directory=True)
    index = json.loads((shards / "index.json").read_text())
    index["videos"][0]["split"] = "val"
    (held_out / "index.json").write_text(json.dumps(index))
    assert EvalSet.from_shards(held_out, count=3).videos == ["drive_talking_a"]


def test_the_baseline_is_the_source_scored_like_an_output(reg, tiny, shards):
    pairs = EvalSet.from_shards(shards, split="train", count=4, seed=1)
    scorers = Scorers(keypoints=FaceMeshKeypoints())
    result = evaluate(tiny[3], pairs, scorers=scorers, registry=reg, device="cpu")
    (batch,) = pairs.batches(4, 64)
    green = torch.tensor(GREEN).view(1, 3, 1, 1)
    source = batch["source"] * batch["source_mask"] + green * (1 - batch["source_mask"])
    target = batch["driver"] * batch["driver_mask"] + green * (1 - batch["driver_mask"])
    m = batch["driver_mask"]
    expected = {
        "psnr": M.psnr(source, target, max_db=100),
        "ssim": M.ssim(source, target),
        "l1": M.l1(source, target),
        "psnr_mask": M.psnr(source, batch["driver"], m, max_db=100),
        "ssim_mask": M.ssim(source, batch["driver"], m),
        "l1_mask": M.l1(source, batch["driver"], m),
        "akd": keypoint_distance(scorers.keypoints(source)[0], scorers.keypoints(batch["driver"])[0]),
    }
    for name, values in expected.items():
        assert result["metrics"][name]["baseline"] == pytest.approx(values.mean().item(), rel=1e-9), name
    assert result["pairs"] == 4 and result["image_size"] == 64 and result["split"] == "train"
    assert result["metrics"]["face_found"]["baseline"] == 1.0 and result["counts"]["target_no_face"] == 0
    model = result["metrics"]["psnr_mask"]
    assert model["model"] is not None and model["model"] != model["baseline"] and model["pairs"] == 4
    assert "csim" not in result["metrics"] and "lpips" not in result["metrics"]


def test_a_training_runs_own_modules_keep_their_modes_and_the_rng(reg, tiny, shards):
    _resolved, modules, meta, path = tiny
    pairs = EvalSet.from_shards(shards, split="train", count=3, seed=2)
    for key, module in modules.items():
        module.train(key != "renderer")
    modes = {k: [m.training for m in mod.modules()] for k, mod in modules.items()}
    torch.manual_seed(123)
    rng = torch.get_rng_state()
    result = evaluate_modules(modules, meta, pairs, registry=reg, scorers=Scorers())
    assert torch.equal(torch.get_rng_state(), rng)
    assert {k: [m.training for m in mod.modules()] for k, mod in modules.items()} == modes
    from_file = evaluate(path, pairs, scorers=Scorers(), registry=reg, device="cpu")
    session = Session(load_model(path, registry=reg, device="cpu"))
    session.source = object()  # as if a photo were encoded: evaluating forgets it
    from_session = evaluate(session, pairs, scorers=Scorers())
    assert session.source is None and from_session["metrics"] == from_file["metrics"]
    for name, row in result["metrics"].items():
        assert row["model"] == pytest.approx(from_file["metrics"][name]["model"], rel=1e-6), name


def test_the_evaluator_a_training_loop_calls(reg, tiny, shards):
    resolved, modules, *_ = tiny
    evaluator = TrainingEvaluator.for_pipeline(resolved, reg, split="train", pairs=2, scorers=Scorers())
    scalars = evaluator(modules)
    assert {"eval/psnr_mask", "eval_baseline/psnr_mask", "eval/ssim", "eval_baseline/l1"} <= set(scalars)
    assert all(isinstance(v, float) for v in scalars.values()) and evaluator.last["pairs"] == 2
    with pytest.raises(InputError, match="no 'val' videos"):
        TrainingEvaluator.for_pipeline(resolved, reg, pairs=2, scorers=Scorers())


def test_csim_is_skipped_with_a_note_without_dlib(monkeypatch):
    monkeypatch.setitem(sys.modules, "dlib", None)  # `import dlib` raises ImportError
    net, note = load_identity()
    assert net is None and note.startswith("CSIM skipped: dlib is not installed") and "\n" not in note
    scorers = Scorers.create(keypoints=False)
    assert scorers.identity is None and scorers.notes[0] == note


def test_csim_with_dlib(reg, tiny, shards):
    pytest.importorskip("dlib")
    net, note = load_identity()
    if net is None:
        pytest.skip(note)
    pairs = EvalSet.from_shards(shards, split="train", count=2, seed=0)
    (batch,) = pairs.batches(2, 64)
    source = net(batch["source"][:1])
    same = (source @ net(batch["driver"][:1]).T).item()  # two frames of one person
    noise = (source @ net(torch.rand(1, 3, 64, 64, generator=torch.Generator().manual_seed(0))).T).item()
    assert same > 0.9 and noise < same
    result = evaluate(tiny[3], pairs, scorers=Scorers(identity=net), registry=reg, device="cpu")
    assert result["metrics"]["csim"]["baseline"] > 0.99  # the source on green vs the source


@pytest.mark.filterwarnings("ignore:.*no weights file configured")
def test_evaluating_between_training_steps_changes_no_step(reg, shards, tmp_path):
    """What a training loop does every N steps: the same weights after 3 steps with or without an
    evaluation after step 1 (RNG, modes, caches untouched), and its scalars fit TensorBoard."""
    from emoportraits_core.training import Trainer
    from emoportraits_core.training.logger import RunLogger

    sets = [f'data.train.config.root="{shards}"']
    resolved = resolve_pipeline("train_tiny", sets, reg)
    plain = Trainer(resolved, reg, tmp_path / "a", quiet=True)
    for _ in range(3):
        plain.step()
    evaluated = Trainer(resolved, reg, tmp_path / "b", quiet=True)  # the trainers share torch's RNG: in turn
    evaluator = TrainingEvaluator.for_pipeline(resolved, reg, split="train", pairs=2, scorers=Scorers())
    evaluated.step()
    with RunLogger(tmp_path / "b", enabled=True, total=None, initial=0, quiet=True) as log:
        log.scalars(evaluator(evaluated.modules), 1)
    evaluated.step()
    evaluated.step()
    for key, module in plain.modules.items():
        for (name, a), b in zip(module.state_dict().items(), evaluated.modules[key].state_dict().values()):
            assert torch.equal(a, b), f"{key}.{name}"
    assert list((tmp_path / "b" / "tb").glob("events.out.tfevents.*"))
