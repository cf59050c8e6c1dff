"""Every component of a pipeline at one of its registry presets, as ``--set`` overrides.

``preset_overrides("animate", "tiny")`` gives the overrides that run the shipped graph with every
component at its ``tiny`` preset (the same nodes and wiring, test-sized networks), keeping the
file's own config values that the preset does not set (e.g. a warper's ``direction``)::

    resolve_pipeline("animate", preset_overrides("animate", "tiny"))
"""

from __future__ import annotations

import os
from typing import Any

from ..registry import Registry
from .loader import load_pipeline

__all__ = ["preset_overrides"]


def preset_overrides(
    pipeline: str | os.PathLike[str], preset: str, registry: Registry | None = None
) -> list[str]:
    """``components.<key>.config={ preset = "<preset>", ... }`` for each component that has ``preset``."""
    if registry is None:
        from ..plugin_manager import get_registry

        registry = get_registry()
    out = []
    for key, comp in load_pipeline(pipeline).components.items():
        presets = registry.get(comp.kind, comp.name).presets
        if preset not in presets:
            continue
        kept = {k: v for k, v in comp.config.items() if k not in presets[preset] and k != "preset"}
        items = ", ".join(f"{k} = {_toml(v)}" for k, v in {"preset": preset, **kept}.items())
        out.append(f"components.{key}.config={{ {items} }}")
    return out


def _toml(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_toml(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{k} = {_toml(v)}" for k, v in value.items()) + " }"
    return repr(value)
