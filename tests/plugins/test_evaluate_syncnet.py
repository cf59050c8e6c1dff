"""SyncNet LSE-D / LSE-C: syncnet_python's layout, the MFCC recipe, offsets, crops, the scores, the command.

No real SyncNet weights exist here: the networks are random, saved in syncnet_python's layout.
"""

from __future__ import annotations

import json
import math
import wave

import numpy as np
import pytest
import torch

from emoportraits_core.cli import main
from emoportraits_core.errors import CheckpointError, InputError
from emoportraits_core.io import VideoWriter
from emoportraits_plugins.evaluate.syncnet import (
    SyncNet,
    _crop,
    _frames_at_25,
    load_syncnet,
    lse,
    mfcc,
    sync_distances,
    sync_scores,
)
from emoportraits_plugins.face.synthetic import draw_face

FRAMES = 12  # 25 fps: 7 SyncNet windows

# Weighted layers of syncnet_python's SyncNetModel.S: (stack, index in its nn.Sequential, weight shape).
_CONVS = {
    "netcnnaud": [
        (0, (64, 1, 3, 3)),
        (4, (192, 64, 3, 3)),
        (8, (384, 192, 3, 3)),
        (11, (256, 384, 3, 3)),
        (14, (256, 256, 3, 3)),
        (18, (512, 256, 5, 4)),
    ],
    "netcnnlip": [
        (0, (96, 3, 5, 7, 7)),
        (4, (256, 96, 1, 5, 5)),
        (8, (256, 256, 1, 3, 3)),
        (11, (256, 256, 1, 3, 3)),
        (14, (256, 256, 1, 3, 3)),
        (18, (512, 256, 1, 6, 6)),
    ],
}
_HEAD = [(0, (512, 512)), (3, (1024, 512))]  # netfcaud / netfclip; BatchNorm1d(512) at index 1


def _expected_keys() -> dict[str, tuple[int, ...]]:
    keys: dict[str, tuple[int, ...]] = {}
    layers = {**_CONVS, "netfcaud": _HEAD, "netfclip": _HEAD}
    for stack, convs in layers.items():
        for index, shape in convs:
            keys[f"{stack}.{index}.weight"] = shape
            keys[f"{stack}.{index}.bias"] = shape[:1]
            if stack.startswith("netcnn") or index == 0:  # BatchNorm after each conv and the first linear
                for p in ("weight", "bias", "running_mean", "running_var"):
                    keys[f"{stack}.{index + 1}.{p}"] = shape[:1]
                keys[f"{stack}.{index + 1}.num_batches_tracked"] = ()
    return keys


def _random_state(seed: int = 0) -> dict[str, torch.Tensor]:
    """A random SyncNet state dict with non-trivial BatchNorm statistics."""
    torch.manual_seed(seed)
    state = SyncNet().state_dict()
    g = torch.Generator().manual_seed(seed)
    for key, value in state.items():
        if key.endswith("running_mean"):
            value.copy_(0.1 * torch.randn(value.shape, generator=g))
        elif key.endswith("running_var"):
            value.uniform_(0.5, 2.0, generator=g)
    return state


@pytest.fixture(scope="module")
def weights(tmp_path_factory):
    """``syncnet_v2.model``'s layout: a state dict in torch's old (non-zip) format, like the release."""
    path = tmp_path_factory.mktemp("syncnet") / "syncnet_v2.model"
    torch.save(_random_state(), path, _use_new_zipfile_serialization=False)
    return path


def test_layout_keys_shapes_and_strict_loading(weights):
    net = SyncNet()
    assert {k: tuple(v.shape) for k, v in net.state_dict().items()} == _expected_keys()
    assert net.embed_audio(torch.randn(2, 1, 13, 20)).shape == (2, 1024)
    assert net.embed_lips(torch.rand(1, 3, 5, 224, 224) * 255).shape == (1, 1024)
    with pytest.raises(ValueError, match=r"\(B, 1, 13, 20\), got shape \(2, 13, 20\)"):
        net.embed_audio(torch.randn(2, 13, 20))
    loaded = load_syncnet(weights)
    state = _random_state()
    assert all(torch.equal(loaded.state_dict()[k], v) for k, v in state.items())
    source = SyncNet()
    source.load_state_dict(state)
    sound = torch.randn(3, 1, 13, 20) * 10
    assert torch.equal(loaded.embed_audio(sound), source.embed_audio(sound))
    assert not loaded.train().training  # BatchNorm stays on its running statistics


