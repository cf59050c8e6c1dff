"""Dataset ``pairs``: (source, driver) frames of the same video from prepared shards (:mod:`.format`).

As the release (TRAINING_FACTS section 5): item ``i`` is video ``i`` of the split; the source is a
random frame and the driver a random frame of the same video, drawn independently (the release may
draw the same frame twice; ``distinct_frames = true`` forbids it). Only frames with landmarks are
drawn. Every random choice (frames, augmentations) comes from the generator given to :meth:`item`,
so an item is reproducible.

Fields of an item (no batch dim; S = ``size`` or the stored size):

==================  ====================  =========================================================
field               shape                 value
==================  ====================  =========================================================
source, driver      (3, S, S)             RGB in [0, 1], after the joint colour jitter and flip
source_mask,        (1, S, S)             the stored soft matte in [0, 1], flipped with the images
driver_mask
source_landmarks,   (68, 3)               normalised iBUG-68 landmarks (:mod:`.landmarks`), x mirrored
driver_landmarks                          on a flip (labels not swapped, as in the release)
source_expr,        (3, S, S)             the expression encoder's copies (:func:`.augment.expression_copy`
driver_expr                               of the augmented images); the plain images when not augmenting
source_pose,        (9,)                  raw head pose (:mod:`.head_pose`), mirrored on a flip; only if
driver_pose                               every video of the split was prepared with ``--head-pose``
==================  ====================  =========================================================

``augment`` (default: on for ``train``, off for ``val``) switches the release's train-time
augmentations: colour jitter (p 0.8, ranges 0.3) and flip (p 0.5) on both frames alike, then the
expression copies. Which dataset an item came from (the release's FEED flag) is added by the batch
assembler (:mod:`.batches`: ``is_second_dataset``).
"""

from __future__ import annotations

from collections import OrderedDict
from pathlib import Path
from typing import ClassVar, Literal

import attrs
import torch
import torch.nn.functional as F
from torch import Tensor

from emoportraits_core.errors import InputError
from emoportraits_core.interfaces import Dataset
from emoportraits_core.validators import fraction_window, in_range

from . import augment
from .format import videos_of_split
from .shard import VideoShard

__all__ = ["PairsConfig", "PairsDataset"]

_OPEN_SHARDS = 64  # shards kept open per process (each holds its per-frame arrays)


@attrs.frozen
class PairsConfig:
    """Config of :class:`PairsDataset`.

    Attributes:
        root: directory written by ``emoportraits prepare``.
        split: ``"train"`` or ``"val"``.
        size: side of the returned images (0: as stored); other sizes are resized bicubically.
        augment: the release's train-time augmentations; None: on for ``train``, off for ``val``.
        distinct_frames: never draw the same frame as source and driver.
        color_p: probability of the joint colour jitter.
        color_ranges: brightness, contrast, saturation, hue ranges of the joint colour jitter.
        flip_p: probability of the joint horizontal flip.
        expression_copies: output ``source_expr`` / ``driver_expr``.
        expr_jitter: ColorJitter range (all four) of the expression copies.
        expr_gray_p: grayscale probability of the expression copies.
        expr_warp_sigma: control-point jitter of the elastic warp, in grid cells.
        frames: the time window ``[a, b)`` of every video to draw from, as fractions of its stored
            frames: ``[0.0, 0.8]`` trains on the first 80 % and leaves the rest as held-out frames
            (``emoportraits evaluate --frames 0.8:1``).
    """

    root: str
    split: Literal["train", "val"] = "train"
    size: int = attrs.field(default=0, validator=in_range(0, 4096))
    augment: bool | None = None
    distinct_frames: bool = False
    color_p: float = attrs.field(default=0.8, validator=in_range(0.0, 1.0))
    color_ranges: tuple[float, float, float, float] = attrs.field(
        default=(0.3, 0.3, 0.3, 0.3), validator=in_range(0.0, 1.0)
    )
    flip_p: float = attrs.field(default=0.5, validator=in_range(0.0, 1.0))
    expression_copies: bool = True
    expr_jitter: float = attrs.field(default=0.4, validator=in_range(0.0, 0.5))
    expr_gray_p: float = attrs.field(default=0.05, validator=in_range(0.0, 1.0))
    expr_warp_sigma: float = attrs.field(default=0.1, validator=in_range(0.0, 1.0))
    frames: tuple[float, float] = attrs.field(default=(0.0, 1.0), validator=fraction_window)

    @color_ranges.validator
    def _check_hue(self, _attribute: attrs.Attribute, value: tuple[float, ...]) -> None:
        if value[3] > 0.5:
            raise ValueError(
                f"'color_ranges' hue (the 4th value) must be <= 0.5 (half a turn), got {value[3]}"
            )


