"""Deliberately broken drivers: each breaks the contract checks named in its ``breaks``.

Part of the catalogue in :mod:`emoportraits_conformance.broken_components`.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import torch
from safetensors import safe_open
from safetensors.torch import load, save_file

from emoportraits_core import PortSpec
from emoportraits_core.interfaces import (
    Driver,
    StreamInfo,
)

from ._broken_base import Broken as _Broken

# -- drivers ----------------------------------------------------------------------------------------------


_WIDTH = 64  # floats per frame: 256 bytes, so that a whole long source is tens of MiB


class _TinyDriver(_Broken, Driver):
    """Streams rows of a safetensors file ``embedding (N, 64)``."""

    outputs = {"embedding": "embedding"}

    def output_specs(self) -> dict[str, PortSpec]:
        return {"embedding": PortSpec("embedding", ("B", _WIDTH))}

    def probe(self, source: str | Path) -> StreamInfo:
        with safe_open(str(source), framework="pt") as f:
            return StreamInfo(num_frames=f.get_slice("embedding").get_shape()[0], fps=25.0)

    def stream(self, source: str | Path, batch_size: int) -> Iterator[Mapping[str, Any]]:
        n = self.probe(source).num_frames or 0
        with safe_open(str(source), framework="pt") as f:
            for start in range(0, n, batch_size):
                yield {"embedding": f.get_slice("embedding")[start : min(start + batch_size, n)]}

    def conformance_sources(self, tmp_dir: Path) -> list[Path]:
        path = Path(tmp_dir) / "rows.safetensors"
        rows = torch.randn(5, _WIDTH, generator=torch.Generator().manual_seed(0))
        save_file({"embedding": rows}, str(path))
        return [path]

    def conformance_long_source(self, tmp_dir: Path, frames: int) -> Path:
        path = Path(tmp_dir) / f"rows_{frames}.safetensors"
        save_file({"embedding": torch.ones(frames, _WIDTH)}, str(path))
        return path


class PerBatchNormDriver(_TinyDriver):
    """Normalises each batch by its own mean: streaming differs from batch."""

    breaks = ("driver_streaming_equals_batch",)
    registry_name = "broken_per_batch_norm"

    def stream(self, source: str | Path, batch_size: int) -> Iterator[Mapping[str, Any]]:
        for batch in super().stream(source, batch_size):
            yield {"embedding": batch["embedding"] - batch["embedding"].mean(0, keepdim=True)}


class DropLastDriver(_TinyDriver):
    """Drops the last, partial batch."""

    breaks = ("driver_one_item_per_frame", "driver_streaming_equals_batch")
    registry_name = "broken_drop_last"

    def stream(self, source: str | Path, batch_size: int) -> Iterator[Mapping[str, Any]]:
        for batch in super().stream(source, batch_size):
            if batch["embedding"].shape[0] == batch_size:
                yield batch


class ReadAllDriver(_TinyDriver):
    """Reads the whole file and every frame into a list before yielding the first batch."""

    breaks = ("driver_bounded_memory",)
    registry_name = "broken_read_all"

    def stream(self, source: str | Path, batch_size: int) -> Iterator[Mapping[str, Any]]:
        frames = list(load(Path(source).read_bytes())["embedding"])
        for start in range(0, len(frames), batch_size):
            yield {"embedding": torch.stack(frames[start : start + batch_size])}
