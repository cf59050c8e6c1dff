"""The pipeline file schema: what a TOML pipeline file may contain, as frozen attrs classes.

A pipeline file has these top-level tables (only ``[nodes]`` and, for inference, ``[outputs]`` are
required)::

    [pipeline]            name, description, mode ("inference" | "train"), task (the command that runs it)
    [inputs.<name>]       type (a port type, e.g. "image"), stream (bool), description
    [components.<name>]   kind, name (registry name), config (table; "preset" picks a registry preset)
    [nodes.<name>]        component, inputs (port -> "input" | "node.port" | "node"), description
    [outputs]             <name> = "node.port" | "node" | "input"
    [losses.<name>]       kind ("loss"), name, weight, config, inputs          (training)
    [optimizers.<name>]   type, components, lr and the type's hyper-parameters (training)
    [schedules.<name>]    type, optimizer and the type's parameters            (training)
    [data.<name>]         name (a registered dataset), config, ratio            (training)

``[components.X]`` is an instance (one set of weights); ``[nodes.Y]`` is one call of a component,
so several nodes may share a component. The classes here hold the file as written (after ``--set``
overrides); :mod:`.validate` checks it against the registry.
"""

from __future__ import annotations

from typing import Any

import attrs

__all__ = [
    "MODES",
    "SECTIONS",
    "ComponentSpec",
    "DataSpec",
    "InputSpec",
    "LossSpec",
    "NodeSpec",
    "OptimizerSpec",
    "PipelineSpec",
    "ScheduleSpec",
]

MODES = ("inference", "train")

#: top-level table -> one-line description (used in error messages and ``--help``)
SECTIONS: dict[str, str] = {
    "pipeline": "name, description and mode",
    "inputs": "typed pipeline inputs",
    "components": "component instances (kind, registry name, config)",
    "nodes": "calls of components, with their input wiring",
    "outputs": "named pipeline outputs",
    "losses": "training loss terms",
    "optimizers": "training optimizers",
    "schedules": "learning-rate schedules",
    "data": "training data sources and mixing ratios",
}


@attrs.frozen
class InputSpec:
    """``[inputs.<key>]``: a value given to the pipeline.

    Attributes:
        key: the input's name, used in wires.
        type: port type (e.g. ``"image"``: ``(B, 3, H, W)`` float in ``[0, 1]``).
        stream: False: given once (e.g. the source photo); True: one value per frame batch.
        description: one line for ``show`` and ``--help``.
    """

    key: str
    type: str
    stream: bool = False
    description: str = ""


@attrs.frozen
class ComponentSpec:
    """``[components.<key>]``: one component instance (one set of weights).

    Attributes:
        key: the instance's name in the pipeline (and its prefix in checkpoints).
        kind: component kind (``encoder``, ``warper``, ...).
        name: registry name.
        config: config values as written; ``preset`` selects a registry preset.
    """

    key: str
    kind: str
    name: str
    config: dict[str, Any] = attrs.field(factory=dict)


@attrs.frozen
class NodeSpec:
    """``[nodes.<key>]``: one call of a component; ``inputs`` maps each input port to a wire."""

    key: str
    component: str
    inputs: dict[str, str] = attrs.field(factory=dict)
    description: str = ""


@attrs.frozen
class LossSpec:
    """``[losses.<key>]``: a registered loss, its weight, config and input wiring."""

    key: str
    name: str
    weight: float = 1.0
    config: dict[str, Any] = attrs.field(factory=dict)
    inputs: dict[str, str] = attrs.field(factory=dict)


@attrs.frozen
class OptimizerSpec:
    """``[optimizers.<key>]``: optimizer ``type`` over ``components`` with hyper-parameters ``params``."""

    key: str
    type: str
    components: tuple[str, ...]
    params: dict[str, Any] = attrs.field(factory=dict)


@attrs.frozen
class ScheduleSpec:
    """``[schedules.<key>]``: learning-rate schedule ``type`` of ``optimizer`` with ``params``."""

    key: str
    type: str
    optimizer: str
    params: dict[str, Any] = attrs.field(factory=dict)


@attrs.frozen
class DataSpec:
    """``[data.<key>]``: a registered dataset, its config (e.g. where the data is) and its mixing ratio."""

    key: str
    name: str
    config: dict[str, Any] = attrs.field(factory=dict)
    ratio: float | None = None


@attrs.frozen
class PipelineSpec:
    """A pipeline file as written, after ``--set`` overrides; not yet checked against the registry.

    Attributes:
        path: the file, as the user named it (used in every error message).
        name, description, mode: from ``[pipeline]``; ``name`` defaults to the file's stem.
        task: the command that runs this pipeline when the user names none (e.g. ``"animate"``:
            ``emoportraits animate`` picks, among the shipped pipelines of that task, the one whose
            driver accepts the driver file); empty for pipelines run only by name.
        overrides: the ``--set`` overrides that were applied, in order.
        the rest: the tables of the file, in file order.
    """

    path: str
    name: str
    description: str = ""
    mode: str = "inference"
    task: str = ""
    inputs: dict[str, InputSpec] = attrs.field(factory=dict)
    components: dict[str, ComponentSpec] = attrs.field(factory=dict)
    nodes: dict[str, NodeSpec] = attrs.field(factory=dict)
    outputs: dict[str, str] = attrs.field(factory=dict)
    losses: dict[str, LossSpec] = attrs.field(factory=dict)
    optimizers: dict[str, OptimizerSpec] = attrs.field(factory=dict)
    schedules: dict[str, ScheduleSpec] = attrs.field(factory=dict)
    data: dict[str, DataSpec] = attrs.field(factory=dict)
    overrides: tuple[str, ...] = ()
