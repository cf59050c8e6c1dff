"""The motion file: a driving performance as per-frame motion, without the performer's face.

``emoportraits extract-motion drive.mp4 -o perf.motion.safetensors`` writes one; ``emoportraits
animate photo.jpg perf.motion.safetensors -o out.mp4`` plays it on any photo, with no face tracking
and no motion encoder. It is one safetensors file (readable anywhere, never unpickled):

tensors (float32, N = frames)
    ``rotation (N, 3, 3)``, ``translation (N, 3)``, ``scale (N, 3)``, ``expression (N, Z)``: what the
    driver branch of the animate graph reads per frame (the warp embedding of the release takes the
    expression latent and the *source's* identity, so nothing else of the driver is needed);
    ``audio (bytes,)`` uint8, only if the driver had audio: the audio track **copied in** (AAC
    packets remuxed as they were, anything else transcoded to AAC) as the bytes of an audio-only
    MP4, cut to the frames kept. The file is self-contained: it can be shared or moved alone.

metadata (strings)
    ``format = "emoportraits.motion"``, ``format_version`` (this module writes and reads
    :data:`FORMAT_VERSION`; a newer one is refused with a message to upgrade), ``fps`` (exact
    fraction, e.g. ``"30000/1001"``), ``num_frames``, ``expression_dim``, ``model`` (JSON: the
    pipeline, the networks' registry names and configs, the weights file or ``"random weights
    (seed S)"``, and a fingerprint of the networks' weights), ``driver`` (the file it was extracted
    from, name only), ``has_audio``, ``emoportraits`` (the version that wrote it).

Rows are read lazily (``safe_open(...).get_slice``), so playing a long file holds one batch.
"""

from __future__ import annotations

import json
import os
from fractions import Fraction
from pathlib import Path
from typing import Any

import attrs
import numpy as np
import torch
from safetensors import SafetensorError, safe_open
from safetensors.torch import save_file
from torch import Tensor

from emoportraits_core import __version__
from emoportraits_core.errors import InputError
from emoportraits_core.io.atomic import atomic_output
from emoportraits_core.io.video_writer import as_rate
from emoportraits_core.types import Motion

__all__ = [
    "FORMAT",
    "FORMAT_VERSION",
    "MOTION_FIELDS",
    "MotionFileHeader",
    "is_motion_file",
    "read_header",
    "write_motion_file",
]

FORMAT = "emoportraits.motion"
FORMAT_VERSION = 1
MOTION_FIELDS = ("rotation", "translation", "scale", "expression")
SUFFIX = ".motion.safetensors"


@attrs.frozen
class MotionFileHeader:
    """The metadata of a motion file (see the module docstring).

    Attributes:
        num_frames: N, frames stored.
        fps: frame rate as an exact fraction.
        expression_dim: Z, size of the expression latent.
        model: how the motion was extracted: ``pipeline``, ``weights`` (file name or random seed),
            ``networks`` (key -> registry name and config) and ``fingerprint`` (of their weights).
        driver: name of the file it was extracted from.
        has_audio: whether an ``audio`` tensor is stored.
        version: the format version of the file.
    """

    num_frames: int
    fps: Fraction
    expression_dim: int
    model: dict[str, Any] = attrs.field(factory=dict)
    driver: str = ""
    has_audio: bool = False
    version: int = FORMAT_VERSION

    def describe_model(self) -> str:
        """One line: ``emoportraits_motion_encoder (Z=128), model.safetensors``."""
        names = [n.get("name", "?") for n in self.model.get("networks", {}).values()]
        encoder = next((n for n in names if "motion" in n), names[0] if names else "an unknown encoder")
        return f"{encoder} (Z={self.expression_dim}), {self.model.get('weights', 'unknown weights')}"

    def metadata(self) -> dict[str, str]:
        return {
            "format": FORMAT,
            "format_version": str(self.version),
            "fps": f"{self.fps.numerator}/{self.fps.denominator}",
            "num_frames": str(self.num_frames),
            "expression_dim": str(self.expression_dim),
            "model": json.dumps(self.model, sort_keys=True),
            "driver": self.driver,
            "has_audio": "1" if self.has_audio else "0",
            "emoportraits": __version__,
        }


