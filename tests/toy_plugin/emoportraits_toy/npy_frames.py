"""A toy third-party driver: frames dumped by another tool as one ``.npy`` array ``(N, H, W, 3)`` uint8.

It yields ``{"driver": (B, 3, size, size)}`` crops (whole frames resized), reading the array
memory-mapped, one batch at a time. With nothing else, a pipeline whose stream input is ``driver``
(such as the shipped ``animate``) runs it::

    emoportraits animate photo.jpg frames.npy -o out.mp4 --set components.driver.name=toy_npy_frames
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import attrs
import numpy as np
import torch
import torch.nn.functional as F

from emoportraits_core import InputError, PortSpec
from emoportraits_core.interfaces import Driver, StreamInfo


@attrs.frozen
class ToyNpyFramesConfig:
    """Config of :class:`ToyNpyFramesDriver`: output side and the frame rate of the dump."""

    size: int = 64
    fps: float = 25.0


class ToyNpyFramesDriver(Driver):
    """``.npy`` frames ``(N, H, W, 3)`` uint8 -> ``{"driver": (B, 3, size, size)}`` in [0, 1]."""

    outputs = {"driver": "image"}

    def output_specs(self) -> dict[str, PortSpec]:
        s = self.config.size
        return {"driver": PortSpec("image", ("B", 3, s, s), (0.0, 1.0))}

    @classmethod
    def accepts(cls, source: str | Path) -> bool:
        return Path(source).suffix == ".npy"

    def _open(self, source: str | Path) -> np.ndarray:
        try:
            frames = np.load(str(source), mmap_mode="r")
        except (OSError, ValueError) as exc:
            raise InputError(f"{source}: not a .npy array ({exc})") from None
        if frames.ndim != 4 or frames.shape[-1] != 3 or frames.dtype != np.uint8:
            raise InputError(
                f"{source}: expected (N, H, W, 3) uint8 frames, got {frames.shape} {frames.dtype}"
            )
        return frames

    def probe(self, source: str | Path) -> StreamInfo:
        frames = self._open(source)
        return StreamInfo(int(frames.shape[0]), self.config.fps, None, f"{Path(source).name}: {frames.shape}")

    def stream(self, source: str | Path, batch_size: int) -> Iterator[Mapping[str, Any]]:
        frames = self._open(source)
        for start in range(0, frames.shape[0], batch_size):
            batch = torch.from_numpy(np.array(frames[start : start + batch_size]))
            images = batch.permute(0, 3, 1, 2).float() / 255.0
            size = (self.config.size, self.config.size)
            yield {"driver": F.interpolate(images, size=size, mode="bilinear", align_corners=False)}

    def conformance_sources(self, tmp_dir: Path) -> list[Path]:
        """Two dumps of 1 and 7 frames."""
        rng = np.random.default_rng(0)
        paths = []
        for n in (1, 7):
            paths.append(Path(tmp_dir) / f"frames_{n}.npy")
            np.save(paths[-1], rng.integers(0, 256, (n, 48, 40, 3), dtype=np.uint8))
        return paths
