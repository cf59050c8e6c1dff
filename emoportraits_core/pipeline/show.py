"""Printing a resolved pipeline: what ``emoportraits pipeline show`` prints (text or JSON).

The description is the pipeline's ``model_index.json``: per component its kind, registry name,
providing distribution and full config (defaults filled in, preset applied); per node its stage,
component and typed wiring; the outputs; and the training sections when present.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import attrs

from .resolved import ResolvedPipeline

__all__ = ["describe_pipeline", "format_pipeline", "pipeline_json"]


def describe_pipeline(resolved: ResolvedPipeline) -> dict[str, Any]:
    """A JSON-friendly description of ``resolved`` (file order; nodes in run order)."""
    spec = resolved.spec
    return {
        "file": spec.path,
        "pipeline": {
            "name": spec.name,
            "description": spec.description,
            "mode": spec.mode,
            "task": spec.task,
        },
        "overrides": list(spec.overrides),
        "inputs": {
            k: {
                "type": s.type,
                "stage": "stream" if s.stream else "static",
                "fed_by": _feeder(resolved, k),
                "description": s.description,
            }
            for k, s in spec.inputs.items()
        },
        "components": {
            k: {
                "kind": c.kind,
                "name": c.entry.name,
                "distribution": c.entry.distribution,
                "plugin": c.entry.plugin,
                "module": c.entry.module,
                "config": config_to_dict(c.config),
            }
            for k, c in resolved.components.items()
        },
        "nodes": {
            k: {
                "component": n.component,
                "stage": n.stage,
                "inputs": {p: {"from": str(w), "type": n.input_types[p]} for p, w in n.inputs.items()},
                "outputs": dict(n.outputs),
            }
            for k, n in resolved.nodes.items()
        },
        "outputs": {
            k: {"from": str(w), "type": resolved.output_types[k], "stage": resolved.stage_of(w)}
            for k, w in resolved.outputs.items()
        },
        "losses": {
            k: {
                "name": loss.entry.name,
                "distribution": loss.entry.distribution,
                "weight": loss.weight,
                "optimizer": loss.optimizer,
                "start_step": loss.start_step,
                "start_epoch": loss.start_epoch,
                "config": config_to_dict(loss.config),
                "inputs": {p: {"from": str(w), "type": loss.input_types[p]} for p, w in loss.inputs.items()},
            }
            for k, loss in resolved.losses.items()
        },
        "optimizers": {
            k: {
                "type": o.type,
                "components": list(o.components),
                **({"steps": o.steps} if o.steps != 1 else {}),
                **config_to_dict(o.config),
            }
            for k, o in resolved.optimizers.items()
        },
        "schedules": {
            k: {"type": s.type, "optimizer": s.optimizer, **config_to_dict(s.config)}
            for k, s in resolved.schedules.items()
        },
        "data": {
            k: {"name": d.entry.name, "ratio": d.ratio, **config_to_dict(d.config)}
            for k, d in resolved.data.items()
        },
    }


def _feeder(resolved: ResolvedPipeline, name: str) -> str:
    """The driver component whose output of that name feeds input ``name``, or ``""``."""
    for key, comp in resolved.components.items():
        if comp.kind == "driver" and name in getattr(comp.entry.component_class, "outputs", {}):
            return key
    return ""


def config_to_dict(config: Any) -> dict[str, Any]:
    """A plain dict of an attrs config (tuples become lists); ``{}`` for None."""
    return {} if config is None else attrs.asdict(config)


def pipeline_json(resolved: ResolvedPipeline) -> str:
    """:func:`describe_pipeline` as indented JSON."""
    return json.dumps(describe_pipeline(resolved), indent=2, default=str)


def _table(rows: Sequence[Sequence[str]], indent: str = "  ") -> list[str]:
    """Left-aligned columns (the last column is not padded)."""
    if not rows:
        return []
    widths = [max(len(r[i]) for r in rows if i < len(r)) for i in range(max(len(r) for r in rows))]
    out = []
    for row in rows:
        cells = [c.ljust(widths[i]) if i < len(row) - 1 else c for i, c in enumerate(row)]
        out.append((indent + "  ".join(cells)).rstrip())
    return out


def _value(value: Any) -> str:
    return json.dumps(value, default=str) if not isinstance(value, float) else f"{value:g}"


def _starts(loss: dict[str, Any]) -> str:
    gates = [f"from {w} {loss[f'start_{w}']}" for w in ("epoch", "step") if loss[f"start_{w}"]]
    return ", ".join(gates) or "from the start"


def _config_lines(config: dict[str, Any], indent: str) -> list[str]:
    if not config:
        return [f"{indent}(no config)"]
    return _table([(k, f"= {_value(v)}") for k, v in config.items()], indent)


def _wire_lines(inputs: dict[str, Any], outputs: dict[str, str], indent: str) -> list[str]:
    rows = [(p, f"<- {w['from']}", w["type"]) for p, w in inputs.items()]
    rows += [(p, "->", t) for p, t in outputs.items()]
    return _table(rows, indent)


def format_pipeline(resolved: ResolvedPipeline) -> str:
    """The human-readable, aligned description printed by ``emoportraits pipeline show``."""
    d = describe_pipeline(resolved)
    head = d["pipeline"]
    task = f", task {head['task']}" if head["task"] else ""
    lines = [f"pipeline {head['name']} ({head['mode']}{task}): {d['file']}"]
    if head["description"]:
        lines.append(f"  {head['description']}")
    if d["overrides"]:
        lines.append(f"  overrides: {' '.join(d['overrides'])}")
    lines += ["", "inputs"]
    rows = [
        (k, v["type"], v["stage"] + (f" <- {v['fed_by']}" if v["fed_by"] else ""), v["description"])
        for k, v in d["inputs"].items()
    ]
    lines += _table(rows) or ["  (none)"]
    lines += ["", "components"]
    comps = d["components"]
    headers = _table(
        [(k, c["kind"], c["name"], f"[{c['distribution'] or c['plugin'] or '?'}]") for k, c in comps.items()]
    )
    for header, c in zip(headers, comps.values()):
        lines += [header, *_config_lines(c["config"], "      ")]
    lines += ["", "nodes (in run order; static: once per prepare, stream: per frame batch)"]
    nodes = d["nodes"]
    headers = _table(
        [
            (
                k,
                n["stage"],
                n["component"],
                f"({comps[n['component']]['kind']} {comps[n['component']]['name']})",
            )
            for k, n in nodes.items()
        ]
    )
    for header, n in zip(headers, nodes.values()):
        lines += [header, *_wire_lines(n["inputs"], n["outputs"], "      ")]
    lines += ["", "outputs"]
    rows = [(k, f"<- {o['from']}", o["type"], o["stage"]) for k, o in d["outputs"].items()]
    lines += _table(rows) or ["  (none)"]
    lines += _training_lines(d)
    return "\n".join(lines)


def _training_lines(d: dict[str, Any]) -> list[str]:
    lines: list[str] = []
    if d["losses"]:
        lines += ["", "losses"]
        losses = d["losses"]
        rows = [
            (
                k,
                v["name"],
                f"weight {v['weight']:g}",
                f"-> {v['optimizer']}" if v["optimizer"] else "",
                _starts(v),
                f"[{v['distribution'] or '?'}]",
            )
            for k, v in losses.items()
        ]
        for header, loss in zip(_table(rows), losses.values()):
            lines += [header, *_wire_lines(loss["inputs"], {}, "      ")]
            if loss["config"]:
                lines += _config_lines(loss["config"], "      ")
    if d["optimizers"]:
        lines += ["", "optimizers"]
        for k, o in d["optimizers"].items():
            params = " ".join(f"{p}={_value(v)}" for p, v in o.items() if p not in ("type", "components"))
            lines += _table([(k, o["type"], params, f"trains: {', '.join(o['components'])}")])
    if d["schedules"]:
        lines += ["", "schedules"]
        for k, s in d["schedules"].items():
            params = " ".join(f"{p}={_value(v)}" for p, v in s.items() if p not in ("type", "optimizer"))
            lines += _table([(k, s["type"], f"optimizer {s['optimizer']}", params)])
    if d["data"]:
        lines += ["", "data"]
        lines += _table(
            [
                (
                    k,
                    v["name"],
                    f"ratio {v['ratio']:g}",
                    " ".join(f"{p}={_value(x)}" for p, x in v.items() if p not in ("name", "ratio")),
                )
                for k, v in d["data"].items()
            ]
        )
    return lines
