"""The weight-free lip-sync measure: a drawn face whose mouth follows a known loudness, delayed."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import torch

from emoportraits_core.cli import main
from emoportraits_core.io import VideoWriter
from emoportraits_plugins.evaluate.lipsync import audio_envelope, lag_correlations, lip_sync
from emoportraits_plugins.face.synthetic import draw_face

FRAMES, FPS = 50, 25


def _envelope(seed: int) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return (torch.sin(torch.arange(FRAMES + 4) * 0.5) * 0.5 + 0.5) * (
        0.5 + 0.5 * torch.rand(FRAMES + 4, generator=g)
    )


def _wav(path, envelope: torch.Tensor) -> None:
    """Noise whose RMS per frame (640 samples at 25 fps) follows ``envelope``."""
    import wave

    noise = torch.randn(len(envelope) * 640, generator=torch.Generator().manual_seed(7))
    samples = (0.3 * envelope.repeat_interleave(640) * noise).clamp(-1, 1)
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(16000)
        w.writeframes((samples * 32767).to(torch.int16).numpy().tobytes())


@pytest.fixture(scope="module")
def talking(tmp_path_factory):
    """A drawn face whose mouth opens as ``_envelope(0)`` two frames later (the mouth lags the sound)."""
    root = tmp_path_factory.mktemp("lipsync")
    sound = _envelope(0)
    mouth = sound[:FRAMES]  # frame t shows the loudness of audio frame t - 2 (audio below is shifted)
    frames = np.stack([draw_face(256, mouth=float(v)) for v in mouth])
    video = root / "face.mp4"
    with VideoWriter(video, FPS, crf=12, preset="ultrafast") as writer:
        writer.write(torch.from_numpy(frames).permute(0, 3, 1, 2))
    _wav(root / "in_sync_lag2.wav", torch.cat([sound[2:], torch.zeros(2)]))  # audio 2 frames ahead
    _wav(
        root / "other.wav",
        _envelope(1)[torch.randperm(FRAMES + 4, generator=torch.Generator().manual_seed(3))],
    )
    return root


def test_the_measure_finds_the_delay_and_tells_unrelated_audio_apart(talking):
    synced = lip_sync(talking / "face.mp4", audio=talking / "in_sync_lag2.wav")
    assert synced["frames_with_face"] == FRAMES
    assert synced["best_lag_frames"] == 2 and synced["best_lag_ms"] == 80.0
    assert synced["best_correlation"] > 0.8 > synced["correlation"]
    other = lip_sync(talking / "face.mp4", audio=talking / "other.wav")
    assert abs(other["best_correlation"]) < 0.5


def test_envelope_and_lags():
    audio = torch.cat([torch.zeros(640), torch.ones(640), torch.full((640,), 0.5)])
    assert torch.allclose(
        audio_envelope(audio, 25, 4), torch.tensor([0.0, 1.0, 0.5, 0.0], dtype=torch.float64)
    )
    a = torch.tensor([0.0, 1, 0, 2, 0, 3, 1, 0], dtype=torch.float64)
    b = torch.roll(a, -1)  # b leads a by one frame
    corr = lag_correlations(a, b, 2)
    assert int(corr.argmax()) - 2 == 1 and math.isclose(float(corr.max()), 1.0, rel_tol=1e-9)
    assert math.isnan(float(lag_correlations(a, torch.zeros(8, dtype=torch.float64), 0)[0]))  # silence


def test_the_command(talking, tmp_path, capsys):
    out = tmp_path / "sync.json"
    args = ["lipsync", str(talking / "face.mp4"), "--audio", str(talking / "in_sync_lag2.wav")]
    assert main([*args, "--json", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "at +80 ms (+2 frames" in printed
    assert json.loads(out.read_text())["best_lag_frames"] == 2
    assert main(["lipsync", str(talking / "missing.mp4")]) != 0
    assert "missing.mp4: no such file" in capsys.readouterr().err
