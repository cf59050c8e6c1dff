"""Per-frame audio features: encoder states at their own rate -> one row per video frame.

Conventions:

- Frame count: :func:`frames_for` is the *nearest* whole number of frames to the audio's duration,
  halves up: ``floor(N * fps / sample_rate + 1/2)``, in exact rational arithmetic. A clip cut at a
  frame boundary (as ``prepare`` cuts its audio), give or take a few samples of resampling, so gets
  exactly its frame count.
- Times: frame ``i`` is sampled at its centre, ``(i + 0.5) / fps`` seconds; state ``j`` (of a
  sequence at ``rate`` states per second, 50 for Whisper) sits at ``j / rate`` seconds
  (see :mod:`.whisper`).
- Alignment: linear interpolation in time between the two states around a frame's centre, clamped
  to the first and last state (a frame past the last state repeats it). Each frame depends only on
  those two states, so a stream gives exactly the rows of the whole clip.
"""

from __future__ import annotations

from fractions import Fraction

import torch
from torch import Tensor

from emoportraits_core.errors import InputError
from emoportraits_core.io.video_writer import as_rate

__all__ = ["align_to_fps", "frames_for", "interpolate_frames"]

WHISPER_RATE = 50
"""Whisper encoder states per second."""


def frames_for(audio_samples: int, fps: float | Fraction, *, sample_rate: int = 16000) -> int:
    """Video frames for ``audio_samples`` of audio at ``fps``: the nearest whole number, halves up.

    ``fps`` may be a float (snapped to a fraction with denominator <= 1001: 29.97 -> 30000/1001),
    an int or a Fraction.
    """
    if audio_samples < 0:
        raise ValueError(f"audio_samples must be >= 0, got {audio_samples}")
    rate = as_rate(fps)
    exact = Fraction(int(audio_samples)) * rate / sample_rate
    return int(exact + Fraction(1, 2))  # int() floors a non-negative Fraction


def align_to_fps(
    states: Tensor, fps: float | Fraction, num_frames: int, *, rate: float = WHISPER_RATE
) -> Tensor:
    """States ``(T, C)`` at ``rate`` per second -> ``(num_frames, C)`` at ``fps`` (module docstring).

    Raises:
        InputError: ``states`` not 2-D, or empty while frames are asked for.
    """
    if states.dim() != 2:
        raise InputError(f"states: expected (T, C) encoder states, got shape {tuple(states.shape)}")
    if num_frames > 0 and len(states) == 0:
        raise InputError(f"states: no states to align to {num_frames} frames")
    return interpolate_frames(states, 0, torch.arange(num_frames), len(states) - 1, fps, rate=rate)


def interpolate_frames(
    states: Tensor,
    offset: int,
    frames: Tensor,
    last: int,
    fps: float | Fraction,
    *,
    rate: float = WHISPER_RATE,
) -> Tensor:
    """Rows ``frames`` (int64 frame indices) of :func:`align_to_fps`, from the part of a sequence held in
    ``states``: row ``r`` of ``states`` is state ``offset + r``; ``last`` is the index of the sequence's
    last state (or of the last one known, if none of ``frames`` reaches it). Returns ``(len(frames), C)``.
    """
    per_frame = Fraction(rate) / as_rate(fps)  # states per frame, exact
    num, den = per_frame.numerator, per_frame.denominator
    twice = 2 * frames.to(torch.int64) + 1  # frame centre = (2i + 1) / 2 frames
    below = torch.div(twice * num, 2 * den, rounding_mode="floor")  # exact floor of the centre, in states
    alpha = (twice.double() * num / (2 * den) - below.double()).float()
    i0 = below.clamp(0, last)
    i1 = (below + 1).clamp(0, last)
    s0 = states[i0 - offset]
    s1 = states[i1 - offset]
    return s0 + alpha.to(states.device)[:, None] * (s1 - s0)
