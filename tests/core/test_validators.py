"""The shared config validators: the fraction window of the datasets and the training evaluation."""

from __future__ import annotations

import attrs
import pytest

from emoportraits_core.validators import fraction_window, is_fraction_window


@attrs.frozen
class _Config:
    window: tuple[float, float] = attrs.field(default=(0.0, 1.0), validator=fraction_window)


@pytest.mark.parametrize("value", [(0.0, 1.0), (0.8, 1.0), (0.0, 0.2), [0.25, 0.5]])
def test_windows_inside_the_sequence_pass(value):
    assert is_fraction_window(value)
    _Config(tuple(value))


@pytest.mark.parametrize("value", [(0.5, 0.5), (0.8, 0.2), (-0.1, 0.5), (0.5, 1.1), (0.5,), (0.0, 0.5, 1.0)])
def test_empty_reversed_or_outside_windows_are_refused(value):
    assert not is_fraction_window(value)
    with pytest.raises(ValueError, match=r"'window' must be \[a, b\] with 0 <= a < b <= 1"):
        _Config(value)
