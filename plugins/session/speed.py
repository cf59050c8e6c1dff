"""Speed settings that must not change float32 results beyond rounding.

- **Exact float32.** In float32 the convolutions run in full IEEE precision: on CUDA, TF32
  (torch's default for cuDNN convolutions) is switched off. On the CPU, channels-last layout is
  not used in float32 either: oneDNN's channels-last kernels moved the appearance encoder's output
  by 8e-4 of its range (measured against the parity reference, whose tolerance is 5e-4).
- **Reduced precision** (bfloat16 / float16 autocast, already approximate) uses channels-last 2D
  convolutions: on the 2-core CPU the release renderer ran about 2.3x faster in bfloat16 than in
  float32 with it (benchmarks/README.md). The 3D networks keep the default layout: channels-last-3d
  made G3D 24 % slower on that CPU.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

import torch
from torch import nn

__all__ = ["compile_stream_components", "configure_precision", "to_channels_last"]

log = logging.getLogger(__name__)


def to_channels_last(modules: Iterable[nn.Module]) -> None:
    """Put every Conv2d weight of ``modules`` in channels-last layout, in place."""
    for module in modules:
        for sub in module.modules():
            if isinstance(sub, nn.Conv2d):
                sub.to(memory_format=torch.channels_last)


def configure_precision(modules: Iterable[nn.Module], device: torch.device, dtype: torch.dtype) -> None:
    """Exact float32 (no TF32, default layout), or channels-last under reduced precision."""
    if dtype == torch.float32:
        if device.type == "cuda":
            torch.backends.cuda.matmul.allow_tf32 = False
            torch.backends.cudnn.allow_tf32 = False
        return
    to_channels_last(modules)


def compile_stream_components(runner, *, mode: str | None = None) -> list[str]:
    """``torch.compile`` the forward of every component that runs per frame batch, in place.

    On CUDA the default mode is ``"reduce-overhead"`` (CUDA graphs); on the CPU ``"default"``.
    Shapes are compiled static: callers keep the batch size fixed (the Animator pads the last
    batch). A component that fails to compile (e.g. TorchDynamo cannot trace the attrs ``Motion``
    that the motion encoder builds) falls back to eager, with a warning. Returns the names of the
    components set up for compilation.
    """
    device = runner.device
    mode = mode or ("reduce-overhead" if device.type == "cuda" else "default")
    names = sorted({runner.resolved.nodes[n].component for n in runner.resolved.nodes_in_stage("stream")})
    for name in names:
        _compile_forward(runner.components[name], name, mode)
    return names


def _compile_forward(module: nn.Module, name: str, mode: str) -> None:
    eager = module.forward
    compiled = torch.compile(eager, mode=mode, dynamic=False)

    def forward(*args, **kwargs):
        try:
            return compiled(*args, **kwargs)
        except Exception as exc:  # a tracing failure: keep this component eager from now on
            log.warning("torch.compile of %s failed (%s); running it eagerly", name, type(exc).__name__)
            module.forward = eager
            return eager(*args, **kwargs)

    module.forward = forward
