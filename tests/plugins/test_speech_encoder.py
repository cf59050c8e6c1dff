"""E_aud (kind ``audio_expression_encoder``, ``emoportraits_plugins.speech``): the conformance suite, the
paper's recurrence, streaming in chunks equal to the whole clip (bit for bit), causality, errors."""

from __future__ import annotations

import itertools

import pytest
import torch
from conftest import plugin_registry, project_plugin_manager
from hypothesis import given, settings
from hypothesis import strategies as st

from emoportraits_conformance import conformance_tests
from emoportraits_core import ConfigError, InputError, Registry, build_registry
from emoportraits_plugins import ops, speech
from emoportraits_plugins.speech import AudioExpressionEncoder, AudioExpressionState

NAME = "emoportraits_audio_expression_encoder"
KIND = "audio_expression_encoder"
C = 64  # the tiny preset's audio channels (the test Whisper's d_model)


@pytest.fixture(scope="module")
def speech_registry() -> Registry:
    return plugin_registry(ops, speech)  # the speech plugin registers ops of the project's kind op


@pytest.fixture(scope="module")
def tiny(speech_registry):
    torch.manual_seed(0)
    return speech_registry.create(KIND, NAME, preset="tiny").eval()


test_conformance_tiny = conformance_tests(KIND, NAME, registry="speech_registry", preset="tiny")


def test_the_plugin_registers_its_kind_and_components():
    registry = build_registry(project_plugin_manager())  # the speech plugin is one of the project's
    kind = {k.name: k for k in registry.kinds()}[KIND]
    assert kind.interface is AudioExpressionEncoder and kind.provider.endswith("speech.plugin")
    assert [e.name for e in registry.list(KIND)] == [NAME, "emoportraits_audio_expression_stream"]
    assert registry.has("loss", "mouth_pca")


def test_release_and_tiny_sizes(speech_registry):
    release = speech_registry.create(KIND, NAME, preset="release")
    specs = release.input_specs()
    assert specs["audio"].shape == ("B", "T", 384) and specs["audio"].type == "audio_features"
    assert specs["z0"].shape == ("B", 128) and specs["z0"].type == "descriptor"
    assert release.output_specs()["latents"].shape == ("B", "T", 128)
    out = release(torch.randn(2, 5, 384), torch.randn(2, 128))
    assert out.shape == (2, 5, 128)
    tiny = speech_registry.create(KIND, NAME, preset="tiny").config
    assert (tiny.audio_dim, tiny.latent_dim) == (C, 16)


def test_the_recurrence_of_the_paper(tiny):
    """z_n = MLP_b(z0) + MLP_c(concat(norm(audio_n), MLP_a(z_{n-1}))), z_{-1} = z0: written out by hand."""
    audio, z0 = torch.randn(3, 4, C), torch.randn(3, 16)
    with torch.no_grad():
        base, previous, expected = tiny.base(z0), z0, []
        for n in range(4):
            x = torch.cat([tiny.audio_norm(audio[:, n]), tiny.align(previous)], dim=-1)
            previous = base + tiny.residual(x)
            expected.append(previous)
        got = tiny(audio, z0)
    torch.testing.assert_close(got, torch.stack(expected, 1), rtol=0, atol=1e-6)


def test_it_is_causal_and_autoregressive(tiny):
    """Changing frame k's audio leaves frames < k alone and changes frame k and every later frame (the
    prediction is fed back), as it would not if MLP_a read z0 at every frame."""
    audio, z0 = torch.randn(1, 6, C), torch.randn(1, 16)
    changed = audio.clone()
    changed[:, 2] = torch.randn(1, C)  # not a constant shift: the LayerNorm removes that
    with torch.no_grad():
        a, b = tiny(audio, z0), tiny(changed, z0)
    assert torch.equal(a[:, :2], b[:, :2])
    assert not torch.allclose(a[:, 2], b[:, 2])
    # later frames see frame 2 only through the fed-back prediction (a contraction at initialisation,
    # so the change is small but present; reading z0 at every frame would give them bit for bit)
    assert all(not torch.equal(a[:, n], b[:, n]) for n in range(3, 6))


@settings(max_examples=25, deadline=None)
@given(
    frames=st.integers(0, 12),
    cuts=st.lists(st.integers(0, 12), max_size=5),
    batch=st.integers(1, 3),
    seed=st.integers(0, 2**16),
)
def test_streaming_in_chunks_equals_the_whole_clip(tiny, frames, cuts, batch, seed):
    gen = torch.Generator().manual_seed(seed)
    audio, z0 = torch.randn(batch, frames, C, generator=gen), torch.randn(batch, 16, generator=gen)
    bounds = sorted({0, frames, *(c for c in cuts if c <= frames)})
    with torch.no_grad():
        whole = tiny(audio, z0)
        state = tiny.start(z0)
        parts = []
        for a, b in itertools.pairwise(bounds):
            latents, state = tiny.step(audio[:, a:b], state)
            parts.append(latents)
    assert isinstance(state, AudioExpressionState) and state.frames == frames
    streamed = torch.cat(parts, dim=1) if parts else torch.zeros(batch, 0, 16)
    assert streamed.shape == whole.shape == (batch, frames, 16)
    assert torch.equal(streamed, whole)


def test_an_empty_chunk_keeps_the_state(tiny):
    z0 = torch.randn(2, 16)
    with torch.no_grad():
        state = tiny.start(z0)
        latents, after = tiny.step(torch.zeros(2, 0, C), state)
    assert latents.shape == (2, 0, 16)
    assert after.frames == 0 and torch.equal(after.previous, z0) and torch.equal(after.base, state.base)


def test_bad_inputs_are_one_line_errors(tiny):
    with pytest.raises(InputError, match=r"z0 must be \(B, 16\), got \(2, 15\)"):
        tiny(torch.randn(2, 3, C), torch.randn(2, 15))
    with pytest.raises(InputError, match=r"audio must be \(B=2, T, C=64\), got \(2, 3, 80\)"):
        tiny(torch.randn(2, 3, 80), torch.randn(2, 16))
    with pytest.raises(InputError, match=r"got \(1, 3, 64\)"):
        tiny.step(torch.randn(1, 3, C), tiny.start(torch.randn(2, 16)))


def test_config_is_validated(speech_registry):
    with pytest.raises(ConfigError, match=r"activation.*relu, leaky_relu, gelu, silu, tanh.*'swish'"):
        speech_registry.create(KIND, NAME, activation="swish")
    with pytest.raises(ConfigError, match="depth"):
        speech_registry.create(KIND, NAME, depth=0)
    one = speech_registry.create(KIND, NAME, preset="tiny", depth=1, activation="gelu", audio_norm=False)
    assert len(one.residual) == 1 and isinstance(one.audio_norm, torch.nn.Identity)
