"""Self-reenactment evaluation: a model's outputs and the copy-the-source baseline, scored alike.

For each held-out pair (:mod:`.pairs`) the model gets what inference gives it: the static input
``source`` = the source crop x its matte, the stream input (``driver``) = the driver crop. Its output
``image`` (clamped to [0, 1]) and the **baseline**, the source itself as an output (the source crop
on the green background, as the model renders: ``source x m_s + green x (1 - m_s)``), are scored
against the driver:

==============  ===================================================================================
metric          definition (``m_d``: the driver's stored soft matte; :mod:`.metrics` for formulas)
==============  ===================================================================================
psnr, ssim, l1  whole image against the release's training target, the driver on green
                (``driver x m_d + green x (1 - m_d)``): they score the head's content *and* its
                silhouette; outside the silhouette the target is flat green, which a model trained
                on that target renders well, so these numbers run higher than on real backgrounds
psnr_mask, ...  ``ssim_mask``, ``l1_mask``: against the driver crop itself, weighted by ``m_d``
                (face, hair, ears, neck): the head only, whatever the background
akd             mean distance in crop pixels between the 68 mediapipe keypoints of the output and
                of the driver crop (:mod:`.keypoints`); lower is better
face_found      fraction of outputs where mediapipe finds a face (pairs without are left out of
                ``akd`` and counted)
csim            cosine of dlib face descriptors of the output and the source crop (:mod:`.identity`;
                only with the ``eval`` extra installed)
lpips           LPIPS (VGG, v0.1) against the green-background target, only with ``--lpips`` weights
==============  ===================================================================================

Each metric is computed per pair and averaged over the pairs where it is defined (PSNR capped at
:data:`.metrics.PSNR_CAP` dB per pair, so an exact copy counts 100 dB). Evaluation runs the networks
in eval mode under ``inference_mode``, draws nothing from torch's global RNG and restores the
modules' train/eval modes (:func:`evaluate_modules` is safe to call from a training loop).
"""

from __future__ import annotations

import contextlib
import math
import os
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

import torch
from torch import Tensor, nn

from emoportraits_core import get_registry
from emoportraits_core.errors import PipelineError
from emoportraits_core.inference import InferenceRunner
from emoportraits_core.pipeline import load_pipeline, resolve_pipeline
from emoportraits_core.pipeline.executor import Executor
from emoportraits_core.registry import Registry

from ..session.session import image_size
from . import metrics as M
from .identity import cosine
from .keypoints import keypoint_distance
from .overrides import checkpoint_overrides
from .pairs import EvalSet
from .scorers import Scorers

__all__ = ["GREEN", "METRICS", "evaluate", "evaluate_modules", "runner_from_modules", "scalars"]

GREEN = (0.0, 1.0, 0.0)
SOURCE = "source"
#: metric -> (higher is better, description); in table order.
METRICS: dict[str, tuple[bool, str]] = {
    "psnr_mask": (True, "PSNR in the driver's head matte (dB)"),
    "ssim_mask": (True, "SSIM in the driver's head matte"),
    "l1_mask": (False, "L1 in the driver's head matte"),
    "psnr": (True, "PSNR, whole image vs the driver on green (dB)"),
    "ssim": (True, "SSIM, whole image vs the driver on green"),
    "l1": (False, "L1, whole image vs the driver on green"),
    "akd": (False, "mediapipe keypoint distance to the driver (crop pixels)"),
    "face_found": (True, "outputs where mediapipe finds a face (fraction)"),
    "csim": (True, "dlib identity cosine to the source"),
    "lpips": (False, "LPIPS (VGG) vs the driver on green"),
}


def runner_from_modules(
    modules: Mapping[str, nn.Module],
    components: Mapping[str, Mapping[str, Any]],
    *,
    pipeline: str | os.PathLike[str] = "animate",
    registry: Registry | None = None,
    device: torch.device | str | None = None,
) -> InferenceRunner:
    """An inference runner of ``pipeline`` over the given (e.g. a trainer's) modules, no copy.

    Args:
        modules: component key -> module; the pipeline's components with weights must be among them.
        components: their ``{key: {"kind", "name", "config"}}`` (as a checkpoint records them), applied
            to the pipeline with :func:`.overrides.checkpoint_overrides`.
        device: where inputs go (default: the device of the first parameter).

    The runner puts the modules in eval mode: use :func:`evaluate_modules`, which restores them.
    """
    registry = registry or get_registry()
    spec = load_pipeline(pipeline)
    resolved = resolve_pipeline(pipeline, checkpoint_overrides(components, spec.components), registry)
    used: dict[str, nn.Module] = {}
    for key, comp in resolved.components.items():
        if key in modules:
            used[key] = modules[key]
            continue
        module = registry.create(comp.entry.kind, comp.entry.name, config=comp.config)
        if module.state_dict():
            raise PipelineError(
                f"{resolved.path}: component '{key}' has weights, but the modules given lack it "
                f"(they have {', '.join(modules)})"
            )
        used[key] = module
    if device is None:
        device = next((p.device for m in modules.values() for p in m.parameters()), torch.device("cpu"))
    return _ModulesRunner(Executor(resolved, used, torch.device(device)))


