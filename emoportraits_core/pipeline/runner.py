"""Building and running a validated pipeline.

::

    spec = load_pipeline("animate", ["components.warp.config.preset=tiny"])
    runner = build(validate_pipeline(spec, registry), registry, device="cpu")
    runner.prepare(source=photo)           # static nodes (the source branch) run once, cached
    for frames in batches:                 # stream nodes run per frame batch
        out = runner(driver=frames)        # {"image": (B, 3, H, W)}

Static values of batch 1 are broadcast (a view, no copy) to the stream batch where they meet a
stream value. Each component is built once, however many nodes call it (shared weights).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

import torch
from torch import Tensor, nn

from ..checkpoint import Checkpoint, load_into, read_checkpoint, split_by_component
from ..errors import CheckpointError, InputError, did_you_mean
from ..ports import PORT_TYPES
from ..registry import Registry
from ..types import Appearance, Motion, batch_size_of, broadcast_batch
from .graph import Wire
from .resolved import ResolvedPipeline

__all__ = ["PipelineRunner", "build"]


def build(
    resolved: ResolvedPipeline,
    registry: Registry,
    *,
    device: torch.device | str = "cpu",
    dtype: torch.dtype = torch.float32,
    checkpoint: str | os.PathLike[str] | Checkpoint | None = None,
) -> PipelineRunner:
    """Instantiate every component once, load weights, move to ``device`` / ``dtype``, eval mode.

    Args:
        resolved: from :func:`validate_pipeline`.
        registry: the registry it was validated against.
        device, dtype: where to run; ``dtype`` applies to floating parameters and inputs.
        checkpoint: a project checkpoint (keys ``<component>.<param>``) or None for random init.
            Every component with parameters or buffers must have weights in it, and every
            component in it must be in the pipeline.

    Raises:
        CheckpointError: unreadable checkpoint, missing or unexpected component, key or shape.
    """
    modules: dict[str, nn.Module] = {}
    for key, comp in resolved.components.items():
        modules[key] = registry.create(comp.entry.kind, comp.entry.name, config=comp.config)
    if checkpoint is not None:
        _load_weights(resolved, modules, checkpoint)
    for module in modules.values():
        module.to(device=device, dtype=dtype).eval()
    return PipelineRunner(resolved, modules, torch.device(device), dtype)


def _load_weights(
    resolved: ResolvedPipeline,
    modules: Mapping[str, nn.Module],
    checkpoint: str | os.PathLike[str] | Checkpoint,
) -> None:
    ckpt = checkpoint if isinstance(checkpoint, Checkpoint) else read_checkpoint(checkpoint)
    shown = "checkpoint" if isinstance(checkpoint, Checkpoint) else os.fspath(checkpoint)
    states = split_by_component(ckpt.tensors)
    for name in states:
        if name not in modules:
            raise CheckpointError(
                f"{shown}: holds weights for component '{name}', which is not in {resolved.path}; "
                f"pipeline components: {', '.join(modules)}{did_you_mean(name, modules)}"
            )
    for key, module in modules.items():
        if key not in states:
            if module.state_dict():
                raise CheckpointError(
                    f"{shown}: no weights for component '{key}' of {resolved.path} "
                    f"(expected keys '{key}.<param>'); components in the checkpoint: "
                    f"{', '.join(states) or '(none)'}"
                )
            continue
        load_into(module, states[key], where=f"{shown} [component {key}]")


class PipelineRunner:
    """Runs a built pipeline: :meth:`prepare` the static inputs once, then call per frame batch.

    Attributes:
        resolved: the validated pipeline.
        components: component key -> built module (eval mode, on ``device``).
        device, dtype: where inputs are moved before use.
    """

    def __init__(
        self,
        resolved: ResolvedPipeline,
        components: Mapping[str, nn.Module],
        device: torch.device,
        dtype: torch.dtype,
    ) -> None:
        self.resolved = resolved
        self.components = dict(components)
        self.device, self.dtype = device, dtype
        self._static: dict[Wire, Any] | None = None

    # -- public API -------------------------------------------------------------------------------------
    def prepare(self, **static_inputs: Any) -> None:
        """Run every static node on the non-stream inputs and cache the results (replacing any cache).

        Args:
            **static_inputs: one value per non-stream pipeline input, e.g. ``source=(1, 3, H, W)``.
        """
        self._static = None
        values = self._take_inputs(static_inputs, self.resolved.static_inputs, "prepare")
        with torch.inference_mode():
            self._run_stage("static", values, None)
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
        values.update(self._take_inputs(stream_inputs, self.resolved.stream_inputs, "the runner call"))
        batch = self._batch_size(stream_inputs)
        with torch.inference_mode():
            self._run_stage("stream", values, batch)
        outputs = {name: _broadcast(values[wire], batch) for name, wire in self.resolved.outputs.items()}
        if return_intermediates:
            return outputs, {str(w): v for w, v in values.items()}
        return outputs

    def run_all(self, *, return_intermediates: bool = False, **inputs: Any) -> Any:
        """:meth:`prepare` with the static inputs, then one call with the stream inputs (if any)."""
        static = {k: v for k, v in inputs.items() if k not in self.resolved.stream_inputs}
        stream = {k: v for k, v in inputs.items() if k in self.resolved.stream_inputs}
        self.prepare(**static)
        return self(return_intermediates=return_intermediates, **stream)

    def reset(self) -> None:
        """Drop the cached static values (the next call needs :meth:`prepare` again)."""
        self._static = None

    # -- internals ----------------------------------------------------------------------------------------
    def _take_inputs(self, given: Mapping[str, Any], expected: list[str], where: str) -> dict[Wire, Any]:
        path = self.resolved.path
        for name in given:
            if name not in expected:
                listing = ", ".join(expected) or "(none)"
                other = " (it is given elsewhere: static inputs to prepare(), stream inputs per call)"
                hint = other if name in self.resolved.inputs else did_you_mean(name, expected)
                raise InputError(f"{path}: unexpected input '{name}' for {where}; expected: {listing}{hint}")
        values: dict[Wire, Any] = {}
        for name in expected:
            if name not in given:
                spec = self.resolved.inputs[name]
                raise InputError(f"{path}: missing input '{name}' ({spec.type}) for {where}")
            values[Wire(name)] = self._to_device(name, given[name])
        return values

    def _to_device(self, name: str, value: Any) -> Any:
        type_ = self.resolved.inputs[name].type
        expected = {"motion": Motion, "appearance": Appearance}.get(type_, Tensor)
        checked = type_ in PORT_TYPES and type_ != "features"  # a plugin's own types: unchecked
        if checked and not isinstance(value, expected):
            raise InputError(
                f"{self.resolved.path}: input '{name}' of type {type_} expects a {expected.__name__}, "
                f"got {type(value).__name__}"
            )
        return _move(value, self.device, self.dtype)

    def _batch_size(self, stream_inputs: Mapping[str, Any]) -> int | None:
        sizes = {name: batch_size_of(v) for name, v in stream_inputs.items()}
        found = {s for s in sizes.values() if s is not None}
        if len(found) > 1:
            listing = ", ".join(f"{k}: {v}" for k, v in sizes.items())
            raise InputError(f"{self.resolved.path}: stream inputs differ in batch size ({listing})")
        return found.pop() if found else None

    def _run_stage(self, stage: str, values: dict[Wire, Any], batch: int | None) -> None:
        for key in self.resolved.nodes_in_stage(stage):
            node = self.resolved.nodes[key]
            kwargs = {port: _broadcast(values[wire], batch) for port, wire in node.inputs.items()}
            result = self._call(self.components[node.component], kwargs)
            missing = [p for p in node.outputs if p not in result]
            if missing:
                raise RuntimeError(
                    f"node '{key}' ({type(self.components[node.component]).__name__}) returned "
                    f"{sorted(result)} but declares outputs {list(node.outputs)}"
                )
            for port in node.outputs:
                values[Wire(key, port)] = result[port]

    def _call(self, component: nn.Module, kwargs: dict[str, Any]) -> dict[str, Any]:
        """``component.run(**kwargs)``, in float32 if it asks for full precision under autocast."""
        device_type = self.device.type
        if getattr(component, "full_precision", False) and torch.is_autocast_enabled(device_type):
            with torch.autocast(device_type, enabled=False):
                return component.run(**{k: _move(v, self.device, torch.float32) for k, v in kwargs.items()})
        return component.run(**kwargs)


def _broadcast(value: Any, batch: int | None) -> Any:
    return value if batch is None else broadcast_batch(value, batch)


def _move(value: Any, device: torch.device, dtype: torch.dtype) -> Any:
    if isinstance(value, Tensor):
        return value.to(device=device, dtype=dtype) if value.is_floating_point() else value.to(device)
    if isinstance(value, Motion | Appearance):
        return value.map(lambda t: _move(t, device, dtype))
    if isinstance(value, list | tuple):
        return type(value)(_move(v, device, dtype) for v in value)
    return value
