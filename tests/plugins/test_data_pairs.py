"""The ``pairs`` dataset over prepared shards (emoportraits_plugins.data.pairs), built through a registry."""

from __future__ import annotations

import pytest
import torch
from conftest import DATA, plugin_registry

import emoportraits_plugins.data as data_plugin
from emoportraits_core.errors import ConfigError, InputError
from emoportraits_core.training import MixedBatches
from emoportraits_plugins.data import PairsDataset
from emoportraits_plugins.data.augment import hflip_pose
from emoportraits_plugins.data.head_pose import _release_regressor, file_fingerprint
from emoportraits_plugins.data.prepare import prepare
from emoportraits_plugins.data.shard import VideoShard
from emoportraits_plugins.data.video_job import PrepareOptions

VIDEOS = DATA / "videos"
SOURCES = [
    VIDEOS / "drive_talking_a.mp4",
    VIDEOS / "drive_480.mp4",
    VIDEOS / "drive_expressions_no_audio.mp4",
]


@pytest.fixture(scope="module")
def registry():
    return plugin_registry(data_plugin)


@pytest.fixture(scope="module")
def root(tmp_path_factory):
    """Three sample videos, 4 frames each at 64 px, with head poses; 1 video in val."""
    tmp = tmp_path_factory.mktemp("pairs")
    torch.manual_seed(0)
    net = _release_regressor()
    net.reset_parameters()
    torch.save(net.state_dict(), tmp / "hpr.pth")
    options = PrepareOptions(
        size=64, max_frames=4, head_pose=str(tmp / "hpr.pth"), head_pose_sha=file_fingerprint(tmp / "hpr.pth")
    )
    prepare(SOURCES, tmp / "set", options, workers=1, val_fraction=0.34, seed=0, progress=False)
    return tmp / "set"


