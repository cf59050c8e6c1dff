"""Writing and reading one video's shard (layout and fields: :mod:`.format`).

:class:`ShardWriter` streams frames into a hidden ``.<id>.partial-<pid>`` directory and renames it to
``<id>`` when the video is done: a shard is complete or absent, never half-written. :class:`VideoShard`
reads frames at random (two ``pread`` calls per frame, files opened lazily per process, so it works in
forked DataLoader workers).
"""

from __future__ import annotations

import io
import json
import os
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image
from safetensors import safe_open
from safetensors.torch import save_file
from torch import Tensor

from emoportraits_core.errors import InputError

from .format import ARRAYS, FORMAT, FORMAT_VERSION, FRAMES, MATTES, META

__all__ = ["ShardWriter", "VideoShard", "encode_image"]


def encode_image(arr: np.ndarray, image_format: str, quality: int = 95) -> bytes:
    """``(H, W, 3)`` or ``(H, W)`` uint8 -> JPEG (4:4:4) or PNG bytes."""
    buf = io.BytesIO()
    image = Image.fromarray(arr)
    if image_format == "jpeg":
        image.save(buf, "JPEG", quality=quality, subsampling=0)
    else:
        image.save(buf, "PNG", compress_level=6 if arr.ndim == 2 else 1)
    return buf.getvalue()


