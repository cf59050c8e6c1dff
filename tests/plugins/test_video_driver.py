"""The video driver: probe, face crops per frame, streaming equals batch, stills, errors, registry."""

from __future__ import annotations

import logging
import re
from pathlib import Path

import numpy as np
import pytest
import torch
from conftest import DATA

from emoportraits_core import Registry
from emoportraits_core.errors import ConfigError, InputError
from emoportraits_core.interfaces import Driver
from emoportraits_core.io import VideoWriter, iter_frames, probe_video
from emoportraits_plugins.drivers import VideoDriver, VideoDriverConfig, register
from emoportraits_plugins.face.crop import crop_face

TALKING = DATA / "videos" / "drive_talking_a.mp4"


@pytest.fixture(scope="module")
def driver() -> VideoDriver:
    return VideoDriver(VideoDriverConfig())


@pytest.fixture(scope="module")
def clip(tmp_path_factory) -> Path:
    """The first 8 frames of a talking sample, with its audio."""
    path = tmp_path_factory.mktemp("clips") / "talking8.mp4"
    with VideoWriter(path, 25, audio_from=TALKING, crf=12, preset="ultrafast") as writer:
        writer.write(next(iter(iter_frames(TALKING, 8))))
    return path


def _all(driver: VideoDriver, source: Path, batch_size: int) -> torch.Tensor:
    batches = list(driver.stream(source, batch_size))
    assert all(set(b) == {"driver"} for b in batches)
    assert all(b["driver"].shape[0] <= batch_size for b in batches)
    return torch.cat([b["driver"] for b in batches])


def test_probe(driver, clip):
    info = driver.probe(TALKING)
    assert (info.num_frames, info.fps, info.audio) == (225, 25.0, TALKING)
    assert driver.probe(DATA / "videos" / "drive_expressions_no_audio.mp4").audio is None
    still = driver.probe(DATA / "images" / "painting_mona_lisa.jpg")
    assert (still.num_frames, still.fps, still.audio) == (1, 1.0, None)
    assert driver.probe(clip).audio == clip


def test_streaming_equals_batch_and_one_crop_per_frame(driver, clip):
    runs = [_all(driver, clip, bs) for bs in (1, 3, 8)]
    assert runs[0].shape == (8, 3, 512, 512) and runs[0].dtype == torch.float32
    assert float(runs[0].min()) >= 0.0 and float(runs[0].max()) <= 1.0
    assert torch.equal(runs[0], runs[1]) and torch.equal(runs[0], runs[2])
    assert driver.frames_seen == 8 and driver.frames_without_face == 0


def test_portrait_720x1280_clip(tmp_path):
    frames = next(iter(iter_frames(TALKING, 4)))
    canvas = torch.full((4, 3, 1280, 720), 0.5)
    canvas[:, :, 300:812, 104:616] = frames  # a 512 face clip inside a phone-shaped frame
    path = tmp_path / "portrait.mp4"
    with VideoWriter(path, 25, preset="ultrafast") as writer:
        writer.write(canvas)
    per_frame = VideoDriver(VideoDriverConfig(smoothing=0))  # then crops are exactly per-frame crops
    crops = _all(per_frame, path, 3)
    assert crops.shape == (4, 3, 512, 512)
    for crop, frame in zip(crops, next(iter(iter_frames(path, 4)))):
        ref, box = crop_face(frame, per_frame.detector)
        assert torch.allclose(crop, ref, atol=1e-5)
        cx, cy = box.x0 + box.size / 2, box.y0 + box.size / 2
        assert 104 < cx < 616 and 300 < cy < 812 and 300 < box.size < 720


def _write(tmp_path: Path, frames: torch.Tensor) -> Path:
    path = tmp_path / "direct.mp4"
    with VideoWriter(path, 25, preset="ultrafast") as writer:
        writer.write(frames)
    return path


def test_rotated_phone_clip_is_cropped_upright(driver, tmp_path):
    import av

    frames = next(iter(iter_frames(TALKING, 3, dtype=torch.uint8)))
    coded = np.rot90(frames.permute(0, 2, 3, 1).numpy(), 1, axes=(1, 2))  # stored lying on its side
    path = tmp_path / "phone.mp4"
    with av.open(str(path), "w") as out:
        stream = out.add_stream("libx264", rate=25)
        stream.width, stream.height, stream.pix_fmt = 512, 512, "yuv420p"
        stream.options = {"crf": "12", "preset": "ultrafast"}
        stream.set_display_rotation(-90)  # players turn it 90 degrees clockwise
        for i, arr in enumerate(coded):
            frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(arr), format="rgb24")
            frame.pts = i
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)
    assert probe_video(path).rotation == 270
    crops = _all(driver, path, 3)
    direct = _all(driver, _write(tmp_path, frames.float() / 255), 3)
    assert (crops - direct).abs().mean() < 0.05


def test_still_images_as_drivers(driver):
    crop = _all(driver, DATA / "images" / "painting_mona_lisa.jpg", 4)
    assert crop.shape == (1, 3, 512, 512)
    with pytest.raises(InputError, match="no human face found"):
        list(driver.stream(DATA / "images" / "dog_no_human_face.jpg", 1))


def test_frames_without_face_reuse_the_last_box(driver, tmp_path, caplog):
    sources = VideoDriver.conformance_sources(tmp_path)
    assert [p.suffix for p in sources] == [".mp4", ".png"]
    with caplog.at_level(logging.WARNING):
        crops = _all(driver, sources[0], 4)
    assert crops.shape == (6, 3, 512, 512)
    assert driver.frames_without_face == 1
    assert "1 of 6 frames had no face; reused the last box" in caplog.text
    assert _all(driver, sources[1], 1).shape == (1, 3, 512, 512)


def test_a_video_without_any_face_is_an_input_error(driver, tmp_path):
    path = tmp_path / "grey.mp4"
    with VideoWriter(path, 25, preset="ultrafast") as writer:
        writer.write(torch.full((3, 3, 128, 128), 0.5))
    with pytest.raises(InputError, match=r"grey\.mp4.*no human face found"):
        list(driver.stream(path, 2))
    (tmp_path / "text.mp4").write_text("nope")
    with pytest.raises(InputError, match=re.escape("text.mp4")):
        list(driver.stream(tmp_path / "text.mp4", 2))
    with pytest.raises(InputError, match=re.escape("text.mp4")):
        driver.probe(tmp_path / "text.mp4")


def test_no_crop_resizes_whole_frames(clip):
    crops = _all(VideoDriver(VideoDriverConfig(crop=False, size=256)), clip, 5)
    assert crops.shape == (8, 3, 256, 256)


def test_registration_and_config():
    registry = Registry()
    registry.register_kind("driver", Driver)
    register(registry)
    drv = registry.create("driver", "video", preset="no_crop")
    assert isinstance(drv, VideoDriver) and drv.config.crop is False
    assert drv.output_specs()["driver"].shape == ("B", 3, 512, 512)
    with pytest.raises(ConfigError):
        registry.create("driver", "video", smoothing=-1)
