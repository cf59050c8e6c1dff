"""SyncNet's lip-sync scores LSE-D and LSE-C, from SyncNet weights the user gives; no file, no score.

SyncNet: Chung & Zisserman 2016, "Out of time: automated lip sync in the wild" (ACCV workshops);
the released model is joonson/syncnet_python's ``syncnet_v2.model``. LSE-D / LSE-C ("lip sync
error", distance and confidence) are how Wav2Lip (Prajwal et al. 2020, arXiv:2008.10010, section
4.2) and later talking-head papers report it.

Network (:class:`SyncNet`, syncnet_python's layers and key names ``netcnnaud.*``, ``netfcaud.*``,
``netcnnlip.*``, ``netfclip.*``; BatchNorm always in eval mode):

- audio: MFCC ``(B, 1, 13, 20)`` (13 coefficients x 20 steps of 10 ms = 0.2 s) -> ``(B, 1024)``;
- lips: 5 consecutive video frames ``(B, 3, 5, 224, 224)``, BGR, float pixel values in [0, 255]
  (not normalised: syncnet_python feeds ``cv2.imread`` frames as they are) -> ``(B, 1024)``.

MFCC (:func:`mfcc`, the python_speech_features ``mfcc`` defaults that syncnet_python calls): on
int16-scaled samples (``read_audio``'s [-1, 1] times 32768, rounded: the 16-bit WAV syncnet_python
reads), pre-emphasis ``y[n] = x[n] - 0.97 x[n-1]``; frames of 400 samples (25 ms) every 160 (10 ms),
``1 + ceil((N - 400) / 160)`` frames (one if ``N <= 400``), the last zero-padded; no window
(rectangular); power spectrum ``|rfft(frame, 512)|^2 / 512``; 26 triangular mel filters over 0-8 kHz
(mel = ``2595 log10(1 + f / 700)``, edges at FFT bins ``floor(513 f / 16000)``); zeros -> float64
eps; log; orthonormal DCT-II, first 13; lifter ``1 + 11 sin(pi n / 22)``; coefficient 0 replaced by
the log of the frame's total power.

Scores (syncnet_python ``SyncNetInstance.evaluate``; 25 fps video, 16 kHz audio, 4 MFCC steps per
frame): the ``T - 5`` windows ``i = 0 .. T - 6`` (``T`` = the frames both streams cover,
``min(frames, floor(samples / 640))``) pair frames ``i .. i + 4`` with MFCC steps ``4 i .. 4 i + 19``.
For offsets ``o = -15 .. 15``, ``d[i, o]`` = the Euclidean distance (``pairwise_distance``,
eps 1e-6) between video window ``i`` and audio window ``i + o`` (a zero embedding past either end);
``D[o]`` = the mean of ``d[:, o]`` over the windows. **LSE-D** = ``min D`` (lower is better),
**LSE-C** = ``median D - min D`` (higher is better), ``offset_frames`` = ``-argmin D`` (syncnet's
"AV offset": positive when the mouth moves after the sound, as in :mod:`.lipsync`).

Face crops (syncnet_python ``run_pipeline.crop_video``, crop_scale 0.4): per frame a face box with
centre ``(cx, cy)`` and half-size ``s`` = half its larger side, each median-filtered over 13 frames;
the crop is the square ``x in [cx - 1.4 s, cx + 1.4 s)``, ``y in [cy - s, cy + 1.8 s)`` (the face
and some of the neck: the mouth sits in its middle), grey 110 outside the image, resized to
224 x 224 bilinearly.

Where this differs from syncnet_python's pipeline (LSE values depend on the crops: compare models
measured with this tool with each other, and published numbers only with care):

- face boxes come from mediapipe's BlazeFace (:class:`~emoportraits_plugins.face.FaceDetector`, full
  range, the largest face) instead of S3FD; BlazeFace's box is tighter (about brows to chin), so the
  crops are somewhat tighter too;
- no scene cuts, face tracks, 100-frame minimum track or 100-pixel minimum face: one face per frame,
  frames without a detection take a box interpolated from their neighbours; the median filter
  repeats the end boxes (``scipy.signal.medfilt`` pads with zeros);
- the crops are taken from the decoded frames directly; syncnet_python re-encodes the frames as
  JPEG and the crops as an XVID video before scoring;
- a video not at 25 fps is resampled to 25 fps by taking the nearest frame (syncnet_python:
  ``ffmpeg -r 25``).

Weights: ``syncnet_v2.model`` is a ``torch.save``d state dict (syncnet_python loads it with
``weights_only=True``) and loads as is; keys are read through an explicit identity key map,
strictly (:mod:`emoportraits_plugins.lossnets.weights`). A file holding a whole pickled module is
refused (loading it would run its code): convert it once, where its code is trusted, with
``torch.save(torch.load("syncnet_v2.model", weights_only=False).state_dict(), "syncnet_v2.pth")``.
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Iterator
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from emoportraits_core.errors import CheckpointError, InputError

__all__ = ["SyncNet", "face_crops", "load_syncnet", "lse", "mfcc", "sync_distances", "sync_scores"]

FPS = 25  # SyncNet's video rate
SAMPLE_RATE = 16000
CROP_SIZE = 224
VSHIFT = 15  # offsets searched, frames each way (syncnet_python's run_syncnet default)
_INT16 = 32768.0
_PAD_GREY = 110


# -- network -------------------------------------------------------------------------------------------


def _stack(dims: int, blocks: list[tuple[Any, ...]]) -> nn.Sequential:
    """Conv, BatchNorm, ReLU (+ max-pool) per block: ``(cin, cout, kernel, stride, padding, pool)``
    with ``pool = (kernel, stride, padding)`` or None. Index layout = syncnet_python's stacks."""
    conv, norm, pool_cls = (
        (nn.Conv2d, nn.BatchNorm2d, nn.MaxPool2d) if dims == 2 else (nn.Conv3d, nn.BatchNorm3d, nn.MaxPool3d)
    )
    layers: list[nn.Module] = []
    for cin, cout, kernel, stride, padding, pool in blocks:
        layers += [conv(cin, cout, kernel, stride, padding), norm(cout), nn.ReLU()]
        if pool is not None:
            layers.append(pool_cls(pool[0], pool[1], pool[2]))
    return nn.Sequential(*layers)


