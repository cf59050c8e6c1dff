"""``prepare`` on the sample videos: shard contents, skip reasons, resume, options, head pose
(emoportraits_plugins.data.prepare, .video_job, .shard, .format, .head_pose)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
from conftest import DATA

from emoportraits_core.errors import CheckpointError, InputError
from emoportraits_core.io import VideoWriter
from emoportraits_plugins.data import video_job
from emoportraits_plugins.data.format import FORMAT, FORMAT_VERSION, read_index
from emoportraits_plugins.data.prepare import collect_videos, prepare
from emoportraits_plugins.data.shard import VideoShard
from emoportraits_plugins.data.video_job import SAMPLE_RATE, PrepareOptions

VIDEOS = DATA / "videos"
TALKING, SMALL = VIDEOS / "drive_talking_a.mp4", VIDEOS / "drive_480.mp4"
OPTIONS = PrepareOptions(size=64, max_frames=5)


def _run(inputs, out, options=OPTIONS, **kwargs):
    return prepare(inputs, out, options, workers=1, progress=False, **kwargs)


def write_blank_video(path: Path, frames: int = 10) -> Path:
    """A clip of a plain grey picture: no face."""
    with VideoWriter(path, 25, crf=12, preset="ultrafast") as writer:
        writer.write(torch.full((frames, 3, 128, 128), 0.4))
    return path


def write_truncated(source: Path, path: Path, fraction: float = 0.3) -> Path:
    """The first ``fraction`` of ``source``'s bytes."""
    data = source.read_bytes()
    path.write_bytes(data[: int(len(data) * fraction)])
    return path


@pytest.fixture(scope="module")
def prepared(tmp_path_factory):
    out = tmp_path_factory.mktemp("shards") / "set"
    report = _run([TALKING, SMALL], out, val_fraction=0.5, seed=0)
    return out, report


def test_index_lists_the_videos_with_format_options_and_splits(prepared):
    out, report = prepared
    index = read_index(out)
    assert index["format"] == FORMAT and index["format_version"] == FORMAT_VERSION
    assert index["complete"] is True and index["skipped"] == []
    assert index["options"]["size"] == 64 and index["options"]["matte"] == "head"
    videos = {v["id"]: v for v in index["videos"]}
    assert set(videos) == {"drive_talking_a", "drive_480"}
    assert sorted(v["split"] for v in videos.values()) == ["train", "val"]
    assert videos["drive_480"]["width"] == 480 and videos["drive_talking_a"]["fps"] == 25.0
    assert all(v["frames"] == 5 and v["valid_frames"] == 5 for v in videos.values())
    assert len(report.written) == 2 and report.frames == 10


def test_shard_arrays_frames_mattes_and_landmarks(prepared):
    out, _ = prepared
    shard = VideoShard(out / "videos" / "drive_talking_a")
    assert len(shard) == 5
    assert shard.frame_index.tolist() == [0, 1, 2, 3, 4]
    assert shard.valid.all() and shard.head_pose is None
    assert shard.landmarks.shape == (5, 68, 3) and shard.landmarks.dtype == torch.float32
    assert shard.landmarks[..., :2].abs().max() < 1.0  # inside the crop
    x0, y0, side = shard.crop_box[0].tolist()
    assert x0 >= 0 and y0 >= 0 and x0 + side <= 512 and y0 + side <= 512 and side > 100
    frame, matte = shard.frame(2), shard.matte(2)
    assert frame.shape == (3, 64, 64) and matte.shape == (1, 64, 64)
    assert frame.min() >= 0 and frame.max() <= 1 and matte.min() >= 0 and matte.max() <= 1
    assert matte[0, 24:40, 24:40].mean() > 0.9  # the face, in the middle of the crop
    assert matte[0, :, :4].mean() < 0.2 and matte[0, :4, :].mean() < 0.2  # background beside and above
    soft = ((matte > 0.02) & (matte < 0.98)).float().mean()
    assert soft > 0  # a soft edge, not a binary mask
    eye = shard.landmarks[2, 36:42, :2].mean(0)
    assert eye[0] < 0 and eye[1] < 0.2  # the image-left eye, in the upper half


def test_audio_is_16k_mono_cut_to_the_frames(prepared):
    out, _ = prepared
    shard = VideoShard(out / "videos" / "drive_talking_a")
    audio = shard.audio()
    assert audio is not None and audio.dtype == torch.float32 and audio.dim() == 1
    assert len(audio) == round(5 / 25 * SAMPLE_RATE)
    assert audio.abs().max() <= 1.0


