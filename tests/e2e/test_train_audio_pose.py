"""The shipped `train_audio_pose_tiny` pipeline (the audio -> head-pose GAN, WGAN-GP with 5 critic steps
per generator step) on shards of a sample video prepared with a (random) head-pose regressor: the
`pose_clips` dataset's clips are aligned, it overfits one clip, it resumes bit for bit, and the
command trains it."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from conftest import DATA

from emoportraits_core.cli import main
from emoportraits_core.errors import InputError
from emoportraits_core.pipeline import resolve_pipeline
from emoportraits_core.training import Trainer
from emoportraits_plugins.audio_pose import IDENTITY_POSE, PoseClipsConfig, PoseClipsDataset, pose_targets
from emoportraits_plugins.data.shard import VideoShard

VIDEO = DATA / "videos" / "drive_talking_a.mp4"
FRAMES = 40  # stored frames of the video (--max-frames)
ONE_CLIP = ["data.train.config.frames=40"]  # T = all 40 (the Whisper node takes any waveform length)

pytestmark = pytest.mark.filterwarnings("ignore:Whisper. no model directory given")


@pytest.fixture(autouse=True)
def _one_thread():
    """The tiny networks are latency-bound: one thread is faster than several on a shared CPU."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def shards(tmp_path_factory):
    """Shards of the first 40 frames of a talking video at 64 x 64, with audio and the head poses of a
    random regressor in the released file's layout."""
    from emoportraits_plugins.data.head_pose import _release_regressor

    root = tmp_path_factory.mktemp("audio_pose")
    torch.manual_seed(0)
    net = _release_regressor()
    net.reset_parameters()
    torch.save(net.state_dict(), root / "head_pose_regressor.pth")
    out = root / "shards"
    argv = ["prepare", str(VIDEO), "-o", str(out), "--size", "64", "--max-frames", str(FRAMES)]
    argv += ["--val-fraction", "0", "--head-pose", str(root / "head_pose_regressor.pth")]
    assert main([*argv, "--workers", "1", "-q"]) == 0
    return out


def _trainer(registry, root, out, extra=(), **kw) -> Trainer:
    sets = [f'data.train.config.root="{root}"', *extra]
    return Trainer(resolve_pipeline("train_audio_pose_tiny", sets, registry), registry, out, quiet=True, **kw)


# -- the dataset ------------------------------------------------------------------------------------


def test_clips_are_the_stored_audio_and_poses_of_consecutive_frames(shards):
    data = PoseClipsDataset(PoseClipsConfig(root=str(shards), frames=16, noise_dim=4))
    shard = VideoShard(shards / "videos" / "drive_talking_a")
    audio, fps = shard.audio(), 25.0
    assert len(data) == 1 and data.samples == 10240 and len(audio) == 25600
    seen = set()
    for seed in range(6):
        item = data.item(0, torch.Generator().manual_seed(seed))
        assert (
            item["waveform"].shape == (10240,)
            and item["pose"].shape == (16, 9)
            and item["noise"].shape == (4,)
        )
        # the clip's start: the one stored frame whose audio span the waveform is
        starts = [
            k
            for k in range(FRAMES - 16 + 1)
            if torch.equal(item["waveform"], audio[round(int(shard.frame_index[k]) / fps * 16000) :][:10240])
        ]
        assert len(starts) == 1, starts
        k = starts[0]
        torch.testing.assert_close(item["pose"], pose_targets(shard.head_pose[k : k + 16]))
        assert torch.equal(item["pose"][0], torch.tensor(IDENTITY_POSE))
        again = data.item(0, torch.Generator().manual_seed(seed))
        assert all(torch.equal(item[f], again[f]) for f in item)  # every choice from the generator
        seen.add(k)
    assert len(seen) > 2  # random starts
    last = PoseClipsDataset(PoseClipsConfig(root=str(shards), frames=FRAMES, noise_dim=4))
    item = last.item(0, torch.Generator().manual_seed(0))  # the one clip: every frame, all the audio
    assert torch.equal(item["waveform"], audio)


def test_clips_need_head_poses_audio_and_enough_frames(shards, tmp_path):
    with pytest.raises(InputError, match=r"1 shorter than 41 frames"):
        PoseClipsDataset(PoseClipsConfig(root=str(shards), frames=41))
    with pytest.raises(InputError, match=r"1 not at 30 fps"):
        PoseClipsDataset(PoseClipsConfig(root=str(shards), fps=30))
    bare = tmp_path / "bare"
    shutil.copytree(shards, bare)
    index = json.loads((bare / "index.json").read_text())
    index["videos"][0]["has_head_pose"] = False
    (bare / "index.json").write_text(json.dumps(index))
    with pytest.raises(InputError) as info:
        PoseClipsDataset(PoseClipsConfig(root=str(bare)))
    message = str(info.value)
    assert str(bare) in message and "prepared without --head-pose" in message
    assert "emoportraits prepare VIDEOS" in message and "--head-pose head_pose_regressor.pth" in message


# -- training -------------------------------------------------------------------------------------


def test_reconstruction_falls_on_one_clip(registry, shards, tmp_path):
    """20 iterations (100 critic steps) on the video's one 40-frame clip: rotation + translation L1."""
    t = _trainer(registry, shards, tmp_path, ONE_CLIP)
    losses = []
    for _ in range(20):
        metrics = t.step()
        assert all(torch.isfinite(v) for v in metrics.values()), metrics
        losses.append(float(metrics["loss/rotation"] + metrics["loss/translation"]))
    assert sum(losses[-3:]) / 3 < 0.3 * sum(losses[:3]) / 3, losses


def test_five_critic_steps_per_generator_step_and_an_exact_resume(registry, shards, tmp_path):
    straight = _trainer(registry, shards, tmp_path / "a")
    straight.fit(4)
    steps = lambda t, key: {int(s["step"]) for s in t.optimizers[key].state.values()}  # noqa: E731
    assert steps(straight, "critics") == {20} and steps(straight, "generator") == {4}
    assert straight.batches.slot == 4 * 5 * 2  # 5 batches of 2 clips per iteration
    first = _trainer(registry, shards, tmp_path / "b")
    first.fit(2)
    torch.manual_seed(1234)  # the checkpoint restores the global RNG (the penalty's interpolation)
    resumed = _trainer(registry, shards, tmp_path / "b", resume=tmp_path / "b")
    resumed.fit(4)
    a, b = straight.modules, resumed.modules
    assert a.keys() == b.keys()
    for key in a:
        for (name, x), y in zip(a[key].state_dict().items(), b[key].state_dict().values()):
            assert torch.equal(x, y), f"{key}.{name}"


def test_train_command_on_prepared_shards(shards, tmp_path):
    out = tmp_path / "run"
    exe = Path(sys.executable).parent / "emoportraits"
    argv = [str(exe), "train", "train_audio_pose_tiny", "--data", str(shards), "--out", str(out)]
    argv += ["--max-steps", "2", "-q"]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}  # latency-bound tiny networks on a shared CPU
    done = subprocess.run(argv, capture_output=True, text=True, timeout=300, check=False, env=env)
    assert done.returncode == 0, done.stderr
    assert "trained to step 2" in done.stdout
    assert (out / "checkpoints" / "last" / "model.safetensors").is_file()
    assert "Whisper: no model directory given" in done.stderr and "UserWarning" not in done.stderr