def _head() -> nn.Sequential:
    return nn.Sequential(nn.Linear(512, 512), nn.BatchNorm1d(512), nn.ReLU(), nn.Linear(512, 1024))


class SyncNet(nn.Module):
    """SyncNet (syncnet_python's ``S``): :meth:`embed_audio` and :meth:`embed_lips` (module docstring)."""

    def __init__(self) -> None:
        super().__init__()
        k3 = ((3, 3), 1, 1)
        self.netcnnaud = _stack(
            2,
            [
                (1, 64, *k3, ((1, 1), (1, 1), 0)),
                (64, 192, *k3, ((3, 3), (1, 2), 0)),
                (192, 384, *k3, None),
                (384, 256, *k3, None),
                (256, 256, *k3, ((3, 3), (2, 2), 0)),
                (256, 512, (5, 4), 1, 0, None),
            ],
        )
        self.netfcaud = _head()
        k133 = ((1, 3, 3), 1, (0, 1, 1))
        self.netcnnlip = _stack(
            3,
            [
                (3, 96, (5, 7, 7), (1, 2, 2), 0, ((1, 3, 3), (1, 2, 2), 0)),
                (96, 256, (1, 5, 5), (1, 2, 2), (0, 1, 1), ((1, 3, 3), (1, 2, 2), (0, 1, 1))),
                (256, 256, *k133, None),
                (256, 256, *k133, None),
                (256, 256, *k133, ((1, 3, 3), (1, 2, 2), 0)),
                (256, 512, (1, 6, 6), 1, 0, None),
            ],
        )
        self.netfclip = _head()
        self.eval()

    def train(self, mode: bool = True) -> SyncNet:
        """Ignore ``mode``: always eval (BatchNorm uses its running statistics)."""
        return super().train(False)

    @torch.no_grad()
    def embed_audio(self, mfccs: Tensor) -> Tensor:
        """``(B, 1, 13, 20)`` MFCC windows (:func:`mfcc`) -> ``(B, 1024)``."""
        if mfccs.dim() != 4 or tuple(mfccs.shape[1:]) != (1, 13, 20):
            raise ValueError(f"expected MFCC windows (B, 1, 13, 20), got shape {tuple(mfccs.shape)}")
        return self.netfcaud(self.netcnnaud(mfccs).flatten(1))

    @torch.no_grad()
    def embed_lips(self, frames: Tensor) -> Tensor:
        """``(B, 3, 5, 224, 224)`` BGR frames, float in [0, 255] -> ``(B, 1024)``."""
        if frames.dim() != 5 or tuple(frames.shape[1:]) != (3, 5, CROP_SIZE, CROP_SIZE):
            raise ValueError(f"expected frame windows (B, 3, 5, 224, 224), got shape {tuple(frames.shape)}")
        return self.netfclip(self.netcnnlip(frames).flatten(1))


