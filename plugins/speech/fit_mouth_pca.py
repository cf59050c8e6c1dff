"""Fitting the mouth PCA (``emoportraits fit-mouth-pca``): expression latents of prepared frames ->
PCA -> the components that move with the mouth.

Criterion (ours; the paper's Sec. 5.2 is not available, TRAINING_FACTS section 6). Per frame, from the
shard's 68 normalised landmarks (x, y; iBUG layout, :mod:`emoportraits_plugins.data.landmarks`):

- mouth opening ``|p62 - p66| / |p36 - p45|``: inner-lip gap (upper to lower inner lip, mid-line);
- mouth width ``|p48 - p54| / |p36 - p45|``: lip corners;

both normalised by the inter-ocular distance (outer eye corners, the 300-W convention), so they do
not depend on the face's size in the crop. PCA: ``torch.linalg.svd`` of the centred latents (float64);
the ``P = min(N - 1, D)`` components with a variance (a sample of N frames spans at most N - 1
directions). Each component's mouth score is ``max(|corr(pc score, opening)|, |corr(pc score,
width)|)`` (Pearson, over the frames; 0 where a measure does not vary); components are ordered by
score (ties: by variance) and the first K saved. Each axis is oriented so that its correlation with the
measure that gives its score is positive (+ = mouth more open / wider).

Frames: every frame with landmarks of every video of every directory given (both splits: the PCA
describes the latent space, it is not a model that is validated), or ``max_frames`` of them evenly
spaced over that list. They are read and encoded in batches; only the latents stay in memory.
"""

from __future__ import annotations

import json
import os
import time
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import attrs
import torch
import torch.nn.functional as F
from torch import Tensor
from tqdm import tqdm

from emoportraits_core.checkpoint import load_into, read_checkpoint, split_by_component
from emoportraits_core.config import config_to_dict
from emoportraits_core.errors import CheckpointError, InputError
from emoportraits_core.registry import Registry

from .mouth_pca import MouthPCA

__all__ = [
    "CRITERION",
    "MEASURES",
    "MOTION_ENCODER",
    "FitReport",
    "fit_mouth_pca",
    "fit_mouth_pca_from_shards",
    "load_motion_encoder",
    "mouth_measures",
    "shard_frames",
]

MOTION_ENCODER = "emoportraits_motion_encoder"
MEASURES = (
    "opening = |p62 - p66| / |p36 - p45|, width = |p48 - p54| / |p36 - p45| "
    "(x, y of the 68 normalised landmarks, iBUG indices)"
)
CRITERION = (
    "score = max(|corr(pc score, opening)|, |corr(pc score, width)|) over the frames (Pearson); "
    "components ordered by score, first K kept; axes oriented to a positive correlation"
)


# -- the maths ------------------------------------------------------------------------------------


def mouth_measures(landmarks: Tensor) -> Tensor:
    """``landmarks (..., 68, 2 or 3)`` (iBUG order; only x, y are read) -> ``(..., 2)``: mouth opening
    and mouth width, each divided by the inter-ocular distance (module docstring)."""
    xy = landmarks[..., :2].double()

    def dist(i: int, j: int) -> Tensor:
        return (xy[..., i, :] - xy[..., j, :]).norm(dim=-1)

    ocular = dist(36, 45).clamp_min(1e-6)
    return torch.stack([dist(62, 66) / ocular, dist(48, 54) / ocular], dim=-1).to(landmarks.dtype)


def _correlation(x: Tensor, y: Tensor) -> Tensor:
    """Pearson correlation of the columns: ``x (N, P)``, ``y (N, M)`` -> ``(P, M)``; 0 where a column
    does not vary."""
    x, y = x - x.mean(0), y - y.mean(0)
    sx, sy = x.norm(dim=0), y.norm(dim=0)
    corr = (x.T @ y) / (sx[:, None] * sy[None, :]).clamp_min(1e-300)
    keep = (sx[:, None] > 1e-12 * max(float(sx.max()), 1.0)) & (sy[None, :] > 0)
    return torch.where(keep, corr, torch.zeros_like(corr)).clamp(-1.0, 1.0)


