"""The parts of E_aud's training (plugins/speech: clips dataset, clip ops, speech losses) and its two
pipelines, on synthetic shards whose frames and audio say where they come from."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from emoportraits_conformance import conformance_tests
from emoportraits_core import InputError, Motion
from emoportraits_core.pipeline import load_pipeline, resolve_pipeline
from emoportraits_plugins.data.format import VIDEOS, write_index
from emoportraits_plugins.data.shard import ShardWriter, encode_image
from emoportraits_plugins.speech.clips_dataset import SpeechClipsConfig, SpeechClipsDataset, clip_samples

pytestmark = pytest.mark.filterwarnings("ignore:.*no weights file configured")  # the face parser's

test_clip_frame = conformance_tests("op", "clip_frame", preset="tiny", registry="registry")
test_clip_targets = conformance_tests("op", "clip_targets", preset="tiny", registry="registry")
test_clip_latents = conformance_tests("op", "clip_latents", preset="tiny", registry="registry")
test_clip_repeat = conformance_tests("op", "clip_repeat", preset="tiny", registry="registry")
test_with_expression = conformance_tests("op", "with_expression", preset="tiny", registry="registry")
test_image_l1 = conformance_tests("loss", "image_l1", preset="tiny", registry="registry")
test_latent_l1 = conformance_tests("loss", "latent_l1", preset="tiny", registry="registry")
test_mouth_parsing_bce = conformance_tests("loss", "mouth_parsing_bce", preset="tiny", registry="registry")

AUDIO_SCALE = 2**20  # sample i holds i / 2**20: exact in float32, so a waveform says where it starts


def _write_video(root: Path, vid: str, fps: float, n: int, *, audio: bool = True, invalid=()) -> None:
    """A shard of ``n`` 8x8 frames, frame j's pixels = j (PNG, exact), landmarks except ``invalid``,
    audio ``i / 2**20`` cut at the end of the last frame (as ``prepare``)."""
    with ShardWriter(root / VIDEOS, vid) as writer:
        for j in range(n):
            frame = encode_image(np.full((8, 8, 3), j, np.uint8), "png")
            matte = encode_image(np.full((8, 8), 255, np.uint8), "png")
            marks = None if j in invalid else np.zeros((68, 3), np.float32)
            writer.add(frame, matte, frame_index=j, crop_box=(0, 0, 8), landmarks=marks)
        samples = round(n / fps * 16000)
        wave = torch.arange(samples, dtype=torch.float32) / AUDIO_SCALE if audio else None
        meta = {
            "id": vid,
            "dir": f"{VIDEOS}/{vid}",
            "frames": n,
            "valid_frames": n - len(invalid),
            "fps": fps,
            "has_audio": audio,
            "audio_samples": samples if audio else 0,
            "options": {"stride": 1},
        }
        writer.commit(meta, wave)


def _shards(root: Path, *videos: tuple) -> Path:
    for vid, fps, n, kw in videos:
        _write_video(root, vid, fps, n, **kw)
    write_index(root, {"size": 8}, val_fraction=0.0, seed=0, skipped=[], complete=True)
    return root


def _stored(frames: torch.Tensor) -> list[int]:
    """The stored frame number of each frame of a clip (its pixel value)."""
    return [round(float(f[0, 0, 0]) * 255) for f in frames]


def test_clips_are_consecutive_frames_with_their_audio(tmp_path):
    root = _shards(tmp_path, ("a", 25.0, 30, {}))
    data = SpeechClipsDataset(SpeechClipsConfig(root=str(root), frames=8))
    assert len(data) == 1 and data.samples == clip_samples(8, 25) == 5120
    seen = set()
    for seed in range(12):
        item = data.item(0, torch.Generator().manual_seed(seed))
        assert item["frames"].shape == (8, 3, 8, 8) and item["masks"].shape == (8, 1, 8, 8)
        first = _stored(item["frames"])[0]
        assert _stored(item["frames"]) == list(range(first, first + 8))
        wave = item["waveform"]
        assert wave.shape == (5120,)  # 8 frames at 25 fps, sample 0 at the first frame's time
        assert torch.equal(wave * AUDIO_SCALE, torch.arange(640 * first, 640 * first + 5120).float())
        seen.add(first)
    assert len(seen) > 3 and max(seen) <= 22  # starts drawn, every clip inside the video


def test_items_are_reproducible_from_their_generator(tmp_path):
    root = _shards(tmp_path, ("a", 25.0, 30, {}))
    data = SpeechClipsDataset(SpeechClipsConfig(root=str(root), frames=4))
    one, two = (data.item(0, torch.Generator().manual_seed(7)) for _ in range(2))
    assert all(torch.equal(one[k], two[k]) for k in one)


def test_clips_avoid_frames_without_landmarks_and_keep_to_the_window(tmp_path):
    root = _shards(tmp_path, ("a", 25.0, 30, {"invalid": (10,)}))
    data = SpeechClipsDataset(SpeechClipsConfig(root=str(root), frames=5))
    starts = set(data.video(0).starts.tolist())
    assert starts == set(range(0, 6)) | set(range(11, 26))  # no clip holds frame 10
    window = SpeechClipsDataset(SpeechClipsConfig(root=str(root), frames=5, frames_window=(0.0, 0.25)))
    assert window.video(0).starts.tolist() == [0, 1, 2, 3]  # in frames 0..7 (j / 30 < 0.25)
    with pytest.raises(InputError, match="no 5 consecutive frames with landmarks"):
        SpeechClipsDataset(SpeechClipsConfig(root=str(root), frames=5, frames_window=(0.3, 0.45))).video(0)


def test_other_frame_rates_take_the_nearest_frames(tmp_path):
    root = _shards(tmp_path, ("b", 30.0, 30, {}))
    data = SpeechClipsDataset(SpeechClipsConfig(root=str(root), frames=5, fps=25))
    item = data.item(0, torch.Generator().manual_seed(3))
    first = _stored(item["frames"])[0]
    assert _stored(item["frames"]) == [first + d for d in (0, 1, 2, 4, 5)]  # k * 30/25 rounded
    start = round(first / 30 * 16000)
    assert torch.equal(item["waveform"] * AUDIO_SCALE, torch.arange(start, start + 3200).float())


def test_videos_without_audio_are_skipped_and_none_is_an_error(tmp_path):
    root = _shards(
        tmp_path, ("a", 25.0, 30, {}), ("silent", 25.0, 30, {"audio": False}), ("short", 25.0, 3, {})
    )
    data = SpeechClipsDataset(SpeechClipsConfig(root=str(root), frames=8))
    assert [v["id"] for v in data.videos] == ["a"]
    assert {s["id"]: s["reason"] for s in data.skipped} == {
        "silent": "no audio",
        "short": "3 stored frames, fewer than a clip of 8",
    }
    only_silent = _shards(tmp_path / "silent", ("silent", 25.0, 30, {"audio": False}))
    with pytest.raises(
        InputError, match=r"no 'train' video gives a clip of 8 frames with audio.*silent: no audio"
    ):
        SpeechClipsDataset(SpeechClipsConfig(root=str(only_silent), frames=8))
    index = json.loads((only_silent / "index.json").read_text())
    assert index["videos"][0]["has_audio"] is False


def test_audio_a_little_short_at_the_end_is_padded(tmp_path):
    """``prepare`` cuts the audio at the last frame, rounded: a clip ending there may miss a sample."""
    root = _shards(tmp_path, ("a", 25.0, 10, {}))
    data = SpeechClipsDataset(SpeechClipsConfig(root=str(root), frames=10))
    video = data.video(0)
    assert video.starts.tolist() == [0]
    assert torch.equal(data._audio(video, 5), F.pad(torch.arange(5, 6400).float() / AUDIO_SCALE, (0, 5)))


# ---- the ops ------------------------------------------------------------------------------------------


def test_clip_ops_agree_on_the_order_of_the_frames(registry):
    b, t, s = 2, 4, 8
    frames = torch.arange(b * t, dtype=torch.float32).view(b, t, 1, 1, 1).expand(b, t, 3, s, s) / 100
    masks = frames[:, :, :1]
    first = registry.create("op", "clip_frame", image_size=s).run(frames=frames, masks=masks)
    assert torch.equal(first["image"], frames[:, 0]) and torch.equal(first["mask"], masks[:, 0])
    targets = registry.create("op", "clip_targets", image_size=s).run(frames=frames, masks=masks)
    order = (targets["images"][:, 0, 0, 0] * 100).round().tolist()
    assert order == [1, 2, 3, 5, 6, 7]  # clip 0's frames 1..3, then clip 1's
    latents = torch.arange(b * t, dtype=torch.float32).view(b, t, 1).expand(b, t, 3).contiguous()
    flat = registry.create("op", "clip_latents", dim=3).run(latents=latents)["latent"]
    assert flat[:, 0].tolist() == order
    volume, descriptor = torch.tensor([10.0, 20.0]).view(2, 1, 1, 1, 1), torch.tensor([[1.0], [2.0]])
    rep = registry.create("op", "clip_repeat").run(volume=volume, descriptor=descriptor, frames=frames)
    assert rep["volume"].flatten().tolist() == [10, 10, 10, 20, 20, 20]
    assert rep["descriptor"].flatten().tolist() == [1, 1, 1, 2, 2, 2]
    with pytest.raises(InputError, match=r"T > start = 1"):
        registry.create("op", "clip_targets", image_size=s).run(frames=frames[:, :1], masks=masks[:, :1])


def test_with_expression_keeps_the_pose_and_the_gradient(registry):
    op = registry.create("op", "with_expression", dim=3)
    motion = Motion(
        torch.eye(3).expand(2, 3, 3), torch.ones(2, 3), torch.zeros(2, 3), torch.full((2, 3), 2.0)
    )
    z = torch.randn(2, 3, requires_grad=True)
    out = op(motion=motion, expression=z)
    assert (
        out.rotation is motion.rotation
        and out.translation is motion.translation
        and out.scale is motion.scale
    )
    out.expression.sum().backward()
    assert torch.equal(z.grad, torch.ones(2, 3))
    with pytest.raises(InputError, match="expression"):
        op(motion=motion, expression=torch.zeros(2, 4))


def test_face_parser_passes_gradients_only_when_asked(registry):
    image = torch.rand(1, 3, 64, 64, requires_grad=True)
    frozen = registry.create("op", "face_parser", preset="tiny")
    assert not frozen(image=image).requires_grad
    parser = registry.create("op", "face_parser", preset="tiny", grad=True)
    probs = parser(image=image)
    assert torch.equal(probs, frozen(image=image))  # the same values
    probs[:, 11:14].sum().backward()
    assert image.grad is not None and image.grad.abs().sum() > 0
    assert not list(parser.parameters())  # the weights stay frozen


# ---- the losses -----------------------------------------------------------------------------------------


def test_mouth_bce_is_the_binary_cross_entropy_of_the_mouth_classes(registry):
    loss = registry.create("loss", "mouth_parsing_bce", preset="tiny")
    gen = torch.Generator().manual_seed(0)
    pred, target = (torch.randn(2, 19, 16, 16, generator=gen).softmax(1) for _ in range(2))  # all > eps
    want = F.binary_cross_entropy(pred[:, 11:14], target[:, 11:14])
    assert torch.allclose(loss(pred=pred, target=target), want, atol=1e-6)
    hard = (target[:, 11:14] > 0.5).float()
    close = target.clone()
    close[:, 11:14] = hard.clamp(0.01, 0.99)
    far = target.clone()
    far[:, 11:14] = (1 - hard).clamp(0.01, 0.99)
    target[:, 11:14] = hard
    assert loss(pred=close, target=target) < loss(pred=far, target=target)


def test_l1_losses_are_mean_absolute_differences(registry):
    a, b = torch.rand(2, 3, 64, 64), torch.rand(2, 3, 64, 64)
    assert torch.allclose(
        registry.create("loss", "image_l1", preset="tiny")(pred=a, target=b), (a - b).abs().mean()
    )
    z, w = torch.randn(2, 5, 16), torch.randn(2, 5, 16)
    assert torch.allclose(
        registry.create("loss", "latent_l1", preset="tiny")(pred=z, target=w), (z - w).abs().mean()
    )


# ---- the pipelines --------------------------------------------------------------------------------------


def test_speech_pipelines_validate_and_share_the_graph(registry):
    release, tiny = (resolve_pipeline(n, (), registry) for n in ("train_speech", "train_speech_tiny"))
    for r in (release, tiny):
        assert set(r.optimizers) == {"speech"} and r.optimizers["speech"].components == ("audio_expression",)
        weights = {k: loss.weight for k, loss in r.losses.items()}
        assert weights == {
            "l1": 10,
            "vggface": 100,
            "pca": 200,
            "latent_l1": 5,
            "mouth_bce": 5e3,
            "lips": 5e5,
        }
        assert r.losses["pca"].config.n == 8 and r.losses["lips"].config.region_weights == (0, 1, 0)
    assert load_pipeline("train_speech").nodes == load_pipeline("train_speech_tiny").nodes
    assert release.schedules["speech"].config.min_lr == 0 and release.optimizers["speech"].config.lr == 1e-4


@pytest.mark.parametrize(
    ("speech", "stage1"), [("train_speech_tiny", "train_tiny"), ("train_speech", "train_release")]
)
def test_the_image_model_has_the_stage_one_names_and_configs(speech, stage1):
    """`--init` loads components by name: the frozen image model must be stage 1's, config for config."""
    a, b = load_pipeline(speech).components, load_pipeline(stage1).components
    image = [k for k in a if k in b and a[k].kind != "op"]
    assert len(image) == 9, image
    for key in image:
        assert (a[key].kind, a[key].name, a[key].config) == (b[key].kind, b[key].name, b[key].config), key