def test_skip_reasons_unreadable_truncated_no_face_too_short(tmp_path):
    videos = tmp_path / "in"
    videos.mkdir()
    unreadable = write_truncated(TALKING, videos / "unreadable.mp4")  # index at the end: no header
    truncated = write_truncated(SMALL, videos / "truncated.mp4")  # header first: frames stop early
    blank = write_blank_video(videos / "blank.mp4")
    (videos / "notes.txt").write_text("not a video")
    report = _run([videos], tmp_path / "out", PrepareOptions(size=64, stride=10))
    reasons = {Path(r["source"]).name: r["reason"] for r in report.skipped}
    assert set(reasons) == {"unreadable.mp4", "truncated.mp4", "blank.mp4"}
    assert "not a readable video" in reasons[unreadable.name]
    assert (
        "truncated or corrupt" in reasons[truncated.name] and "of the 175 frames" in reasons[truncated.name]
    )
    assert reasons[blank.name] == "no face found in any of the 10 decoded frames"
    assert report.written == []
    index = read_index(tmp_path / "out")
    assert index["videos"] == [] and len(index["skipped"]) == 3
    assert list((tmp_path / "out" / "videos").iterdir()) == []  # nothing half-written left
    short = _run([SMALL], tmp_path / "out2", PrepareOptions(size=64, max_frames=3, min_frames=4))
    assert short.skipped[0]["reason"] == "too short: 3 frame(s) with face landmarks, at least 4 needed"


def test_resume_redoes_only_missing_or_partial_shards(tmp_path):
    out = tmp_path / "set"
    _run([TALKING, SMALL], out)
    kept = out / "videos" / "drive_talking_a" / "frames.bin"
    stamp = kept.stat().st_mtime_ns
    shutil.rmtree(out / "videos" / "drive_480")
    stale = out / "videos" / ".drive_480.partial-999999999"  # left by a killed run (no such process)
    stale.mkdir()
    (stale / "frames.bin").write_bytes(b"half")
    report = _run([TALKING, SMALL], out)
    assert report.resumed == ["drive_talking_a"]
    assert [r["id"] for r in report.written] == ["drive_480"]
    assert kept.stat().st_mtime_ns == stamp
    assert not stale.exists()
    assert {v["id"] for v in read_index(out)["videos"]} == {"drive_talking_a", "drive_480"}


def test_an_interruption_leaves_no_partial_shard_and_a_rerun_finishes(tmp_path, monkeypatch):
    out = tmp_path / "set"
    calls = {"n": 0}
    original = video_job._add_frame

    def interrupt_on_the_eighth_frame(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 8:
            raise KeyboardInterrupt
        return original(*args, **kwargs)

    monkeypatch.setattr(video_job, "_add_frame", interrupt_on_the_eighth_frame)
    with pytest.raises(KeyboardInterrupt):
        _run([TALKING, SMALL], out)  # 5 frames of the first video, then 3 of the second
    (done,) = [p.name for p in (out / "videos").iterdir()]  # the first video only, complete
    assert (out / "videos" / done / "meta.json").is_file()
    index = json.loads((out / "index.json").read_text())
    assert index["complete"] is False and [v["id"] for v in index["videos"]] == [done]
    monkeypatch.setattr(video_job, "_add_frame", original)
    report = _run([TALKING, SMALL], out)
    assert report.resumed == [done]
    assert [r["id"] for r in report.written] == [({"drive_talking_a", "drive_480"} - {done}).pop()]
    assert read_index(out)["complete"] is True


def test_other_options_into_the_same_directory_are_refused(prepared, tmp_path):
    out, _ = prepared
    with pytest.raises(InputError, match="prepared with size=64, this run asks for size=128"):
        _run([TALKING], out, PrepareOptions(size=128, max_frames=5))
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "file.txt").write_text("x")
    with pytest.raises(InputError, match=r"non-empty directory without index\.json"):
        _run([TALKING], tmp_path / "other")


def test_inputs_missing_empty_and_ids(tmp_path):
    with pytest.raises(InputError, match="no such file or directory"):
        collect_videos([tmp_path / "missing.mp4"])
    (tmp_path / "empty").mkdir()
    with pytest.raises(InputError, match="no video files found"):
        collect_videos([tmp_path / "empty"])
    nested = tmp_path / "vox" / "id001" / "yt a"
    nested.mkdir(parents=True)
    shutil.copy(SMALL, nested / "00001.mp4")
    shutil.copy(SMALL, tmp_path / "00001.mp4")
    found = collect_videos([tmp_path / "vox", tmp_path / "00001.mp4", nested / "00001.mp4"])
    ids = [vid for _, vid in found]
    assert len(found) == 2  # the same file named twice is taken once
    assert "id001__yt_a__00001" in ids
    assert any(i.startswith("00001") for i in ids)


