"""The graph executor: build a validated pipeline's components and run one stage of its graph.

::

    modules = build_components(resolved, registry)       # one module per [components.X]
    load_weights(resolved, modules, "model.safetensors")  # optional; strict
    ex = Executor(resolved, modules, device="cpu")
    values = ex.take_inputs({"source": photo}, "static")  # checked, moved to the device
    ex.run_stage("static", values)                        # the source branch, once
    values.update(ex.take_inputs({"driver": frames}, "stream"))
    ex.run_stage("stream", values, batch=frames.shape[0])
    out = ex.outputs(values, batch=frames.shape[0])       # {"image": (B, 3, H, W)}

The executor knows nothing about gradients, train/eval mode or precision: it calls components
in graph order on the values it is given. Policies wrap it: inference
(:mod:`emoportraits_core.inference`: ``inference_mode``, eval, autocast, static values cached) and
training (gradients, train mode). Both run the same pipeline files with the same component names.

Static values of batch 1 are broadcast (a view, no copy) to the stream batch where they meet a
stream value. Each component is built once, however many nodes call it (shared weights). Inputs are
checked against what the components reading them declare (type, and shape through their
:meth:`~emoportraits_core.component.Component.input_specs`), so a wrong value is one line naming the
input, the node and port, and both shapes, not a traceback from inside a network.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterable, Mapping
from typing import Any

import torch
from torch import Tensor, nn
from torch.nn.parallel import DistributedDataParallel

from ..checkpoint import Checkpoint, load_into, read_checkpoint, split_by_component
from ..errors import CheckpointError, InputError, did_you_mean
from ..ports import PORT_TYPES, PortSpec
from ..registry import Registry
from ..shapes import format_pattern, match_shape
from ..types import Appearance, Motion, batch_size_of, broadcast_batch
from .graph import Wire
from .resolved import ResolvedPipeline

__all__ = ["Executor", "build_components", "load_weights", "move_value"]


def build_components(resolved: ResolvedPipeline, registry: Registry) -> dict[str, nn.Module]:
    """One freshly built module per ``[components.<key>]`` (random init from torch's RNG)."""
    return {
        key: registry.create(comp.entry.kind, comp.entry.name, config=comp.config)
        for key, comp in resolved.components.items()
    }


def load_weights(
    resolved: ResolvedPipeline,
    modules: Mapping[str, nn.Module],
    checkpoint: str | os.PathLike[str] | Checkpoint,
    *,
    subset: bool = False,
) -> None:
    """Load a project checkpoint (keys ``<component>.<param>``) into ``modules``, strictly.

    Every component with parameters or buffers must have weights in it, and every component in it
    must be in the pipeline, unless ``subset`` (the pipeline uses some of the checkpoint's
    components, e.g. only the motion encoder); each component's own keys are always strict.

    Raises:
        CheckpointError: unreadable checkpoint, missing or unexpected component, key or shape.
    """
    ckpt = checkpoint if isinstance(checkpoint, Checkpoint) else read_checkpoint(checkpoint)
    shown = "checkpoint" if isinstance(checkpoint, Checkpoint) else os.fspath(checkpoint)
    states = split_by_component(ckpt.tensors)
    for name in states:
        if name not in modules and not subset:
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


class Executor:
    """Runs the nodes of one stage of a built pipeline, in graph order.

    Attributes:
        resolved: the validated pipeline.
        components: component key -> built module (whatever mode and device the caller set).
        device, dtype: where and in which floating dtype inputs are put before use.
    """

    def __init__(
        self,
        resolved: ResolvedPipeline,
        components: Mapping[str, nn.Module],
        device: torch.device | str = "cpu",
        dtype: torch.dtype = torch.float32,
    ) -> None:
        self.resolved = resolved
        self.components = dict(components)
        self.device, self.dtype = torch.device(device), dtype
        self._specs: dict[str, list[tuple[str, str, PortSpec]]] = {}

    # -- inputs -------------------------------------------------------------------------------------
    def input_names(self, stage: str) -> list[str]:
        """The pipeline inputs given per ``stage``: ``"static"`` (non-stream), ``"stream"``, or
        ``"all"`` (training gives every input with each batch)."""
        r = self.resolved
        if stage == "all":
            return list(r.inputs)
        return r.static_inputs if stage == "static" else r.stream_inputs

    def take_inputs(self, given: Mapping[str, Any], stage: str, *, where: str = "") -> dict[Wire, Any]:
        """Check ``given`` (exactly the inputs of ``stage``), move it to the device and dtype.

        Raises:
            InputError: an unexpected or missing input, a value of the wrong type, or a shape that
                the components reading it do not accept (the message names node, port and shapes).
        """
        self.check_inputs(given, stage, where=where)
        return {Wire(name): move_value(value, self.device, self.dtype) for name, value in given.items()}

    def check_inputs(self, given: Mapping[str, Any], stage: str, *, where: str = "") -> None:
        """The checks of :meth:`take_inputs` alone (nothing is moved or run)."""
        path = self.resolved.path
        expected = self.input_names(stage)
        where = where or ("prepare" if stage == "static" else "the runner call")
        for name in given:
            if name not in expected:
                listing = ", ".join(expected) or "(none)"
                other = " (it is given elsewhere: static inputs to prepare(), stream inputs per call)"
                hint = other if name in self.resolved.inputs else did_you_mean(name, expected)
                raise InputError(f"{path}: unexpected input '{name}' for {where}; expected: {listing}{hint}")
        for name in expected:
            if name not in given:
                spec = self.resolved.inputs[name]
                raise InputError(f"{path}: missing input '{name}' ({spec.type}) for {where}")
            self._check_value(name, given[name])
        if stage != "static":
            self.batch_size(given)

    def _check_value(self, name: str, value: Any) -> None:
        type_ = self.resolved.inputs[name].type
        expected = {"motion": Motion, "appearance": Appearance}.get(type_, Tensor)
        checked = type_ in PORT_TYPES and type_ != "features"  # a plugin's own types: unchecked
        if checked and not isinstance(value, expected):
            raise InputError(
                f"{self.resolved.path}: input '{name}' of type {type_} expects a {expected.__name__}, "
                f"got {type(value).__name__}"
            )
        shape = _checked_shape(value)
        if shape is None:
            return
        for node, port, spec in self._consumer_specs(name):
            reason = match_shape(shape, spec.shape, {})
            if reason is not None:
                what = "its expression latent is" if isinstance(value, Motion) else "it is"
                component = self.resolved.nodes[node].component
                raise InputError(
                    f"{self.resolved.path}: input '{name}' does not fit port '{port}' of node '{node}' "
                    f"(component {component}): {what} {tuple(shape)}, the port expects "
                    f"{format_pattern(spec.shape)}"
                )

    def _consumer_specs(self, name: str) -> list[tuple[str, str, PortSpec]]:
        """``[(node, port, spec)]`` for the components reading input ``name`` that declare a shape."""
        if name not in self._specs:
            found = []
            for node, port in self.resolved.consumers(name):
                module = self.components[self.resolved.nodes[node].component]
                specs = module.input_specs() if hasattr(module, "input_specs") else {}
                spec = specs.get(port)
                if spec is not None and spec.shape is not None:
                    found.append((node, port, spec))
            self._specs[name] = found
        return self._specs[name]

    def batch_size(self, stream_inputs: Mapping[str, Any]) -> int | None:
        """The common batch size of ``stream_inputs`` (InputError if they differ), None if none has one."""
        sizes = {name: batch_size_of(v) for name, v in stream_inputs.items()}
        found = {s for s in sizes.values() if s is not None}
        if len(found) > 1:
            listing = ", ".join(f"{k}: {v}" for k, v in sizes.items())
            raise InputError(f"{self.resolved.path}: stream inputs differ in batch size ({listing})")
        return found.pop() if found else None

    # -- running ------------------------------------------------------------------------------------
    def run_stage(self, stage: str, values: dict[Wire, Any], batch: int | None = None) -> None:
        """Run every node of ``stage`` in order, adding its outputs to ``values`` (in place).

        Args:
            stage: ``"static"`` or ``"stream"``.
            values: wire -> value; must hold every input the stage reads.
            batch: the stream batch size, to which batch-1 static values are broadcast.
        """
        self.run_nodes(self.resolved.nodes_in_stage(stage), values, batch)

    def plan(self, targets: Iterable[Wire]) -> list[str]:
        """The nodes needed to compute the wires ``targets`` (their ancestors), in run order."""
        needed: set[str] = set()
        todo = [w.source for w in targets if not w.is_input]
        while todo:
            key = todo.pop()
            if key not in needed:
                needed.add(key)
                todo += [w.source for w in self.resolved.nodes[key].inputs.values() if not w.is_input]
        return [k for k in self.resolved.nodes if k in needed]

    def run_nodes(self, keys: Iterable[str], values: dict[Wire, Any], batch: int | None = None) -> None:
        """Run the nodes ``keys`` (in run order) on ``values``, adding their outputs (in place). A node
        declared ``no_grad`` runs under ``torch.no_grad()``."""
        for key in keys:
            node = self.resolved.nodes[key]
            kwargs = {port: _broadcast(values[wire], batch) for port, wire in node.inputs.items()}
            with torch.no_grad() if node.no_grad else contextlib.nullcontext():
                result = self._call(self.components[node.component], kwargs)
            missing = [p for p in node.outputs if p not in result]
            if missing:
                raise RuntimeError(
                    f"node '{key}' ({type(self.components[node.component]).__name__}) returned "
                    f"{sorted(result)} but declares outputs {list(node.outputs)}"
                )
            for port in node.outputs:
                values[Wire(key, port)] = result[port]

    def outputs(self, values: Mapping[Wire, Any], batch: int | None = None) -> dict[str, Any]:
        """``{output name: value}``; static outputs of batch 1 are broadcast to ``batch``."""
        return {name: _broadcast(values[wire], batch) for name, wire in self.resolved.outputs.items()}

    def _call(self, component: nn.Module, kwargs: dict[str, Any]) -> dict[str, Any]:
        """``component.run(**kwargs)``, in float32 if it asks for full precision under autocast.

        A component wrapped for distributed training (``DistributedDataParallel`` around
        :class:`~emoportraits_core.training.distributed.PlainOutputs`) is called through its wrapper,
        so that gradients are synchronised."""
        distributed = isinstance(component, DistributedDataParallel)
        inner = component.module.component if distributed else component
        device_type = self.device.type
        context = contextlib.nullcontext()
        if getattr(inner, "full_precision", False) and torch.is_autocast_enabled(device_type):
            kwargs = {k: move_value(v, self.device, torch.float32) for k, v in kwargs.items()}
            context = torch.autocast(device_type, enabled=False)
        with context:
            if distributed:
                from ..training.distributed import from_plain

                return from_plain(component(**kwargs))
            return inner.run(**kwargs)


def _checked_shape(value: Any) -> tuple[int, ...] | None:
    """The shape that port specs describe: a tensor's, or a Motion's expression latent's."""
    if isinstance(value, Motion):
        return tuple(value.expression.shape)
    if isinstance(value, Tensor):
        return tuple(value.shape)
    return None


def _broadcast(value: Any, batch: int | None) -> Any:
    return value if batch is None else broadcast_batch(value, batch)


def move_value(value: Any, device: torch.device, dtype: torch.dtype) -> Any:
    """``value`` on ``device``; floating tensors (also inside Motion, Appearance, lists) in ``dtype``."""
    if isinstance(value, Tensor):
        return value.to(device=device, dtype=dtype) if value.is_floating_point() else value.to(device)
    if isinstance(value, Motion | Appearance):
        return value.map(lambda t: move_value(t, device, dtype))
    if isinstance(value, list | tuple):
        return type(value)(move_value(v, device, dtype) for v in value)
    return value