def test_wrong_files_give_one_line_errors_naming_them(weights, tmp_path):
    state = _random_state()
    renamed = {("netcnnlip.0.w" if k == "netcnnlip.0.weight" else k): v for k, v in state.items()}
    torch.save(renamed, tmp_path / "renamed.pth")
    misshaped = {**state, "netfclip.3.weight": torch.zeros(512, 512)}
    torch.save(misshaped, tmp_path / "misshaped.pth")
    torch.save(SyncNet(), tmp_path / "module.model")  # a whole pickled module
    (tmp_path / "text.model").write_text("not weights")
    cases = {
        tmp_path / "missing.model": "no such SyncNet weights file",
        tmp_path / "renamed.pth": r"missing key 'netcnnlip\.0\.weight'.*unexpected key 'netcnnlip\.0\.w'",
        tmp_path / "misshaped.pth": r"'netfclip\.3\.weight' has shape \(512, 512\), expected \(1024, 512\)",
        tmp_path / "module.model": r"not a readable SyncNet weights file.*convert it once",
        tmp_path / "text.model": "not a readable SyncNet weights file",
    }
    for path, message in cases.items():
        with pytest.raises(CheckpointError, match=message) as info:
            load_syncnet(path)
        assert str(path) in str(info.value) and "\n" not in str(info.value) and "\x1b" not in str(info.value)


# python_speech_features 0.6 (the version syncnet_python installs): mfcc(_two_tones(), 16000)[[0, -1]].
_PSF_FIRST = [20.6870182837, 4.4903663749, -20.1475929131, 17.1812490224, -27.1780630397, -68.0273284921,
              -15.514574494, 0.9748551079, -34.0042611546, 8.9883167566, 41.9250680771, 1.2810172487,
              0.4145165072]  # fmt: skip
_PSF_LAST = [20.3084155527, 12.7769884095, -20.6744537106, 25.923393894, -13.985637681, -56.950508436,
             -8.7112927372, 5.6617598487, -26.9190442944, 11.9781329546, 39.9905287413, 0.3072093211,
             -0.9975702351]  # fmt: skip


def _two_tones() -> np.ndarray:
    n = np.arange(1234)
    tones = 8000 * np.sin(2 * np.pi * 440 * n / 16000) + 3000 * np.sin(2 * np.pi * 2500 * n / 16000 + 0.3)
    return np.round(tones).astype(np.int16)


def _reference_mfcc(x: np.ndarray) -> np.ndarray:
    """The python_speech_features recipe written out frame by frame: (M, 13)."""
    x = x.astype(np.float64)
    y = np.concatenate([x[:1], x[1:] - 0.97 * x[:-1]])
    count = 1 if len(y) <= 400 else 1 + math.ceil((len(y) - 400) / 160)
    y = np.concatenate([y, np.zeros((count - 1) * 160 + 400 - len(y))])
    mel = np.linspace(0, 2595 * math.log10(1 + 8000 / 700), 28)
    edges = np.floor(513 * 700 * (10 ** (mel / 2595) - 1) / 16000)
    bank = np.zeros((26, 257))
    for j in range(26):
        for i in range(257):
            if edges[j] <= i < edges[j + 1]:
                bank[j, i] = (i - edges[j]) / (edges[j + 1] - edges[j])
            elif edges[j + 1] <= i < edges[j + 2]:
                bank[j, i] = (edges[j + 2] - i) / (edges[j + 2] - edges[j + 1])
    eps = np.finfo(np.float64).eps
    rows = []
    for f in range(count):
        power = np.abs(np.fft.rfft(y[f * 160 : f * 160 + 400], 512)) ** 2 / 512
        logs = np.log(np.maximum(bank @ power, eps))
        row = np.array(
            [
                sum(logs[i] * math.cos(math.pi * k * (2 * i + 1) / 52) for i in range(26))
                * math.sqrt((1 if k == 0 else 2) / 26)
                for k in range(13)
            ]
        )
        row *= 1 + 11 * np.sin(np.pi * np.arange(13) / 22)
        row[0] = math.log(max(power.sum(), eps))
        rows.append(row)
    return np.stack(rows)


def test_mfcc_is_python_speech_features():
    tones = mfcc(torch.from_numpy(_two_tones().astype(np.float32)))
    assert tones.shape == (13, 1 + math.ceil((1234 - 400) / 160)) and tones.dtype == torch.float64
    np.testing.assert_allclose(tones[:, 0].numpy(), _PSF_FIRST, atol=1e-6)
    np.testing.assert_allclose(tones[:, -1].numpy(), _PSF_LAST, atol=1e-6)
    noise = np.random.default_rng(0).integers(-20000, 20000, 2345).astype(np.int16)
    got = mfcc(torch.from_numpy(noise).double()).T.numpy()
    np.testing.assert_allclose(got, _reference_mfcc(noise), rtol=1e-9, atol=1e-7)
    silence = mfcc(torch.zeros(300))  # one frame; zero power -> eps, so finite
    assert silence.shape == (13, 1) and math.isclose(float(silence[0, 0]), math.log(np.finfo(float).eps))


def test_offsets_distances_and_scores():
    g = torch.Generator().manual_seed(0)
    lips = torch.randn(20, 8, generator=g, dtype=torch.float64)
    audio = torch.randn(20, 8, generator=g, dtype=torch.float64)
    audio[:-2] = lips[2:]  # video window i shows audio window i - 2: the mouth 2 frames after the sound
    d = sync_distances(lips, audio, vshift=3)
    assert d.shape == (20, 7)
    assert math.isclose(float(d[0, 3]), float((lips[0] - audio[0] + 1e-6).norm()), rel_tol=1e-12)
    assert math.isclose(float(d[0, 0]), float((lips[0] + 1e-6).norm()), rel_tol=1e-12)  # past the start: 0
    assert float(d[5, 1]) < 1e-4  # offset -2: audio window 3 = video window 5
    scores = sync_scores(d)
    curve = d.mean(0)
    assert scores["offset_frames"] == 2
    assert math.isclose(scores["lse_d"], float(curve.min()), rel_tol=1e-12)
    assert math.isclose(scores["lse_c"], float(curve.sort().values[3] - curve.min()), rel_tol=1e-12)