def fit_mouth_pca(
    latents: Tensor, measures: Tensor, components: int = 8, metadata: dict[str, Any] | None = None
) -> MouthPCA:
    """PCA of ``latents (N, D)`` with the mouth criterion against ``measures (N, 2)`` (opening, width).

    Returns the :class:`MouthPCA` with the ``components`` axes of best mouth score.

    Raises:
        InputError: ``N < components + 1`` frames, or ``components > D``.
    """
    n, d = latents.shape
    if components > d:
        raise InputError(f"--components {components} exceeds the expression latent's size {d}")
    if n < components + 1:
        raise InputError(
            f"{n} frame(s) with landmarks; need at least {components + 1} for {components} components"
        )
    x = latents.double()
    mean = x.mean(0)
    _, s, vh = torch.linalg.svd(x - mean, full_matrices=False)
    p = min(n - 1, d)
    axes, s = vh[:p], s[:p]
    pc_scores = (x - mean) @ axes.T  # (N, P)
    corr = _correlation(pc_scores, measures.double())  # (P, 2)
    best = corr.abs().argmax(1)
    sign = torch.sign(corr.gather(1, best[:, None])[:, 0])
    largest = axes.gather(1, axes.abs().argmax(1, keepdim=True))[:, 0]
    sign = torch.where(sign == 0, torch.sign(largest), sign)
    axes, corr = axes * sign[:, None], corr * sign[:, None]
    score = corr.abs().max(1).values
    order = sorted(range(p), key=lambda i: (-float(score[i]), i))[:components]
    order_t = torch.tensor(order, dtype=torch.int64)
    meta = {
        "criterion": CRITERION,
        "measures": MEASURES,
        "frames": n,
        "latent_dim": d,
        "components": components,
        **(metadata or {}),
    }
    return MouthPCA(
        mean=mean.float(),
        components=axes[order_t].float().contiguous(),
        order=order_t,
        scores=score.float(),
        explained_variance=(s**2 / max(n - 1, 1)).float(),
        correlations=corr.float(),
        metadata={k: str(v) for k, v in meta.items()},
    )


# -- the motion encoder -------------------------------------------------------------------------


def load_motion_encoder(
    registry: Registry,
    checkpoint: str | os.PathLike[str] | None,
    *,
    preset: str | None = None,
    seed: int = 0,
) -> tuple[torch.nn.Module, str]:
    """The image model's motion encoder (``emoportraits_motion_encoder``), in eval mode, and a
    description of its weights.

    Args:
        registry: where ``encoder`` / ``emoportraits_motion_encoder`` is registered.
        checkpoint: a project checkpoint holding it (any component key; ``motion_encoder`` first), or
            None for random weights (seeded with ``seed``, with a warning).
        preset: its config preset; None: the checkpoint's recorded config, else the release's.

    Raises:
        CheckpointError: unreadable checkpoint, none or several motion encoders, or weights that do not
            fit the config.
    """
    if checkpoint is None:
        with torch.random.fork_rng(devices=[]):  # seeded weights; the caller's RNG is left alone
            torch.manual_seed(seed)
            encoder = registry.create("encoder", MOTION_ENCODER, preset=preset or "release")
        warnings.warn(
            "fit-mouth-pca: random motion-encoder weights; the components describe an untrained "
            "encoder (for tests and demos only; pass --checkpoint)",
            stacklevel=2,
        )
        return encoder.eval(), f"random weights (seed {seed})"
    ckpt = read_checkpoint(checkpoint)
    keys = [k for k, m in ckpt.components.items() if isinstance(m, dict) and m.get("name") == MOTION_ENCODER]
    if not keys and "motion_encoder" in split_by_component(ckpt.tensors):
        keys = ["motion_encoder"]  # weights without component metadata
    if len(keys) > 1 and "motion_encoder" in keys:
        keys = ["motion_encoder"]
    if len(keys) != 1:
        held = ", ".join(sorted(ckpt.components)) or "(no component metadata)"
        what = "no" if not keys else f"{len(keys)} ({', '.join(keys)})"
        raise CheckpointError(f"{checkpoint}: {what} {MOTION_ENCODER} component(s); it holds: {held}")
    key = keys[0]
    values: dict[str, Any] = (
        {"preset": preset} if preset else dict(ckpt.components.get(key, {}).get("config", {}))
    )
    encoder = registry.create("encoder", MOTION_ENCODER, **values)
    load_into(encoder, ckpt.component_state(key), where=f"{checkpoint} [component {key}]")
    return encoder.eval(), Path(checkpoint).name


