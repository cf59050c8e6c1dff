"""The prepared-shard format (``emoportraits prepare``): talking-head videos as training data.

One directory per prepared set::

    DIR/
      index.json                   the set: videos, splits, options, versions (below)
      videos/<id>/                 one shard per video, complete or absent (renamed into place)
        frames.bin                 the crops, one encoded image per frame, concatenated
        mattes.bin                 the soft mattes, one 8-bit greyscale PNG per frame, concatenated
        arrays.safetensors         per-frame arrays (+ the audio), metadata ``format``, ``format_version``
        meta.json                  this video's entry of the index (so the index can be rebuilt)
      videos/.<id>.partial-<pid>/  a shard being written (never read; removed by the next run)

Frames. The tracked, smoothed release crop (:mod:`emoportraits_plugins.face.crop`: mediapipe box, the
release's square rule, boxes smoothed over +-3 frames) at ``size x size`` (512 by default), encoded
as JPEG quality 95 with full-resolution chroma (4:4:4) or, with ``--image-format png``, losslessly.
Measured on the four sample videos at 512: JPEG 95 4:4:4 takes 41-64 KB a frame (55 KB on average)
and about 1.5 ms to decode; PNG (zlib level 1) about 4x more (213 KB) and 5.6 ms to decode, and it
slows ``prepare`` from 35 to 22 frames/s (one worker); lossless WebP is 78 KB but 37 ms to encode.
The source videos are lossy H.264 already, so JPEG 95 adds little. One encoded file per frame in a
concatenated blob gives random access by offset (a training item reads 2 frames of a video) with
two files per video instead of thousands; an H.264 stream would be smaller but needs decoding from
the previous keyframe to reach a frame.

``arrays.safetensors`` (N = frames stored):

==================  ================  =======================================================
tensor              shape, dtype      meaning
==================  ================  =======================================================
frame_offsets       (N+1,) int64      byte range of frame i in frames.bin: [off[i], off[i+1])
matte_offsets       (N+1,) int64      the same for mattes.bin
frame_index         (N,) int32        index of the frame in the decoded video (time = index / fps)
crop_box            (N, 3) int32      the crop square in source pixels: x0, y0, side
valid               (N,) bool         the face mesh found the face: landmarks are meaningful
landmarks           (N, 68, 3) f32    iBUG-68 landmarks normalised (:mod:`.landmarks`); 0 if not valid
head_pose           (N, 9) f32        only with ``--head-pose``: raw regressor output (:mod:`.head_pose`)
audio               (T,) f32          only if the video has sound: 16 kHz mono in [-1, 1]; sample 0 is
                                      time 0 of the video, cut at the end of the last stored frame
==================  ================  =======================================================

Mattes: mediapipe's soft person matte (restricted to the head by default, see :mod:`.annotate`),
``round(255 * m)``, lossless PNG (12 KB a frame at 512 on the sample videos).

``index.json``: ``format`` (``"emoportraits.shards"``), ``format_version`` (:data:`FORMAT_VERSION`;
a newer one is refused with a message to upgrade), ``emoportraits`` (the version that wrote it),
``options`` (every option that changes the content of a shard; a later run into the same DIR must
use the same ones), ``split`` (``val_fraction``, ``seed``), ``complete`` (false while a run is under
way or after an interruption), ``videos`` (per video: ``id``, ``dir``, ``source``, ``frames``,
``valid_frames``, ``fps``, ``width``, ``height``, ``has_audio``, ``audio_samples``, ``has_head_pose``,
``split``), ``skipped`` (the last run's: ``source`` and ``reason``).

Validation split: whole videos (frames of one video are near duplicates, so held-out frames of a
training video would not measure generalisation). The ``round(val_fraction * n)`` videos (at least one
when ``val_fraction > 0`` and ``n >= 2``) with the smallest ``sha256(f"{seed}:{id}")`` are ``val``: a
pure function of the set of complete videos, the fraction and the seed, so a resumed or repeated
run gives the same split; adding videos moves only the videos at the boundary.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from emoportraits_core import __version__
from emoportraits_core.errors import InputError
from emoportraits_core.io.atomic import atomic_output

__all__ = [
    "ARRAYS",
    "FORMAT",
    "FORMAT_VERSION",
    "FRAMES",
    "INDEX",
    "MATTES",
    "META",
    "SPLITS",
    "VIDEOS",
    "assign_splits",
    "complete_videos",
    "read_index",
    "videos_of_split",
    "write_index",
]

FORMAT = "emoportraits.shards"
FORMAT_VERSION = 1
INDEX = "index.json"
VIDEOS = "videos"
FRAMES, MATTES, ARRAYS, META = "frames.bin", "mattes.bin", "arrays.safetensors", "meta.json"
SPLITS = ("train", "val")
_EXPECTED = "expected a directory written by `emoportraits prepare` (with an index.json)"


def videos_of_split(root: Path, split: str) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """``(index, videos)``: the index of ``root`` and its videos of ``split``, in index order.

    Raises:
        InputError: not a shard directory, or no video of that split (naming what the index holds).
    """
    index = read_index(root)
    videos = [v for v in index["videos"] if v.get("split") == split]
    if not videos:
        counts = ", ".join(f"{sum(v.get('split') == s for v in index['videos'])} {s}" for s in SPLITS)
        raise InputError(
            f"{root}: no '{split}' videos (the index lists {counts}); prepare more videos or use another "
            "--val-fraction"
        )
    return index, videos


def assign_splits(ids: Iterable[str], val_fraction: float, seed: int) -> dict[str, str]:
    """``{id: "train" | "val"}`` (module docstring: whole videos, hash-ranked, deterministic)."""
    ids = sorted(set(ids))
    n_val = round(val_fraction * len(ids))
    if val_fraction > 0 and len(ids) >= 2:
        n_val = max(1, n_val)
    n_val = min(n_val, max(len(ids) - 1, 0))
    ranked = sorted(ids, key=lambda i: hashlib.sha256(f"{seed}:{i}".encode()).hexdigest())
    val = set(ranked[:n_val])
    return {i: ("val" if i in val else "train") for i in ids}


def complete_videos(root: Path) -> list[dict[str, Any]]:
    """The ``meta.json`` of every complete shard under ``root/videos`` (partial ones are skipped)."""
    videos = root / VIDEOS
    if not videos.is_dir():
        return []
    out = []
    for entry in sorted(videos.iterdir()):
        if entry.name.startswith(".") or not (entry / META).is_file():
            continue
        out.append(json.loads((entry / META).read_text()))
    return out


def write_index(
    root: Path,
    options: Mapping[str, Any],
    *,
    val_fraction: float,
    seed: int,
    skipped: list[dict[str, str]],
    complete: bool,
) -> dict[str, Any]:
    """Rebuild ``root/index.json`` from the complete shards on disk (atomically); return it."""
    videos = complete_videos(root)
    splits = assign_splits([v["id"] for v in videos], val_fraction, seed)
    for v in videos:
        v["split"] = splits[v["id"]]
    index = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "emoportraits": __version__,
        "options": dict(options),
        "split": {"by": "video", "val_fraction": val_fraction, "seed": seed},
        "complete": complete,
        "videos": videos,
        "skipped": skipped,
    }
    with atomic_output(root / INDEX) as tmp:
        tmp.write_text(json.dumps(index, indent=1) + "\n")
    return index


def read_index(root: str | os.PathLike[str]) -> dict[str, Any]:
    """Read and check ``root/index.json``.

    Raises:
        InputError: no such directory, no index, not JSON, another format, or a newer version.
    """
    root = Path(root)
    if not root.is_dir():
        raise InputError(f"{root}: no such directory; {_EXPECTED}")
    path = root / INDEX
    if not path.is_file():
        raise InputError(f"{root}: no {INDEX}; {_EXPECTED}")
    try:
        index = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InputError(f"{path}: not a readable JSON index ({exc}); {_EXPECTED}") from None
    if not isinstance(index, dict) or index.get("format") != FORMAT:
        got = index.get("format") if isinstance(index, dict) else type(index).__name__
        raise InputError(f"{path}: format {got!r}, not '{FORMAT}'; {_EXPECTED}")
    version = index.get("format_version")
    if not isinstance(version, int) or version > FORMAT_VERSION:
        raise InputError(
            f"{path}: shard format version {version}, newer than this emoportraits ({__version__}) reads "
            f"(version {FORMAT_VERSION}); upgrade emoportraits"
        )
    return index
