"""The evaluation plugin: registered through its own ``emoportraits`` entry point, like a third party's.

It adds the commands ``emoportraits evaluate`` (:mod:`.cli`) and ``emoportraits lipsync``
(:mod:`.lipsync_cli`) and answers the training loop's hook
``emoportraits_training_evaluator`` (``[train] eval_every``) with a :class:`.training.TrainingEvaluator`.
It registers no component.
"""

from __future__ import annotations

import argparse

from emoportraits_core import Registry, hookimpl
from emoportraits_core.pipeline.resolved import ResolvedPipeline


@hookimpl
def emoportraits_add_commands(subparsers: argparse._SubParsersAction) -> None:
    """Adds ``emoportraits evaluate`` and ``emoportraits lipsync``."""
    from . import cli, lipsync_cli

    cli.add_parser(subparsers)
    lipsync_cli.add_parser(subparsers)


@hookimpl
def emoportraits_training_evaluator(resolved: ResolvedPipeline, registry: Registry):
    """Self-reenactment on ``[train] eval_pairs`` pairs of ``eval_split`` / ``eval_frames`` of the first
    ``[data.*]`` directory, scored in the ``animate`` graph (keypoints on, CSIM off)."""
    from .training import TrainingEvaluator

    train = resolved.spec.train
    return TrainingEvaluator.for_pipeline(
        resolved, registry, split=train.eval_split, pairs=train.eval_pairs, frames=train.eval_frames
    )
