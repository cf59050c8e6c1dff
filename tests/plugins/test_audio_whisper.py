"""emoportraits_plugins.audio: the Whisper encoder wrapper, long-audio windows, frame alignment, streaming.

A tiny random Whisper (d_model 64, Whisper's real 30 s / 50 Hz geometry) is saved to a temporary
directory and loaded through the same path as a real one.
"""

from __future__ import annotations

import json
import math
from fractions import Fraction

import pytest
import torch
from conftest import DATA
from safetensors.torch import load_file, save_file

from emoportraits_core.errors import ConfigError, InputError
from emoportraits_plugins.audio import (
    WhisperAudioEncoder,
    WhisperStream,
    WhisperWindows,
    align_to_fps,
    frames_for,
    read_audio,
    save_random_whisper,
    tiny_whisper_config,
)

SR = 16000


@pytest.fixture(scope="module")
def whisper_dir(tmp_path_factory):
    return save_random_whisper(tmp_path_factory.mktemp("whisper") / "tiny", seed=3)


@pytest.fixture(scope="module")
def encoder(whisper_dir):
    return WhisperAudioEncoder.from_directory(whisper_dir)


@pytest.fixture(scope="module")
def speech():
    """75 s of speech: the two sample recordings, alternating, at three loudness levels."""
    clips = [read_audio(DATA / "audio" / name) for name in ("speech_en_us_16k.wav", "speech_en_gb_22k.wav")]
    parts = [clips[i % 2] * (0.4 + 0.3 * (i % 3)) for i in range(12)]
    return torch.cat(parts)[: 75 * SR]


@pytest.fixture(scope="module")
def encoded(encoder, speech):
    return encoder.encode(speech)


def test_loads_from_a_directory_with_the_seeded_random_weights(encoder, whisper_dir):
    assert (encoder.sample_rate, encoder.states_per_second, encoder.hidden_size) == (16000, 50.0, 64)
    assert not encoder.whisper.training and not any(p.requires_grad for p in encoder.parameters())
    state = torch.get_rng_state()
    same = WhisperAudioEncoder.from_config(tiny_whisper_config(), seed=3)
    other = WhisperAudioEncoder.from_config(seed=4)
    assert torch.equal(torch.get_rng_state(), state)  # the global RNG is untouched
    ours = encoder.whisper.state_dict()
    assert all(torch.equal(v, same.whisper.state_dict()[k]) for k, v in ours.items())
    assert not torch.equal(ours["conv1.weight"], other.whisper.state_dict()["conv1.weight"])
    assert encoder.train().whisper.training is False  # Whisper stays frozen in eval mode


def test_bad_directories_raise_one_line_input_errors(tmp_path, whisper_dir):
    def check(path, message):
        with pytest.raises(InputError, match=message) as info:
            WhisperAudioEncoder.from_directory(path)
        assert "\n" not in str(info.value) and str(path) in str(info.value)

    check(tmp_path / "nowhere", "no such directory")
    (tmp_path / "empty").mkdir()
    check(tmp_path / "empty", "no config.json")
    files = {p.name: p.read_bytes() for p in whisper_dir.iterdir()}

    def variant(name, **replace):
        root = tmp_path / name
        root.mkdir()
        for file, data in {**files, **replace}.items():
            if data is not None:
                (root / file).write_bytes(data)
        return root

    check(variant("no_fe", **{"preprocessor_config.json": None}), "no preprocessor_config.json")
    check(variant("no_weights", **{"model.safetensors": None}), "unreadable Whisper weights")
    bert = json.dumps({**json.loads(files["config.json"]), "model_type": "bert"}).encode()
    check(variant("bert", **{"config.json": bert}), "model_type 'bert', not 'whisper'")
    check(variant("broken", **{"config.json": b"{not json"}), "unreadable Whisper config")
    decoder_only = {
        k: v for k, v in load_file(whisper_dir / "model.safetensors").items() if "encoder" not in k
    }
    save_file(decoder_only, tmp_path / "decoder.safetensors", metadata={"format": "pt"})
    weights = (tmp_path / "decoder.safetensors").read_bytes()
    check(variant("decoder_only", **{"model.safetensors": weights}), "lack .* encoder tensors")


