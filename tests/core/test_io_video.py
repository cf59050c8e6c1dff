"""emoportraits_core.io video: streaming decode, probing, H.264 writing with the driver's audio."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest
import torch
from conftest import DATA

from emoportraits_core.errors import InputError
from emoportraits_core.io import VideoWriter, as_rate, iter_frames, probe_video, rotate_array

TALKING = DATA / "videos" / "drive_talking_a.mp4"


def _first(path: Path, n: int, **kw) -> torch.Tensor:
    return next(iter(iter_frames(path, n, **kw)))


def _write_raw(path: Path, frames: np.ndarray, rate=Fraction(25), rotation: int | None = None, pts=None):
    """Encode (N, H, W, 3) uint8 frames with PyAV directly (for inputs our writer does not make)."""
    with av.open(str(path), "w") as out:
        stream = out.add_stream("libx264", rate=rate)
        stream.height, stream.width = frames.shape[1:3]
        stream.pix_fmt = "yuv420p"
        stream.options = {"crf": "10", "preset": "ultrafast"}
        if rotation is not None:
            stream.set_display_rotation(rotation)
        for i, arr in enumerate(frames):
            frame = av.VideoFrame.from_ndarray(arr, format="rgb24")
            frame.pts = i if pts is None else pts[i]
            frame.time_base = 1 / rate
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)


def _stream_durations(path: Path) -> dict[str, float]:
    with av.open(str(path)) as c:
        return {s.type: float(s.duration * s.time_base) for s in c.streams if s.duration}


def test_probe_samples():
    info = probe_video(TALKING)
    assert (info.width, info.height, info.fps, info.num_frames) == (512, 512, 25.0, 225)
    assert info.has_audio and info.audio_codec == "aac" and info.codec == "h264" and info.rotation == 0
    assert info.duration == pytest.approx(9.0, abs=0.05)
    b = probe_video(DATA / "videos" / "drive_talking_b.mp4")
    assert b.rate == 30 and b.num_frames == 354
    assert not probe_video(DATA / "videos" / "drive_expressions_no_audio.mp4").has_audio
    assert "512x512" in info.describe()


def test_iter_frames_batches_and_dtypes():
    it = iter_frames(DATA / "videos" / "drive_480.mp4", 3)
    first, second = next(it), next(it)
    it.close()  # stopping early releases the file
    assert first.shape == second.shape == (3, 3, 480, 480) and first.dtype == torch.float32
    assert float(first.min()) >= 0.0 and float(first.max()) <= 1.0
    u8 = _first(DATA / "videos" / "drive_480.mp4", 3, dtype=torch.uint8)
    assert u8.dtype == torch.uint8 and torch.allclose(u8.float() / 255, first)
    with pytest.raises(ValueError):
        next(iter_frames(TALKING, 0))


def test_all_frames_counted_small_clip(tmp_path):
    frames = np.random.default_rng(0).integers(0, 255, (7, 32, 48, 3), dtype=np.uint8)
    _write_raw(tmp_path / "c.mp4", frames)
    sizes = [b.shape[0] for b in iter_frames(tmp_path / "c.mp4", 3)]
    assert sizes == [3, 3, 1]


def test_round_trip_with_copied_audio(tmp_path):
    frames = _first(TALKING, 10)
    out = tmp_path / "out.mp4"
    with VideoWriter(out, probe_video(TALKING).rate, audio_from=TALKING) as writer:
        writer.write(frames[:4])
        writer.write(frames[4:])
    info = probe_video(out)
    assert (info.num_frames, info.rate, info.width, info.height) == (10, 25, 512, 512)
    assert info.has_audio and info.audio_codec == "aac"
    durations = _stream_durations(out)
    assert durations["video"] == pytest.approx(0.4, abs=1e-3)
    assert durations["audio"] == pytest.approx(0.4, abs=0.05)  # AAC copied: packet granularity
    back = _first(out, 10)
    assert (back - frames).abs().mean() < 0.01  # crf 18


def test_frame_rate_kept_as_fraction_and_transcoded_audio_cut_exactly(tmp_path):
    out = tmp_path / "ntsc.mp4"
    frames = torch.rand(6, 3, 64, 64)
    with VideoWriter(out, 30000 / 1001, audio_from=DATA / "audio" / "speech_en_gb_22k.wav") as writer:
        writer.write(frames)
    info = probe_video(out)
    assert info.rate == Fraction(30000, 1001) and info.num_frames == 6
    assert info.has_audio
    durations = _stream_durations(out)
    assert durations["audio"] == pytest.approx(6 * 1001 / 30000, abs=2e-3)  # WAV -> AAC, cut at a sample
    assert as_rate(25.0) == 25 and as_rate(Fraction(24000, 1001)) == Fraction(24000, 1001)


def test_audio_from_a_silent_video_gives_no_audio(tmp_path):
    out = tmp_path / "silent.mp4"
    with VideoWriter(out, 25, audio_from=DATA / "videos" / "drive_expressions_no_audio.mp4") as writer:
        writer.write(torch.zeros(2, 3, 32, 32, dtype=torch.uint8))
    assert not probe_video(out).has_audio


def test_odd_size_is_padded_by_one_replicated_pixel(tmp_path):
    frames = torch.rand(5, 3, 75, 101)
    frames[:, :, :, -1] = torch.tensor([1.0, 0.0, 0.0])[:, None]  # red last column
    out = tmp_path / "odd.mp4"
    with VideoWriter(out, 25) as writer:
        writer.write(frames)
    info = probe_video(out)
    assert (info.width, info.height, info.num_frames) == (102, 76, 5)
    back = _first(out, 5)
    assert back.shape == (5, 3, 76, 102)
    assert back[:, 0, 8:-8, -1].mean() > 0.8 and back[:, 1, 8:-8, -1].mean() < 0.2  # the copy is red too


def test_reading_odd_sized_input(tmp_path):
    # an odd-sized (yuv444p) H.264 file, as a camera or another tool may write
    path = tmp_path / "odd_in.mp4"
    with av.open(str(path), "w") as out:
        stream = out.add_stream("libx264", rate=25)
        stream.width, stream.height, stream.pix_fmt = 101, 75, "yuv444p"
        for i in range(3):
            frame = av.VideoFrame.from_ndarray(np.full((75, 101, 3), 40 * i, np.uint8), format="rgb24")
            frame.pts = i
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)
    assert (probe_video(path).width, probe_video(path).height) == (101, 75)
    assert _first(path, 3).shape == (3, 3, 75, 101)


def test_rotated_phone_video_is_read_upright(tmp_path):
    upright = np.zeros((4, 64, 48, 3), np.uint8)  # portrait 48x64 as displayed
    upright[:, :8, :8] = 255  # white top-left corner
    coded = np.ascontiguousarray(np.rot90(upright, 1, axes=(1, 2)))  # stored landscape 64x48
    path = tmp_path / "phone.mp4"
    _write_raw(path, coded, rotation=-90)  # display matrix: rotate 90 degrees clockwise
    info = probe_video(path)
    assert info.rotation == 270 and (info.width, info.height) == (48, 64)
    frames = _first(path, 4)
    assert frames.shape == (4, 3, 64, 48)
    assert frames[:, :, :8, :8].mean() > 0.85 and frames[:, :, -8:, -8:].mean() < 0.15


def test_rotate_array_directions():
    a = np.arange(6).reshape(2, 3)
    assert np.array_equal(rotate_array(a, 0), a)
    assert np.array_equal(rotate_array(a, 90), np.rot90(a, 1))  # counter-clockwise
    assert np.array_equal(rotate_array(a, -90), np.rot90(a, -1))
    assert np.array_equal(rotate_array(a, 180), a[::-1, ::-1])


def test_variable_frame_rate_yields_every_frame(tmp_path):
    frames = np.random.default_rng(2).integers(0, 255, (5, 32, 32, 3), dtype=np.uint8)
    path = tmp_path / "vfr.mp4"
    _write_raw(path, frames, rate=Fraction(25), pts=[0, 1, 3, 4, 9])
    assert sum(b.shape[0] for b in iter_frames(path, 2)) == 5
    assert probe_video(path).fps > 0


def test_interrupted_write_leaves_nothing(tmp_path):
    out = tmp_path / "partial.mp4"
    for exc in (RuntimeError("boom"), KeyboardInterrupt()):
        with pytest.raises(type(exc)), VideoWriter(out, 25, audio_from=TALKING) as writer:
            writer.write(torch.rand(3, 3, 32, 32))
            raise exc
    assert list(tmp_path.iterdir()) == []
    with pytest.raises(ValueError, match="no frames"), VideoWriter(out, 25):
        pass
    assert list(tmp_path.iterdir()) == []


def test_bad_inputs_raise_input_error(tmp_path):
    (tmp_path / "text.mp4").write_text("not a video")
    (tmp_path / "empty.mp4").write_bytes(b"")
    (tmp_path / "trunc.mp4").write_bytes(TALKING.read_bytes()[:30_000])
    cases = ["text.mp4", "empty.mp4", "missing.mp4", "trunc.mp4"]
    for name in cases:
        with pytest.raises(InputError) as info:
            probe_video(tmp_path / name)
            for _ in iter_frames(tmp_path / name, 8):
                pass
        assert name in str(info.value)
    with pytest.raises(InputError, match="no video stream"):
        probe_video(DATA / "audio" / "silence_2s_16k.wav")


def _source_with_late_video(path: Path, audio_codec: str) -> None:
    """1 s of audio (0.2 s silence, then a tone) and video frames from t = 0.2 s only."""
    rate = 16000
    t = np.arange(rate) / rate
    tone = np.where(t < 0.2, 0.0, 0.5 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)
    fmt = "fltp" if audio_codec == "aac" else "s16"
    samples = tone if fmt == "fltp" else (tone * 32767).astype(np.int16)
    with av.open(str(path), "w") as out:
        video = out.add_stream("libx264", rate=25)
        video.width = video.height = 64
        video.pix_fmt = "yuv420p"
        audio = out.add_stream(audio_codec, rate=rate)
        audio.layout = "mono"
        for i in range(0, rate, 1024):
            frame = av.AudioFrame.from_ndarray(
                np.ascontiguousarray(samples[None, i : i + 1024]), format=fmt, layout="mono"
            )
            frame.sample_rate, frame.pts, frame.time_base = rate, i, Fraction(1, rate)
            for packet in audio.encode(frame):
                out.mux(packet)
        for packet in audio.encode(None):
            out.mux(packet)
        for i in range(5, 25):
            frame = av.VideoFrame.from_ndarray(np.full((64, 64, 3), 100, np.uint8), format="rgb24")
            frame.pts, frame.time_base = i, Fraction(1, 25)
            for packet in video.encode(frame):
                out.mux(packet)
        for packet in video.encode(None):
            out.mux(packet)


@pytest.mark.parametrize(("name", "codec"), [("late.mp4", "aac"), ("late.mkv", "pcm_s16le")])
def test_audio_stays_in_sync_when_the_source_video_starts_late(tmp_path, name, codec):
    from emoportraits_core.io import load_audio

    source = tmp_path / name
    _source_with_late_video(source, codec)
    out = tmp_path / "synced.mp4"
    with VideoWriter(out, 25, audio_from=source) as writer:  # remux (AAC) or transcode (PCM)
        writer.write(torch.rand(10, 3, 64, 64))
    wave_ = load_audio(out)
    # output t = 0 is the source's first frame (t = 0.2 s), where the tone has already started
    assert float(wave_[320:2400].pow(2).mean().sqrt()) > 0.2