class _ModulesRunner(InferenceRunner):
    """An inference runner over a training run's modules: ``no_grad`` rather than ``inference_mode``,
    so that nothing a module caches while evaluated is an inference tensor a later step cannot use."""

    @contextlib.contextmanager
    def policy(self) -> Iterator[None]:
        with torch.no_grad(), self._autocast():
            yield


@contextlib.contextmanager
def _kept_modes(modules: Mapping[str, nn.Module]) -> Iterator[None]:
    """Restore every submodule's ``training`` flag and torch's CPU/CUDA RNG afterwards."""
    flags = [(m, m.training) for module in modules.values() for m in module.modules()]
    with torch.random.fork_rng(
        devices=range(torch.cuda.device_count()) if torch.cuda.is_initialized() else []
    ):
        try:
            yield
        finally:
            for m, flag in flags:
                m.training = flag


def evaluate_modules(
    modules: Mapping[str, nn.Module],
    components: Mapping[str, Mapping[str, Any]],
    pairs: EvalSet,
    *,
    pipeline: str | os.PathLike[str] = "animate",
    registry: Registry | None = None,
    scorers: Scorers | None = None,
    batch_size: int = 8,
) -> dict[str, Any]:
    """:func:`evaluate` on a training run's own modules (no reload); their modes and the RNG are kept."""
    with _kept_modes(modules):
        runner = runner_from_modules(modules, components, pipeline=pipeline, registry=registry)
        return evaluate(runner, pairs, scorers=scorers, batch_size=batch_size)


def _runner_of(model: Any) -> InferenceRunner:
    if isinstance(model, InferenceRunner):
        return model
    runner = getattr(model, "runner", None)  # a Session
    if isinstance(runner, InferenceRunner):
        return runner
    raise TypeError(
        f"expected a Session, an InferenceRunner or a checkpoint path, got {type(model).__name__}"
    )


def evaluate(
    model: Any,
    pairs: EvalSet,
    *,
    scorers: Scorers | None = None,
    batch_size: int = 8,
    progress: Callable[[int], Any] | None = None,
    pipeline: str | os.PathLike[str] = "animate",
    overrides: Sequence[str] = (),
    device: torch.device | str = "cpu",
    registry: Registry | None = None,
) -> dict[str, Any]:
    """Score ``model`` and the copy-the-source baseline on ``pairs`` (module docstring).

    Args:
        model: a :class:`~emoportraits_plugins.session.Session`, an ``InferenceRunner``, or a
            project checkpoint / training run directory (built with ``pipeline`` and ``overrides``
            on ``device`` against ``registry``, see :func:`.load.load_model`).
        pairs: the held-out pairs.
        scorers: the keypoint, identity and LPIPS networks (default: :meth:`Scorers.create`).
        batch_size: pairs per network call.
        progress: ``progress(total_pairs) -> bar`` with ``update(n)`` and ``close()``, or None.

    Returns:
        ``{"pairs", "split", "data", "image_size", "metrics": {name: {"model", "baseline",
        "higher_is_better", "pairs"}}, "counts": {...}, "notes": [...]}``; a metric's value is None
        where it is defined for no pair.
    """
    if isinstance(model, str | os.PathLike):
        from .load import load_model

        model = load_model(model, pipeline=pipeline, overrides=overrides, device=device, registry=registry)
    runner = _runner_of(model)
    names = [n for n in runner.resolved.stream_inputs]
    if SOURCE not in runner.resolved.static_inputs or len(names) != 1:
        raise PipelineError(
            f"{runner.resolved.path}: evaluation needs a static input '{SOURCE}' and one stream input "
            f"(the driver crops); it has static {runner.resolved.static_inputs}, stream {names}"
        )
    size = image_size(runner, SOURCE)
    scorers = scorers if scorers is not None else Scorers.create()
    values: dict[str, dict[str, list[float]]] = {"model": {}, "baseline": {}}
    counts = {"target_no_face": 0, "empty_mask": 0}
    bar = progress(len(pairs)) if progress is not None else None
    try:
        for batch in pairs.batches(batch_size, size):
            runner.prepare(**{SOURCE: (batch["source"] * batch["source_mask"]).to(runner.device)})
            out = runner(**{names[0]: batch["driver"].to(runner.device)})["image"]
            output = out.detach().float().cpu().clamp(0, 1)
            _score_batch(batch, output, scorers, values, counts)
            if bar is not None:
                bar.update(len(output))
    finally:
        if hasattr(model, "reset_source"):  # a Session: its encoded source is gone
            model.reset_source()
        else:
            runner.reset()
        if bar is not None:
            bar.close()
    return _summary(pairs, size, values, counts, scorers)


