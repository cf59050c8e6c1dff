"""A toy driver: streams the Motion stored per frame in a safetensors file.

File layout: ``rotation (N, 3, 3)``, ``translation (N, 3)``, ``expression (N, Z)``. Batches are read
with ``safe_open(...).get_slice``, so a stream never loads the whole file.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import attrs
import torch
from safetensors import safe_open
from safetensors.torch import save_file

from emoportraits_core import InputError, Motion, PortSpec
from emoportraits_core.interfaces import Driver, StreamInfo


@attrs.frozen
class ToyMotionFileConfig:
    """Config of :class:`ToyMotionFileDriver`."""

    expression_dim: int = 8
    fps: float = 25.0


class ToyMotionFileDriver(Driver):
    """Motion file (safetensors, one row per frame) -> ``{"motion": Motion}`` batches."""

    outputs = {"motion": "motion"}

    def output_specs(self) -> dict[str, PortSpec]:
        return {"motion": PortSpec("motion", ("B", self.config.expression_dim))}

    def probe(self, source: str | Path) -> StreamInfo:
        try:
            with safe_open(str(source), framework="pt") as f:
                n = f.get_slice("rotation").get_shape()[0]
        except Exception as exc:
            raise InputError(f"{source}: not a motion file ({exc})") from None
        return StreamInfo(num_frames=int(n), fps=self.config.fps, description=Path(source).name)

    def stream(self, source: str | Path, batch_size: int) -> Iterator[Mapping[str, Any]]:
        n = self.probe(source).num_frames or 0
        with safe_open(str(source), framework="pt") as f:
            for start in range(0, n, batch_size):
                rows = slice(start, min(start + batch_size, n))
                r, t, e = (f.get_slice(k)[rows] for k in ("rotation", "translation", "expression"))
                motion = Motion(r, t, e)
                try:
                    motion.check_rotation()  # a file is an entry point: no reflections get in
                except InputError as exc:
                    raise InputError(f"{source}: frames {rows.start}-{rows.stop - 1}: {exc}") from None
                yield {"motion": motion}

    def conformance_sources(self, tmp_dir: Path) -> list[Path]:
        """For the conformance suite: two motion files of 1 and 7 frames (7: not a multiple of small
        batch sizes) under ``tmp_dir``."""
        paths = []
        gen = torch.Generator().manual_seed(0)
        for n in (1, 7):
            q, _ = torch.linalg.qr(torch.randn(n, 3, 3, generator=gen))
            rot = q * torch.linalg.det(q)[:, None, None]  # det +1
            tensors = {
                "rotation": rot.contiguous(),
                "translation": 0.05 * torch.randn(n, 3, generator=gen),
                "expression": torch.randn(n, self.config.expression_dim, generator=gen),
            }
            paths.append(Path(tmp_dir) / f"motion_{n}.safetensors")
            save_file(tensors, str(paths[-1]))
        return paths

    def conformance_long_source(self, tmp_dir: Path, frames: int) -> Path:
        """For the conformance suite's memory check: a motion file of ``frames`` frames (identity
        rotations, zero translations, small random expressions) under ``tmp_dir``."""
        gen = torch.Generator().manual_seed(0)
        tensors = {
            "rotation": torch.eye(3).expand(frames, 3, 3).contiguous(),
            "translation": torch.zeros(frames, 3),
            "expression": 0.1 * torch.randn(frames, self.config.expression_dim, generator=gen),
        }
        path = Path(tmp_dir) / f"motion_long_{frames}.safetensors"
        save_file(tensors, str(path))
        return path
