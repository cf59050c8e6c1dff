"""Box smoothing: less jitter, misses filled, and streaming equals batch whatever the grouping."""

from __future__ import annotations

import numpy as np
import pytest

from emoportraits_plugins.face.detector import FaceBox
from emoportraits_plugins.face.smoothing import BoxSmoother, NoFaceInStreamError, smooth_boxes


def _arr(boxes: list[FaceBox]) -> np.ndarray:
    return np.array([[b.x, b.y, b.w, b.h] for b in boxes])


def _jittery(n: int = 60, seed: int = 0) -> list[FaceBox]:
    rng = np.random.default_rng(seed)
    return [FaceBox(*(np.array([100.0 + i, 80.0, 200.0, 200.0]) + rng.normal(0, 3, 4))) for i in range(n)]


def test_smoothing_reduces_jitter_and_keeps_linear_motion():
    raw = _jittery()
    out = smooth_boxes(raw, radius=3)
    assert len(out) == len(raw)
    truth = np.array([[100.0 + i, 80.0, 200.0, 200.0] for i in range(len(raw))])
    err_raw = np.abs(_arr(raw) - truth)[5:-5].std()
    err_out = np.abs(_arr(out) - truth)[5:-5].std()
    assert err_out < 0.7 * err_raw
    line = [FaceBox(10.0 + 2 * i, 5.0 - i, 50.0, 60.0) for i in range(20)]
    assert np.allclose(_arr(smooth_boxes(line, 3))[3:-3], _arr(line)[3:-3])  # centred: no lag


def test_radius_zero_passes_through():
    raw = _jittery(10)
    assert np.allclose(_arr(smooth_boxes(raw, 0)), _arr(raw))


def test_missing_frames_reuse_last_box_and_leading_misses_use_first():
    a, b = FaceBox(1, 2, 3, 4), FaceBox(10, 20, 30, 40)
    smoother = BoxSmoother(radius=0)
    out = smoother.extend([None, None, a, None, b, None])
    out += smoother.finish()
    assert _arr(out).tolist() == _arr([a, a, a, a, b, b]).tolist()
    assert (smoother.frames, smoother.missing) == (6, 4)


def test_initial_box_and_no_face_at_all():
    init = FaceBox(5, 5, 50, 50)
    smoother = BoxSmoother(radius=1, initial=init)
    assert len(smoother.push(None)) == 0  # one frame of look-ahead
    assert np.allclose(_arr(smoother.finish()), _arr([init]))
    empty = BoxSmoother(radius=2)
    empty.extend([None] * 4)
    with pytest.raises(NoFaceInStreamError):
        empty.finish()
    assert BoxSmoother(2).finish() == []


def test_output_is_delayed_by_radius():
    smoother = BoxSmoother(radius=3)
    emitted = [len(smoother.push(box)) for box in _jittery(8)]
    assert emitted == [0, 0, 0, 1, 1, 1, 1, 1]
    assert len(smoother.finish()) == 3


@pytest.mark.parametrize("chunk", [1, 3, 7, 1000])
@pytest.mark.parametrize("radius", [0, 2, 5])
def test_streaming_equals_batch(chunk, radius):
    raw: list[FaceBox | None] = list(_jittery(40, seed=radius))
    for i in (0, 1, 7, 8, 9, 25, 39):
        raw[i] = None
    batch = smooth_boxes(raw, radius)
    smoother = BoxSmoother(radius)
    streamed: list[FaceBox] = []
    for start in range(0, len(raw), chunk):
        streamed += smoother.extend(raw[start : start + chunk])
    streamed += smoother.finish()
    assert streamed == batch
