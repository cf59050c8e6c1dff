"""A validated pipeline: every name resolved against the registry, every wire typed, nodes ordered.

Nothing here is built or loaded: a :class:`ResolvedPipeline` holds registry entries and config
instances only, so it is cheap to make and print (``emoportraits pipeline show``).
"""

from __future__ import annotations

from typing import Any

import attrs

from ..registry import ComponentEntry
from .graph import Wire
from .schema import InputSpec, PipelineSpec

__all__ = [
    "ResolvedComponent",
    "ResolvedData",
    "ResolvedLoss",
    "ResolvedNode",
    "ResolvedOptimizer",
    "ResolvedPipeline",
    "ResolvedSchedule",
]


@attrs.frozen
class ResolvedComponent:
    """``[components.<key>]`` resolved: its registry entry and its config instance (preset applied)."""

    key: str
    kind: str
    entry: ComponentEntry
    config: Any


@attrs.frozen
class ResolvedNode:
    """``[nodes.<key>]`` resolved.

    Attributes:
        component: key of the component it calls.
        inputs: input port -> wire; ``input_types``: input port -> port type.
        outputs: output port -> port type (the component class's declared outputs).
        stage: ``"static"`` (runs once per prepare) or ``"stream"`` (once per frame batch).
        no_grad: in training, run under ``torch.no_grad()``.
    """

    key: str
    component: str
    inputs: dict[str, Wire]
    input_types: dict[str, str]
    outputs: dict[str, str]
    stage: str
    no_grad: bool = False


@attrs.frozen
class ResolvedLoss:
    """``[losses.<key>]`` resolved: registry entry, config, weight, typed input wires, the optimizer
    whose step it drives and when it starts (see :class:`~.schema.LossSpec`)."""

    key: str
    entry: ComponentEntry
    config: Any
    weight: float
    inputs: dict[str, Wire]
    input_types: dict[str, str]
    optimizer: str = ""
    start_step: int = 0
    start_epoch: int = 0

    def active(self, step: int, epoch: int) -> bool:
        """Whether the term counts at global ``step`` (0-based) of ``epoch`` (0-based)."""
        return self.weight > 0 and step >= self.start_step and epoch >= self.start_epoch


@attrs.frozen
class ResolvedOptimizer:
    """``[optimizers.<key>]``: type, the components it trains, its hyper-parameter config and its
    ``steps`` per training iteration (see :class:`~.schema.OptimizerSpec`)."""

    key: str
    type: str
    components: tuple[str, ...]
    config: Any
    steps: int = 1


@attrs.frozen
class ResolvedSchedule:
    """``[schedules.<key>]``: type, the optimizer it drives and its parameter config."""

    key: str
    type: str
    optimizer: str
    config: Any


@attrs.frozen
class ResolvedData:
    """``[data.<key>]``: the dataset's registry entry, its config and its mixing ratio (all sum to 1)."""

    key: str
    entry: ComponentEntry
    config: Any
    ratio: float


@attrs.frozen
class ResolvedPipeline:
    """A pipeline checked against the registry; ``nodes`` are in run (topological) order."""

    spec: PipelineSpec
    components: dict[str, ResolvedComponent]
    nodes: dict[str, ResolvedNode]
    outputs: dict[str, Wire]
    output_types: dict[str, str]
    losses: dict[str, ResolvedLoss] = attrs.field(factory=dict)
    optimizers: dict[str, ResolvedOptimizer] = attrs.field(factory=dict)
    schedules: dict[str, ResolvedSchedule] = attrs.field(factory=dict)
    data: dict[str, ResolvedData] = attrs.field(factory=dict)

    @property
    def path(self) -> str:
        return self.spec.path

    @property
    def inputs(self) -> dict[str, InputSpec]:
        return self.spec.inputs

    @property
    def static_inputs(self) -> list[str]:
        return [k for k, s in self.spec.inputs.items() if not s.stream]

    @property
    def stream_inputs(self) -> list[str]:
        return [k for k, s in self.spec.inputs.items() if s.stream]

    def nodes_in_stage(self, stage: str) -> list[str]:
        return [k for k, n in self.nodes.items() if n.stage == stage]

    def stage_of(self, wire: Wire) -> str:
        """``"static"`` or ``"stream"``: where the value on ``wire`` is computed."""
        if wire.is_input:
            return "stream" if self.spec.inputs[wire.source].stream else "static"
        return self.nodes[wire.source].stage

    def consumers(self, input_name: str) -> list[tuple[str, str]]:
        """``[(node, port), ...]`` reading pipeline input ``input_name`` directly, in run order."""
        return [
            (node.key, port)
            for node in self.nodes.values()
            for port, wire in node.inputs.items()
            if wire.is_input and wire.source == input_name
        ]
