"""Reading a pipeline file: find it, parse the TOML, apply ``--set`` overrides, check its keys.

Only the file's structure is checked here (known keys, value types, names); everything that needs
the registry (component names, configs, ports, wire types) is checked by :mod:`.validate`.
"""

from __future__ import annotations

import math
import os
import re
import tomllib
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from ..errors import PipelineError, did_you_mean
from .schema import (
    MODES,
    SECTIONS,
    ComponentSpec,
    DataSpec,
    InputSpec,
    LossSpec,
    NodeSpec,
    OptimizerSpec,
    PipelineSpec,
    ScheduleSpec,
    TrainSpec,
)

__all__ = ["apply_override", "find_pipeline", "load_pipeline", "parse_spec", "parse_value"]

_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_TYPES = {
    "str": (str, "a string"),
    "bool": (bool, "true or false"),
    "number": ((int, float), "a number"),
    "table": (dict, "a table"),
    "list": (list, "a list"),
    "any": (object, "a value"),
}


def load_pipeline(path_or_name: str | os.PathLike[str], overrides: Sequence[str] = ()) -> PipelineSpec:
    """Read a pipeline file and apply ``--set`` overrides.

    Args:
        path_or_name: a TOML file, or the name of a shipped pipeline (e.g. ``"animate"``) when no
            such file exists.
        overrides: ``"dotted.key=value"`` strings; the value is parsed as TOML (``20``, ``2e-4``,
            ``[1, 2]``, ``true``, ``"text"``) or else taken as a bare string.

    Raises:
        PipelineError: missing file, TOML syntax error, bad override, unknown key or wrong value type.
    """
    path, shown = find_pipeline(path_or_name)
    try:
        tree = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise PipelineError(f"{shown}:{_toml_error_line(exc)} invalid TOML: {exc}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise PipelineError(f"{shown}: cannot read the pipeline file ({exc})") from None
    for text in overrides:
        apply_override(tree, text, shown)
    return parse_spec(tree, shown, default_name=path.stem, overrides=tuple(overrides))


def find_pipeline(path_or_name: str | os.PathLike[str]) -> tuple[Path, str]:
    """The file to read and how to name it in messages: a local file, else a shipped pipeline."""
    text = os.fspath(path_or_name)
    path = Path(text)
    if path.is_file():
        return path, text
    import emoportraits_pipelines

    shipped = emoportraits_pipelines.available()
    if os.sep not in text and "/" not in text:
        candidate = emoportraits_pipelines.path(text)
        if candidate.is_file():
            return candidate, str(candidate)
    listing = ", ".join(shipped) if shipped else "(none)"
    stem = path.name[:-5] if path.name.endswith(".toml") else path.name
    raise PipelineError(
        f"{text}: no such pipeline file, and no shipped pipeline of that name; shipped pipelines: "
        f"{listing}{did_you_mean(stem, shipped)}"
    )


def _toml_error_line(exc: tomllib.TOMLDecodeError) -> str:
    match = re.search(r"at line (\d+)", str(exc))
    return f"{match.group(1)}:" if match else ""


# -- overrides ---------------------------------------------------------------------------------------


def parse_value(text: str) -> Any:
    """A ``--set`` value: TOML (``20``, ``2e-4``, ``[1, 2]``, ``true``, ``"s"``) or a bare string."""
    try:
        return tomllib.loads(f"v = {text}")["v"]
    except tomllib.TOMLDecodeError:
        return text


def apply_override(tree: dict[str, Any], text: str, path: str) -> None:
    """Apply one ``dotted.key=value`` override to the raw TOML tree, creating tables as needed."""
    key, sep, value = text.partition("=")
    parts = key.strip().split(".")
    if not sep or not all(p.strip() for p in parts):
        raise PipelineError(
            f"{path}: --set '{text}': expected KEY=VALUE with a dotted KEY, "
            "e.g. --set losses.l1.weight=20 or --set components.warp.name=my_warper"
        )
    node = tree
    for i, part in enumerate(p.strip() for p in parts[:-1]):
        child = node.setdefault(part, {})
        if not isinstance(child, dict):
            prefix = ".".join(parts[: i + 1])
            raise PipelineError(
                f"{path}: --set '{text}': '{prefix}' is {_describe(child)}, not a table, "
                f"so it has no key '{parts[i + 1].strip()}'"
            )
        node = child
    node[parts[-1].strip()] = parse_value(value.strip())


def _describe(value: Any) -> str:
    return f"{value!r} ({type(value).__name__})"


# -- structure ----------------------------------------------------------------------------------------


class _Table:
    """Typed access to one raw table, with errors that name the file, the table and the key."""

    def __init__(self, raw: Any, path: str, where: str) -> None:
        self.path, self.where = path, where
        if not isinstance(raw, dict):
            raise PipelineError(f"{path}: [{where}] must be a table, got {_describe(raw)}")
        self.raw = raw

    def fail(self, key: str, message: str) -> PipelineError:
        return PipelineError(f"{self.path}: [{self.where}] {key}: {message}")

    def check_keys(self, valid: Sequence[str]) -> None:
        for key in self.raw:
            if key not in valid:
                raise PipelineError(
                    f"{self.path}: [{self.where}] unknown key '{key}'; valid keys: "
                    f"{', '.join(sorted(valid))}{did_you_mean(key, valid)}"
                )

    def get(self, key: str, type_: str, default: Any = None, *, required: str = "") -> Any:
        """The value of ``key`` checked against ``type_``; ``required`` explains a missing key."""
        if key not in self.raw:
            if required:
                raise PipelineError(f"{self.path}: [{self.where}] missing key '{key}' ({required})")
            return default
        value = self.raw[key]
        cls, what = _TYPES[type_]
        if not isinstance(value, cls) or (type_ == "number" and isinstance(value, bool)):
            raise self.fail(key, f"expected {what}, got {_describe(value)}")
        if type_ == "number" and not math.isfinite(value):
            raise self.fail(key, f"expected a finite number, got {value!r}")
        return value

    def wires(self, key: str) -> dict[str, str]:
        table = self.get(key, "table", {})
        for port, wire in table.items():
            if not isinstance(wire, str):
                raise self.fail(
                    f"{key}.{port}",
                    f'expected a wire string ("input", "node.port" or "node"), got {_describe(wire)}',
                )
        return dict(table)


def _named_tables(tree: Mapping[str, Any], section: str, path: str) -> dict[str, _Table]:
    raw = tree.get(section, {})
    if not isinstance(raw, dict):
        raise PipelineError(f"{path}: [{section}] must be a table of tables, got {_describe(raw)}")
    for key in raw:
        _check_name(key, path, f"[{section}.{key}]")
    return {key: _Table(value, path, f"{section}.{key}") for key, value in raw.items()}


def _check_name(name: str, path: str, where: str) -> None:
    if not _NAME.match(name):
        raise PipelineError(
            f"{path}: {where}: the name '{name}' must be an identifier (letters, digits, underscores; "
            "no dots), since it is used in wires like 'node.port'"
        )


def parse_spec(
    tree: Mapping[str, Any], path: str, *, default_name: str = "pipeline", overrides: tuple[str, ...] = ()
) -> PipelineSpec:
    """Turn a raw TOML tree into a :class:`PipelineSpec`, checking keys and value types."""
    for key in tree:
        if key not in SECTIONS:
            raise PipelineError(
                f"{path}: unknown top-level table '{key}'; valid tables: {', '.join(SECTIONS)}"
                f"{did_you_mean(key, SECTIONS)}"
            )
    head = _Table(tree.get("pipeline", {}), path, "pipeline")
    head.check_keys(("name", "description", "mode", "task"))
    mode = head.get("mode", "str", "inference")
    if mode not in MODES:
        raise head.fail(
            "mode", f"unknown mode '{mode}'; valid modes: {', '.join(MODES)}{did_you_mean(mode, MODES)}"
        )
    outputs = _Table(tree.get("outputs", {}), path, "outputs")
    for key in outputs.raw:
        _check_name(key, path, f"[outputs] {key}")
        outputs.get(key, "str")
    return PipelineSpec(
        path=path,
        name=head.get("name", "str", default_name),
        description=head.get("description", "str", ""),
        mode=mode,
        task=head.get("task", "str", ""),
        inputs={k: _input(k, t) for k, t in _named_tables(tree, "inputs", path).items()},
        components={k: _component(k, t) for k, t in _named_tables(tree, "components", path).items()},
        nodes={k: _node(k, t) for k, t in _named_tables(tree, "nodes", path).items()},
        outputs=dict(outputs.raw),
        losses={k: _loss(k, t) for k, t in _named_tables(tree, "losses", path).items()},
        optimizers={k: _optimizer(k, t) for k, t in _named_tables(tree, "optimizers", path).items()},
        schedules={k: _schedule(k, t) for k, t in _named_tables(tree, "schedules", path).items()},
        data={k: _data(k, t) for k, t in _named_tables(tree, "data", path).items()},
        train=_train(tree, path),
        overrides=overrides,
    )


def _input(key: str, t: _Table) -> InputSpec:
    t.check_keys(("type", "stream", "description"))
    return InputSpec(
        key,
        t.get("type", "str", required='its port type, e.g. type = "image"'),
        t.get("stream", "bool", False),
        t.get("description", "str", ""),
    )


def _component(key: str, t: _Table) -> ComponentSpec:
    t.check_keys(("kind", "name", "config"))
    return ComponentSpec(
        key,
        t.get("kind", "str", required='the component kind, e.g. kind = "encoder"'),
        t.get("name", "str", required="the registry name; `emoportraits plugins` lists them"),
        dict(t.get("config", "table", {})),
    )


def _node(key: str, t: _Table) -> NodeSpec:
    t.check_keys(("component", "inputs", "description", "no_grad"))
    component = t.get("component", "str", required="the [components.<name>] this node calls")
    return NodeSpec(
        key, component, t.wires("inputs"), t.get("description", "str", ""), t.get("no_grad", "bool", False)
    )


def _loss(key: str, t: _Table) -> LossSpec:
    t.check_keys(("kind", "name", "weight", "config", "inputs", "optimizer", "start_step", "start_epoch"))
    kind = t.get("kind", "str", "loss")
    if kind != "loss":
        raise t.fail("kind", f"a loss term has kind 'loss', got '{kind}' (or leave kind out)")
    weight = t.get("weight", "number", 1.0)
    if weight < 0:
        raise t.fail("weight", f"expected a weight >= 0, got {weight!r}")
    starts = {}
    for name in ("start_step", "start_epoch"):
        value = t.get(name, "number", 0)
        if value != int(value) or value < 0:
            raise t.fail(name, f"expected a whole number >= 0, got {value!r}")
        starts[name] = int(value)
    return LossSpec(
        key,
        t.get("name", "str", required="the registered loss; `emoportraits plugins loss` lists them"),
        float(weight),
        dict(t.get("config", "table", {})),
        t.wires("inputs"),
        t.get("optimizer", "str", ""),
        **starts,
    )


def _optimizer(key: str, t: _Table) -> OptimizerSpec:
    type_ = t.get("type", "str", required='e.g. type = "adam"')
    components = t.get("components", "list", required='the components it trains, e.g. ["encoder"]')
    for i, name in enumerate(components):
        if not isinstance(name, str):
            raise t.fail(f"components[{i}]", f"expected a component name, got {_describe(name)}")
    steps = t.get("steps", "number", 1)
    if steps != int(steps) or steps < 1:
        raise t.fail(
            "steps",
            f"expected a whole number >= 1 (this optimizer's steps per training iteration), got {steps!r}",
        )
    params = {k: v for k, v in t.raw.items() if k not in ("type", "components", "steps")}
    return OptimizerSpec(key, type_, tuple(components), params, int(steps))


def _schedule(key: str, t: _Table) -> ScheduleSpec:
    type_ = t.get("type", "str", required='e.g. type = "cosine"')
    optimizer = t.get("optimizer", "str", required="the [optimizers.<name>] it schedules")
    params = {k: v for k, v in t.raw.items() if k not in ("type", "optimizer")}
    return ScheduleSpec(key, type_, optimizer, params)


def _data(key: str, t: _Table) -> DataSpec:
    t.check_keys(("name", "config", "ratio"))
    ratio = t.get("ratio", "number")
    if ratio is not None and ratio <= 0:
        raise t.fail("ratio", f"expected a ratio > 0, got {ratio!r}")
    name = t.get("name", "str", required="a registered dataset; `emoportraits plugins dataset` lists them")
    return DataSpec(key, name, dict(t.get("config", "table", {})), None if ratio is None else float(ratio))


def _train(tree: Mapping[str, Any], path: str) -> TrainSpec:
    from ..config import build_config

    table = _Table(tree.get("train", {}), path, "train")
    return build_config(TrainSpec, table.raw, where=f"{path} [train]")
