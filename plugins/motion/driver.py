"""Driver ``motion_file``: a motion file (``emoportraits extract-motion``) -> ``{"motion": Motion}`` batches.

Rows are read lazily with ``safe_open(...).get_slice`` (one batch in memory) and their rotations
checked (a reflection or a non-orthonormal matrix is a corrupt file), the audio stored in
the file (if any) is what the output carries, and the frame rate is the one it was extracted at.
A file from a model with another expression-latent size than this driver's ``expression_dim`` (the
pipeline's), or of a newer format version, is refused at :meth:`MotionFileDriver.probe` with one
line naming both. See :mod:`emoportraits_plugins.motion.format` for the file layout.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import attrs
import torch
from safetensors import safe_open

from emoportraits_core import Motion, PortSpec
from emoportraits_core.errors import InputError
from emoportraits_core.geometry import rotation_6d_to_matrix
from emoportraits_core.interfaces import Driver, StreamInfo
from emoportraits_core.validators import positive

from .format import MOTION_FIELDS, is_motion_file, read_header, write_motion_file

__all__ = ["MotionFileDriver", "MotionFileDriverConfig"]


@attrs.frozen
class MotionFileDriverConfig:
    """Config of :class:`MotionFileDriver`.

    Attributes:
        expression_dim: Z the pipeline's networks read (128 for the release); a file with another Z
            is refused.
    """

    expression_dim: int = attrs.field(default=128, validator=positive)


class MotionFileDriver(Driver):
    """Motion file -> ``{"motion": Motion}`` per batch (rotation, translation, scale, expression)."""

    outputs = {"motion": "motion"}

    def __init__(self, config: MotionFileDriverConfig | None = None) -> None:
        super().__init__(config or MotionFileDriverConfig())

    def output_specs(self) -> dict[str, PortSpec]:
        return {"motion": PortSpec("motion", ("B", self.config.expression_dim))}

    @classmethod
    def accepts(cls, path: str | Path) -> bool:
        """Safetensors files whose metadata says they are motion files."""
        return is_motion_file(path)

    def probe(self, path: str | Path) -> StreamInfo:
        header = read_header(path)
        if header.expression_dim != self.config.expression_dim:
            raise InputError(
                f"{path}: motion extracted with another model ({header.describe_model()}): its expression "
                f"latent has {header.expression_dim} values, this pipeline's networks read "
                f"{self.config.expression_dim}; extract it again with this model's checkpoint"
            )
        audio = None
        if header.has_audio:
            with safe_open(str(path), framework="pt") as f:
                audio = f.get_tensor("audio").numpy().tobytes()
        desc = f"{Path(path).name}: motion of {header.driver or 'a driver'}, {header.num_frames} frames"
        return StreamInfo(header.num_frames, float(header.fps), audio, desc)

    def stream(self, path: str | Path, batch_size: int) -> Iterator[Mapping[str, Any]]:
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        n = self.probe(path).num_frames or 0
        with safe_open(str(path), framework="pt") as f:
            slices = [f.get_slice(k) for k in MOTION_FIELDS]
            for start in range(0, n, batch_size):
                rows = slice(start, min(start + batch_size, n))
                rotation, translation, scale, expression = (s[rows] for s in slices)
                motion = Motion(rotation, translation, expression, scale)
                try:
                    motion.check_rotation()
                except InputError as exc:
                    raise InputError(
                        f"{path}: corrupt motion file, frames {start}..{rows.stop - 1}: {exc}"
                    ) from None
                yield {"motion": motion}

    # -- conformance ----------------------------------------------------------------------------------
    def conformance_sources(self, tmp_dir: str | Path) -> list[Path]:
        """Two motion files of 1 and 7 frames (7: not a multiple of small batch sizes)."""
        return [self._random_file(Path(tmp_dir), n, seed) for seed, n in enumerate((1, 7))]

    def conformance_long_source(self, tmp_dir: str | Path, frames: int) -> Path:
        """A motion file of ``frames`` frames (for the suite's bounded-memory check)."""
        return self._random_file(Path(tmp_dir), frames, 2)

    def _random_file(self, tmp: Path, n: int, seed: int) -> Path:
        gen = torch.Generator().manual_seed(seed)
        z = self.config.expression_dim
        motion = Motion(
            rotation_6d_to_matrix(torch.randn(n, 6, generator=gen)),
            0.05 * torch.randn(n, 3, generator=gen),
            torch.randn(n, z, generator=gen),
            1 + 0.05 * torch.randn(n, 3, generator=gen),
        )
        tmp.mkdir(parents=True, exist_ok=True)
        path = tmp / f"conformance_{n}_{seed}.motion.safetensors"
        write_motion_file(path, motion, fps=25, model={"note": "conformance test source"})
        return path
