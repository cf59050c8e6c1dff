"""Evaluation inside a training run: every N steps, the trainer's own modules on held-out pairs.

::

    evaluator = TrainingEvaluator.for_pipeline(resolved, registry, pairs=16)   # once, at start
    ...
    if step % eval_every == 0:
        log.scalars(evaluator(trainer.modules), step)   # {"eval/psnr_mask": ..., "eval_baseline/...": ...}

The modules are scored in the inference graph (``animate`` by default) with the training pipeline's
own component configs, without copying or reloading them; their train/eval modes and torch's RNG are
left as they were (a resumed run stays bit for bit). The pairs, the mediapipe graph and (if asked)
dlib are built once. CSIM is off by default here (dlib takes about 0.35 s an image on a CPU).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from torch import nn

from emoportraits_core.config import config_to_dict
from emoportraits_core.errors import PipelineError
from emoportraits_core.pipeline.resolved import ResolvedPipeline
from emoportraits_core.registry import Registry

from .evaluate import evaluate_modules, scalars
from .pairs import EvalSet
from .scorers import Scorers

__all__ = ["TrainingEvaluator"]


class TrainingEvaluator:
    """``evaluator(modules) -> {"eval/<metric>": model, "eval_baseline/<metric>": baseline}``.

    Args:
        components: the trained components' ``{key: {"kind", "name", "config"}}``.
        pairs: the held-out pairs.
        pipeline: the inference pipeline to score in.
        scorers: default: keypoints on, identity off, no LPIPS.
    """

    def __init__(
        self,
        components: Mapping[str, Mapping[str, Any]],
        pairs: EvalSet,
        *,
        pipeline: str | os.PathLike[str] = "animate",
        registry: Registry | None = None,
        scorers: Scorers | None = None,
        batch_size: int = 8,
    ) -> None:
        self.components, self.pairs, self.pipeline = dict(components), pairs, pipeline
        self.registry, self.batch_size = registry, batch_size
        self.scorers = scorers if scorers is not None else Scorers.create(identity=False)
        self.last: dict[str, Any] | None = None

    @classmethod
    def for_pipeline(
        cls,
        resolved: ResolvedPipeline,
        registry: Registry | None = None,
        *,
        data: str | os.PathLike[str] | None = None,
        split: str = "val",
        pairs: int = 16,
        seed: int = 0,
        frames: tuple[float, float] = (0.0, 1.0),
        **kwargs: Any,
    ) -> TrainingEvaluator:
        """The evaluator of a training pipeline: its components' configs; pairs from ``data`` (default:
        the first ``[data.*]`` table's ``config.root``), ``split``, ``pairs``, ``seed``, ``frames``.

        Raises:
            PipelineError: no data directory to take the pairs from.
            InputError: see :meth:`.pairs.EvalSet.from_shards` (e.g. no ``val`` split).
        """
        if data is None:
            roots = [getattr(d.config, "root", None) for d in resolved.data.values()]
            if not roots or not roots[0]:
                raise PipelineError(f"{resolved.path}: no [data.*] table with a config.root to evaluate on")
            data = roots[0]
        components = {
            k: {"kind": c.kind, "name": c.entry.name, "config": config_to_dict(c.config)}
            for k, c in resolved.components.items()
        }
        eval_set = EvalSet.from_shards(data, split=split, count=pairs, seed=seed, frames=tuple(frames))
        return cls(components, eval_set, registry=registry, **kwargs)

    def __call__(self, modules: Mapping[str, nn.Module]) -> dict[str, float]:
        """Score ``modules`` (component key -> module); the full result stays in :attr:`last`."""
        self.last = evaluate_modules(
            modules,
            self.components,
            self.pairs,
            pipeline=self.pipeline,
            registry=self.registry,
            scorers=self.scorers,
            batch_size=self.batch_size,
        )
        return scalars(self.last)