def load_syncnet(path: str | os.PathLike[str]) -> SyncNet:
    """A :class:`SyncNet` with the weights of ``path`` (a syncnet_python state dict), strictly.

    Raises:
        CheckpointError: a missing or unreadable file (with how to convert a pickled module), or a
            missing, unexpected or misshaped key (named).
    """
    from ..lossnets.weights import KeyMap, load_published

    net = SyncNet()
    keys = {k: k for k in net.state_dict() if not k.endswith("num_batches_tracked")}
    key_map = KeyMap("syncnet_python syncnet_v2.model (netcnnaud/netfcaud/netcnnlip/netfclip)", keys)
    try:
        load_published(net, path, key_map, "SyncNet")
    except CheckpointError as exc:
        if Path(path).is_file() and "not a readable" in str(exc):
            reason = re.sub(r"\x1b\[[0-9;]*m", "", str(exc))  # torch's message has terminal colours
            raise CheckpointError(
                f"{reason}; a whole pickled SyncNet module: convert it once with torch.save(torch.load(F, "
                "weights_only=False).state_dict(), 'syncnet_v2.pth') (see emoportraits_plugins.evaluate.syncnet)"
            ) from None
        raise
    return net.requires_grad_(False)


# -- MFCC (python_speech_features' recipe) ---------------------------------------------------------------


def _mel(hz: np.ndarray) -> np.ndarray:
    return 2595.0 * np.log10(1.0 + hz / 700.0)


def _hz(mel: np.ndarray) -> np.ndarray:
    return 700.0 * (10.0 ** (mel / 2595.0) - 1.0)


