"""emoportraits_plugins.audio.read: any media file (path or bytes) -> mono float32 at 16 kHz, whole or chunked."""

from __future__ import annotations

import math
import wave
from pathlib import Path

import av
import numpy as np
import pytest
import torch
from conftest import DATA

from emoportraits_core.errors import InputError
from emoportraits_core.io import load_audio
from emoportraits_plugins.audio import iter_audio, read_audio

SPEECH_22K = DATA / "audio" / "speech_en_gb_22k.wav"
SPEECH_16K = DATA / "audio" / "speech_en_us_16k.wav"
SILENCE = DATA / "audio" / "silence_2s_16k.wav"
TALKING = DATA / "videos" / "drive_talking_a.mp4"
NO_AUDIO = DATA / "videos" / "drive_expressions_no_audio.mp4"


@pytest.mark.parametrize("path", [SPEECH_22K, SPEECH_16K, SILENCE, TALKING], ids=lambda p: p.name)
def test_same_samples_as_the_core_loader(path):
    """The prepare command's loader and this one agree exactly (one convention for audio in the project)."""
    ours = read_audio(path)
    assert ours.dtype == torch.float32 and ours.dim() == 1
    assert torch.equal(ours, load_audio(path))


def test_resampled_lengths_silence_and_video_track():
    assert abs(read_audio(SPEECH_22K).numel() - round(105834 * 16000 / 22050)) <= 2
    assert read_audio(SPEECH_16K).numel() == 128888
    assert abs(read_audio(SPEECH_22K, sample_rate=8000).numel() - 38398) <= 2
    silence = read_audio(SILENCE)
    assert silence.numel() == 32000 and float(silence.abs().max()) == 0.0  # silence is valid
    track = read_audio(TALKING)
    assert track.numel() == pytest.approx(9.0 * 16000, rel=0.01) and 0.05 < float(track.abs().max()) <= 1.0


def test_bytes_give_the_same_samples_as_the_path():
    assert torch.equal(read_audio(TALKING.read_bytes()), read_audio(TALKING))
    assert torch.equal(read_audio(bytearray(SPEECH_22K.read_bytes())), read_audio(SPEECH_22K))


def _encode(path: Path, codec: str, rate: int = 44100, seconds: float = 2.0, freq: float = 440.0) -> None:
    """A stereo sine of amplitude 0.5 (both channels), encoded with PyAV."""
    t = np.arange(int(rate * seconds)) / rate
    tone = (0.5 * np.sin(2 * np.pi * freq * t)).astype(np.float32)
    with av.open(str(path), "w") as out:
        stream = out.add_stream(codec, rate=rate, layout="stereo")
        for start in range(0, len(tone), 1024):  # PyAV converts to the codec's format and frame size
            frame = av.AudioFrame.from_ndarray(
                np.stack([tone[start : start + 1024]] * 2), format="fltp", layout="stereo"
            )
            frame.sample_rate = rate
            frame.pts = start
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)


@pytest.mark.parametrize(
    ("suffix", "codec", "rate"),
    [
        (".flac", "flac", 44100),
        (".mp3", "libmp3lame", 44100),
        (".ogg", "libopus", 48000),
        (".m4a", "aac", 22050),
    ],
)
def test_compressed_formats(tmp_path, suffix, codec, rate):
    try:
        av.codec.Codec(codec, "w")
    except Exception:
        pytest.skip(f"this FFmpeg has no {codec} encoder")
    path = tmp_path / f"tone{suffix}"
    _encode(path, codec, rate)
    audio = read_audio(path)
    assert audio.dtype == torch.float32 and audio.dim() == 1
    assert audio.numel() == pytest.approx(2.0 * 16000, abs=0.08 * 16000)  # codec priming/padding
    body = audio[3200:-3200].double()
    assert float(body.pow(2).mean().sqrt()) == pytest.approx(0.5 / math.sqrt(2), rel=0.05)
    spectrum = torch.fft.rfft(body).abs()
    assert float(spectrum.argmax()) * 16000 / len(body) == pytest.approx(440.0, abs=5.0)


def test_iter_audio_chunks_concatenate_to_the_whole():
    whole = read_audio(TALKING)
    for seconds in (0.2, 1.0, 100.0):
        chunks = list(iter_audio(TALKING, seconds))
        size = round(seconds * 16000)
        assert all(c.numel() == size for c in chunks[:-1]) and 0 < chunks[-1].numel() <= size
        assert torch.equal(torch.cat(chunks), whole)
        # each chunk owns its memory: no view into a buffer of the whole file
        assert all(c.untyped_storage().nbytes() == c.numel() * 4 for c in chunks)


def test_iter_audio_is_lazy_and_checks_at_the_call(tmp_path):
    chunks = iter_audio(SPEECH_16K, 0.5)
    assert next(chunks).numel() == 8000  # the rest is not decoded yet
    with pytest.raises(InputError, match=r"missing\.wav"):
        iter_audio(tmp_path / "missing.wav", 0.5)  # no iteration needed to see the error
    with pytest.raises(ValueError, match="chunk_seconds"):
        iter_audio(SPEECH_16K, 0)


def _empty_wav(path: Path) -> None:
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(16000)


def test_bad_inputs_raise_one_line_input_errors(tmp_path):
    (tmp_path / "text.wav").write_text("not audio at all")
    (tmp_path / "empty.wav").write_bytes(b"")
    _empty_wav(tmp_path / "no_samples.wav")
    cases = [
        (tmp_path / "missing.wav", "missing.wav: no such file"),
        (tmp_path / "empty.wav", "empty.wav: empty file"),
        (tmp_path / "text.wav", "text.wav: not a readable media file"),
        (tmp_path / "no_samples.wav", "no_samples.wav: the audio track has no samples"),
        (NO_AUDIO, "drive_expressions_no_audio.mp4: no audio track"),
        (b"", "0 bytes of audio>: no data"),
        (b"garbage" * 10, "70 bytes of audio>: not a readable media file"),
    ]
    for source, message in cases:
        with pytest.raises(InputError, match=message) as info:
            read_audio(source)
        assert "\n" not in str(info.value) and "expected an audio file" in str(info.value)
