"""emoportraits_core.io.audio.load_audio: any audio (or a video's track) -> mono float32 at a rate."""

from __future__ import annotations

import wave
from pathlib import Path

import numpy as np
import pytest
import torch
from conftest import DATA

from emoportraits_core.errors import InputError
from emoportraits_core.io import load_audio


def test_resamples_22k_speech_to_16k():
    wave_ = load_audio(DATA / "audio" / "speech_en_gb_22k.wav")
    assert wave_.dtype == torch.float32 and wave_.dim() == 1
    assert abs(wave_.numel() - round(105834 * 16000 / 22050)) <= 2
    assert 0.05 < float(wave_.abs().max()) <= 1.0
    assert abs(load_audio(DATA / "audio" / "speech_en_gb_22k.wav", 8000).numel() - 38398) <= 2


def test_16k_input_is_kept_and_silence_is_zero():
    speech = load_audio(DATA / "audio" / "speech_en_us_16k.wav")
    assert speech.numel() == 128888
    silence = load_audio(DATA / "audio" / "silence_2s_16k.wav")
    assert silence.numel() == 32000 and float(silence.abs().max()) == 0.0


def test_extracts_the_audio_of_a_video():
    track = load_audio(DATA / "videos" / "drive_talking_a.mp4")
    assert track.numel() == pytest.approx(9.0 * 16000, rel=0.01)
    assert float(track.abs().max()) > 0.05


def _stereo_wav(path: Path, left: float, right: float, rate: int = 16000, n: int = 1600) -> None:
    data = np.empty((n, 2), np.int16)
    data[:, 0], data[:, 1] = round(left * 32767), round(right * 32767)
    with wave.open(str(path), "wb") as w:
        w.setnchannels(2)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(data.tobytes())


def test_stereo_is_averaged_without_clipping(tmp_path):
    _stereo_wav(tmp_path / "loud.wav", 0.9, 0.9)
    _stereo_wav(tmp_path / "opposite.wav", 0.5, -0.5)
    assert torch.allclose(load_audio(tmp_path / "loud.wav"), torch.tensor(0.9), atol=1e-3)
    assert float(load_audio(tmp_path / "opposite.wav").abs().max()) < 1e-3


def test_bad_inputs_raise_input_error(tmp_path):
    (tmp_path / "text.wav").write_text("not audio")
    (tmp_path / "empty.wav").write_bytes(b"")
    for path in (tmp_path / "text.wav", tmp_path / "empty.wav", tmp_path / "missing.wav"):
        with pytest.raises(InputError, match=path.name):
            load_audio(path)
    with pytest.raises(InputError, match="no audio stream"):
        load_audio(DATA / "videos" / "drive_expressions_no_audio.mp4")