def test_the_crop_is_syncnet_pythons():
    import cv2

    image = np.random.default_rng(0).integers(0, 256, (100, 120, 3)).astype(np.uint8)
    # centre (50.5, 40.2), half-size 10, crop_scale 0.4: y in [30, 58), x in [36, 64)
    expected = cv2.resize(np.ascontiguousarray(image[30:58, 36:64]), (224, 224))
    np.testing.assert_array_equal(_crop(image, 50.5, 40.2, 10.0, 0.4), expected)
    edge = _crop(image, 2.0, 40.0, 10.0, 0.4)  # x in [-12, 16): the left 12 columns are grey 110
    padded = np.full((28, 28, 3), 110, np.uint8)
    padded[:, 12:] = image[30:58, 0:16]
    np.testing.assert_array_equal(edge, cv2.resize(padded, (224, 224)))


def _video(path, frames: np.ndarray, fps: float) -> None:
    with VideoWriter(path, fps, crf=12, preset="ultrafast") as writer:
        writer.write(torch.from_numpy(frames).permute(0, 3, 1, 2))


def test_videos_are_resampled_to_25_fps(tmp_path):
    levels = np.arange(10) * 25  # frame i is uniformly grey 25 i
    frames = np.repeat(levels.astype(np.uint8)[:, None, None, None], 64, 1).repeat(64, 2).repeat(3, 3)
    for fps, expected in ((50, [0, 2, 4, 6, 8]), (20, [0, 1, 2, 2, 3, 4, 5, 6, 6, 7, 8, 9])):
        _video(tmp_path / f"v{fps}.mp4", frames, fps)
        got = [round(float(a.mean()) / 25) for a in _frames_at_25(tmp_path / f"v{fps}.mp4", None)]
        assert got == expected, fps
    assert len(list(_frames_at_25(tmp_path / "v20.mp4", 4))) == 4


@pytest.fixture(scope="module")
def talking(tmp_path_factory):
    """A drawn face, 12 frames at 25 fps, and 12 frames' worth of noise at 16 kHz."""
    root = tmp_path_factory.mktemp("syncnet_video")
    mouth = (np.sin(np.arange(FRAMES) * 0.8) + 1) / 2
    _video(root / "face.mp4", np.stack([draw_face(256, mouth=float(m)) for m in mouth]), 25)
    noise = torch.randn(FRAMES * 640, generator=torch.Generator().manual_seed(1)) * 0.2
    noise *= torch.from_numpy(mouth).float().repeat_interleave(640)
    with wave.open(str(root / "speech.wav"), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(16000)
        w.writeframes((noise.clamp(-1, 1) * 32767).to(torch.int16).numpy().tobytes())
    return root


def test_lse_on_a_short_video_is_finite(talking, weights):
    net = load_syncnet(weights)
    scores = lse(talking / "face.mp4", talking / "speech.wav", weights=net, device="cpu")
    assert scores["windows"] == FRAMES - 5 and scores["frames_with_face"] == scores["frames"] == FRAMES
    assert math.isfinite(scores["lse_d"]) and scores["lse_d"] > 0
    assert math.isfinite(scores["lse_c"]) and scores["lse_c"] >= 0
    assert -15 <= scores["offset_frames"] <= 15
    with pytest.raises(InputError, match="overlap for 5 frames at 25 fps; SyncNet scores need at least 6"):
        lse(talking / "face.mp4", talking / "speech.wav", weights=net, max_frames=5, device="cpu")


def test_the_command_adds_lse_with_syncnet(talking, weights, tmp_path, capsys):
    args = ["lipsync", str(talking / "face.mp4"), "--audio", str(talking / "speech.wav")]
    assert main(args) == 0
    assert "LSE" not in capsys.readouterr().out
    out = tmp_path / "sync.json"
    assert main([*args, "--syncnet", str(weights), "--json", str(out)]) == 0
    printed = capsys.readouterr().out
    lse_d = float(printed.split("SyncNet LSE-D: ")[1].split()[0])
    lse_c = float(printed.split("SyncNet LSE-C: ")[1].split()[0])
    saved = json.loads(out.read_text())
    assert math.isclose(saved["lse_d"], lse_d, abs_tol=5e-4) and math.isclose(
        saved["lse_c"], lse_c, abs_tol=5e-4
    )
    assert saved["syncnet_windows"] == FRAMES - 5 and "correlation" in saved
    (tmp_path / "bad.model").write_text("x")
    assert main([*args, "--syncnet", str(tmp_path / "bad.model")]) != 0
    captured = capsys.readouterr()
    assert "bad.model: not a readable SyncNet weights file" in captured.err
    assert "lip sync of" not in captured.out  # the weights are checked before any video work
