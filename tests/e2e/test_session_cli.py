"""`emoportraits animate` through the session, on the sample data and over the installed plugins:
a third-party driver installed as a distribution, trimming, audio, driver statistics, one source
encoding. (The session's Python API over explicitly registered plugins: tests/plugins/test_session.py.)
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from conftest import DATA
from pipeline_files import tiny_overrides

from emoportraits_core.cli import main
from emoportraits_core.io import VideoWriter, iter_frame_arrays, probe_video

WOMAN = DATA / "images" / "photo_woman.jpg"
TALKING = DATA / "videos" / "drive_talking_a.mp4"
SPEECH = DATA / "audio" / "speech_en_us_16k.wav"


def _sets(name: str = "animate") -> list[str]:
    return [arg for o in tiny_overrides(name) for arg in ("--set", o)]


def cli(capsys, *argv: object) -> tuple[int, str, str]:
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def _clip(path: Path, frames: int, blank: tuple[int, ...] = ()) -> Path:
    arrays = [a for _, a in zip(range(frames), iter_frame_arrays(TALKING))]
    for i in blank:
        arrays[i] = np.full_like(arrays[i], 128)
    with VideoWriter(path, 25, audio_from=TALKING) as w:
        w.write(torch.from_numpy(np.stack(arrays)).permute(0, 3, 1, 2))
    return path


def test_a_third_party_driver_runs_in_the_shipped_graph_by_set_alone(installed_toy_cli, capsys, tmp_path):
    """`--set components.driver.name=toy_npy_frames`: a driver the project has never seen, from an
    installed package, animates through the unchanged session and command."""
    frames = np.random.default_rng(0).integers(0, 256, (5, 80, 72, 3), dtype=np.uint8)
    np.save(tmp_path / "dump.npy", frames)
    out = tmp_path / "out.mp4"
    argv = [
        "animate",
        WOMAN,
        tmp_path / "dump.npy",
        "-o",
        out,
        "--random-weights",
        "-q",
        "--pipeline",
        "animate",
    ]
    code, stdout, err = cli(
        capsys,
        *argv,
        *_sets(),
        "--set",
        "components.driver.name=toy_npy_frames",
        "--set",
        "components.driver.config={ size = 64 }",
    )
    assert code == 0, err
    info = probe_video(out)
    assert (info.num_frames, info.width, info.fps, info.has_audio) == (5, 64, 25.0, False)
    assert "wrote" in stdout and "5 frames" in stdout


def test_max_frames_and_duration_trim_video_and_audio(capsys, tmp_path):
    clip = _clip(tmp_path / "clip.mp4", 12)
    for flag, value, frames in (("--max-frames", "5", 5), ("--duration", "0.3", 8)):
        out = tmp_path / f"trim{frames}.mp4"
        code, _stdout, err = cli(
            capsys, "animate", WOMAN, clip, "-o", out, "--random-weights", "-q", flag, value, *_sets()
        )
        assert code == 0, err
        info = probe_video(out)
        assert info.num_frames == frames and info.has_audio
        assert abs(info.duration - frames / 25) < 0.05, info.duration
    code, _, err = cli(
        capsys, "animate", WOMAN, clip, "-o", tmp_path / "x.mp4", "--random-weights", "--max-frames", "0"
    )
    assert code == 2 and "--max-frames 0: expected a positive number" in err


def test_audio_option_muxes_any_audio_and_checks_it(capsys, tmp_path):
    clip = _clip(tmp_path / "clip.mp4", 6)
    out = tmp_path / "voice.mp4"
    code, _, err = cli(
        capsys, "animate", WOMAN, clip, "-o", out, "--random-weights", "-q", "--audio", SPEECH, *_sets()
    )
    assert code == 0, err
    info = probe_video(out)
    assert info.has_audio and info.audio_codec == "aac" and abs(info.duration - 6 / 25) < 0.05
    silent = DATA / "videos" / "drive_expressions_no_audio.mp4"
    code, _, err = cli(
        capsys,
        "animate",
        WOMAN,
        clip,
        "-o",
        tmp_path / "y.mp4",
        "--random-weights",
        "--audio",
        silent,
        *_sets(),
    )
    assert code == 2 and "--audio" in err and "no audio stream" in err and not (tmp_path / "y.mp4").exists()


def test_driver_statistics_reach_the_summary(capsys, tmp_path):
    clip = _clip(tmp_path / "clip.mp4", 6, blank=(2, 3))
    code, stdout, err = cli(
        capsys, "animate", WOMAN, clip, "-o", tmp_path / "o.mp4", "--random-weights", "-q", *_sets()
    )
    assert code == 0, err
    assert "; 2 frames without a face (the last box was reused)" in stdout


def test_the_source_is_prepared_once(capsys, tmp_path, monkeypatch):
    from emoportraits_plugins.session import session as session_module

    calls = []
    original = session_module.prepare_source
    monkeypatch.setattr(
        session_module, "prepare_source", lambda *a, **k: calls.append(1) or original(*a, **k)
    )
    clip = _clip(tmp_path / "clip.mp4", 3)
    code, _, err = cli(
        capsys, "animate", WOMAN, clip, "-o", tmp_path / "o.mp4", "--random-weights", "-q", *_sets()
    )
    assert code == 0, err
    assert len(calls) == 1
