"""Dataset ``pose_clips``: clips of consecutive frames with their audio and head poses, from prepared
shards, for the audio -> head-pose GAN (EMOPortraits supplementary, section 3; TRAINING_FACTS
section 6: "training poses come from the head-pose regressor over the prepared videos").

Prepare the videos with the head-pose regressor (the stored raw pose per frame,
:mod:`emoportraits_plugins.data.head_pose`)::

    emoportraits prepare VIDEOS -o shards --head-pose head_pose_regressor.pth

Item ``i`` is video ``i`` of the split (as the ``pairs`` dataset); its clip is ``frames`` consecutive
stored frames (T, fixed for a run, so that items batch; the paper's speech clips vary from 50 to
200 frames) starting at a random frame, all of them with landmarks. Fields (no batch dim):

==========  ==============  ===============================================================
field       shape           value
==========  ==============  ===============================================================
waveform    (N,) float32    16 kHz mono in [-1, 1], exactly the clip's time span:
                            N = round(T / fps * 16000), from the clip's first frame's time
pose        (T, 9) float32  :func:`~.clips.pose_targets` of the stored raw poses: 6D rotation
                            + translation relative to the clip's first frame
noise       (noise_dim,)    standard normal: the generator's per-sequence latent
==========  ==============  ===============================================================

Every random choice (the clip's start, the noise) comes from the generator given to :meth:`item`, so
a batch is a function of the run's seed and the sampler's position (resume is bit-identical, and
every critic step of WGAN-GP gets its own noise). The noise is drawn here, not in the graph, so that
it is seeded per item (on every process and device alike); ``noise_dim`` must be the generator's.

Frame rate: ``fps`` is the clips' rate, that of the Whisper features the pipeline computes
(``whisper_features`` ``fps``); a video is used only if its stored rate (its fps / ``prepare
--stride``) is ``fps``. Videos without audio, without head poses, at another rate or shorter than T
frames are left out (:attr:`PoseClipsDataset.left_out` counts them); none left is an InputError.
"""

from __future__ import annotations

from collections import OrderedDict
from pathlib import Path
from typing import Any, ClassVar, Literal

import attrs
import torch
from safetensors import safe_open
from torch import Tensor

from emoportraits_core.errors import InputError
from emoportraits_core.interfaces import Dataset
from emoportraits_core.validators import in_range, positive

from ..data.format import ARRAYS, videos_of_split
from ..data.shard import VideoShard
from .clips import pose_targets

__all__ = ["SAMPLE_RATE", "PoseClipsConfig", "PoseClipsDataset", "clip_samples"]

#: Sample rate of the waveforms (the shards' audio), Hz.
SAMPLE_RATE = 16000
_OPEN_SHARDS = 64  # shards kept open per process
_SLACK = 2  # samples of audio a clip may lack at the very end (rounding); zero-padded


def clip_samples(frames: int, fps: float) -> int:
    """N = round(T / fps * 16000): the waveform samples of a clip of ``frames`` frames at ``fps``."""
    return round(frames / fps * SAMPLE_RATE)


@attrs.frozen
class PoseClipsConfig:
    """Config of :class:`PoseClipsDataset`.

    Attributes:
        root: directory written by ``emoportraits prepare ... --head-pose FILE``.
        split: ``"train"`` or ``"val"``.
        frames: T, frames per clip (the pipeline's ``whisper_features`` ``samples`` must be
            :func:`clip_samples` ``(T, fps)``).
        fps: frame rate of the clips (VoxCeleb2: 25).
        noise_dim: size of the ``noise`` field (the generator's ``noise_dim``).
    """

    root: str
    split: Literal["train", "val"] = "train"
    frames: int = attrs.field(default=64, validator=in_range(2, 100_000))
    fps: float = attrs.field(default=25.0, validator=positive)
    noise_dim: int = attrs.field(default=64, validator=positive)