class PairsDataset(Dataset):
    """(source, driver) frame pairs of one video from prepared shards (fields: module docstring).

    ``outputs`` of an instance lists exactly its fields (no poses without head poses in the shards,
    no ``*_expr`` without ``expression_copies``); the class attribute lists every possible field.
    """

    outputs: ClassVar[dict[str, str]] = {
        "source": "image",
        "driver": "image",
        "source_mask": "mask",
        "driver_mask": "mask",
        "source_landmarks": "landmarks",
        "driver_landmarks": "landmarks",
        "source_expr": "image",
        "driver_expr": "image",
        "source_pose": "pose",
        "driver_pose": "pose",
    }

    def __init__(self, config: PairsConfig) -> None:
        super().__init__(config)
        self.root = Path(config.root)
        index, self.videos = videos_of_split(self.root, config.split)
        self.augment = config.split == "train" if config.augment is None else config.augment
        self.has_pose = all(v.get("has_head_pose") for v in self.videos)
        self.stored_size = int(index.get("options", {}).get("size", 0))
        skip = set()
        if not self.has_pose:
            skip |= {"source_pose", "driver_pose"}
        if not config.expression_copies:
            skip |= {"source_expr", "driver_expr"}
        self.outputs = {k: v for k, v in type(self).outputs.items() if k not in skip}
        self._shards: OrderedDict[int, tuple[VideoShard, Tensor]] = OrderedDict()

    def __len__(self) -> int:
        return len(self.videos)

    def shard(self, index: int) -> tuple[VideoShard, Tensor]:
        """Video ``index``'s shard and its frames with landmarks ``(K,)`` int64 (opened lazily, LRU)."""
        if index in self._shards:
            self._shards.move_to_end(index)
            return self._shards[index]
        shard = VideoShard(self.root / self.videos[index]["dir"])
        valid = shard.usable_frames(self.config.frames)
        if len(valid) == 0:
            where = "" if self.config.frames == (0.0, 1.0) else f" in frames {list(self.config.frames)}"
            raise InputError(f"{shard.path}: no frame with landmarks{where}; prepare the video again")
        self._shards[index] = (shard, valid)
        while len(self._shards) > _OPEN_SHARDS:
            self._shards.popitem(last=False)[1][0].close()
        return shard, valid

    def item(self, index: int, generator: torch.Generator) -> dict[str, Tensor]:
        """Video ``index``'s pair, its frames and augmentations drawn from ``generator``."""
        if not 0 <= index < len(self):
            raise IndexError(f"item {index} out of range: the '{self.config.split}' split has {len(self)}")
        shard, valid = self.shard(index)
        i, j = self._frames(len(valid), generator)
        frames = [int(valid[i]), int(valid[j])]
        images = [self._resize(shard.frame(f), "bicubic") for f in frames]
        masks = [self._resize(shard.matte(f), "bilinear") for f in frames]
        marks = [shard.landmarks[f].clone() for f in frames]
        poses = [shard.head_pose[f].clone() for f in frames] if self.has_pose else []
        if self.augment:
            c = self.config
            images = augment.joint_color_jitter(images, generator, c.color_p, c.color_ranges)
            both, marks, poses = augment.joint_hflip(images + masks, marks, generator, c.flip_p, poses)
            images, masks = both[:2], both[2:]
        out = {
            "source": images[0],
            "driver": images[1],
            "source_mask": masks[0],
            "driver_mask": masks[1],
            "source_landmarks": marks[0],
            "driver_landmarks": marks[1],
        }
        if self.config.expression_copies:
            for name, image in (("source_expr", images[0]), ("driver_expr", images[1])):
                out[name] = self._expression_copy(image, generator)
        if self.has_pose:
            out["source_pose"], out["driver_pose"] = poses
        return out

    def _frames(self, count: int, generator: torch.Generator) -> tuple[int, int]:
        i = int(torch.randint(count, (), generator=generator))
        if self.config.distinct_frames and count > 1:
            return i, (i + 1 + int(torch.randint(count - 1, (), generator=generator))) % count
        return i, int(torch.randint(count, (), generator=generator))

    def _expression_copy(self, image: Tensor, generator: torch.Generator) -> Tensor:
        if not self.augment:
            return image.clone()
        c = self.config
        return augment.expression_copy(image, generator, c.expr_jitter, c.expr_gray_p, c.expr_warp_sigma)

    def _resize(self, x: Tensor, mode: str) -> Tensor:
        size = self.config.size
        if not size or x.shape[-1] == size:
            return x
        kwargs = {"antialias": True} if size < x.shape[-1] else {}
        out = F.interpolate(x[None], size=(size, size), mode=mode, align_corners=False, **kwargs)[0]
        return out.clamp_(0.0, 1.0)
