"""A checkpoint's own component configs as ``--set`` overrides of an inference pipeline.

A project checkpoint (``emoportraits convert``, or ``OUT/checkpoints/last/model.safetensors`` of a
training run) records ``{key: {"kind", "name", "config"}}`` for every component whose weights it
holds (:mod:`emoportraits_core.checkpoint`). :func:`checkpoint_overrides` turns those into
``components.<key>.config={...}`` (and ``components.<key>.name=...`` where the checkpoint's
component is another registered implementation) for the components the pipeline has, so that e.g.
the shipped ``animate`` graph is built in the tiny form a ``train_tiny`` checkpoint was trained in.
Components the pipeline has and the checkpoint lacks (the video driver) keep the pipeline's config;
components only the checkpoint has (the discriminator) are left out (build with
``subset_of_checkpoint``).
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping
from typing import Any

from emoportraits_core.errors import CheckpointError

__all__ = ["checkpoint_overrides", "toml_value"]


def toml_value(value: Any) -> str:
    """A Python value as a TOML inline value (``--set`` syntax): bool, int, float, str, list, dict.

    ``None`` has no TOML spelling; dict entries that are ``None`` are left out (the config's
    default applies), a ``None`` anywhere else is an error.
    """
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value)  # a TOML basic string: the same escapes
    if isinstance(value, list | tuple):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    if isinstance(value, Mapping):
        items = [f"{json.dumps(str(k))} = {toml_value(v)}" for k, v in value.items() if v is not None]
        return "{" + ", ".join(items) + "}"
    raise ValueError(f"{value!r} ({type(value).__name__}) has no TOML spelling")


def checkpoint_overrides(
    components: Mapping[str, Mapping[str, Any]],
    pipeline_components: Mapping[str, Any] | Iterable[str],
    *,
    where: str = "checkpoint",
) -> list[str]:
    """``--set`` overrides that give the pipeline's components the checkpoint's configs.

    Args:
        components: the checkpoint's ``{key: {"kind", "name", "config"}}`` metadata.
        pipeline_components: the pipeline's component keys (or ``{key: ComponentSpec}``; with specs,
            a kind that differs from the checkpoint's is an error).
        where: how to name the checkpoint in errors.

    Returns:
        ``["components.<key>.config={...}", ...]`` in the checkpoint's order, with a
        ``components.<key>.name="..."`` before a config whose registered name differs.

    Raises:
        CheckpointError: a component's metadata is not ``{kind, name, config}``, its config has no
            TOML spelling, or its kind differs from the pipeline's.
    """
    specs = pipeline_components if isinstance(pipeline_components, Mapping) else None
    keys = set(pipeline_components)
    out: list[str] = []
    for key, meta in components.items():
        if key not in keys:
            continue
        if not isinstance(meta, Mapping) or not isinstance(meta.get("config", {}), Mapping):
            raise CheckpointError(
                f"{where}: component '{key}' metadata is not {{kind, name, config}}: {meta!r}"
            )
        spec = specs[key] if specs is not None else None
        kind, name = meta.get("kind"), meta.get("name")
        if spec is not None and kind and getattr(spec, "kind", kind) != kind:
            raise CheckpointError(
                f"{where}: component '{key}' is a {kind} ({name}) in the checkpoint but a "
                f"{spec.kind} ({spec.name}) in the pipeline"
            )
        if spec is not None and name and getattr(spec, "name", name) != name:
            out.append(f"components.{key}.name={toml_value(name)}")
        try:
            out.append(f"components.{key}.config={toml_value(dict(meta.get('config', {})))}")
        except ValueError as exc:
            raise CheckpointError(f"{where}: component '{key}' config: {exc}") from None
    return out
