"""Dataset ``speech_clips``: clips of consecutive frames of one video with their audio, for training
E_aud (supplementary section 2.2), from prepared shards (:mod:`emoportraits_plugins.data.format`).

The paper draws "an audio clip, varying in length from 50 to 200 frames"; the clip's audio and its
first frame are E_aud's inputs, every later frame a target. Here the length T (the first frame
included) is ``frames``, or, with ``max_frames``, drawn per batch uniformly in ``[frames,
max_frames]`` (:meth:`SpeechClipsDataset.begin_batch`: the trainer stacks the items of a batch, so
they share one T; the draw is seeded by the batch's position, so a resumed run draws the same).

Item ``i`` is video ``i`` of the split among the videos with audio (videos without audio, or shorter
than one clip, are skipped; :attr:`SpeechClipsDataset.skipped` lists them with the reason). The clip's
start is drawn uniformly from the starts whose T frames all have landmarks (and lie in the
``frames_window``), from the generator given to :meth:`~SpeechClipsDataset.item`, so an item is
reproducible and a resumed run continues bit for bit.

Timeline. Clip frame ``k`` is at ``t0 + k / fps`` seconds, ``t0`` the time of its first stored frame
(``frame_index / video fps``); it shows the stored frame nearest to that time. For videos stored at
``fps`` (the usual case: 25 fps VoxCeleb2, ``prepare --stride 1``) these are T consecutive stored
frames; other rates are resampled to ``fps`` by nearest frame (frames dropped or repeated, at most
half a stored frame's period off). The waveform is the 16 kHz audio from sample ``round(t0 * 16000)``,
``N = round(T / fps * 16000)`` samples (the same N for every clip: 640 T at 25 fps), so the audio
features of :mod:`emoportraits_plugins.audio.features` at ``fps`` give exactly T rows, row k centred on
frame k. Audio missing at the very end (``prepare`` cuts it at the last stored frame, rounded) is
zero-padded up to 1 ms; clips needing more are not drawn.

Fields of an item (no batch dim; S = ``size`` or the stored size):

==========  ================  ====================================================================
field       shape             value
==========  ================  ====================================================================
frames      (T, 3, S, S)      RGB in [0, 1] (port type ``video``); frame 0 is E_aud's input frame
masks       (T, 1, S, S)      the stored soft mattes in [0, 1] (port type ``video_mask``)
waveform    (N,)              16 kHz mono in [-1, 1], aligned to the frames (port type ``waveform``)
==========  ================  ====================================================================

No augmentation (the paper names none for the speech mode).
"""

from __future__ import annotations

from collections import OrderedDict
from fractions import Fraction
from pathlib import Path
from typing import Any, ClassVar, Literal

import attrs
import torch
import torch.nn.functional as F
from safetensors import safe_open
from torch import Tensor

from emoportraits_core.errors import InputError
from emoportraits_core.interfaces import Dataset
from emoportraits_core.io.video_writer import as_rate
from emoportraits_core.validators import fraction_window, in_range, positive

from ..data.format import ARRAYS, videos_of_split
from ..data.shard import VideoShard

__all__ = ["SAMPLE_RATE", "SpeechClipsConfig", "SpeechClipsDataset", "clip_samples"]

SAMPLE_RATE = 16000
_OPEN_SHARDS = 64  # shards kept open per process
_PAD_SECONDS = Fraction(1, 1000)  # audio missing at the end that is zero-padded


def clip_samples(frames: int, fps: float | Fraction) -> int:
    """``N = round(frames / fps * 16000)`` (halves up, exact): the samples of a clip's waveform."""
    return _round(Fraction(frames) * SAMPLE_RATE / as_rate(fps))


def _round(x: Fraction) -> int:
    return int(x + Fraction(1, 2)) if x >= 0 else -int(-x + Fraction(1, 2))


