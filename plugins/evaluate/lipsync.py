"""Lip sync without downloaded weights: how the mouth of a video moves with the loudness of its audio.

Per video frame ``k`` (at the video's rate):

- mouth opening: the inner-lip gap (iBUG 62 to 66) over the outer eye corners' distance (36 to 45),
  from mediapipe's face mesh (:class:`.keypoints.FaceMeshKeypoints`, inside its wheel) on the frame
  scaled to 256 pixels; NaN when no face is found;
- audio envelope: the RMS of the 16 kHz mono audio over the frame's interval ``[k / fps, (k + 1) / fps)``
  (:func:`emoportraits_plugins.audio.read_audio`; the video's own track, or another file).

The score is the Pearson correlation of the two sequences over the frames with a face, at lags of
``-L .. L`` frames (``lag > 0``: the mouth moves ``lag`` frames after the sound). Reported: the
correlation at lag 0, the best correlation and its lag (frames and ms). Talking faces with their own
sound give a clearly positive correlation near lag 0 (the sample ``drive_talking_a.mp4``: about 0.3
at 0 ms); a mouth that ignores the audio gives about 0. It measures synchrony of opening with
loudness, not which phoneme is shown: SyncNet's LSE-C / LSE-D are the learned measure
(:mod:`.syncnet`, with SyncNet's weights: ``emoportraits lipsync --syncnet FILE``).
"""

from __future__ import annotations

import math
import os
from typing import Any

import numpy as np
import torch
from torch import Tensor

from emoportraits_core.errors import InputError

__all__ = ["audio_envelope", "lag_correlations", "lip_sync", "mouth_openings"]

_BATCH = 16


def mouth_openings(path: str | os.PathLike[str], *, max_frames: int | None = None) -> tuple[Tensor, float]:
    """``(openings (T,) float64, NaN without a face, fps)`` of a video's frames (module docstring)."""
    from emoportraits_core.io import iter_frame_arrays, probe_video

    from ..speech.fit_mouth_pca import mouth_measures
    from .keypoints import FaceMeshKeypoints

    info = probe_video(path)
    mesh = FaceMeshKeypoints()
    out: list[Tensor] = []
    try:
        batch: list[np.ndarray] = []
        for arr in iter_frame_arrays(path):
            batch.append(arr)
            if len(batch) == _BATCH:
                out.append(_openings(mesh, batch, mouth_measures))
                batch = []
            if max_frames is not None and sum(map(len, out)) + len(batch) >= max_frames:
                break
        if batch:
            out.append(_openings(mesh, batch, mouth_measures))
    finally:
        mesh.close()
    return torch.cat(out)[:max_frames], float(info.fps)


def _openings(mesh: Any, arrays: list[np.ndarray], measures: Any) -> Tensor:
    side = max(max(a.shape[:2]) for a in arrays)
    square = np.zeros((len(arrays), side, side, 3), np.uint8)  # pad to a square (the mesh input)
    for i, a in enumerate(arrays):
        square[i, : a.shape[0], : a.shape[1]] = a
    images = torch.from_numpy(square).permute(0, 3, 1, 2).float() / 255.0
    points, found = mesh(images)
    opening = measures(points)[:, 0].double()
    return torch.where(found, opening, torch.full_like(opening, math.nan))


def audio_envelope(audio: Tensor, fps: float, frames: int, *, sample_rate: int = 16000) -> Tensor:
    """``(frames,)`` float64: the RMS of ``audio (N,)`` over each frame's interval (0 past its end)."""
    edges = (torch.arange(frames + 1, dtype=torch.float64) * sample_rate / fps).round().long()
    squared = torch.cat([torch.zeros(1, dtype=torch.float64), audio.double().square().cumsum(0)])
    edges = edges.clamp(max=len(audio))
    sums = squared[edges[1:]] - squared[edges[:-1]]
    counts = (edges[1:] - edges[:-1]).clamp(min=1)
    return (sums / counts).clamp(min=0).sqrt()


def lag_correlations(a: Tensor, b: Tensor, max_lag: int) -> Tensor:
    """``(2 L + 1,)``: Pearson correlation of ``a[t]`` with ``b[t - lag]`` for ``lag = -L .. L`` over
    the frames where both are finite (NaN where fewer than 3 remain or one does not vary)."""
    out = []
    n = len(a)
    for lag in range(-max_lag, max_lag + 1):
        x = a[max(lag, 0) : n + min(lag, 0)]
        y = b[max(-lag, 0) : n - max(lag, 0)]
        keep = torch.isfinite(x) & torch.isfinite(y)
        x, y = x[keep], y[keep]
        if len(x) < 3 or float(x.std()) == 0 or float(y.std()) == 0:
            out.append(math.nan)
            continue
        out.append(float(torch.corrcoef(torch.stack([x, y]))[0, 1]))
    return torch.tensor(out, dtype=torch.float64)


def lip_sync(
    video: str | os.PathLike[str],
    *,
    audio: str | os.PathLike[str] | None = None,
    max_lag_ms: float = 200.0,
    max_frames: int | None = None,
) -> dict[str, Any]:
    """The lip-sync measure of ``video`` (with its own audio, or ``audio``): module docstring.

    Raises:
        InputError: an unreadable video or audio, no audio, or fewer than 3 frames with a face.
    """
    from ..audio import read_audio

    openings, fps = mouth_openings(video, max_frames=max_frames)
    sound = read_audio(audio if audio is not None else video)
    envelope = audio_envelope(sound, fps, len(openings))
    faces = int(torch.isfinite(openings).sum())
    if faces < 3:
        raise InputError(f"{video}: a face was found on {faces} of {len(openings)} frames; lip sync needs 3")
    max_lag = max(0, round(max_lag_ms / 1000 * fps))
    corr = lag_correlations(openings, envelope, max_lag)
    best = int(torch.nan_to_num(corr, nan=-2.0).argmax())
    return {
        "video": str(video),
        "audio": str(audio if audio is not None else video),
        "frames": len(openings),
        "frames_with_face": faces,
        "fps": fps,
        "correlation": float(corr[max_lag]),
        "best_correlation": float(corr[best]),
        "best_lag_frames": best - max_lag,
        "best_lag_ms": round((best - max_lag) / fps * 1000, 1),
        "max_lag_ms": max_lag_ms,
    }
