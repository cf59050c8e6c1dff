"""The inference policy over the graph executor: eval mode, ``inference_mode``, autocast, cached statics.

::

    runner = build(resolved, registry, device="cpu", checkpoint="model.safetensors")
    runner.prepare(source=photo)           # static nodes (the source branch) run once, cached
    for frames in batches:                 # stream nodes run per frame batch
        out = runner(driver=frames)        # {"image": (B, 3, H, W)}

Everything about *how* to run for inference lives here; *what* to run (the graph, its stages, the
checks of inputs) is :class:`~emoportraits_core.pipeline.executor.Executor`, which training uses
with gradients.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator, Mapping
from typing import Any

import torch
from torch import nn

from ..checkpoint import Checkpoint
from ..errors import InputError
from ..pipeline.executor import Executor, build_components, load_weights
from ..pipeline.graph import Wire
from ..pipeline.resolved import ResolvedPipeline
from ..registry import Registry

__all__ = ["InferenceRunner", "build"]


def build(
    resolved: ResolvedPipeline,
    registry: Registry,
    *,
    device: torch.device | str = "cpu",
    dtype: torch.dtype = torch.float32,
    checkpoint: str | os.PathLike[str] | Checkpoint | None = None,
    autocast: torch.dtype | None = None,
    subset_of_checkpoint: bool = False,
) -> InferenceRunner:
    """Instantiate every component once, load weights, move to ``device`` / ``dtype``, eval mode.

    Args:
        resolved: from :func:`~emoportraits_core.pipeline.validate_pipeline`.
        registry: the registry it was validated against.
        device, dtype: where to run; ``dtype`` applies to floating parameters and inputs.
        checkpoint: a project checkpoint (keys ``<component>.<param>``) or None for random init.
        autocast: run under ``torch.autocast`` in this dtype (weights stay in ``dtype``), or None.
        subset_of_checkpoint: the checkpoint may hold components this pipeline does not use.

    Raises:
        CheckpointError: unreadable checkpoint, missing or unexpected component, key or shape.
    """
    modules = build_components(resolved, registry)
    if checkpoint is not None:
        load_weights(resolved, modules, checkpoint, subset=subset_of_checkpoint)
    for module in modules.values():
        module.to(device=device, dtype=dtype)
    return InferenceRunner(Executor(resolved, modules, device, dtype), autocast=autocast)


class InferenceRunner:
    """Runs a built pipeline for inference: :meth:`prepare` the static inputs once, then call per batch.

    Policy: every component in eval mode, calls under ``torch.inference_mode`` and, when
    ``autocast`` is a reduced dtype, under ``torch.autocast`` (components with
    ``full_precision = True`` stay in float32, see the executor).

    Attributes:
        executor: the graph executor (``resolved``, ``components``, ``device``, ``dtype`` are its).
        autocast: the autocast dtype, or None.
    """

    def __init__(self, executor: Executor, *, autocast: torch.dtype | None = None) -> None:
        self.executor = executor
        self.autocast = None if autocast in (None, torch.float32) else autocast
        for module in executor.components.values():
            module.eval()
        self._static: dict[Wire, Any] | None = None

    # -- the executor's attributes ------------------------------------------------------------------
    @property
    def resolved(self) -> ResolvedPipeline:
        return self.executor.resolved

    @property
    def components(self) -> dict[str, nn.Module]:
        return self.executor.components

    @property
    def device(self) -> torch.device:
        return self.executor.device

    @property
    def dtype(self) -> torch.dtype:
        return self.executor.dtype

    # -- public API -------------------------------------------------------------------------------------
    @contextlib.contextmanager
    def policy(self) -> Iterator[None]:
        """``inference_mode`` plus autocast when set: the context every call of this runner uses."""
        with torch.inference_mode(), self._autocast():
            yield

    def prepare(self, **static_inputs: Any) -> None:
        """Run every static node on the non-stream inputs and cache the results (replacing any cache).

        Args:
            **static_inputs: one value per non-stream pipeline input, e.g. ``source=(1, 3, H, W)``.
        """
        self._static = None
        self.start_stream()
        values = self.executor.take_inputs(static_inputs, "static")
        with self.policy():
            self.executor.run_stage("static", values)
        self._static = values

    def __call__(self, *, return_intermediates: bool = False, **stream_inputs: Any) -> Any:
        """Run the stream nodes on one frame batch and return ``{output name: value}``.

        Args:
            return_intermediates: also return ``{"node.port" or input: value}`` for every value
                computed or given (static ones included), as a second item.
            **stream_inputs: one value per stream pipeline input, all with the same batch size B.

        Returns:
            ``outputs`` or ``(outputs, intermediates)``; static outputs of batch 1 are broadcast to B.
        """
        if self._static is None:
            if self.resolved.static_inputs:
                names = ", ".join(f"{n}=..." for n in self.resolved.static_inputs)
                raise InputError(f"{self.resolved.path}: call prepare({names}) before running frame batches")
            self.prepare()
        assert self._static is not None
        values = dict(self._static)
        values.update(self.executor.take_inputs(stream_inputs, "stream"))
        batch = self.executor.batch_size(stream_inputs)
        with self.policy():
            self.executor.run_stage("stream", values, batch)
        outputs = self.executor.outputs(values, batch)
        if return_intermediates:
            return outputs, {str(w): v for w, v in values.items()}
        return outputs

    def run_all(self, *, return_intermediates: bool = False, **inputs: Any) -> Any:
        """:meth:`prepare` with the static inputs, then one call with the stream inputs (if any)."""
        static = {k: v for k, v in inputs.items() if k not in self.resolved.stream_inputs}
        stream = {k: v for k, v in inputs.items() if k in self.resolved.stream_inputs}
        self.prepare(**static)
        return self(return_intermediates=return_intermediates, **stream)

    def start_stream(self) -> None:
        """Begin a new stream: every component with ``stateful_stream`` forgets the last one (called
        by :meth:`prepare` too; the stream batches then come in order)."""
        for component in self.components.values():
            if getattr(component, "stateful_stream", False):
                component.reset_stream()

    def reset(self) -> None:
        """Drop the cached static values (the next call needs :meth:`prepare` again)."""
        self._static = None

    def check_stream_inputs(self, stream_inputs: Mapping[str, Any]) -> None:
        """Check one batch of stream inputs (names, types, shapes) without running anything."""
        self.executor.check_inputs(stream_inputs, "stream")

    def _autocast(self) -> contextlib.AbstractContextManager:
        if self.autocast is None:
            return contextlib.nullcontext()
        return torch.autocast(device_type=self.device.type, dtype=self.autocast)