@attrs.frozen
class SpeechClipsConfig:
    """Config of :class:`SpeechClipsDataset`.

    Attributes:
        root: directory written by ``emoportraits prepare``.
        split: ``"train"`` or ``"val"``.
        frames: T, frames of a clip, the input frame included; with ``max_frames`` the shortest.
        max_frames: 0 (every clip has ``frames``), or the longest clip: each batch then draws its T
            uniformly in ``[frames, max_frames]`` (the paper: 50 to 200; one T per batch, since the
            items of a batch are stacked).
        fps: the clips' frame rate (the audio features' ``fps`` must be the same).
        size: side of the returned images (0: as stored); other sizes are resized bicubically.
        frames_window: the time window ``[a, b)`` of every video a clip lies in, as fractions of its
            stored frames (as the ``pairs`` dataset's ``frames``).
    """

    root: str
    split: Literal["train", "val"] = "train"
    frames: int = attrs.field(default=50, validator=in_range(2, 100_000))
    max_frames: int = attrs.field(default=0, validator=in_range(0, 100_000))
    fps: float = attrs.field(default=25.0, validator=positive)
    size: int = attrs.field(default=0, validator=in_range(0, 4096))
    frames_window: tuple[float, float] = attrs.field(default=(0.0, 1.0), validator=fraction_window)

    @max_frames.validator
    def _check_max(self, _attribute: attrs.Attribute, value: int) -> None:
        if value and value < self.frames:
            raise ValueError(f"'max_frames' ({value}) must be 0 or at least 'frames' ({self.frames})")

    @property
    def longest(self) -> int:
        """The longest clip (``max_frames`` or ``frames``)."""
        return max(self.frames, self.max_frames)


@attrs.frozen(eq=False)
class _Video:
    """An open shard, its stored frame times (s, float64), its rate and the drawable clip starts."""

    shard: VideoShard
    times: Tensor
    rate: Fraction
    starts: Tensor
    audio_samples: int


