"""Evaluation of self-reenactment: ``emoportraits evaluate`` and its Python API.

::

    from emoportraits_plugins.evaluate import EvalSet, Scorers, evaluate, format_table

    pairs = EvalSet.from_shards("shards", split="val", count=64, seed=0)
    result = evaluate("runs/tiny", pairs, scorers=Scorers.create())   # or a Session / InferenceRunner
    print(format_table(result))

- :mod:`.pairs`: held-out (source, driver) pairs drawn deterministically from prepared shards;
- :mod:`.evaluate`: the model and the copy-the-source baseline, scored alike (metric definitions);
  :func:`evaluate_modules` scores a training run's own modules (no reload);
- :mod:`.metrics` (PSNR, SSIM, L1, masked), :mod:`.keypoints` (AKD), :mod:`.identity` (CSIM, dlib,
  optional), :mod:`.lpips` (LPIPS-VGG from given weights), :mod:`.scorers` (those networks, built once);
- :mod:`.load` / :mod:`.overrides`: a checkpoint in an inference pipeline with its own configs;
- :mod:`.training`: the evaluator a training loop calls every N steps (TensorBoard ``eval/*``);
- :mod:`.cli` / :mod:`.report`: the command, its table and JSON.

Registered through its own entry point (:mod:`.plugin`), like a third party's.
"""

from __future__ import annotations

import importlib
from typing import Any

__all__ = [
    "METRICS",
    "EvalPair",
    "EvalSet",
    "Scorers",
    "TrainingEvaluator",
    "checkpoint_overrides",
    "evaluate",
    "evaluate_modules",
    "format_table",
    "load_model",
    "runner_from_modules",
    "scalars",
]

_WHERE = {
    "METRICS": "evaluate",
    "evaluate": "evaluate",
    "evaluate_modules": "evaluate",
    "runner_from_modules": "evaluate",
    "scalars": "evaluate",
    "EvalPair": "pairs",
    "EvalSet": "pairs",
    "Scorers": "scorers",
    "TrainingEvaluator": "training",
    "checkpoint_overrides": "overrides",
    "format_table": "report",
    "load_model": "load",
}


def __getattr__(name: str) -> Any:
    """The public names, imported on first use (the command line loads this package at start-up)."""
    if name in _WHERE:
        return getattr(importlib.import_module(f".{_WHERE[name]}", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
