"""The evaluation's table (stdout) and JSON (``--json``)."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from typing import Any

from emoportraits_core.io.atomic import atomic_output

from .evaluate import METRICS

__all__ = ["better", "format_table", "write_json"]


def better(row: Mapping[str, Any]) -> str:
    """``"model"``, ``"baseline"``, ``"tie"`` or ``"-"`` (a value missing) for one metric's row."""
    m, b = row.get("model"), row.get("baseline")
    if m is None or b is None:
        return "-"
    if m == b:
        return "tie"
    return "model" if (m > b) == bool(row["higher_is_better"]) else "baseline"


def _fmt(value: float | None) -> str:
    return "-" if value is None else f"{value:.4f}" if abs(value) < 10 else f"{value:.2f}"


def format_table(result: Mapping[str, Any], *, header: str = "") -> str:
    """The metrics of ``result`` (:func:`.evaluate.evaluate`) as an aligned table: one row per
    metric, the model's and the copy-the-source baseline's value, which is better, and what it is;
    then the counts of pairs without a face or mask and the notes (skipped metrics)."""
    rows = [("metric", "model", "copy-source", "better", "")]
    for name, row in result["metrics"].items():
        arrow = "higher" if row["higher_is_better"] else "lower"
        rows.append(
            (
                name,
                _fmt(row["model"]),
                _fmt(row["baseline"]),
                better(row),
                f"{METRICS[name][1]}, {arrow} is better",
            )
        )
    widths = [max(len(r[i]) for r in rows) for i in range(4)]
    lines = [header] if header else []
    lines += [("  ".join(c.ljust(w) for c, w in zip(r[:4], widths)) + "  " + r[4]).rstrip() for r in rows]
    counts = result.get("counts", {})
    if counts.get("output_no_face"):
        lines.append(
            f"mediapipe found no face on {counts['output_no_face']} of {result['pairs']} outputs "
            "(left out of akd; see face_found)"
        )
    if counts.get("target_no_face"):
        lines.append(f"mediapipe found no face on {counts['target_no_face']} driver crops (left out of akd)")
    if counts.get("empty_mask"):
        lines.append(f"{counts['empty_mask']} driver mattes are empty (left out of the *_mask metrics)")
    lines += [f"note: {n}" for n in result.get("notes", [])]
    return "\n".join(lines)


def write_json(path: str | os.PathLike[str], result: Mapping[str, Any]) -> None:
    """Write ``result`` as JSON (atomically), with ``better`` added to each metric."""
    out = dict(result)
    out["metrics"] = {k: {**v, "better": better(v)} for k, v in result["metrics"].items()}
    with atomic_output(path) as tmp:
        tmp.write_text(json.dumps(out, indent=1) + "\n")