@lru_cache(maxsize=4)
def _filterbank(nfilt: int, nfft: int, sample_rate: int) -> Tensor:
    """``(nfilt, nfft // 2 + 1)`` float64 triangles between mel-spaced FFT bins (0 .. rate / 2)."""
    edges = np.linspace(_mel(np.array(0.0)), _mel(np.array(sample_rate / 2)), nfilt + 2)
    bins = np.floor((nfft + 1) * _hz(edges) / sample_rate)
    bank = np.zeros((nfilt, nfft // 2 + 1))
    for j in range(nfilt):
        lo, mid, hi = bins[j], bins[j + 1], bins[j + 2]
        rise = np.arange(int(lo), int(mid))
        bank[j, rise] = (rise - lo) / (mid - lo)
        fall = np.arange(int(mid), int(hi))
        bank[j, fall] = (hi - fall) / (hi - mid)
    return torch.from_numpy(bank)


@lru_cache(maxsize=4)
def _dct_ortho(n: int, keep: int) -> Tensor:
    """``(n, keep)`` float64: ``x @ M`` = the first ``keep`` coefficients of the orthonormal DCT-II."""
    k = torch.arange(keep, dtype=torch.float64)
    i = torch.arange(n, dtype=torch.float64)
    m = torch.cos(math.pi * k[None, :] * (2 * i[:, None] + 1) / (2 * n))
    return m * torch.where(k == 0, math.sqrt(1 / n), math.sqrt(2 / n))


def mfcc(samples: Tensor, sample_rate: int = SAMPLE_RATE) -> Tensor:
    """``samples (N,)`` (int16-scaled, any float dtype) -> ``(13, M)`` float64 MFCC, 10 ms apart.

    python_speech_features ``mfcc(samples, sample_rate)`` with its defaults (module docstring), in
    torch: ``M = 1 + ceil((N - 400) / 160)`` at 16 kHz (1 when ``N <= 400``).
    """
    if samples.dim() != 1 or len(samples) == 0:
        raise ValueError(f"expected samples (N,) with N > 0, got shape {tuple(samples.shape)}")
    nfft, eps = 512, float(np.finfo(np.float64).eps)
    length, step = round(0.025 * sample_rate), round(0.01 * sample_rate)
    x = samples.double()
    x = torch.cat([x[:1], x[1:] - 0.97 * x[:-1]])
    count = 1 if len(x) <= length else 1 + math.ceil((len(x) - length) / step)
    x = F.pad(x, (0, (count - 1) * step + length - len(x)))
    frames = x.unfold(0, length, step)  # (M, 400)
    power = torch.fft.rfft(frames, n=nfft).abs().square() / nfft  # (M, 257)
    energy = power.sum(1)
    energy = torch.where(energy == 0, eps, energy)
    bands = power @ _filterbank(26, nfft, sample_rate).T
    bands = torch.where(bands == 0, eps, bands)
    ceps = bands.log() @ _dct_ortho(26, 13)
    ceps = ceps * (1 + 11 * torch.sin(math.pi * torch.arange(13, dtype=torch.float64) / 22))
    ceps[:, 0] = energy.log()
    return ceps.T.contiguous()


# -- distances and scores --------------------------------------------------------------------------------


def sync_distances(lips: Tensor, audio: Tensor, vshift: int = VSHIFT) -> Tensor:
    """``(W, 2 vshift + 1)``: distance of video window ``i`` to audio window ``i + o``, ``o = -vshift ..
    vshift`` (a zero embedding past either end). ``lips``, ``audio``: ``(W, C)`` embeddings."""
    if lips.shape != audio.shape or lips.dim() != 2:
        raise ValueError(
            f"expected two (W, C) embeddings of one shape, got {tuple(lips.shape)}, {tuple(audio.shape)}"
        )
    span = 2 * vshift + 1
    windows = F.pad(audio, (0, 0, vshift, vshift)).unfold(0, span, 1).transpose(1, 2)  # (W, span, C)
    return F.pairwise_distance(lips[:, None, :].expand(-1, span, -1), windows)


def sync_scores(distances: Tensor) -> dict[str, float | int]:
    """``(W, 2 vshift + 1)`` distances -> ``{"lse_d", "lse_c", "offset_frames"}`` (module docstring)."""
    curve = distances.double().mean(0)
    low, at = curve.min(0)
    vshift = (len(curve) - 1) // 2
    return {
        "lse_d": float(low),
        "lse_c": float(curve.median() - low),
        "offset_frames": vshift - int(at),
    }


# -- face crops ------------------------------------------------------------------------------------------


def _median_filter(values: np.ndarray, kernel: int = 13) -> np.ndarray:
    half = kernel // 2
    padded = np.pad(values, half, mode="edge")
    return np.median(np.lib.stride_tricks.sliding_window_view(padded, kernel), axis=1)


def _crop(bgr: np.ndarray, cx: float, cy: float, s: float, crop_scale: float) -> np.ndarray:
    """The official crop (module docstring) of ``bgr (H, W, 3)`` uint8, resized to 224 x 224."""
    import cv2

    y0, y1 = math.floor(cy - s), math.floor(cy + s * (1 + 2 * crop_scale))
    x0, x1 = math.floor(cx - s * (1 + crop_scale)), math.floor(cx + s * (1 + crop_scale))
    out = np.full((max(y1 - y0, 1), max(x1 - x0, 1), 3), _PAD_GREY, np.uint8)
    h, w = bgr.shape[:2]
    sy0, sy1, sx0, sx1 = max(y0, 0), min(y1, h), max(x0, 0), min(x1, w)
    if sy1 > sy0 and sx1 > sx0:
        out[sy0 - y0 : sy1 - y0, sx0 - x0 : sx1 - x0] = bgr[sy0:sy1, sx0:sx1]
    return cv2.resize(out, (CROP_SIZE, CROP_SIZE), interpolation=cv2.INTER_LINEAR)


def _frames_at_25(path: str | os.PathLike[str], max_frames: int | None) -> Iterator[np.ndarray]:
    """The video's RGB frames at 25 fps: output frame ``k`` is source frame ``round(k fps / 25)``
    (repeated or skipped as needed), at most ``max_frames``."""
    from emoportraits_core.io import iter_frame_arrays, probe_video

    ratio = float(probe_video(path).fps) / FPS
    k = 0
    for index, arr in enumerate(iter_frame_arrays(path)):
        while (max_frames is None or k < max_frames) and math.floor(k * ratio + 0.5) == index:
            yield arr
            k += 1
        if max_frames is not None and k >= max_frames:
            return


def face_crops(
    path: str | os.PathLike[str], *, crop_scale: float = 0.4, max_frames: int | None = None
) -> tuple[np.ndarray, int]:
    """``(crops (T, 224, 224, 3) uint8 BGR, frames with a face)`` of a video at 25 fps (module docstring).

    Raises:
        InputError: an unreadable video, or no face on any frame.
    """
    from ..face.detector import shared_detector

    detector = shared_detector()
    boxes = []
    for arr in _frames_at_25(path, max_frames):  # pass 1: boxes (the median filter needs them all)
        box = detector.detect(arr)
        boxes.append(
            (box.x + box.w / 2, box.y + box.h / 2, max(box.w, box.h) / 2) if box else (math.nan,) * 3
        )
    table = np.array(boxes, np.float64).reshape(-1, 3)
    found = np.isfinite(table[:, 0])
    if not found.any():
        raise InputError(
            f"{path}: no face found on any of its {len(table)} frames; SyncNet scores need a face"
        )
    t = np.arange(len(table))
    smooth = [_median_filter(np.interp(t, t[found], table[found, c])) for c in range(3)]
    crops = np.empty((len(table), CROP_SIZE, CROP_SIZE, 3), np.uint8)
    for i, arr in enumerate(_frames_at_25(path, len(table))):  # pass 2: crops
        crops[i] = _crop(
            np.ascontiguousarray(arr[..., ::-1]), smooth[0][i], smooth[1][i], smooth[2][i], crop_scale
        )
    return crops, int(found.sum())


def _embed(
    net: SyncNet, crops: np.ndarray, cepstra: Tensor, windows: int, batch: int, device: Any
) -> tuple[Tensor, Tensor]:
    lips, sound = [], []
    video = torch.from_numpy(crops).permute(3, 0, 1, 2)  # (3, T, 224, 224) uint8 BGR
    for start in range(0, windows, batch):
        idx = range(start, min(windows, start + batch))
        clip = torch.stack([video[:, i : i + 5] for i in idx]).to(device, torch.float32)
        lips.append(net.embed_lips(clip).double().cpu())
        mf = torch.stack([cepstra[None, :, 4 * i : 4 * i + 20] for i in idx]).to(device, torch.float32)
        sound.append(net.embed_audio(mf).double().cpu())
    return torch.cat(lips), torch.cat(sound)


def lse(
    video: str | os.PathLike[str],
    audio: str | os.PathLike[str] | None = None,
    *,
    weights: SyncNet | str | os.PathLike[str],
    max_frames: int | None = None,
    crop_scale: float = 0.4,
    batch_size: int = 20,
    device: str | torch.device | None = None,
) -> dict[str, Any]:
    """LSE-D, LSE-C and the AV offset of ``video`` with its own audio or ``audio`` (module docstring).

    Returns:
        ``{"lse_d", "lse_c", "offset_frames", "windows", "frames", "frames_with_face"}``
        (``frames`` at 25 fps, ``windows`` = the 5-frame windows scored).

    Raises:
        CheckpointError: unusable ``weights`` (:func:`load_syncnet`).
        InputError: an unreadable video or audio, no face, or fewer than 6 frames covered by both.
    """
    from ..audio import read_audio

    net = weights if isinstance(weights, SyncNet) else load_syncnet(weights)
    device = torch.device(device or ("cuda" if torch.cuda.is_available() else "cpu"))
    net = net.to(device)
    crops, faces = face_crops(video, crop_scale=crop_scale, max_frames=max_frames)
    samples = (read_audio(audio if audio is not None else video) * _INT16).round().clamp(-_INT16, _INT16 - 1)
    frames = min(len(crops), len(samples) // (SAMPLE_RATE // FPS))
    if frames < 6:
        raise InputError(
            f"{video}: video and audio overlap for {frames} frames at 25 fps; SyncNet scores need at least 6"
        )
    windows = frames - 5
    lips, sound = _embed(net, crops, mfcc(samples), windows, batch_size, device)
    return {
        **sync_scores(sync_distances(lips, sound)),
        "windows": windows,
        "frames": len(crops),
        "frames_with_face": faces,
    }
