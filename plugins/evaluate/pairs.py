"""Held-out (source, driver) pairs for self-reenactment, drawn deterministically from prepared shards.

``EvalSet.from_shards(root, split="val", count=N, seed=S)``: the videos of ``split``
(:mod:`emoportraits_plugins.data.format`; by default the validation split, whole videos no training
step saw) in id order, taken in turn (pair ``i`` is from video ``i mod V``); in each, a source frame
and a different driver frame, both with landmarks, drawn from a ``torch.Generator`` seeded with
``seed``. The same shards, count and seed give the same pairs on any machine. ``frames=(a, b)``
draws only from the frames in that time window of each video (fractions of its stored frames):
with a training run's ``frames = [0, 0.8]`` (:class:`~emoportraits_plugins.data.pairs.PairsConfig`),
``split="train", frames=(0.8, 1.0)`` gives held-out frames of the training videos.

A batch of pairs (:meth:`EvalSet.batches`), at ``size`` pixels (resized bicubically, mattes
bilinearly, when the stored size differs), no augmentation:

===============  ================  ===============================================================
field            shape             value
===============  ================  ===============================================================
source           (B, 3, S, S)      the source frame's crop in [0, 1]
source_mask      (B, 1, S, S)      its stored soft matte in [0, 1]
driver           (B, 3, S, S)      the driver frame's crop
driver_mask      (B, 1, S, S)      its matte
===============  ================  ===============================================================
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import attrs
import torch
import torch.nn.functional as F
from torch import Tensor

from emoportraits_core.errors import InputError
from emoportraits_core.validators import is_fraction_window

from ..data.format import SPLITS, read_index
from ..data.shard import VideoShard

__all__ = ["EvalPair", "EvalSet"]


@attrs.frozen
class EvalPair:
    """One pair: the video's id and the shard indices of the source and driver frames."""

    video: str
    source: int
    driver: int


@attrs.define
class EvalSet:
    """Pairs of one prepared shard directory (module docstring).

    Attributes:
        root: the directory written by ``emoportraits prepare``.
        pairs: the pairs, in order.
        split: the split they were drawn from (for reports).
    """

    root: Path
    pairs: list[EvalPair]
    split: str = "val"
    dirs: dict[str, str] = attrs.field(factory=dict, repr=False)  # video id -> its shard directory
    _shards: dict[str, VideoShard] = attrs.field(factory=dict, repr=False)

    @classmethod
    def from_shards(
        cls,
        root: str | os.PathLike[str],
        *,
        split: str = "val",
        count: int = 64,
        seed: int = 0,
        frames: tuple[float, float] = (0.0, 1.0),
    ) -> EvalSet:
        """Draw ``count`` pairs from the videos of ``split`` (module docstring), from the frames of
        each video in the time window ``frames`` (fractions of its stored frames, ``[a, b)``).

        Raises:
            InputError: not a shard directory, an unknown split, no video in it, ``count < 1``, or
                no video of the split with two frames with landmarks.
        """
        root = Path(root)
        if split not in SPLITS:
            raise InputError(f"--split {split!r}: expected one of {', '.join(SPLITS)}")
        if count < 1:
            raise InputError(f"--pairs {count}: expected a positive number of pairs")
        if not is_fraction_window(frames):
            raise InputError(f"--frames {frames[0]}:{frames[1]}: expected A:B with 0 <= A < B <= 1")
        index = read_index(root)
        videos = sorted((v for v in index["videos"] if v.get("split") == split), key=lambda v: v["id"])
        if not videos:
            counts = ", ".join(f"{sum(v.get('split') == s for v in index['videos'])} {s}" for s in SPLITS)
            hint = "; prepare with --val-fraction > 0 (whole videos are held out)" if split == "val" else ""
            raise InputError(f"{root}: no '{split}' videos to evaluate on (the index lists {counts}){hint}")
        out = cls(root, [], split, {v["id"]: v["dir"] for v in videos})
        usable = []
        for v in videos:
            valid = out.shard(v["id"]).usable_frames(frames)
            if len(valid) >= 2:
                usable.append((v["id"], valid))
        if not usable:
            where = "" if frames == (0.0, 1.0) else f" in frames {frames[0]}:{frames[1]}"
            raise InputError(f"{root}: no '{split}' video has two frames with a face{where} to pair")
        gen = torch.Generator().manual_seed(seed)
        for i in range(count):
            video, valid = usable[i % len(usable)]
            a = int(torch.randint(len(valid), (), generator=gen))
            b = (a + 1 + int(torch.randint(len(valid) - 1, (), generator=gen))) % len(valid)
            out.pairs.append(EvalPair(video, int(valid[a]), int(valid[b])))
        return out

    def __len__(self) -> int:
        return len(self.pairs)

    @property
    def videos(self) -> list[str]:
        """The ids of the videos the pairs come from, in order."""
        return list(dict.fromkeys(p.video for p in self.pairs))

    def shard(self, video: str) -> VideoShard:
        """The shard of video ``video`` (an id of the index), opened once."""
        if video not in self._shards:
            self._shards[video] = VideoShard(self.root / self.dirs.get(video, video))
        return self._shards[video]

    def batches(self, batch_size: int, size: int) -> Iterator[dict[str, Tensor]]:
        """The pairs in order, ``batch_size`` at a time, as the fields of the module docstring."""
        for start in range(0, len(self.pairs), batch_size):
            items = [self._item(p, size) for p in self.pairs[start : start + batch_size]]
            yield {k: torch.stack([item[k] for item in items]) for k in items[0]}

    def _item(self, pair: EvalPair, size: int) -> dict[str, Tensor]:
        shard = self.shard(pair.video)
        return {
            "source": _resize(shard.frame(pair.source), size, "bicubic"),
            "source_mask": _resize(shard.matte(pair.source), size, "bilinear"),
            "driver": _resize(shard.frame(pair.driver), size, "bicubic"),
            "driver_mask": _resize(shard.matte(pair.driver), size, "bilinear"),
        }


def _resize(x: Tensor, size: int, mode: str) -> Tensor:
    if x.shape[-1] == size:
        return x
    kwargs = {"antialias": True} if size < x.shape[-1] else {}
    return F.interpolate(x[None], size=(size, size), mode=mode, align_corners=False, **kwargs)[0].clamp_(0, 1)