def test_one_window_is_one_whisper_pass_with_the_padded_tail_cut(encoder, speech):
    audio = speech[: 7 * SR + 100]
    states = encoder.encode(audio)
    assert states.shape == (math.ceil(len(audio) / 320), 64) == (351, 64)
    assert torch.equal(states, encoder.encode_window(audio))
    features = encoder.feature_extractor(audio.numpy(), sampling_rate=SR, return_tensors="pt").input_features
    with torch.no_grad():
        full = encoder.whisper(features).last_hidden_state[0]  # 1500 states: 30 s, mostly padding
    assert full.shape[0] == 1500 and torch.allclose(states, full[:351], atol=1e-6)
    assert encoder.encode(speech[:0]).shape == (0, 64)
    assert encoder.encode_window(speech[:1]).shape == (1, 64)
    with pytest.raises(InputError, match="mono waveform"):
        encoder.encode(torch.stack([audio, audio]))
    with pytest.raises(InputError, match="more than one Whisper window"):
        encoder.encode_window(speech[: 31 * SR])


def test_window_counts():
    enc = WhisperAudioEncoder.from_config(seed=0)  # default windows 30 s, overlap 6 s: hop 24 s
    assert (enc.window_states, enc.overlap_states, enc.hop_states) == (1500, 300, 1200)
    counts = {0: 0, 1: 1, 30 * SR: 1, 30 * SR + 1: 2, 54 * SR: 2, 54 * SR + 1: 3, 75 * SR: 3}
    assert {n: enc.num_windows(n) for n in counts} == counts
    assert enc.states_for(320) == 1 and enc.states_for(321) == 2


def test_long_audio_equals_each_window_away_from_the_joins(encoder, speech, encoded):
    assert encoded.shape == (3750, 64)
    hop, overlap, length = encoder.hop_states, encoder.overlap_states, encoder.window_states
    for k in range(3):
        start = k * hop
        alone = encoder.encode_window(speech[start * 320 : (start + length) * 320])
        lo = start + (overlap if k else 0)  # past the cross-fade with the previous window
        hi = min(start + hop, len(encoded))  # before the cross-fade with the next one
        assert torch.allclose(encoded[lo:hi], alone[lo - start : hi - start], atol=1e-5), k
        if k:  # in the overlap the result lies between the two windows' (a convex mix)
            previous = encoder.encode_window(speech[(start - hop) * 320 : (start - hop + length) * 320])
            mixed, a, b = encoded[start : start + overlap], previous[hop:], alone[:overlap]
            assert (torch.minimum(a, b) - 1e-5 <= mixed).all() and (mixed <= torch.maximum(a, b) + 1e-5).all()


def _seam_ratio(states: torch.Tensor, joins: list[int]) -> float:
    """Largest step between neighbouring states at the joins / largest step elsewhere."""
    steps = (states[1:] - states[:-1]).norm(dim=1)
    elsewhere = torch.ones(len(steps), dtype=torch.bool)
    for j in joins:
        elsewhere[j - 3 : j + 3] = False
    return float(max(steps[j - 1] for j in joins) / steps[elsewhere].max())


def test_no_seam_at_the_joins(encoder, speech, encoded):
    hop, overlap = encoder.hop_states, encoder.overlap_states
    joins = [hop, hop + overlap, 2 * hop, 2 * hop + overlap]  # where each cross-fade starts and ends
    assert _seam_ratio(encoded, joins) < 1.0
    # the check can fail: windows cut end to end (no overlap) jump at the join
    cut = encoder.with_windows(WhisperWindows(30, 0)).encode(speech)
    assert _seam_ratio(cut, [1500, 3000]) > 2.0


def test_frames_for_rounds_to_the_nearest_frame_halves_up():
    assert frames_for(16000, 25) == 25 and frames_for(144126, 25) == 225  # 225.2
    assert frames_for(320, 25) == 1 and frames_for(319, 25) == 0  # exactly half a frame rounds up
    assert frames_for(16000 * 1001, 29.97) == frames_for(16000 * 1001, Fraction(30000, 1001)) == 30000
    assert frames_for(0, 30) == 0