def _gen(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def test_registered_and_built_from_config(registry, root):
    ds = registry.create("dataset", "pairs", root=str(root))
    assert isinstance(ds, PairsDataset)
    assert len(ds) == 2 and ds.augment is True
    val = registry.create("dataset", "pairs", root=str(root), split="val")
    assert len(val) == 1 and val.augment is False
    with pytest.raises(ConfigError, match="split"):
        registry.create("dataset", "pairs", root=str(root), split="test")


def test_item_fields_shapes_and_ranges(registry, root):
    ds = registry.create("dataset", "pairs", root=str(root))
    item = ds.item(1, _gen(0))
    assert set(item) == set(ds.outputs) == set(PairsDataset.outputs)
    for name in ("source", "driver", "source_expr", "driver_expr"):
        assert item[name].shape == (3, 64, 64) and item[name].dtype == torch.float32
        assert item[name].min() >= 0 and item[name].max() <= 1
    for name in ("source_mask", "driver_mask"):
        assert item[name].shape == (1, 64, 64) and item[name].min() >= 0 and item[name].max() <= 1
    assert item["source_landmarks"].shape == (68, 3) and item["driver_pose"].shape == (9,)
    resized = registry.create("dataset", "pairs", root=str(root), size=32).item(0, _gen(0))
    assert resized["source"].shape == (3, 32, 32) and resized["driver_mask"].shape == (1, 32, 32)


def test_items_are_reproducible_from_the_generator(registry, root):
    ds = registry.create("dataset", "pairs", root=str(root))
    a, b, c = ds.item(0, _gen(5)), ds.item(0, _gen(5)), ds.item(0, _gen(6))
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert any(not torch.equal(a[k], c[k]) for k in a)
    fresh = registry.create("dataset", "pairs", root=str(root))  # another instance (another process)
    assert all(torch.equal(a[k], fresh.item(0, _gen(5))[k]) for k in a)


def test_without_augmentation_items_are_stored_frames(registry, root):
    ds = registry.create("dataset", "pairs", root=str(root), split="val")
    shard = VideoShard(root / ds.videos[0]["dir"])
    stored = [shard.frame(i) for i in range(len(shard))]
    for seed in range(4):
        item = ds.item(0, _gen(seed))
        k = next(i for i, f in enumerate(stored) if torch.equal(f, item["driver"]))
        assert torch.equal(item["driver_mask"], shard.matte(k))
        assert torch.equal(item["driver_landmarks"], shard.landmarks[k])
        assert torch.equal(item["driver_pose"], shard.head_pose[k])
        assert torch.equal(item["driver_expr"], item["driver"])


def test_flip_mirrors_images_masks_landmarks_and_poses_together(registry, root):
    plain = registry.create("dataset", "pairs", root=str(root), augment=False, expression_copies=False)
    flipped = registry.create(
        "dataset", "pairs", root=str(root), color_p=0.0, flip_p=1.0, expression_copies=False
    )
    a, b = plain.item(1, _gen(3)), flipped.item(1, _gen(3))  # the same frames: drawn first
    assert "source_expr" not in b and "source_expr" not in flipped.outputs
    for side in ("source", "driver"):
        assert torch.equal(b[side], a[side].flip(-1))
        assert torch.equal(b[f"{side}_mask"], a[f"{side}_mask"].flip(-1))
        torch.testing.assert_close(b[f"{side}_landmarks"][:, 0], -a[f"{side}_landmarks"][:, 0])
        assert torch.equal(b[f"{side}_landmarks"][:, 1:], a[f"{side}_landmarks"][:, 1:])
        assert torch.equal(b[f"{side}_pose"], hflip_pose(a[f"{side}_pose"]))


def test_joint_colour_jitter_changes_both_frames(registry, root):
    ds = registry.create("dataset", "pairs", root=str(root), color_p=1.0, flip_p=0.0, distinct_frames=False)
    plain = registry.create("dataset", "pairs", root=str(root), augment=False)
    a, b = ds.item(0, _gen(1)), plain.item(0, _gen(1))
    assert not torch.equal(a["source"], b["source"]) and not torch.equal(a["driver"], b["driver"])
    assert torch.equal(a["source_mask"], b["source_mask"])  # masks are not colour-jittered


def test_distinct_frames(registry, root):
    ds = registry.create("dataset", "pairs", root=str(root), augment=False, distinct_frames=True)
    for seed in range(12):
        item = ds.item(0, _gen(seed))
        assert not torch.equal(item["source"], item["driver"])


def test_errors_name_the_directory(registry, tmp_path, root):
    with pytest.raises(InputError, match=f"{tmp_path / 'missing'}: no such directory"):
        registry.create("dataset", "pairs", root=str(tmp_path / "missing"))
    with pytest.raises(
        InputError, match=r"no index\.json; expected a directory written by `emoportraits prepare`"
    ):
        registry.create("dataset", "pairs", root=str(tmp_path))
    (tmp_path / "index.json").write_text('{"format": "something else"}')
    with pytest.raises(InputError, match="format 'something else'"):
        registry.create("dataset", "pairs", root=str(tmp_path))
    ds = registry.create("dataset", "pairs", root=str(root))
    with pytest.raises(IndexError, match="out of range"):
        ds.item(2, _gen(0))


def test_no_val_split_is_a_clear_error(registry, tmp_path):
    prepare([SOURCES[1]], tmp_path / "one", PrepareOptions(size=64, max_frames=2), workers=1, progress=False)
    ds = registry.create("dataset", "pairs", root=str(tmp_path / "one"))
    assert "source_pose" not in ds.outputs and "source_pose" not in ds.item(0, _gen(0))
    with pytest.raises(InputError, match="no 'val' videos \\(the index lists 1 train, 0 val\\)"):
        registry.create("dataset", "pairs", root=str(tmp_path / "one"), split="val")


def test_mixed_batches_of_two_pairs_datasets(registry, root):
    first = registry.create("dataset", "pairs", root=str(root))
    second = registry.create("dataset", "pairs", root=str(root), split="val", augment=True)
    batches = MixedBatches({"vox": first, "feed": second}, {"vox": 0.75, "feed": 0.25}, 2, seed=0)
    batch = next(batches)
    assert batch["source"].shape == (2, 3, 64, 64) and batch["driver_landmarks"].shape == (2, 68, 3)
    assert batches.counts == [1, 1]  # the release's mixed step: item 1 from the second dataset