def is_motion_file(path: str | os.PathLike[str]) -> bool:
    """True if ``path`` is a safetensors file whose metadata says it is a motion file (any version)."""
    try:
        with safe_open(str(path), framework="pt") as f:
            return (f.metadata() or {}).get("format") == FORMAT
    except (SafetensorError, OSError, ValueError, RuntimeError):
        return False


def read_header(path: str | os.PathLike[str]) -> MotionFileHeader:
    """Read and check the header of a motion file (no tensor is loaded).

    Raises:
        InputError: not a readable safetensors file, not a motion file, a newer format version,
            or tensors missing or of the wrong shape.
    """
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: no such motion file")
    try:
        with safe_open(str(path), framework="pt") as f:
            meta = dict(f.metadata() or {})
            shapes = {k: tuple(f.get_slice(k).get_shape()) for k in f.keys()}  # noqa: SIM118
    except (SafetensorError, OSError, ValueError, RuntimeError) as exc:
        raise InputError(
            f"{path}: not a readable motion file ({exc}); expected a file of `emoportraits extract-motion`"
        ) from None
    if meta.get("format") != FORMAT:
        raise InputError(
            f"{path}: a safetensors file but not a motion file (format={meta.get('format')!r}); "
            "expected a file written by `emoportraits extract-motion`"
        )
    try:
        version = int(meta["format_version"])
        header = MotionFileHeader(
            num_frames=int(meta["num_frames"]),
            fps=Fraction(meta["fps"]),
            expression_dim=int(meta["expression_dim"]),
            model=json.loads(meta.get("model", "{}")),
            driver=meta.get("driver", ""),
            has_audio=meta.get("has_audio") == "1",
            version=version,
        )
    except (KeyError, ValueError, ZeroDivisionError) as exc:
        raise InputError(f"{path}: corrupt motion file metadata ({type(exc).__name__}: {exc})") from None
    if version > FORMAT_VERSION:
        raise InputError(
            f"{path}: motion file format {version} was written by a newer emoportraits "
            f"({meta.get('emoportraits', '?')}); this one ({__version__}) reads format {FORMAT_VERSION}: upgrade it"
        )
    _check_shapes(path, header, shapes)
    return header


def _check_shapes(path: Path, header: MotionFileHeader, shapes: dict[str, tuple[int, ...]]) -> None:
    n, z = header.num_frames, header.expression_dim
    want = {"rotation": (n, 3, 3), "translation": (n, 3), "scale": (n, 3), "expression": (n, z)}
    for name, shape in want.items():
        if shapes.get(name) != shape:
            got = shapes.get(name, "missing")
            raise InputError(f"{path}: corrupt motion file: tensor '{name}' is {got}, expected {shape}")
    if header.has_audio and "audio" not in shapes:
        raise InputError(f"{path}: corrupt motion file: the metadata says it has audio but it has none")


def write_motion_file(
    path: str | os.PathLike[str],
    motion: Motion,
    *,
    fps: float | Fraction,
    model: dict[str, Any],
    driver: str = "",
    audio: bytes | None = None,
) -> MotionFileHeader:
    """Write ``motion`` (N frames) atomically as a motion file; returns its header."""
    n = motion.batch_size
    tensors: dict[str, Tensor] = {
        "rotation": motion.rotation,
        "translation": motion.translation,
        "scale": motion.scale_or_ones(),
        "expression": motion.expression,
    }
    tensors = {k: v.detach().float().cpu().contiguous() for k, v in tensors.items()}
    if audio:
        tensors["audio"] = torch.from_numpy(np.frombuffer(audio, dtype=np.uint8).copy())
    header = MotionFileHeader(
        num_frames=n,
        fps=as_rate(fps),
        expression_dim=int(motion.expression.shape[1]),
        model=model,
        driver=driver,
        has_audio=bool(audio),
    )
    with atomic_output(path) as tmp:
        save_file(tensors, str(tmp), metadata=header.metadata())
    return header
