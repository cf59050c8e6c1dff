"""The declarative pipeline engine: TOML pipeline files -> validated graph -> runner.

::

    from emoportraits_core.pipeline import build, load_pipeline, validate_pipeline

    spec = load_pipeline("animate", overrides=["losses.vgg19.weight=20"])  # file or shipped name
    resolved = validate_pipeline(spec, registry)    # everything checked; nothing built or loaded
    runner = build(resolved, registry, device="cpu", checkpoint="model.safetensors")
    runner.prepare(source=photo)                    # static nodes, once
    out = runner(driver=frames)                     # stream nodes, per frame batch

Modules: :mod:`.schema` (the file format), :mod:`.loader` (TOML and ``--set``), :mod:`.validate`
and :mod:`.resolved` (registry checks), :mod:`.graph` (wires, order, staging), :mod:`.training`
(optimizer and schedule types), :mod:`.executor` (building components and running one stage of
the graph, with no policy on gradients or modes), :mod:`.show` (printing), :mod:`.files` (reading
inputs and writing outputs for the CLI). :func:`build` and :class:`PipelineRunner` are the
inference policy of :mod:`emoportraits_core.inference`, re-exported here.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

from ..registry import Registry
from .executor import Executor, build_components, load_weights
from .graph import Wire
from .loader import load_pipeline
from .resolved import ResolvedComponent, ResolvedNode, ResolvedPipeline
from .schema import PipelineSpec
from .show import describe_pipeline, format_pipeline, pipeline_json
from .validate import validate_pipeline

__all__ = [
    "Executor",
    "InferenceRunner",
    "PipelineRunner",
    "PipelineSpec",
    "ResolvedComponent",
    "ResolvedNode",
    "ResolvedPipeline",
    "Wire",
    "build",
    "build_components",
    "describe_pipeline",
    "format_pipeline",
    "load_pipeline",
    "load_weights",
    "pipeline_json",
    "resolve_pipeline",
    "validate_pipeline",
]


def __getattr__(name: str) -> Any:
    """``build``, ``InferenceRunner`` and its first name ``PipelineRunner``, from
    :mod:`emoportraits_core.inference` (imported on first use: that package imports this one)."""
    if name in ("build", "InferenceRunner", "PipelineRunner"):
        from ..inference import runner

        return runner.build if name == "build" else runner.InferenceRunner
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def resolve_pipeline(
    path_or_name: str | os.PathLike[str], overrides: Sequence[str] = (), registry: Registry | None = None
) -> ResolvedPipeline:
    """:func:`load_pipeline` then :func:`validate_pipeline` (against the installed plugins by default)."""
    return validate_pipeline(load_pipeline(path_or_name, overrides), registry)