def _write_regressor(path: Path) -> torch.nn.Module:
    from emoportraits_plugins.data.head_pose import _release_regressor

    torch.manual_seed(0)
    net = _release_regressor()
    net.reset_parameters()
    torch.save(net.state_dict(), path)  # the released file's layout: bare torchvision keys
    return net


def test_head_pose_from_the_released_file_layout(tmp_path):
    from emoportraits_plugins.data.head_pose import PoseRegressor, file_fingerprint

    path = tmp_path / "head_pose_regressor.pth"
    _write_regressor(path)
    options = PrepareOptions(size=64, max_frames=3, head_pose=str(path), head_pose_sha=file_fingerprint(path))
    report = _run([TALKING], tmp_path / "set", options)
    assert report.index["videos"][0]["has_head_pose"] is True
    assert report.index["options"]["head_pose_sha"] == file_fingerprint(path)
    shard = VideoShard(tmp_path / "set" / "videos" / "drive_talking_a")
    assert shard.head_pose.shape == (3, 9) and torch.isfinite(shard.head_pose).all()
    again = PoseRegressor(path)(torch.stack([shard.frame(i) for i in range(3)]))
    torch.testing.assert_close(again, shard.head_pose, atol=2e-2, rtol=0)  # stored crops are JPEG


def test_head_pose_file_errors_and_converted_checkpoints(tmp_path):
    from emoportraits_core.checkpoint import save_checkpoint
    from emoportraits_plugins.data.head_pose import load_head_pose_regressor

    net = _write_regressor(tmp_path / "hpr.pth")
    tensors = {f"motion_encoder.head_pose.{k}": v for k, v in net.state_dict().items()}
    save_checkpoint(tmp_path / "model.safetensors", tensors, {})
    loaded = load_head_pose_regressor(tmp_path / "model.safetensors")
    x = torch.rand(2, 3, 128, 128)
    torch.testing.assert_close(loaded.regress(x), net.eval().regress(x))
    state = net.state_dict()
    state["extra.weight"] = torch.zeros(3)
    torch.save(state, tmp_path / "bad.pth")
    with pytest.raises(CheckpointError, match=r"unexpected key 'extra\.weight'"):
        load_head_pose_regressor(tmp_path / "bad.pth")
    (tmp_path / "junk.pth").write_bytes(b"junk")
    with pytest.raises(CheckpointError, match="not a readable PyTorch checkpoint"):
        load_head_pose_regressor(tmp_path / "junk.pth")


def test_frames_without_a_face_at_the_start_are_dropped(tmp_path):
    """A clip whose first frames show no face stores frames from the first face on (frame_index)."""
    from emoportraits_core.io import iter_frame_arrays

    clip = tmp_path / "late_face.mp4"
    frames = [np.full((512, 512, 3), 100, np.uint8)] * 3
    for i, arr in enumerate(iter_frame_arrays(TALKING)):
        frames.append(arr)
        if i == 3:
            break
    with VideoWriter(clip, 25, crf=12, preset="ultrafast") as writer:
        writer.write(torch.from_numpy(np.stack(frames)).permute(0, 3, 1, 2))
    _run([clip], tmp_path / "set", PrepareOptions(size=64))
    shard = VideoShard(tmp_path / "set" / "videos" / "late_face")
    assert shard.frame_index.tolist() == [3, 4, 5, 6]


def test_ctrl_c_with_worker_processes_stops_them_and_leaves_no_partial_shard(tmp_path):
    """Interrupted after the first finished video, the run stops the other workers at once: their
    partial shards are removed, the finished one stays, the index says incomplete."""
    out = tmp_path / "set"
    sources = [VIDEOS / "drive_talking_b.mp4", VIDEOS / "drive_expressions_no_audio.mp4"]

    def interrupt(_result):
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        prepare(sources, out, PrepareOptions(size=64), workers=2, progress=False, on_result=interrupt)
    names = [p.name for p in (out / "videos").iterdir()]
    assert not [n for n in names if n.startswith(".")]
    assert len(names) < 2 and all((out / "videos" / n / "meta.json").is_file() for n in names)
    index = read_index(out)
    assert index["complete"] is False and [v["id"] for v in index["videos"]] == names