class PoseClipsDataset(Dataset):
    """Clips of ``frames`` frames: ``waveform``, ``pose``, ``noise`` (module docstring)."""

    outputs: ClassVar[dict[str, str]] = {"waveform": "waveform", "pose": "pose_sequence", "noise": "noise"}

    def __init__(self, config: PoseClipsConfig) -> None:
        super().__init__(config)
        self.root = Path(config.root)
        index, split = videos_of_split(self.root, config.split)
        self.stride = stride = int(index.get("options", {}).get("stride", 1))
        self.left_out: dict[str, int] = {}
        self.videos: list[dict[str, Any]] = []
        for video in split:
            reason = self._unusable(video, stride)
            if reason:
                self.left_out[reason] = self.left_out.get(reason, 0) + 1
            else:
                self.videos.append(video)
        if not self.videos:
            reasons = "; ".join(f"{n} {r}" for r, n in self.left_out.items())
            raise InputError(
                f"{self.root}: none of the {len(split)} '{config.split}' videos gives pose clips ({reasons}); "
                "pose_clips needs videos with audio and head poses, prepared with `emoportraits prepare "
                f"VIDEOS -o {self.root} --head-pose head_pose_regressor.pth`, of at least "
                f"{config.frames} frames (config frames) at {config.fps:g} fps (config fps)"
            )
        self.samples = clip_samples(config.frames, config.fps)
        self._shards: OrderedDict[int, tuple[VideoShard, Tensor]] = OrderedDict()

    def _unusable(self, video: dict[str, Any], stride: int) -> str:
        """Why ``video`` (an index entry) gives no clip, or "" if it does."""
        c = self.config
        if not video.get("has_head_pose"):
            return "without head poses (prepared without --head-pose)"
        if not video.get("has_audio"):
            return "without audio"
        if abs(float(video["fps"]) / stride - c.fps) > 1e-3 * c.fps:
            return f"not at {c.fps:g} fps"
        if int(video["frames"]) < c.frames:
            return f"shorter than {c.frames} frames"
        return ""

    def __len__(self) -> int:
        return len(self.videos)

    def shard(self, index: int) -> tuple[VideoShard, Tensor]:
        """Video ``index``'s shard and the first frames ``(K,)`` int64 of its usable clips (opened
        lazily, LRU): T consecutive decoded frames (at the stride), all with landmarks, and the audio."""
        if index in self._shards:
            self._shards.move_to_end(index)
            return self._shards[index]
        shard = VideoShard(self.root / self.videos[index]["dir"])
        starts = self._starts(shard, self.videos[index])
        if len(starts) == 0:
            raise InputError(
                f"{shard.path}: no {self.config.frames} consecutive frames with landmarks and audio; "
                "lower pose_clips' frames or leave the video out"
            )
        self._shards[index] = (shard, starts)
        while len(self._shards) > _OPEN_SHARDS:
            self._shards.popitem(last=False)[1][0].close()
        return shard, starts

    def _starts(self, shard: VideoShard, video: dict[str, Any]) -> Tensor:
        t, n = self.config.frames, len(shard)
        if shard.head_pose is None or n < t:
            return torch.zeros(0, dtype=torch.int64)
        valid = torch.cat((torch.zeros(1, dtype=torch.int64), shard.valid.to(torch.int64).cumsum(0)))
        all_valid = valid[t:] - valid[:-t] == t  # (n - t + 1,)
        index = shard.frame_index.to(torch.int64)
        span = index[t - 1 :] - index[: n - t + 1]
        consecutive = span == (t - 1) * self.stride
        first = (index[: n - t + 1].double() / float(video["fps"]) * SAMPLE_RATE).round().to(torch.int64)
        audio_ok = first + self.samples <= int(video.get("audio_samples", 0)) + _SLACK
        return torch.nonzero(all_valid & consecutive & audio_ok).flatten()

    def item(self, index: int, generator: torch.Generator) -> dict[str, Tensor]:
        """Video ``index``'s clip, its start and the noise drawn from ``generator``."""
        if not 0 <= index < len(self):
            raise IndexError(f"item {index} out of range: the '{self.config.split}' split has {len(self)}")
        shard, starts = self.shard(index)
        k = int(starts[int(torch.randint(len(starts), (), generator=generator))])
        t = self.config.frames
        first = round(int(shard.frame_index[k]) / float(self.videos[index]["fps"]) * SAMPLE_RATE)
        return {
            "waveform": self._waveform(shard, first),
            "pose": pose_targets(shard.head_pose[k : k + t].float()),
            "noise": torch.randn(self.config.noise_dim, generator=generator),
        }

    def _waveform(self, shard: VideoShard, first: int) -> Tensor:
        """``(N,)`` samples from ``first`` (read as a slice; zero-padded by at most ``_SLACK``)."""
        with safe_open(str(shard.path / ARRAYS), framework="pt") as f:
            audio = f.get_slice("audio")[first : first + self.samples]
        if len(audio) < self.samples:
            audio = torch.cat((audio, audio.new_zeros(self.samples - len(audio))))
        return audio.float()
