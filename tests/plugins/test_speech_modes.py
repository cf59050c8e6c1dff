"""The speech modes' components: the speech and blend drivers, the streaming E_aud, the ops that make
a frame's Motion (conformance and values)."""

from __future__ import annotations

import pytest
import torch

from emoportraits_conformance import conformance_tests
from emoportraits_core import Motion
from emoportraits_core.geometry import euler_to_matrix
from emoportraits_plugins.audio_pose.pose import IDENTITY_POSE, relative_to_first
from emoportraits_plugins.speech.driver import write_test_wav

pytestmark = pytest.mark.filterwarnings(
    "ignore:Whisper. no model directory", "ignore:speech driver. no pose", "ignore:.*no PCA file configured"
)

test_speech_driver = conformance_tests("driver", "speech", preset="tiny", registry="registry")
test_blend_driver = conformance_tests("driver", "blend", preset="tiny", registry="registry")
test_streaming_e_aud = conformance_tests(
    "audio_expression_encoder", "emoportraits_audio_expression_stream", preset="tiny", registry="registry"
)
test_speech_motion = conformance_tests("op", "speech_motion", preset="tiny", registry="registry")
test_mouth_blend = conformance_tests("op", "mouth_blend", preset="tiny", registry="registry")


def test_the_stream_equals_e_aud_on_the_whole_clip(registry):
    """The streaming form is E_aud: the same weights give, batch after batch, the whole clip's latents."""
    clip = registry.create("audio_expression_encoder", "emoportraits_audio_expression_encoder", preset="tiny")
    stream = registry.create(
        "audio_expression_encoder", "emoportraits_audio_expression_stream", preset="tiny"
    )
    stream.load_state_dict(clip.state_dict())
    audio, z0 = torch.randn(1, 9, 64), torch.randn(1, 16)
    whole = clip(audio, z0)[0]
    with torch.no_grad():
        parts = [stream(audio[0, a:b], z0.expand(b - a, -1)) for a, b in ((0, 2), (2, 3), (3, 9))]
    assert torch.allclose(torch.cat(parts), whole, atol=1e-6)
    stream.reset_stream()  # a new stream starts from z0 again
    assert torch.allclose(stream(audio[0, :2], z0.expand(2, -1)), whole[:2], atol=1e-6)


def test_speech_motion_moves_the_source_pose():
    from emoportraits_plugins.speech.speech_motion import SpeechMotion, SpeechMotionConfig

    op = SpeechMotion(SpeechMotionConfig(expression_dim=4))
    r0 = euler_to_matrix(torch.tensor([[0.1, -0.2, 0.05]]))
    source = Motion(r0, torch.tensor([[0.01, 0.02, 0.0]]), torch.zeros(1, 4), torch.full((1, 3), 1.1))
    target_r = euler_to_matrix(torch.tensor([[0.1, -0.2, 0.05], [0.3, 0.1, -0.1]]))
    target_t = torch.tensor([[0.01, 0.02, 0.0], [0.05, -0.03, 0.01]])
    rel = relative_to_first(target_r, target_t)  # the second frame relative to the first (the source)
    latents = torch.randn(2, 4)
    out = op(source=source.map(lambda t: t.expand(2, *t.shape[1:])), latents=latents, pose=rel)
    assert torch.allclose(out.rotation, target_r, atol=1e-5) and torch.allclose(out.translation, target_t)
    assert torch.equal(out.expression, latents) and torch.equal(out.scale, source.scale.expand(2, 3))
    assert torch.equal(rel[0], torch.tensor(IDENTITY_POSE))


def test_mouth_blend_replaces_only_the_mouth_axes():
    from emoportraits_plugins.speech.mouth_blend import MouthBlend, MouthBlendConfig

    op = MouthBlend(MouthBlendConfig(n=3, expression_dim=16))
    basis = op.basis  # (3, 16) orthonormal rows
    driver = Motion(torch.eye(3)[None].expand(2, 3, 3), torch.zeros(2, 3), torch.randn(2, 16), None)
    speech = torch.randn(2, 16)
    out = op(driver=driver, latents=speech).expression
    assert torch.allclose(out @ basis.T, speech @ basis.T, atol=1e-5)  # the mouth: the speech's
    rest = torch.eye(16) - basis.T @ basis
    assert torch.allclose(out @ rest, driver.expression @ rest, atol=1e-5)  # the rest: the driver's


def test_the_speech_driver_gives_one_row_per_frame_and_a_seeded_motion(registry, tmp_path):
    wav = write_test_wav(tmp_path / "s.wav", 2.02, 0)  # 2.02 s at 25 fps: 50.5 -> 51 frames (halves up)
    driver = registry.create("driver", "speech", preset="tiny")
    info = driver.probe(wav)
    assert (info.num_frames, info.fps, info.audio) == (51, 25.0, wav)
    batches = list(driver.stream(wav, 4))
    audio, pose = (torch.cat([b[k] for b in batches]) for k in ("audio", "pose"))
    assert audio.shape == (51, 64) and pose.shape == (51, 9)
    assert torch.equal(pose[0], torch.tensor(IDENTITY_POSE)) and not torch.allclose(pose[-1], pose[0])
    again = torch.cat([b["pose"] for b in registry.create("driver", "speech", preset="tiny").stream(wav, 7)])
    assert torch.equal(again, pose)  # the same seed: the same motion, whatever the batch size
    other = registry.create("driver", "speech", preset="tiny", seed=1)
    assert not torch.allclose(torch.cat([b["pose"] for b in other.stream(wav, 4)]), pose)
    still = registry.create("driver", "speech", preset="tiny", pose="still")
    assert torch.equal(torch.cat([b["pose"] for b in still.stream(wav, 4)]), pose[:1].expand(51, 9))
    calm = registry.create("driver", "speech", preset="tiny", pose_scale=0.0)
    assert torch.allclose(
        torch.cat([b["pose"] for b in calm.stream(wav, 4)]), pose[:1].expand(51, 9), atol=1e-6
    )


def test_a_whisper_of_another_width_is_one_clear_error(registry):
    from emoportraits_core.errors import ConfigError

    for name in ("speech", "blend"):
        with pytest.raises(ConfigError, match=rf"{name} driver: .*64 channels, but audio_dim = 384"):
            registry.create("driver", name, preset="tiny", audio_dim=384)