def test_clip_lengths_drawn_per_batch_and_resumed(tmp_path):
    """``max_frames``: each batch draws one T in [frames, max_frames] for all its items (they are
    stacked), the audio follows T, and a resumed batcher draws the same lengths."""
    from emoportraits_core.training.batches import MixedBatches

    root = _shards(tmp_path, ("a", 25.0, 40, {}), ("b", 25.0, 40, {}))
    make = lambda: SpeechClipsDataset(SpeechClipsConfig(root=str(root), frames=4, max_frames=9))  # noqa: E731
    batches = MixedBatches({"train": make()}, {"train": 1.0}, 2, seed=3)
    lengths = []
    for _ in range(8):
        batch = next(batches)
        t = batch["frames"].shape[1]
        assert 4 <= t <= 9 and batch["waveform"].shape == (2, clip_samples(t, 25))
        for clip in batch["frames"]:
            first = _stored(clip)[0]
            assert _stored(clip) == list(range(first, first + t))
        lengths.append(t)
    assert len(set(lengths)) > 2, lengths
    resumed = MixedBatches({"train": make()}, {"train": 1.0}, 2, seed=3)
    resumed.load_state_dict({"slot": 8, "counts": [8]})
    again = MixedBatches({"train": make()}, {"train": 1.0}, 2, seed=3)
    for _ in range(4):
        next(again)
    for _ in range(4):
        assert torch.equal(next(again)["frames"], next(resumed)["frames"])
    with pytest.raises(ValueError, match="'max_frames'"):
        SpeechClipsConfig(root=str(root), frames=10, max_frames=5)
