"""Deliberately broken drivers: each breaks the contract checks named in its ``breaks``.

Part of the catalogue in :mod:`emoportraits_conformance.broken_components`.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import torch
from safetensors import safe_open
from safetensors.torch import save_file

from emoportraits_core import PortSpec
from emoportraits_core.interfaces import (
    Driver,
    StreamInfo,
)

from ._broken_base import Broken as _Broken

# -- drivers ----------------------------------------------------------------------------------------------


class _TinyDriver(_Broken, Driver):
    """Streams rows of a safetensors file ``embedding (N, 4)``."""

    outputs = {"embedding": "embedding"}

    def output_specs(self) -> dict[str, PortSpec]:
        return {"embedding": PortSpec("embedding", ("B", 4))}

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
        save_file({"embedding": torch.randn(5, 4, generator=torch.Generator().manual_seed(0))}, str(path))
        return [path]


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
