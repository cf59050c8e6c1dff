"""`emoportraits speak` and `emoportraits blend` end to end on the sample data, with every component of
the shipped `speak` / `blend` pipelines at its `tiny` preset (64 x 64, the 64-channel test Whisper),
so that decoding, Whisper, E_aud, the pose generator, the networks, H.264 and the audio run in
seconds. The release-size command of the README is the same code with the default presets."""

from __future__ import annotations

import pytest
from conftest import DATA
from pipeline_files import tiny_overrides

from emoportraits_core.cli import main
from emoportraits_core.io import probe_video

WOMAN = DATA / "images" / "photo_woman.jpg"
SPEECH = DATA / "audio" / "speech_en_gb_22k.wav"  # 4.80 s at 22.05 kHz
SILENCE = DATA / "audio" / "silence_2s_16k.wav"
TALKING = DATA / "videos" / "drive_talking_a.mp4"  # 225 frames, 25 fps, with sound

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")


def _sets(pipeline: str) -> list[str]:
    return [x for s in tiny_overrides(pipeline) for x in ("--set", s)]


def run(command: str, *args: object, capsys) -> tuple[int, str]:
    code = main([command, *map(str, args), *_sets(command), "--random-weights", "-q"])
    return code, capsys.readouterr().err


def test_speak_gives_the_audio_length_at_the_frame_rate_with_the_audio(tmp_path, capsys):
    out = tmp_path / "s.mp4"
    code, err = run("speak", WOMAN, SPEECH, "-o", out, capsys=capsys)
    assert code == 0, err
    info = probe_video(out)
    assert (info.num_frames, float(info.rate)) == (120, 25.0)  # 4.80 s x 25
    assert info.has_audio and abs(info.duration - 4.8) < 0.05
    out30 = tmp_path / "s30.mp4"
    assert run("speak", WOMAN, SPEECH, "-o", out30, "--fps", "30", "--still", capsys=capsys)[0] == 0
    assert probe_video(out30).num_frames == 144


def test_silence_is_a_valid_video(tmp_path, capsys):
    out = tmp_path / "quiet.mp4"
    code, err = run("speak", WOMAN, SILENCE, "-o", out, capsys=capsys)
    assert code == 0, err
    info = probe_video(out)
    assert info.num_frames == 50 and info.has_audio


def test_pose_from_a_motion_file(tmp_path, capsys):
    motion = tmp_path / "perf.motion.safetensors"
    argv = ["extract-motion", str(TALKING), "-o", str(motion), "--max-frames", "20", "--random-weights", "-q"]
    assert main([*argv, *_sets("extract_motion")]) == 0
    out = tmp_path / "p.mp4"
    code, err = run("speak", WOMAN, SILENCE, "-o", out, "--pose-from", motion, capsys=capsys)
    assert code == 0, err
    assert probe_video(out).num_frames == 50  # the audio's length, the file's last pose held


def test_blend_has_the_video_frames_and_the_speech(tmp_path, capsys):
    out = tmp_path / "b.mp4"
    code, err = run("blend", WOMAN, TALKING, SPEECH, "-o", out, "--max-frames", "30", capsys=capsys)
    assert code == 0, err
    info = probe_video(out)
    assert info.num_frames == 30 and float(info.rate) == 25.0 and info.has_audio


def test_errors_are_one_line_and_write_nothing(tmp_path, capsys):
    empty = tmp_path / "empty.wav"
    empty.write_bytes(b"")
    out = tmp_path / "x.mp4"
    cases = [
        (("speak", WOMAN, tmp_path / "missing.wav", "-o", out), "missing.wav: no such file"),
        (("speak", WOMAN, empty, "-o", out), "empty.wav"),
        (("speak", WOMAN, SPEECH, "-o", out, "--pose-scale", "2"), "--pose-scale 2.0"),
        (("speak", WOMAN, SPEECH, "-o", tmp_path / "x.png"), "expected an .mp4 output"),
        (
            ("blend", WOMAN, DATA / "images" / "photo_man_bw.jpg", SPEECH, "-o", out),
            "blend needs a driving video",
        ),
    ]
    for args, expected in cases:
        code, err = run(*args, capsys=capsys)
        lines = [line for line in err.strip().splitlines() if line.startswith("error:")]
        assert code != 0 and len(lines) == 1 and expected in lines[0], (args, err)
        assert "Traceback" not in err
    code = main(["speak", str(WOMAN), str(SPEECH), "-o", str(out), "--checkpoint", str(SPEECH), "-q"])
    err = capsys.readouterr().err
    assert code != 0 and "--speech-checkpoint and --whisper: needed with --checkpoint" in err
    assert not list(tmp_path.glob("*.mp4"))


