"""Motion files end to end, over the installed plugins: `extract-motion`, then `animate` from the
file, on the shipped graphs at tiny presets. (The motion-file driver's conformance:
tests/plugins/test_motion_file.py.)"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from conftest import DATA
from pipeline_files import tiny_overrides
from safetensors import safe_open
from safetensors.torch import save_file

from emoportraits_core.checkpoint import save_components
from emoportraits_core.cli import main
from emoportraits_core.io import VideoWriter, iter_frame_arrays, probe_video
from emoportraits_plugins.motion import FORMAT_VERSION, read_header
from emoportraits_plugins.session import Session

WOMAN = DATA / "images" / "photo_woman.jpg"
TALKING = DATA / "videos" / "drive_talking_a.mp4"


def _sets(name: str) -> list[str]:
    return [arg for o in tiny_overrides(name) for arg in ("--set", o)]


def cli(capsys, *argv: object) -> tuple[int, str, str]:
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture(scope="module")
def files(tmp_path_factory) -> dict[str, Path]:
    """A 7-frame clip with audio, a tiny checkpoint (the animate graph's components) and the motion
    file extracted from the clip with it."""
    tmp = tmp_path_factory.mktemp("motion")
    clip = tmp / "clip.mp4"
    arrays = [a for _, a in zip(range(7), iter_frame_arrays(TALKING))]
    with VideoWriter(clip, 25, audio_from=TALKING) as w:
        w.write(torch.from_numpy(np.stack(arrays)).permute(0, 3, 1, 2))
    session = Session.load(
        random_weights=True, pipeline="animate", overrides=tiny_overrides("animate"), seed=3
    )
    ckpt = tmp / "tiny.safetensors"
    save_components(ckpt, session.runner.components)
    perf = tmp / "perf.motion.safetensors"
    code = main(
        [
            "extract-motion",
            str(clip),
            "-o",
            str(perf),
            "--checkpoint",
            str(ckpt),
            "-q",
            *_sets("extract_motion"),
        ]
    )
    assert code == 0 and perf.is_file()
    return {"clip": clip, "checkpoint": ckpt, "motion": perf, "tmp": tmp}


def test_motion_file_holds_the_motion_rate_audio_and_model(files):
    header = read_header(files["motion"])
    assert (header.num_frames, header.fps, header.expression_dim) == (7, 25, 16)
    assert header.has_audio and header.driver == "clip.mp4" and header.version == FORMAT_VERSION
    assert header.model["weights"] == "tiny.safetensors" and len(header.model["fingerprint"]) == 16
    assert header.model["networks"]["motion_encoder"]["name"] == "emoportraits_motion_encoder"
    with safe_open(str(files["motion"]), framework="pt") as f:
        rot = f.get_tensor("rotation")
    torch.testing.assert_close(rot @ rot.transpose(1, 2), torch.eye(3).expand(7, 3, 3), atol=1e-5, rtol=0)


def test_animating_from_the_motion_file_equals_animating_from_the_video(files, capsys):
    """Through the command line: the same frames (lossless H.264 of pictures within one 8-bit level)
    and the same audio; through the API the network outputs agree within the parity tolerance."""
    ckpt = files["checkpoint"]
    out_video, out_motion = files["tmp"] / "from_video.mp4", files["tmp"] / "from_motion.mp4"
    code, _, err = cli(
        capsys,
        "animate",
        WOMAN,
        files["clip"],
        "-o",
        out_video,
        "--checkpoint",
        ckpt,
        "-q",
        "--crf",
        "0",
        *_sets("animate"),
    )
    assert code == 0, err
    code, _out, err = cli(
        capsys,
        "animate",
        WOMAN,
        files["motion"],
        "-o",
        out_motion,
        "--checkpoint",
        ckpt,
        "-q",
        "--crf",
        "0",
        *_sets("animate_motion"),
    )
    assert code == 0, err
    a, b = (np.stack(list(iter_frame_arrays(p))).astype(int) for p in (out_video, out_motion))
    assert (
        a.shape == b.shape == (7, 64, 64, 3) and np.abs(a - b).max() <= 3
    )  # lossless H.264 (--crf 0), 4:2:0 chroma
    info = probe_video(out_motion)
    assert info.has_audio and abs(info.duration - probe_video(out_video).duration) < 0.05

    video = Session.load(ckpt, pipeline="animate", overrides=tiny_overrides("animate"))
    motion = Session.load(ckpt, pipeline="animate_motion", overrides=tiny_overrides("animate_motion"))
    video.set_source(WOMAN)
    motion.set_source(WOMAN)
    crops = torch.cat([b["driver"] for b in video.driver.stream(files["clip"], 4)])
    rows = [b["motion"] for b in motion.driver.stream(files["motion"], 4)]
    want = video.animate_frames(crops)
    got = torch.cat([motion.animate_frames(m) for m in rows])
    torch.testing.assert_close(got, want, rtol=5e-4, atol=5e-4)


def test_motion_file_is_self_contained_and_skips_tracking_and_the_motion_encoder(
    files, tmp_path, monkeypatch
):
    """It plays with the original video gone; no face is detected and the motion encoder runs once,
    for the source only (the speed-up is measured in benchmarks/motion_file.py)."""
    from emoportraits_plugins.face.detector import FaceDetector

    moved = tmp_path / "moved.motion.safetensors"
    moved.write_bytes(files["motion"].read_bytes())
    session = Session.load(
        files["checkpoint"], pipeline="animate_motion", overrides=tiny_overrides("animate_motion")
    )
    session.prepare_source(WOMAN)  # the source is face-tracked, once

    def no_tracking(*args, **kwargs):
        raise AssertionError("the motion-file path must not detect faces in the driver")

    monkeypatch.setattr(FaceDetector, "detect", no_tracking)
    calls = []
    session.runner.components["motion_encoder"].register_forward_hook(lambda *a: calls.append(1))
    report = session.animate(WOMAN, moved, tmp_path / "m.mp4", batch_size=3)
    assert report.frames == 7 and len(calls) == 1
    assert probe_video(tmp_path / "m.mp4").has_audio


def _copy_with(src: Path, dst: Path, meta: dict[str, str] | None = None, drop: str = "", **tensors) -> Path:
    with safe_open(str(src), framework="pt") as f:
        data = {k: f.get_tensor(k) for k in f.keys() if k != drop}  # noqa: SIM118
        metadata = dict(f.metadata())
    data.update(tensors)
    metadata.update(meta or {})
    save_file(data, str(dst), metadata=metadata)
    return dst


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        ({"meta": {"format_version": str(FORMAT_VERSION + 1)}}, "was written by a newer emoportraits"),
        (
            {
                "meta": {"model": json.dumps({"weights": "big.safetensors"})},
                "expression": torch.zeros(7, 32),
                "_z": 32,
            },
            "motion extracted with another model",
        ),
        ({"drop": "expression"}, "tensor 'expression' is missing"),
        ({"meta": {"format": "something.else"}}, "not a motion file"),
    ],
)
def test_bad_motion_files_are_one_line_errors(files, capsys, tmp_path, edit, message):
    edit = dict(edit)
    z = edit.pop("_z", None)
    if z is not None:
        edit.setdefault("meta", {})["expression_dim"] = str(z)
    bad = _copy_with(files["motion"], tmp_path / "bad.motion.safetensors", **edit)
    out = tmp_path / "out.mp4"
    argv = [
        "animate",
        WOMAN,
        bad,
        "-o",
        out,
        "--checkpoint",
        files["checkpoint"],
        "-q",
        "--pipeline",
        "animate_motion",
    ]
    code, _, err = cli(capsys, *argv, *_sets("animate_motion"))
    lines = err.strip().splitlines()
    assert code == 2 and len(lines) == 1 and lines[0].startswith("error: ") and message in lines[0], err
    assert not out.exists()


def test_a_safetensors_file_that_is_no_motion_file_gets_no_pipeline(capsys, tmp_path):
    other = tmp_path / "weights.safetensors"
    save_file({"x": torch.zeros(2)}, str(other))
    code, _, err = cli(capsys, "animate", WOMAN, other, "-o", tmp_path / "o.mp4", "--random-weights")
    assert code == 2 and "no shipped animate pipeline has a driver for this file" in err
