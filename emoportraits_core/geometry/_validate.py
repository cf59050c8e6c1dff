"""Input checks shared by the geometry modules (shape and dtype only: cheap, no device sync)."""

from __future__ import annotations

import torch
from torch import Tensor

from ..errors import InputError

__all__: list[str] = []


def _shape_str(dims: tuple[int | str, ...]) -> str:
    return "(" + ", ".join(str(d) for d in dims) + ")"


def check_tensor(
    fn: str, name: str, value: object, trailing: tuple[int, ...], *, lead: int = 0, want: str = ""
) -> Tensor:
    """Check that ``value`` is a floating tensor of shape ``(..., *trailing)``.

    ``lead`` is the number of dims that must exist before ``trailing``; ``want`` overrides the
    expected shape shown in the message. Raises :class:`InputError` naming the function, the
    argument and the shape seen.
    """
    want = want or _shape_str(("...", *trailing))
    if not isinstance(value, Tensor):
        raise InputError(f"{fn}: expected {name} to be a tensor of shape {want}, got {type(value).__name__}")
    n = len(trailing)
    if value.dim() < n + lead or tuple(value.shape[value.dim() - n :]) != trailing:
        raise InputError(f"{fn}: expected {name} of shape {want}, got shape {tuple(value.shape)}")
    if not value.is_floating_point():
        raise InputError(f"{fn}: expected {name} to be a floating tensor, got dtype {value.dtype}")
    return value


def compute_dtype(dtype: torch.dtype) -> torch.dtype:
    """float16/bfloat16 are computed in float32 (their eps would swamp the degeneracy thresholds)."""
    return torch.float32 if torch.finfo(dtype).bits < 32 else dtype
