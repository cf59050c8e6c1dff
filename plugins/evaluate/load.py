"""Loading the model to evaluate: a project checkpoint or a training run, in an inference pipeline
given the checkpoint's own component configs (:mod:`.overrides`)."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import torch

from emoportraits_core import get_registry
from emoportraits_core.checkpoint import read_checkpoint
from emoportraits_core.devices import resolve_device, resolve_dtype
from emoportraits_core.errors import CheckpointError
from emoportraits_core.inference import InferenceRunner, build
from emoportraits_core.pipeline import load_pipeline, resolve_pipeline
from emoportraits_core.registry import Registry
from emoportraits_core.training import find_checkpoint

from .overrides import checkpoint_overrides

__all__ = ["checkpoint_file", "load_model"]

MODEL = "model.safetensors"


def checkpoint_file(path: str | os.PathLike[str]) -> Path:
    """The model file of ``path``: a project checkpoint file itself, or ``model.safetensors`` of a
    training run / ``checkpoints`` / checkpoint directory (``checkpoints/last`` of a run).

    Raises:
        CheckpointError: no such file or directory, or a directory without a training checkpoint.
    """
    path = Path(path)
    if path.is_dir():
        return find_checkpoint(path) / MODEL
    if not path.exists():
        raise CheckpointError(
            f"{path}: no such checkpoint; expected a model.safetensors or a training run directory"
        )
    return path


def load_model(
    checkpoint: str | os.PathLike[str],
    *,
    pipeline: str | os.PathLike[str] = "animate",
    overrides: Sequence[str] = (),
    device: str | torch.device = "auto",
    dtype: str | torch.dtype = "float32",
    registry: Registry | None = None,
) -> InferenceRunner:
    """Build ``pipeline`` with ``checkpoint``'s component configs, then ``overrides``, and load it.

    The checkpoint may hold components the pipeline does not use (a discriminator, graph ops);
    components the pipeline has and the checkpoint lacks keep the pipeline's config (and must be
    weightless, e.g. the driver).

    Raises:
        CheckpointError: unreadable checkpoint, or one that does not fit the pipeline.
        PipelineError / ConfigError: a bad pipeline or override.
    """
    path = checkpoint_file(checkpoint)
    ckpt = read_checkpoint(path)
    registry = registry or get_registry()
    spec = load_pipeline(pipeline)
    sets = [*checkpoint_overrides(ckpt.components, spec.components, where=str(path)), *overrides]
    resolved = resolve_pipeline(pipeline, sets, registry)
    try:
        return build(
            resolved,
            registry,
            device=resolve_device(device),
            checkpoint=ckpt,
            autocast=resolve_dtype(dtype),
            subset_of_checkpoint=True,
        )
    except CheckpointError as exc:  # name the file, not "checkpoint" (it was read once, above)
        message = str(exc)
        if message.startswith("checkpoint"):
            message = f"{path}{message.removeprefix('checkpoint')}"
        raise CheckpointError(message) from None
