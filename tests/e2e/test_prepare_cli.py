"""``emoportraits prepare`` end to end on ../shared/data/videos plus a corrupt file (the command line's
main, with the data plugin registered as its entry point does)."""

from __future__ import annotations

import importlib
import json

import pytest
from conftest import DATA, PROJECT_PLUGINS, project_plugin_manager, use_plugins

from emoportraits_core.cli import main

VIDEOS = DATA / "videos"


@pytest.fixture
def cli(monkeypatch):
    """The command line over the project's plugins and the data plugin (``emoportraits_plugins.data.plugin``,
    added here until it is one of ``PROJECT_PLUGINS``)."""
    name = "emoportraits_plugins.data.plugin"
    extra = [] if name in PROJECT_PLUGINS else [importlib.import_module(name)]
    return use_plugins(monkeypatch, project_plugin_manager(*extra))


def test_prepare_sample_videos_skips_a_corrupt_file_and_resumes(cli, tmp_path, capsys):
    corrupt = tmp_path / "corrupt.mp4"
    data = (VIDEOS / "drive_talking_a.mp4").read_bytes()
    corrupt.write_bytes(data[: len(data) // 3])  # truncated: the header (at the end) is gone
    out = tmp_path / "shards"
    args = ["prepare", str(VIDEOS), str(corrupt), "-o", str(out), "--size", "64", "--max-frames", "4"]
    assert main([*args, "--workers", "2", "-q"]) == 0
    printed = capsys.readouterr().out
    assert "prepared 4 video(s), 16 frames at 64x64" in printed
    assert "2 worker(s)" in printed
    assert "skipped 1 video(s):" in printed
    assert f"  {corrupt}: not a readable video" in printed
    index = json.loads((out / "index.json").read_text())
    assert index["complete"] is True and len(index["videos"]) == 4
    assert {v["split"] for v in index["videos"]} == {"train", "val"}  # 5 % of 4 videos: one held out
    assert index["skipped"][0]["source"] == str(corrupt)
    for video in index["videos"]:
        assert (out / video["dir"] / "arrays.safetensors").is_file()
    assert [v["has_audio"] for v in sorted(index["videos"], key=lambda v: v["id"])] == [
        True,
        False,
        True,
        True,
    ]

    assert main([*args, "--workers", "1", "-q"]) == 0  # again: everything is kept, the corrupt file retried
    printed = capsys.readouterr().out
    assert "prepared 0 video(s)" in printed and "already prepared (kept): 4 video(s)" in printed
    assert "skipped 1 video(s):" in printed


def test_prepare_user_errors_are_one_line(cli, tmp_path, capsys):
    assert main(["prepare", str(tmp_path / "nothing.mp4"), "-o", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err.strip()
    assert (
        err
        == f"error: {tmp_path / 'nothing.mp4'}: no such file or directory; expected videos or folders of videos"
    )
    assert main(["prepare", str(VIDEOS), "-o", str(tmp_path / "out"), "--size", "32"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: --size:") and "\n" not in err
    assert (
        main(["prepare", str(VIDEOS), "-o", str(tmp_path / "o"), "--head-pose", str(tmp_path / "x.pth")]) == 2
    )
    assert "no such file; expected the released head-pose regressor" in capsys.readouterr().err
    assert not (tmp_path / "o").exists()  # nothing is written before the inputs are checked


def test_head_pose_random_for_smoke_runs(tmp_path):
    """``--head-pose random``: poses of a seeded untrained regressor, said so, recorded in the options."""
    import json

    from emoportraits_plugins.data.shard import VideoShard

    argv = [
        "prepare",
        str(DATA / "videos" / "drive_talking_a.mp4"),
        "-o",
        str(tmp_path / "s"),
        "--size",
        "64",
    ]
    with pytest.warns(UserWarning, match="random head-pose regressor"):
        assert main([*argv, "--max-frames", "6", "--head-pose", "random", "--workers", "1", "-q"]) == 0
    index = json.loads((tmp_path / "s" / "index.json").read_text())
    assert index["options"]["head_pose_sha"] == "random" and index["videos"][0]["has_head_pose"]
    pose = VideoShard(tmp_path / "s" / index["videos"][0]["dir"]).head_pose
    assert pose is not None and pose.shape == (6, 9) and bool(pose.isfinite().all())