def _frames(path) -> list:
    from emoportraits_core.io import iter_frame_arrays

    return list(iter_frame_arrays(path))


def test_flags_reach_the_networks(tmp_path, capsys):
    """--pose-scale 0 is --still; --seed changes the motion; --checkpoint, --speech-checkpoint,
    --pose-checkpoint and --whisper load files (the tiny networks saved as a user would have them)."""
    import numpy as np

    from emoportraits_core import get_registry
    from emoportraits_core.checkpoint import save_checkpoint
    from emoportraits_plugins.audio import save_random_whisper, tiny_whisper_config
    from emoportraits_plugins.session import Session

    clip = tmp_path / "clip.wav"
    from emoportraits_plugins.speech.driver import write_test_wav

    write_test_wav(clip, 0.4, 0)  # 10 frames
    still, calm, other = (tmp_path / f"{n}.mp4" for n in ("still", "calm", "other"))
    assert run("speak", WOMAN, clip, "-o", still, "--still", capsys=capsys)[0] == 0
    assert run("speak", WOMAN, clip, "-o", calm, "--pose-scale", "0", capsys=capsys)[0] == 0
    assert run("speak", WOMAN, clip, "-o", other, "--seed", "1", "--still", capsys=capsys)[0] == 0
    a, b, c = _frames(still), _frames(calm), _frames(other)
    assert len(a) == 10 and all(np.array_equal(x, y) for x, y in zip(a, b))
    assert not all(np.array_equal(x, y) for x, y in zip(a, c))  # other random weights

    # weight files as a user has them: the image model, E_aud, the pose generator, a Whisper directory
    registry = get_registry()
    session = Session.load(random_weights=True, pipeline="speak", overrides=tiny_overrides("speak"), seed=3)
    modules = session.runner.components
    image = {
        f"{k}.{n}": t
        for k, m in modules.items()
        if k != "audio_expression"
        for n, t in m.state_dict().items()
    }
    save_checkpoint(tmp_path / "model.safetensors", image, {})
    e_aud = registry.create(
        "audio_expression_encoder", "emoportraits_audio_expression_encoder", preset="tiny"
    )
    meta = {"kind": "audio_expression_encoder", "name": "emoportraits_audio_expression_encoder"}
    save_checkpoint(
        tmp_path / "speech.safetensors",
        {f"e_aud.{n}": t for n, t in e_aud.state_dict().items()},
        {
            "e_aud": {
                **meta,
                "config": {"audio_dim": 64, "latent_dim": 16, "hidden": 32, "depth": 2, "align_features": 16},
            }
        },
    )
    gen = registry.create("sequence", "audio_pose_generator", preset="tiny", audio_dim=64)
    gen_config = {"audio_dim": 64, "noise_dim": 4, "hidden": 16, "layers": 1, "heads": 2, "feedforward": 32}
    save_checkpoint(
        tmp_path / "pose.safetensors",
        {f"generator.{n}": t for n, t in gen.state_dict().items()},
        {
            "generator": {
                "kind": "sequence",
                "name": "audio_pose_generator",
                "config": {**gen_config, "dropout": 0.0, "res_blocks": 1, "mlp_hidden": 16, "frames": 16},
            }
        },
    )
    whisper = save_random_whisper(tmp_path / "whisper", tiny_whisper_config())
    weights = [
        "--checkpoint",
        tmp_path / "model.safetensors",
        "--speech-checkpoint",
        tmp_path / "speech.safetensors",
    ]
    out = tmp_path / "trained.mp4"
    argv = [
        "speak",
        WOMAN,
        clip,
        "-o",
        out,
        *weights,
        "--whisper",
        whisper,
        "--pose-checkpoint",
        tmp_path / "pose.safetensors",
    ]
    code = main([*map(str, argv), *_sets("speak"), "-q"])
    assert code == 0, capsys.readouterr().err
    assert probe_video(out).num_frames == 10
    bad = [
        "speak",
        WOMAN,
        clip,
        "-o",
        out,
        *weights,
        "--whisper",
        whisper,
        "--pose-checkpoint",
        tmp_path / "model.safetensors",
    ]
    assert main([*map(str, bad), *_sets("speak"), "-q"]) != 0
    assert "no audio_pose_generator in this checkpoint" in capsys.readouterr().err
