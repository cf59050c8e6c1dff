"""The modality-agnostic session (Python API), over the project's own plugins registered explicitly
(conftest ``registry``): drivers declared in pipelines and their wiring, a driver that does not fit
the networks, motion and still drivers. (The `animate` command on the sample data, trimming, audio
and statistics: tests/e2e/test_session_cli.py.)"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from conftest import DATA
from PIL import Image
from pipeline_files import tiny_overrides, variant

from emoportraits_core.errors import InputError, PipelineError
from emoportraits_core.io import VideoWriter, iter_frame_arrays, probe_video
from emoportraits_core.pipeline import load_pipeline, resolve_pipeline
from emoportraits_plugins.session import Session

WOMAN = DATA / "images" / "photo_woman.jpg"
TALKING = DATA / "videos" / "drive_talking_a.mp4"
SHIPPED_ANIMATE = Path(load_pipeline("animate").path)


def _clip(path: Path, frames: int, blank: tuple[int, ...] = ()) -> Path:
    arrays = [a for _, a in zip(range(frames), iter_frame_arrays(TALKING))]
    for i in blank:
        arrays[i] = np.full_like(arrays[i], 128)
    with VideoWriter(path, 25, audio_from=TALKING) as w:
        w.write(torch.from_numpy(np.stack(arrays)).permute(0, 3, 1, 2))
    return path


def test_the_driver_is_a_declared_component_with_its_config(registry):
    r = resolve_pipeline("animate", (), registry)
    assert r.components["driver"].kind == "driver" and r.components["driver"].entry.name == "video"
    assert r.components["driver"].config.smoothing == 3
    r = resolve_pipeline("animate", ["components.driver.config.smoothing=0"], registry)
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
def test_driver_wiring_is_validated(registry, tmp_path, old, new, message):
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
        resolve_pipeline(path, (), registry)


def test_a_pipeline_without_a_driver_is_refused_by_the_session(registry, tmp_path):
    text = SHIPPED_ANIMATE.read_text()
    start = text.index("[components.driver]")
    end = text.index("[components.appearance_encoder]")
    path = tmp_path / "nodriver.toml"
    path.write_text(text[:start] + text[end:])
    with pytest.raises(PipelineError, match='a session needs exactly one component of kind "driver"'):
        Session.load(
            random_weights=True,
            pipeline=path,
            overrides=tiny_overrides("animate", registry)[1:],
            registry=registry,
        )


def test_a_wrong_driver_fails_before_the_source_is_encoded(registry, tmp_path, monkeypatch):
    """A driver whose values do not fit the networks is one line naming the port and the shapes,
    raised on the first batch, before the (slow) source encoding."""
    session = Session.load(
        random_weights=True,
        overrides=[*tiny_overrides("animate", registry), "components.driver.config={ size = 96 }"],
        registry=registry,
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


def test_side_by_side_with_a_motion_driver_shows_source_and_result(registry, tmp_path):
    """Drivers without pictures still compose: source | result."""
    session = Session.load(
        random_weights=True,
        pipeline="animate_motion",
        overrides=tiny_overrides("animate_motion", registry),
        registry=registry,
    )
    motion = session.driver._random_file(tmp_path, 3, 0)
    out = tmp_path / "sbs.mp4"
    report = session.animate(WOMAN, motion, out, side_by_side=True)
    assert report.size == (128, 64) and probe_video(out).num_frames == 3


def test_still_driver_writes_a_picture(registry, tmp_path):
    session = Session.load(
        random_weights=True, overrides=tiny_overrides("animate", registry), registry=registry
    )
    out = tmp_path / "still.png"
    report = session.animate(WOMAN, DATA / "images" / "photo_man_bw.jpg", out)
    assert report.frames == 1 and Image.open(out).size == (64, 64)


def test_pipeline_show_names_the_task_and_the_driver_feeding_each_stream_input(registry):
    from emoportraits_core.pipeline import describe_pipeline, format_pipeline

    resolved = resolve_pipeline("animate_motion", (), registry)
    d = describe_pipeline(resolved)
    assert d["pipeline"]["task"] == "animate"
    assert d["inputs"]["motion"]["fed_by"] == "driver" and d["inputs"]["source"]["fed_by"] == ""
    assert "stream <- driver" in format_pipeline(resolved)


def test_the_pipeline_is_chosen_by_the_driver_file(registry, tmp_path):
    from emoportraits_plugins.session.select import pipeline_for

    motion = Session.load(
        random_weights=True,
        pipeline="animate_motion",
        overrides=tiny_overrides("animate_motion", registry),
        registry=registry,
    ).driver._random_file(tmp_path, 2, 0)
    assert pipeline_for(motion, "animate", registry) == "animate_motion"
    assert pipeline_for(DATA / "videos" / "drive_talking_a.mp4", "animate", registry) == "animate"
    assert pipeline_for(DATA / "images" / "photo_woman.jpg", "animate", registry) == "animate"
    with pytest.raises(PipelineError, match="no shipped speak pipeline has a driver for this file"):
        pipeline_for(motion, "speak", registry)