def _score_batch(
    batch: Mapping[str, Tensor],
    output: Tensor,
    scorers: Scorers,
    values: dict[str, dict[str, list[float]]],
    counts: dict[str, int],
) -> None:
    green = torch.tensor(GREEN).view(1, 3, 1, 1)
    m_d, m_s = batch["driver_mask"], batch["source_mask"]
    target = batch["driver"] * m_d + green * (1 - m_d)
    baseline = batch["source"] * m_s + green * (1 - m_s)
    empty = m_d.flatten(1).sum(1) == 0
    counts["empty_mask"] += int(empty.sum())
    target_points = src_id = None
    if scorers.keypoints is not None:
        target_points, target_found = scorers.keypoints(batch["driver"])
        counts["target_no_face"] += int((~target_found).sum())
    if scorers.identity is not None:
        src_id = scorers.identity(batch["source"])
    for who, image in (("model", output), ("baseline", baseline)):
        row = {
            "psnr": M.psnr(image, target, max_db=M.PSNR_CAP),
            "ssim": M.ssim(image, target),
            "l1": M.l1(image, target),
            "psnr_mask": M.psnr(image, batch["driver"], m_d, max_db=M.PSNR_CAP),
            "ssim_mask": M.ssim(image, batch["driver"], m_d),
            "l1_mask": M.l1(image, batch["driver"], m_d),
        }
        points = None
        if scorers.keypoints is not None and target_points is not None:
            points, found = scorers.keypoints(image)
            row["akd"] = keypoint_distance(points, target_points)
            row["face_found"] = found.double()
        if scorers.identity is not None and src_id is not None:
            row["csim"] = cosine(scorers.identity(image, points), src_id)
        if scorers.lpips is not None:
            row["lpips"] = scorers.lpips(image, target)
        for name, v in row.items():
            values[who].setdefault(name, []).extend(float(x) for x in v)


def _mean(xs: list[float]) -> tuple[float | None, int]:
    finite = [x for x in xs if math.isfinite(x)]
    return (sum(finite) / len(finite) if finite else None), len(finite)


def _summary(pairs: EvalSet, size: int, values, counts, scorers: Scorers) -> dict[str, Any]:
    table: dict[str, Any] = {}
    for name, (higher, _) in METRICS.items():
        if name not in values["model"]:
            continue
        model, n = _mean(values["model"][name])
        baseline, _ = _mean(values["baseline"][name])
        table[name] = {"model": model, "baseline": baseline, "higher_is_better": higher, "pairs": n}
    if "face_found" in values["model"]:
        counts["output_no_face"] = sum(x == 0 for x in values["model"]["face_found"])
        counts["baseline_no_face"] = sum(x == 0 for x in values["baseline"]["face_found"])
    return {
        "pairs": len(pairs),
        "split": pairs.split,
        "data": str(pairs.root),
        "image_size": size,
        "metrics": table,
        "counts": counts,
        "notes": list(scorers.notes),
    }


def scalars(result: Mapping[str, Any], prefix: str = "eval") -> dict[str, float]:
    """``{"<prefix>/<metric>": model, "<prefix>_baseline/<metric>": baseline}`` for TensorBoard."""
    out = {}
    for name, row in result["metrics"].items():
        if row["model"] is not None:
            out[f"{prefix}/{name}"] = float(row["model"])
        if row["baseline"] is not None:
            out[f"{prefix}_baseline/{name}"] = float(row["baseline"])
    return out