# -- the frames ---------------------------------------------------------------------------------


def shard_frames(dirs: Sequence[str | os.PathLike[str]]) -> list[tuple[Path, Tensor]]:
    """``[(shard dir, frame indices (K,) int64 with landmarks), ...]`` of every video of ``dirs``
    (shard directories of ``emoportraits prepare``), in index order.

    Raises:
        InputError: a directory that is not a shard directory (from ``read_index``).
    """
    from emoportraits_plugins.data.format import read_index
    from emoportraits_plugins.data.shard import VideoShard

    out = []
    for root in map(Path, dirs):
        for video in read_index(root)["videos"]:
            shard = VideoShard(root / video["dir"])
            out.append((shard.path, torch.nonzero(shard.valid).flatten()))
            shard.close()
    return out


def _select(frames: list[tuple[Path, Tensor]], max_frames: int) -> list[tuple[Path, Tensor]]:
    """At most ``max_frames`` (0: all) frames, evenly spaced over the concatenated list."""
    total = sum(len(i) for _, i in frames)
    if max_frames <= 0 or total <= max_frames:
        return frames
    keep = torch.linspace(0, total - 1, max_frames, dtype=torch.float64).round().long()
    out, start = [], 0
    for path, indices in frames:
        local = keep[(keep >= start) & (keep < start + len(indices))] - start
        if len(local):
            out.append((path, indices[local]))
        start += len(indices)
    return out


def _encode(encoder: torch.nn.Module, images: Tensor, size: int) -> Tensor:
    if images.shape[-1] != size:
        images = F.interpolate(
            images, size=(size, size), mode="bilinear", align_corners=False, antialias=True
        )
    return encoder(images).expression.float().cpu()


@attrs.frozen
class FitReport:
    """What :func:`fit_mouth_pca_from_shards` did: the PCA, frames, videos, seconds taken."""

    pca: MouthPCA
    frames: int
    videos: int
    seconds: float


def fit_mouth_pca_from_shards(
    dirs: Sequence[str | os.PathLike[str]],
    output: str | os.PathLike[str],
    *,
    registry: Registry,
    checkpoint: str | os.PathLike[str] | None = None,
    preset: str | None = None,
    components: int = 8,
    max_frames: int = 0,
    batch_size: int = 16,
    device: str | torch.device = "cpu",
    seed: int = 0,
    progress: bool = True,
) -> FitReport:
    """Encode the frames with landmarks of ``dirs``, fit the mouth PCA, write it to ``output``.

    Raises:
        InputError: not a shard directory, too few frames; CheckpointError: a bad checkpoint.
    """
    began = time.perf_counter()
    frames = _select(shard_frames(dirs), max_frames)
    total = sum(len(i) for _, i in frames)
    if total < components + 1:
        where = ", ".join(map(str, dirs))
        raise InputError(
            f"{where}: {total} frame(s) with landmarks; need at least {components + 1} for {components} components"
        )
    encoder, weights = load_motion_encoder(registry, checkpoint, preset=preset, seed=seed)
    dim = encoder.config.expression_dim
    if components > dim:  # before encoding anything
        raise InputError(f"--components {components} exceeds the expression latent's size {dim}")
    encoder = encoder.to(device)
    size = encoder.config.image_size
    latents, measures = [], []
    from emoportraits_plugins.data.shard import VideoShard

    with torch.inference_mode(), tqdm(total=total, unit="frame", disable=not progress) as bar:
        for path, indices in frames:
            shard = VideoShard(path)
            for batch in indices.split(batch_size):
                images = torch.stack([shard.frame(int(i)) for i in batch]).to(device)
                latents.append(_encode(encoder, images, size))
                measures.append(mouth_measures(shard.landmarks[batch]))
                bar.update(len(batch))
            shard.close()
    meta = {
        "preset": preset or ("from the checkpoint" if checkpoint else "release"),
        "encoder_config": json.dumps(config_to_dict(encoder.config), sort_keys=True),
        "weights": weights,
        "data": json.dumps([str(d) for d in dirs]),
    }
    pca = fit_mouth_pca(torch.cat(latents), torch.cat(measures), components, meta)
    pca.save(output)
    return FitReport(pca, total, len(frames), time.perf_counter() - began)