def test_align_interpolates_linearly_at_frame_centres():
    ramp = torch.arange(100, dtype=torch.float32)[:, None].repeat(1, 3)  # state j = j: time * 50
    rows = align_to_fps(ramp, 25, 60)
    centres = (torch.arange(60) + 0.5) * 2  # frame i's centre, in states
    assert torch.allclose(rows[:, 0], centres.clamp(max=99))
    assert rows[49, 0] == 99 and rows[59, 0] == 99  # past the last state: clamped
    thirty = align_to_fps(ramp, 30, 10)[:, 1]
    assert torch.allclose(thirty, (torch.arange(10) + 0.5) * 5 / 3)
    with pytest.raises(InputError, match="states"):
        align_to_fps(ramp[0], 25, 3)


@pytest.mark.parametrize(("chunk_seconds", "fps"), [(0.2, 25), (1.0, None), (0.2, 29.97)])
def test_stream_equals_the_whole_clip(encoder, speech, encoded, chunk_seconds, fps):
    stream = WhisperStream(encoder, fps=fps)
    size = round(chunk_seconds * SR)
    rows = [stream.push(speech[i : i + size]) for i in range(0, len(speech), size)] + [stream.flush()]
    expected = encoded if fps is None else align_to_fps(encoded, fps, frames_for(len(speech), fps))
    assert torch.allclose(torch.cat(rows), expected, atol=1e-6, rtol=0)
    assert sum(len(r) > 0 for r in rows) == 3  # at 30 s and 54 s (full windows), at the flush
    with pytest.raises(RuntimeError, match="push after flush"):
        stream.push(speech[:10])


def test_short_windows_stream_with_the_documented_lookahead(encoder, speech):
    short = encoder.with_windows(WhisperWindows(window_seconds=3, overlap_seconds=1))
    audio = speech[: 9 * SR + 1234]
    fps = 30
    whole = align_to_fps(short.encode(audio), fps, frames_for(len(audio), fps))
    stream = WhisperStream(short, fps=fps)
    assert stream.lookahead_seconds == pytest.approx(3.02)
    rows, size = [], 4000  # 250 ms chunks
    for i in range(0, len(audio), size):
        rows.append(stream.push(audio[i : i + size]))
        done = sum(map(len, rows))
        heard = stream.received_samples / SR
        promised = sum((j + 0.5) / fps + stream.lookahead_seconds <= heard for j in range(len(whole)))
        assert done >= promised  # every row is out once its look-ahead has been heard
        assert done <= max(0.0, (heard - 1.0) * fps + 0.5)  # and not before its `overlap` of look-ahead
    rows.append(stream.flush())
    assert torch.allclose(torch.cat(rows), whole, atol=1e-6, rtol=0)
    stream.reset()
    assert len(stream.push(audio[: 2 * SR])) == 0  # less than a window: nothing final yet


def test_window_settings_are_validated(encoder):
    with pytest.raises(ConfigError, match="overlap_seconds"):
        WhisperWindows(window_seconds=10, overlap_seconds=6)
    with pytest.raises(ConfigError, match="window_seconds"):
        WhisperWindows(window_seconds=0)
    with pytest.raises(ConfigError, match="not within this model's window"):
        encoder.with_windows(WhisperWindows(window_seconds=40))


def test_a_video_track_to_frame_rows(encoder):
    audio = read_audio(DATA / "videos" / "drive_talking_a.mp4", sample_rate=encoder.sample_rate)
    rows = align_to_fps(encoder.encode(audio), 25, frames_for(len(audio), 25))
    assert rows.shape == (225, 64) and torch.isfinite(rows).all()


def test_the_device_side_log_mel_is_the_feature_extractors():
    from emoportraits_plugins.audio import WhisperAudioEncoder

    encoder = WhisperAudioEncoder.from_config()
    for n in (16000, 3 * 16000 + 17, 480000):
        wave = 0.3 * torch.randn(n, generator=torch.Generator().manual_seed(n))
        ours = encoder.log_mel(wave)
        theirs = encoder.feature_extractor(
            wave.numpy(), sampling_rate=16000, return_tensors="pt"
        ).input_features[0]
        assert ours.shape == theirs.shape
        assert torch.allclose(ours, theirs, atol=1e-4), (ours - theirs).abs().max()
