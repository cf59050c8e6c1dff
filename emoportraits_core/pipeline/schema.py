"""The pipeline file schema: what a TOML pipeline file may contain, as frozen attrs classes.

A pipeline file has these top-level tables (only ``[nodes]`` and, for inference, ``[outputs]`` are
required)::

    [pipeline]            name, description, mode ("inference" | "train"), task (the command that runs it)
    [inputs.<name>]       type (a port type, e.g. "image"), stream (bool), description
    [components.<name>]   kind, name (registry name), config (table; "preset" picks a registry preset)
    [nodes.<name>]        component, inputs (port -> "input" | "node.port" | "node"), no_grad, description
    [outputs]             <name> = "node.port" | "node" | "input"
    [losses.<name>]       kind ("loss"), name, weight, config, inputs,
                          optimizer, start_step, start_epoch                   (training)
    [optimizers.<name>]   type, components, steps, lr and the type's hyper-parameters (training)
    [schedules.<name>]    type, optimizer and the type's parameters            (training)
    [data.<name>]         name (a registered dataset), config, ratio            (training)
    [train]               batch_size, steps_per_epoch, max_steps, seed, checkpoint_every,
                          keep_checkpoints, log_every, image_every, precision, compile,
                          eval_every, eval_pairs, eval_split, eval_frames      (training)

``[components.X]`` is an instance (one set of weights); ``[nodes.Y]`` is one call of a component,
so several nodes may share a component. The classes here hold the file as written (after ``--set``
overrides); :mod:`.validate` checks it against the registry.
"""

from __future__ import annotations

from typing import Any, Literal

import attrs

from ..validators import fraction_window, non_negative, positive

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
    "TrainSpec",
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
    "train": "training loop settings (batch size, epoch length, checkpoints, logging)",
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
    """``[nodes.<key>]``: one call of a component; ``inputs`` maps each input port to a wire.

    ``no_grad``: in training, the node runs under ``torch.no_grad()`` (a target computed without
    gradient, e.g. the driver's canonical volume); inference runs everything without gradients.
    """

    key: str
    component: str
    inputs: dict[str, str] = attrs.field(factory=dict)
    description: str = ""
    no_grad: bool = False


@attrs.frozen
class LossSpec:
    """``[losses.<key>]``: a registered loss, its weight, config and input wiring.

    ``optimizer``: the ``[optimizers.<key>]`` whose step this term drives (default: the first one
    declared, e.g. the generator's); ``start_step`` / ``start_epoch``: the term is off before
    (the release's epoch gates).
    """

    key: str
    name: str
    weight: float = 1.0
    config: dict[str, Any] = attrs.field(factory=dict)
    inputs: dict[str, str] = attrs.field(factory=dict)
    optimizer: str = ""
    start_step: int = 0
    start_epoch: int = 0


@attrs.frozen
class OptimizerSpec:
    """``[optimizers.<key>]``: optimizer ``type`` over ``components`` with hyper-parameters ``params``.

    ``steps`` (a whole number >= 1, default 1): how many times this optimizer's turn runs in one
    training iteration (WGAN-GP's 5 critic steps per generator step: ``steps = 5`` on the critics'
    optimizer). The first repeat uses the iteration's batch, each further one a fresh batch from the
    sampler (see :mod:`emoportraits_core.training.trainer`); schedules still step once per iteration.
    """

    key: str
    type: str
    components: tuple[str, ...]
    params: dict[str, Any] = attrs.field(factory=dict)
    steps: int = 1


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
class TrainSpec:
    """``[train]``: the training loop's settings (all optional).

    Attributes:
        batch_size: items per step and process (the release: 2 per GPU).
        steps_per_epoch: iterations per epoch, for the epoch gates of losses (the release: ~938);
            0: the first dataset's length / (batch_size x processes).
        max_steps: stop after this many steps (0: run until stopped; ``--max-steps`` overrides).
        seed: seed of the initial weights, the sampler and every random draw of the data.
        checkpoint_every: write a checkpoint every N steps (and always at exit).
        keep_checkpoints: how many step checkpoints to keep (the latest is always ``last``).
        log_every: log losses and learning rates every N steps.
        image_every: log image grids every N steps (0: never).
        precision: ``"float32"`` (exact), or ``"bfloat16"`` / ``"float16"``: the forward and the losses
            under autocast (weights, gradients and optimizer states stay float32).
        compile: ``torch.compile`` the trained components' forwards (for GPUs; pays compile time).
        eval_every: score the trained components on held-out pairs every N steps, into TensorBoard
            (``eval/*``, ``eval_baseline/*``; 0: never). Needs a plugin that implements the hook
            ``emoportraits_training_evaluator`` (the project's ``evaluate`` plugin does).
        eval_pairs: number of held-out pairs.
        eval_split: the split of the first ``[data.*]`` directory they come from.
        eval_frames: the time window ``[a, b]`` of each video they come from (fractions of its frames).
    """

    batch_size: int = attrs.field(default=2, validator=positive)
    steps_per_epoch: int = attrs.field(default=0, validator=non_negative)
    max_steps: int = attrs.field(default=0, validator=non_negative)
    seed: int = attrs.field(default=0, validator=non_negative)
    checkpoint_every: int = attrs.field(default=1000, validator=positive)
    keep_checkpoints: int = attrs.field(default=3, validator=positive)
    log_every: int = attrs.field(default=10, validator=positive)
    image_every: int = attrs.field(default=500, validator=non_negative)
    precision: Literal["float32", "bfloat16", "float16"] = "float32"
    compile: bool = False
    eval_every: int = attrs.field(default=0, validator=non_negative)
    eval_pairs: int = attrs.field(default=16, validator=positive)
    eval_split: Literal["val", "train"] = "val"
    eval_frames: tuple[float, float] = attrs.field(default=(0.0, 1.0), validator=fraction_window)


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
    train: TrainSpec = attrs.field(factory=TrainSpec)
    overrides: tuple[str, ...] = ()
