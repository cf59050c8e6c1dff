"""The ``whisper_features`` op: waveforms -> per-frame Whisper states, frozen, equal to the encoder's."""

from __future__ import annotations

import pytest
import torch

from emoportraits_conformance import conformance_tests
from emoportraits_core.errors import ConfigError
from emoportraits_plugins.audio import align_to_fps, frames_for

pytestmark = pytest.mark.filterwarnings("ignore:Whisper. no model directory")

test_whisper_features = conformance_tests("op", "whisper_features", preset="tiny", registry="registry")


def test_rows_are_the_encoder_states_at_the_frame_rate(registry):
    op = registry.create("op", "whisper_features", preset="tiny")
    assert not list(op.parameters()) and not op.state_dict()  # frozen, never saved
    wave = 0.1 * torch.randn(2, 16000 + 321, generator=torch.Generator().manual_seed(0))
    out = op(wave)
    frames = frames_for(wave.shape[1], 25)
    assert out.shape == (2, frames, 64) == (2, 26, 64)
    for i in range(2):
        expected = align_to_fps(op.encoder.encode(wave[i]), 25, frames)
        assert torch.allclose(out[i], expected, atol=1e-5)
    assert not torch.allclose(out[0], out[1])


def test_a_model_of_another_width_is_one_clear_error(registry):
    with pytest.raises(ConfigError, match=r"64 channels.*audio_dim = 384"):
        registry.create("op", "whisper_features", random="test", audio_dim=384)