class ShardWriter:
    """Stream one video into ``videos_dir/.<id>.partial-<pid>/``; :meth:`commit` renames it into place.

    Use as a context manager: leaving the block without :meth:`commit` (an error, Ctrl-C) removes the
    partial directory.
    """

    def __init__(self, videos_dir: Path, video_id: str) -> None:
        self.final = videos_dir / video_id
        self.tmp = videos_dir / f".{video_id}.partial-{os.getpid()}"
        if self.tmp.exists():
            shutil.rmtree(self.tmp)
        self.tmp.mkdir(parents=True)
        self._frames = open(self.tmp / FRAMES, "wb")  # noqa: SIM115 (closed in commit/abort)
        self._mattes = open(self.tmp / MATTES, "wb")  # noqa: SIM115
        self._offsets: dict[str, list[int]] = {"frame": [0], "matte": [0]}
        self._rows: dict[str, list[np.ndarray]] = {
            "frame_index": [],
            "crop_box": [],
            "valid": [],
            "landmarks": [],
            "head_pose": [],
        }

    def __enter__(self) -> ShardWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        if self.tmp.exists():
            self.abort()

    @property
    def num_frames(self) -> int:
        """Frames added so far."""
        return len(self._rows["frame_index"])

    @property
    def valid_frames(self) -> int:
        """Frames added so far that have landmarks."""
        return int(sum(self._rows["valid"]))

    @property
    def last_frame_index(self) -> int:
        """Video frame index of the last frame added (-1 if none)."""
        return int(self._rows["frame_index"][-1]) if self._rows["frame_index"] else -1

    def add(
        self,
        frame: bytes,
        matte: bytes,
        *,
        frame_index: int,
        crop_box: tuple[int, int, int],
        landmarks: np.ndarray | None,
    ) -> None:
        """Append one frame: encoded crop and matte, its index in the video, crop square, landmarks."""
        self._frames.write(frame)
        self._mattes.write(matte)
        self._offsets["frame"].append(self._offsets["frame"][-1] + len(frame))
        self._offsets["matte"].append(self._offsets["matte"][-1] + len(matte))
        self._rows["frame_index"].append(np.int32(frame_index))
        self._rows["crop_box"].append(np.asarray(crop_box, np.int32))
        self._rows["valid"].append(np.bool_(landmarks is not None))
        lm = np.zeros((68, 3), np.float32) if landmarks is None else landmarks.astype(np.float32)
        self._rows["landmarks"].append(lm)

    def add_head_pose(self, rows: np.ndarray) -> None:
        """Append ``(B, 9)`` head-pose rows (in frame order; all frames must get one before commit)."""
        self._rows["head_pose"].extend(np.asarray(rows, np.float32))

    def commit(self, meta: dict[str, Any], audio: Tensor | None) -> Path:
        """Write the arrays and ``meta.json``, then rename the directory into place; return it."""
        self._frames.close()
        self._mattes.close()
        tensors = {
            "frame_offsets": torch.tensor(self._offsets["frame"], dtype=torch.int64),
            "matte_offsets": torch.tensor(self._offsets["matte"], dtype=torch.int64),
            "frame_index": torch.from_numpy(np.array(self._rows["frame_index"], np.int32)),
            "crop_box": torch.from_numpy(np.stack(self._rows["crop_box"])),
            "valid": torch.from_numpy(np.array(self._rows["valid"], np.bool_)),
            "landmarks": torch.from_numpy(np.stack(self._rows["landmarks"])),
        }
        if self._rows["head_pose"]:
            if len(self._rows["head_pose"]) != self.num_frames:
                raise AssertionError("head pose rows do not match the frames")
            tensors["head_pose"] = torch.from_numpy(np.stack(self._rows["head_pose"]))
        if audio is not None:
            tensors["audio"] = audio.float().contiguous()
        save_file(tensors, str(self.tmp / ARRAYS), {"format": FORMAT, "format_version": str(FORMAT_VERSION)})
        (self.tmp / META).write_text(json.dumps(meta, indent=1) + "\n")
        for name in (FRAMES, MATTES, ARRAYS, META):
            _fsync(self.tmp / name)
        if self.final.exists():  # a shard written by another run meanwhile: keep the first
            shutil.rmtree(self.tmp)
        else:
            os.replace(self.tmp, self.final)
        return self.final

    def abort(self) -> None:
        """Close and remove the partial directory."""
        self._frames.close()
        self._mattes.close()
        shutil.rmtree(self.tmp, ignore_errors=True)


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class VideoShard:
    """Random access to one prepared video (``root/videos/<id>``).

    Attributes (loaded at open, small): ``valid`` (N,) bool, ``landmarks`` (N, 68, 3) float32,
    ``head_pose`` (N, 9) float32 or None, ``crop_box`` (N, 3) int32, ``frame_index`` (N,) int32.
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        arrays = self.path / ARRAYS
        if not arrays.is_file():
            raise InputError(f"{self.path}: no {ARRAYS}; expected a complete shard of `emoportraits prepare`")
        with safe_open(str(arrays), framework="pt") as f:
            keys = set(f.keys())
            get = f.get_tensor
            self._offsets = {"frame": get("frame_offsets").numpy(), "matte": get("matte_offsets").numpy()}
            self.frame_index = get("frame_index")
            self.crop_box = get("crop_box")
            self.valid = get("valid")
            self.landmarks = get("landmarks")
            self.head_pose = get("head_pose") if "head_pose" in keys else None
        self.has_audio = "audio" in keys
        self._fds: dict[str, int] = {}
        self._pid = -1

    def __len__(self) -> int:
        return len(self.valid)

    def usable_frames(self, window: tuple[float, float] = (0.0, 1.0)) -> Tensor:
        """Indices ``(K,)`` int64 of the frames with landmarks in the time window ``[a, b)``, given as
        fractions of the stored frames (frame ``i`` is at ``i / N``; ``(0.8, 1.0)``: the last fifth)."""
        a, b = window
        n = len(self.valid)
        position = torch.arange(n, dtype=torch.float64) / max(n, 1)
        keep = self.valid & (position >= a) & ((position < b) | (b >= 1.0))
        return torch.nonzero(keep).flatten()

    def _read(self, kind: str, index: int) -> bytes:
        if self._pid != os.getpid():  # opened lazily per process (DataLoader workers fork)
            self._fds = {
                k: os.open(self.path / n, os.O_RDONLY) for k, n in (("frame", FRAMES), ("matte", MATTES))
            }
            self._pid = os.getpid()
        start, end = int(self._offsets[kind][index]), int(self._offsets[kind][index + 1])
        return os.pread(self._fds[kind], end - start, start)

    def frame(self, index: int) -> Tensor:
        """Frame ``index`` as ``(3, S, S)`` float32 RGB in [0, 1]."""
        arr = np.asarray(Image.open(io.BytesIO(self._read("frame", index))).convert("RGB"))
        return torch.from_numpy(arr.copy()).permute(2, 0, 1).float().div_(255.0)

    def matte(self, index: int) -> Tensor:
        """Matte ``index`` as ``(1, S, S)`` float32 in [0, 1]."""
        arr = np.asarray(Image.open(io.BytesIO(self._read("matte", index))).convert("L"))
        return torch.from_numpy(arr.copy())[None].float().div_(255.0)

    def audio(self) -> Tensor | None:
        """The ``(T,)`` 16 kHz mono waveform, or None."""
        if not self.has_audio:
            return None
        with safe_open(str(self.path / ARRAYS), framework="pt") as f:
            return f.get_tensor("audio")

    def close(self) -> None:
        for fd in self._fds.values():
            os.close(fd)
        self._fds, self._pid = {}, -1

    def __del__(self) -> None:
        if getattr(self, "_pid", -1) == os.getpid():
            self.close()
