"""Core data types passed between components.

All are frozen attrs classes whose tensor shapes are checked when they are built; a wrong shape
raises :class:`~emoportraits_core.errors.InputError` naming the field and the shape seen.

Conventions (see :mod:`emoportraits_core.geometry` for the geometry ones):

- images are float tensors ``(B, 3, H, W)``, RGB, values in ``[0, 1]``, no mean/std normalisation;
- rotations are ``(B, 3, 3)`` matrices acting on column vectors in the volume's (u, v, w) =
  (x -> W, y -> H, z -> D) frame;
- a batch dimension ``B`` comes first everywhere and agrees between the fields of one object.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import attrs
import torch
from torch import Tensor

from .errors import InputError
from .shapes import check_shapes

__all__ = ["Appearance", "Frames", "Motion", "batch_size_of", "broadcast_batch", "concat_batches"]


def _tensor(value: Any) -> Tensor:
    if not isinstance(value, Tensor):
        raise InputError(f"expected a torch.Tensor, got {type(value).__name__}")
    return value


@attrs.frozen
class Motion:
    """Head motion of a batch of frames.

    Attributes:
        rotation: ``(B, 3, 3)`` rotation matrices (orthonormal, det +1).
        translation: ``(B, 3)`` translation in normalised volume units (the grid spans ``[-1, 1]``).
        expression: ``(B, Z)`` expression latent (``Z = 128`` for the released model).
        scale: ``(B, 3)`` anisotropic head scale, or None for unit scale.

    Construction checks shapes only: reading values would cost a host-device sync per batch on
    CUDA. Where motions enter the program (file readers, encoders under test, the conformance
    suite), call :meth:`check_rotation`, which raises on a reflection or a non-orthonormal matrix.
    """

    rotation: Tensor = attrs.field(converter=_tensor)
    translation: Tensor = attrs.field(converter=_tensor)
    expression: Tensor = attrs.field(converter=_tensor)
    scale: Tensor | None = attrs.field(default=None)

    def __attrs_post_init__(self) -> None:
        check_shapes(
            "Motion",
            {
                "rotation": (self.rotation, ("B", 3, 3)),
                "translation": (self.translation, ("B", 3)),
                "expression": (self.expression, ("B", "Z")),
                "scale": (self.scale, ("B", 3)),
            },
            exc=InputError,
        )

    @property
    def batch_size(self) -> int:
        return int(self.rotation.shape[0])

    def __len__(self) -> int:
        return self.batch_size

    def check_rotation(self, atol: float = 1e-4) -> None:
        """Raise :class:`InputError` unless every rotation is a proper rotation: finite,
        ``|R^T R - I| <= atol`` entrywise and ``|det R - 1| <= atol`` (a reflection has det -1).

        Reads the values (one host-device sync on CUDA), so it is never called on construction;
        computed in float64 on the CPU copy. ``atol`` suits float32; pass ~1e-2 for bfloat16.
        """
        r = self.rotation.detach().to("cpu", torch.float64)
        if r.numel() == 0:
            return
        eye = torch.eye(3, dtype=torch.float64)
        gram_err = (r.transpose(-1, -2) @ r - eye).abs().amax((-1, -2))
        det = torch.linalg.det(r)
        bad = ~(torch.isfinite(r).all(-1).all(-1) & (gram_err <= atol) & ((det - 1).abs() <= atol))
        if bool(bad.any()):
            i = int(bad.nonzero()[0, 0])
            raise InputError(
                f"Motion.rotation[{i}] is not a rotation: det {float(det[i]):.4g} (expected 1), "
                f"max |R^T R - I| {float(gram_err[i]):.3g} (atol {atol:g}); {int(bad.sum())} of "
                f"{r.shape[0]} matrices fail"
            )

    def scale_or_ones(self) -> Tensor:
        """``(B, 3)`` scale, ones where :attr:`scale` is None."""
        if self.scale is not None:
            return self.scale
        return torch.ones_like(self.translation)

    @classmethod
    def from_6d(
        cls, rotation_6d: Tensor, translation: Tensor, expression: Tensor, scale: Tensor | None = None
    ) -> Motion:
        """Build from a ``(B, 6)`` rotation (Gram-Schmidt, Zhou et al. 2019)."""
        from .geometry import rotation_6d_to_matrix

        return cls(rotation_6d_to_matrix(rotation_6d), translation, expression, scale)

    @classmethod
    def from_euler(
        cls, euler: Tensor, translation: Tensor, expression: Tensor, scale: Tensor | None = None
    ) -> Motion:
        """Build from ``(B, 3)`` Euler angles (yaw, pitch, roll) in radians, released convention."""
        from .geometry import euler_to_matrix

        return cls(euler_to_matrix(euler), translation, expression, scale)

    def to_6d(self) -> Tensor:
        """``(B, 6)``: the first two columns of the rotation."""
        from .geometry import matrix_to_rotation_6d

        return matrix_to_rotation_6d(self.rotation)

    def to_euler(self) -> Tensor:
        """``(B, 3)`` yaw, pitch, roll in radians (released convention)."""
        from .geometry import matrix_to_euler

        return matrix_to_euler(self.rotation)

    def map(self, fn: Any) -> Motion:
        """Apply ``fn`` to every tensor field (e.g. ``lambda t: t.to(device)``)."""
        return Motion(
            fn(self.rotation),
            fn(self.translation),
            fn(self.expression),
            None if self.scale is None else fn(self.scale),
        )

    def to(self, *args: Any, **kwargs: Any) -> Motion:
        return self.map(lambda t: t.to(*args, **kwargs))

    def __getitem__(self, index: int | slice | Tensor) -> Motion:
        if isinstance(index, int):
            index = slice(index, index + 1)
        return self.map(lambda t: t[index])


@attrs.frozen
class Appearance:
    """Appearance of a source image.

    Attributes:
        volume: ``(B, C, D, H, W)`` appearance feature volume (96 x 16 x 64 x 64 for the release).
        descriptor: ``(B, E, ...)`` global identity descriptor e_s (512 x 4 x 4 for the release).
    """

    volume: Tensor = attrs.field(converter=_tensor)
    descriptor: Tensor = attrs.field(converter=_tensor)

    def __attrs_post_init__(self) -> None:
        check_shapes(
            "Appearance",
            {
                "volume": (self.volume, ("B", "C", "D", "H", "W")),
                "descriptor": (self.descriptor, ("B", "E", ...)),
            },
            exc=InputError,
        )

    @property
    def batch_size(self) -> int:
        return int(self.volume.shape[0])

    def map(self, fn: Any) -> Appearance:
        return Appearance(fn(self.volume), fn(self.descriptor))

    def to(self, *args: Any, **kwargs: Any) -> Appearance:
        return self.map(lambda t: t.to(*args, **kwargs))


@attrs.frozen
class Frames:
    """A batch of video frames or images.

    Attributes:
        images: ``(B, 3, H, W)`` float, RGB, values in ``[0, 1]``.
        start: index of the first frame in its stream (0 for a single image).
    """

    images: Tensor = attrs.field(converter=_tensor)
    start: int = 0

    def __attrs_post_init__(self) -> None:
        check_shapes("Frames", {"images": (self.images, ("B", 3, "H", "W"))}, exc=InputError)
        if not self.images.is_floating_point():
            raise InputError(
                f"Frames.images: expected a float tensor in [0, 1], got dtype {self.images.dtype}"
            )

    @property
    def batch_size(self) -> int:
        return int(self.images.shape[0])

    def __len__(self) -> int:
        return self.batch_size


def batch_size_of(value: Any) -> int | None:
    """Batch size of a tensor (first dim), Motion, Appearance or Frames; None for anything else."""
    if isinstance(value, Tensor):
        return int(value.shape[0]) if value.dim() > 0 else None
    if isinstance(value, Motion | Appearance | Frames):
        return value.batch_size
    return None


def broadcast_batch(value: Any, batch: int) -> Any:
    """Expand a batch-1 value to ``batch`` along its first dim (a view, no copy); others unchanged."""
    size = batch_size_of(value)
    if size != 1 or batch == 1:
        return value
    expand = lambda t: t.expand(batch, *t.shape[1:])  # noqa: E731
    if isinstance(value, Tensor):
        return expand(value)
    if isinstance(value, Frames):
        return Frames(expand(value.images), value.start)
    return value.map(expand)


def concat_batches(values: Sequence[Any]) -> Any:
    """Concatenate tensors, Motions or Appearances along the batch dim."""
    first = values[0]
    if isinstance(first, Tensor):
        return torch.cat(list(values))
    if isinstance(first, Motion):
        scale = None if first.scale is None else torch.cat([v.scale_or_ones() for v in values])
        return Motion(
            torch.cat([v.rotation for v in values]),
            torch.cat([v.translation for v in values]),
            torch.cat([v.expression for v in values]),
            scale,
        )
    if isinstance(first, Appearance):
        return Appearance(torch.cat([v.volume for v in values]), torch.cat([v.descriptor for v in values]))
    if isinstance(first, Frames):
        return Frames(torch.cat([v.images for v in values]), first.start)
    raise TypeError(f"cannot concatenate {type(first).__name__}")
