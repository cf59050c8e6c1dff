"""The modality-agnostic session: drivers declared in pipelines, trimming, audio, statistics, errors."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from conftest import DATA
from PIL import Image
from pipeline_files import tiny_overrides, variant

from emoportraits_core import plugin_manager
from emoportraits_core.cli import main
from emoportraits_core.errors import InputError, PipelineError
from emoportraits_core.io import VideoWriter, iter_frame_arrays, probe_video
from emoportraits_core.pipeline import load_pipeline, resolve_pipeline
from emoportraits_plugins.session import Session

WOMAN = DATA / "images" / "photo_woman.jpg"
TALKING = DATA / "videos" / "drive_talking_a.mp4"
SPEECH = DATA / "audio" / "speech_en_us_16k.wav"
SHIPPED_ANIMATE = Path(load_pipeline("animate").path)


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


@pytest.fixture
def toy_cli(toy_site, monkeypatch):
    """The CLI's registry rebuilt over the installed plugins plus the toy (third-party) plugin."""
    monkeypatch.setattr(plugin_manager, "_default", {})
    plugin_manager.get_registry(reload=True)


def test_a_third_party_driver_runs_in_the_shipped_graph_by_set_alone(toy_cli, capsys, tmp_path):
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


def test_the_driver_is_a_declared_component_with_its_config():
    r = resolve_pipeline("animate")
    assert r.components["driver"].kind == "driver" and r.components["driver"].entry.name == "video"
    assert r.components["driver"].config.smoothing == 3
    r = resolve_pipeline("animate", ["components.driver.config.smoothing=0"])
    assert r.components["driver"].config.smoothing == 0


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        (
            'name = "video"\nconfig = { crop = true, size = 512, smoothing = 3 }',
            'name = "motion_file"',
            "driver 'motion_file' outputs 'motion' (motion), which must feed a stream input of that name",
        ),
        ("", "", "type mismatch: driver 'video' outputs 'driver' as image but [inputs.driver] is motion"),
    ],
)
def test_driver_wiring_is_validated(tmp_path, old, new, message):
    if old:
        path = variant(tmp_path, old, new, SHIPPED_ANIMATE)
    else:  # animate_motion with its motion input renamed `driver` and fed by the video driver
        text = Path(load_pipeline("animate_motion").path).read_text()
        text = text.replace("[inputs.motion]", "[inputs.driver]").replace(
            'motion = "motion"', 'motion = "driver"'
        )
        path = tmp_path / "mismatch.toml"
        path.write_text(
            text.replace('name = "motion_file"\nconfig = { expression_dim = 128 }', 'name = "video"')
        )
    with pytest.raises(
        PipelineError, match=message.replace("(", r"\(").replace(")", r"\)").replace("[", r"\[")
    ):
        resolve_pipeline(path)


def test_a_pipeline_without_a_driver_is_refused_by_the_session(tmp_path):
    text = SHIPPED_ANIMATE.read_text()
    start = text.index("[components.driver]")
    end = text.index("[components.appearance_encoder]")
    path = tmp_path / "nodriver.toml"
    path.write_text(text[:start] + text[end:])
    with pytest.raises(PipelineError, match='a session needs exactly one component of kind "driver"'):
        Session.load(random_weights=True, pipeline=path, overrides=tiny_overrides("animate")[1:])


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


def test_a_wrong_driver_fails_before_the_source_is_encoded(tmp_path, monkeypatch):
    """A driver whose values do not fit the networks is one line naming the port and the shapes,
    raised on the first batch, before the (slow) source encoding."""
    session = Session.load(
        random_weights=True,
        overrides=[*tiny_overrides("animate"), "components.driver.config={ size = 96 }"],
    )
    encoded = []
    monkeypatch.setattr(session.runner, "prepare", lambda **kw: encoded.append(1))
    clip = _clip(tmp_path / "clip.mp4", 2)
    with pytest.raises(
        InputError,
        match=r"input 'driver' does not fit port 'image' of node 'driver_motion'.*\(2, 3, 96, 96\).*\(B, 3, 64, 64\)",
    ):
        session.animate(WOMAN, clip, tmp_path / "o.mp4")
    assert not encoded and not (tmp_path / "o.mp4").exists()


def test_side_by_side_with_a_motion_driver_shows_source_and_result(tmp_path):
    """Drivers without pictures still compose: source | result."""
    session = Session.load(
        random_weights=True, pipeline="animate_motion", overrides=tiny_overrides("animate_motion")
    )
    motion = session.driver._random_file(tmp_path, 3, 0)
    out = tmp_path / "sbs.mp4"
    report = session.animate(WOMAN, motion, out, side_by_side=True)
    assert report.size == (128, 64) and probe_video(out).num_frames == 3


def test_still_driver_writes_a_picture(tmp_path):
    session = Session.load(random_weights=True, overrides=tiny_overrides("animate"))
    out = tmp_path / "still.png"
    report = session.animate(WOMAN, DATA / "images" / "photo_man_bw.jpg", out)
    assert report.frames == 1 and Image.open(out).size == (64, 64)
