"""Where and in which precision to compute: one device resolver and one dtype table for every command.

Devices: ``"auto"`` (CUDA when available, else the CPU), ``"cpu"``, ``"cuda"``, ``"cuda:N"``.
Dtypes: ``"float32"`` (exact; TF32 is switched off by the callers that promise exactness),
``"bfloat16"`` and ``"float16"`` (run under autocast with float32 weights).
"""

from __future__ import annotations

import torch

from .errors import InputError, did_you_mean

__all__ = ["DTYPES", "resolve_device", "resolve_dtype"]

#: name -> dtype, in the order the command line lists them.
DTYPES: dict[str, torch.dtype] = {
    "float32": torch.float32,
    "bfloat16": torch.bfloat16,
    "float16": torch.float16,
}


def resolve_device(name: str | torch.device, *, option: str = "--device") -> torch.device:
    """``"auto"`` -> cuda if available else cpu; an unknown name or a missing GPU is an InputError."""
    if isinstance(name, torch.device):
        name = str(name)
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        device = torch.device(name)
    except RuntimeError:
        raise InputError(f"{option} {name}: not a device; expected auto, cpu, cuda or cuda:N") from None
    if device.type == "cuda":
        if not torch.cuda.is_available():
            raise InputError(f"{option} {name}: no CUDA device is available here; use {option} cpu or auto")
        if device.index is not None and device.index >= torch.cuda.device_count():
            raise InputError(f"{option} {name}: this machine has {torch.cuda.device_count()} CUDA device(s)")
    elif device.type != "cpu":
        raise InputError(f"{option} {name}: unsupported device type '{device.type}'; expected cpu or cuda")
    return device


def resolve_dtype(name: str | torch.dtype, *, option: str = "--dtype") -> torch.dtype:
    """``"bfloat16"`` -> ``torch.bfloat16``; an unknown name is an InputError listing the valid ones."""
    if isinstance(name, torch.dtype):
        if name not in DTYPES.values():
            raise InputError(f"{option} {name}: expected one of {', '.join(DTYPES)}")
        return name
    if name not in DTYPES:
        raise InputError(f"{option} {name}: expected one of {', '.join(DTYPES)}{did_you_mean(name, DTYPES)}")
    return DTYPES[name]
