"""Reading the released EMOPortraits files (torch pickles) safely.

Both files are bare state dicts (key -> tensor) written with ``torch.save``; they are read with
``torch.load(weights_only=True)``, so no code from the file runs. A ``{"state_dict": ...}`` or
``{"model": ...}`` wrapper is unwrapped. A missing, truncated or non-checkpoint file raises
:class:`CheckpointError` naming the file and what was expected.
"""

from __future__ import annotations

import os
import zipfile
from pathlib import Path

import torch
from torch import Tensor

from emoportraits_core.errors import CheckpointError

__all__ = ["read_state_dict"]

_WRAPPERS = ("state_dict", "model", "model_state_dict", "net")


def read_state_dict(path: str | os.PathLike[str], *, what: str) -> dict[str, Tensor]:
    """Read a bare (or simply wrapped) state dict; ``what`` names the expected file in errors."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"{path}: no such file; expected {what}")
    try:
        obj = torch.load(path, map_location="cpu", weights_only=True, mmap=_is_zip(path))
    except (
        Exception
    ) as exc:  # torch.load raises many types on bad bytes (RuntimeError, EOFError, IndexError, ...)
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise CheckpointError(
            f"{path}: not a readable PyTorch checkpoint (truncated or corrupt? {reason[:160]}); expected {what}"
        ) from None
    if isinstance(obj, dict):
        for key in _WRAPPERS:
            if key in obj and isinstance(obj[key], dict):
                obj = obj[key]
                break
    if not isinstance(obj, dict) or not obj:
        raise CheckpointError(f"{path}: holds a {type(obj).__name__}, not a state dict; expected {what}")
    bad = [k for k, v in obj.items() if not isinstance(k, str) or not isinstance(v, Tensor)]
    if bad:
        raise CheckpointError(
            f"{path}: entry {bad[0]!r} is not a tensor; expected {what} (a state dict of tensors)"
        )
    return dict(obj)


def _is_zip(path: Path) -> bool:
    """mmap only works for the zip format (torch >= 1.6 files); old pickles load without it."""
    try:
        return zipfile.is_zipfile(path)
    except OSError:
        return False