class SpeechClipsDataset(Dataset):
    """Clips of T frames (config ``frames``) with their aligned audio, one video per item (module
    docstring)."""

    outputs: ClassVar[dict[str, str]] = {"frames": "video", "masks": "video_mask", "waveform": "waveform"}

    def __init__(self, config: SpeechClipsConfig) -> None:
        super().__init__(config)
        self.root = Path(config.root)
        index, in_split = videos_of_split(self.root, config.split)
        self.fps = as_rate(config.fps)
        #: the videos of the split left out, with why: ``[{"id": ..., "reason": ...}]``.
        self.skipped: list[dict[str, str]] = []
        self.videos: list[dict[str, Any]] = []
        for video in in_split:
            reason = self._unusable(video)
            if reason:
                self.skipped.append({"id": str(video.get("id")), "reason": reason})
            else:
                self.videos.append(video)
        if not self.videos:
            reasons = "; ".join(f"{s['id']}: {s['reason']}" for s in self.skipped[:5])
            more = f" (and {len(self.skipped) - 5} more)" if len(self.skipped) > 5 else ""
            raise InputError(
                f"{self.root}: no '{config.split}' video gives a clip of {config.longest} frames with audio "
                f"({reasons}{more}); prepare videos with sound, or use shorter clips (frames)"
            )
        self.stored_size = int(index.get("options", {}).get("size", 0))
        self.length = config.frames  # T of the next batch's clips (begin_batch)
        self._open: OrderedDict[int, _Video] = OrderedDict()

    @property
    def samples(self) -> int:
        """N, the waveform samples of a clip of the current length."""
        return clip_samples(self.length, self.fps)

    def _unusable(self, video: dict[str, Any]) -> str:
        """Why ``video`` (an index entry) cannot give a clip, or ``""``."""
        if not video.get("has_audio"):
            return "no audio"
        gap = int(video.get("options", {}).get("stride", 1)) / as_rate(float(video.get("fps", 1.0)))
        span = (int(video.get("frames", 0)) - 1) * gap  # first to last stored frame, seconds
        if span + gap / 2 < Fraction(self.config.longest - 1) / self.fps:
            return f"{int(video.get('frames', 0))} stored frames, fewer than a clip of {self.config.longest}"
        return ""

    def __len__(self) -> int:
        return len(self.videos)

    # -- one video ------------------------------------------------------------------------------------
    def video(self, index: int) -> _Video:
        """Video ``index``'s shard, frame times and clip starts (opened lazily, LRU)."""
        if index in self._open:
            self._open.move_to_end(index)
            return self._open[index]
        meta = self.videos[index]
        shard = VideoShard(self.root / meta["dir"])
        rate = as_rate(float(meta["fps"]))
        times = shard.frame_index.double() * rate.denominator / rate.numerator
        usable = torch.zeros(len(shard), dtype=torch.bool)
        usable[shard.usable_frames(self.config.frames_window)] = True
        longest = self.config.longest  # a start fits every clip length
        frames = self._clip_frames(times, torch.arange(len(shard)), longest)  # (K, T), -1 past the end
        inside = (frames >= 0).all(1)
        ok = inside & usable[frames.clamp(min=0)].all(1)
        audio_samples = int(meta.get("audio_samples", 0))
        starts = torch.nonzero(ok).flatten()
        first = self._audio_start(shard.frame_index[starts].long(), rate)
        samples = clip_samples(longest, self.fps)
        starts = starts[first + samples <= audio_samples + int(_PAD_SECONDS * SAMPLE_RATE)]
        if len(starts) == 0:
            where = (
                "" if self.config.frames_window == (0.0, 1.0) else f" in {list(self.config.frames_window)}"
            )
            raise InputError(
                f"{shard.path}: no {longest} consecutive frames with landmarks and audio{where} "
                f"({int(usable.sum())} of {len(shard)} frames have landmarks); prepare the video again "
                "or use shorter clips (frames)"
            )
        self._open[index] = _Video(shard, times, rate, starts, audio_samples)
        while len(self._open) > _OPEN_SHARDS:
            self._open.popitem(last=False)[1].shard.close()
        return self._open[index]

    def _clip_frames(self, times: Tensor, starts: Tensor, length: int) -> Tensor:
        """``(K, T = length)`` stored frames nearest to ``t0 + k / fps`` for clips starting at ``starts
        (K,)``; -1 where the time is past the last stored frame by more than half a frame gap."""
        step = torch.arange(length, dtype=torch.float64) * self.fps.denominator / self.fps.numerator
        wanted = times[starts, None] + step[None]
        after = torch.searchsorted(times, wanted).clamp(max=len(times) - 1)
        before = (after - 1).clamp(min=0)
        nearest = torch.where((wanted - times[before]) <= (times[after] - wanted), before, after)
        gap = float((times[-1] - times[0]) / max(len(times) - 1, 1)) if len(times) > 1 else 0.0
        past = wanted > times[-1] + 0.5 * gap + 1e-9
        return torch.where(past, torch.full_like(nearest, -1), nearest)

    @staticmethod
    def _audio_start(frame_index: Tensor, rate: Fraction) -> Tensor:
        """The first sample ``round(frame_index / rate * 16000)`` (halves up, exact integers)."""
        num = 2 * frame_index * SAMPLE_RATE * rate.denominator + rate.numerator
        return torch.div(num, 2 * rate.numerator, rounding_mode="floor")

    # -- items ----------------------------------------------------------------------------------------
    def begin_batch(self, generator: torch.Generator) -> None:
        """With ``max_frames``: draw the next batch's clip length T in ``[frames, max_frames]``."""
        c = self.config
        if c.max_frames > c.frames:
            self.length = c.frames + int(torch.randint(c.max_frames - c.frames + 1, (), generator=generator))

    def item(self, index: int, generator: torch.Generator) -> dict[str, Tensor]:
        """Video ``index``'s clip, its start drawn from ``generator``."""
        if not 0 <= index < len(self):
            raise IndexError(f"item {index} out of range: the '{self.config.split}' split has {len(self)}")
        video = self.video(index)
        start = video.starts[int(torch.randint(len(video.starts), (), generator=generator))]
        frames = self._clip_frames(video.times, start.view(1), self.length)[0].tolist()
        images = torch.stack([self._resize(video.shard.frame(f), "bicubic") for f in frames])
        masks = torch.stack([self._resize(video.shard.matte(f), "bilinear") for f in frames])
        first = int(self._audio_start(video.shard.frame_index[start].long().view(1), video.rate))
        waveform = self._audio(video, first)
        return {"frames": images, "masks": masks, "waveform": waveform}

    def _audio(self, video: _Video, first: int) -> Tensor:
        """Samples ``[first, first + N)`` of the video's audio, zero-padded at the end."""
        samples = self.samples
        stop = min(first + samples, video.audio_samples)
        with safe_open(str(video.shard.path / ARRAYS), framework="pt") as f:
            wave = f.get_slice("audio")[first:stop].float()
        if len(wave) < samples:
            wave = F.pad(wave, (0, samples - len(wave)))
        return wave

    def _resize(self, x: Tensor, mode: str) -> Tensor:
        size = self.config.size
        if not size or x.shape[-1] == size:
            return x
        kwargs = {"antialias": True} if size < x.shape[-1] else {}
        out = F.interpolate(x[None], size=(size, size), mode=mode, align_corners=False, **kwargs)[0]
        return out.clamp_(0.0, 1.0)
