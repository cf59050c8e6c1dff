"""`emoportraits animate` and the Animator API, end to end on the sample data.

These use the shipped animate graph with every component at its `tiny` preset
(tests/pipelines/animate_tiny.toml: 64 x 64 crops), so the whole path (decode, face tracking,
crop, networks, encode, audio) runs in seconds; the release-size path is covered by the parity
tests and by `pytest -m slow`.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from conftest import DATA
from PIL import Image
from pipeline_files import PIPES

from emoportraits_core.cli import main
from emoportraits_core.io import VideoWriter, iter_frame_arrays, probe_video
from emoportraits_plugins.animate import Animator

TINY = str(PIPES / "animate_tiny.toml")
WOMAN = DATA / "images" / "photo_woman.jpg"
TALKING = DATA / "videos" / "drive_talking_a.mp4"


def animate(*args: object, capsys=None) -> tuple[int, str]:
    code = main(["animate", *map(str, args), "--pipeline", TINY, "-q"])
    err = capsys.readouterr().err if capsys is not None else ""
    return code, err


def _no_output_left(directory: Path) -> bool:
    return not any(p.is_file() for p in directory.iterdir())


def test_video_driver_gives_a_video_with_its_frames_rate_and_audio(tmp_path, capsys):
    out = tmp_path / "out.mp4"
    code, err = animate(WOMAN, TALKING, "-o", out, "--random-weights", capsys=capsys)
    assert code == 0, err
    info, driver = probe_video(out), probe_video(TALKING)
    assert (info.num_frames, info.rate) == (225, driver.rate) == (225, driver.rate)
    assert info.has_audio and info.codec == "h264"
    assert (info.width, info.height) == (64, 64)
    assert abs(info.duration - driver.duration) < 0.1


def test_side_by_side_and_paste_back(tmp_path, capsys):
    clip = tmp_path / "clip.mp4"
    _cut(TALKING, clip, frames=5)
    out = tmp_path / "sbs.mp4"
    assert animate(WOMAN, clip, "-o", out, "--random-weights", "--side-by-side", capsys=capsys)[0] == 0
    assert (probe_video(out).width, probe_video(out).height) == (192, 64)
    out = tmp_path / "paste.png"
    assert (
        animate(
            WOMAN,
            DATA / "images" / "photo_man_bw.jpg",
            "-o",
            out,
            "--random-weights",
            "--paste-back",
            capsys=capsys,
        )[0]
        == 0
    )
    assert Image.open(out).size == Image.open(WOMAN).size


def test_image_driver_gives_a_png_and_suffixes_are_checked(tmp_path, capsys):
    out = tmp_path / "out.png"
    assert (
        animate(WOMAN, DATA / "images" / "cartoon_boy.jpg", "-o", out, "--random-weights", capsys=capsys)[0]
        == 0
    )
    assert Image.open(out).size == (64, 64)
    code, err = animate(WOMAN, TALKING, "-o", tmp_path / "x.png", "--random-weights", capsys=capsys)
    assert code == 2 and "the output must end in .mp4" in err
    code, err = animate(
        WOMAN,
        DATA / "images" / "cartoon_boy.jpg",
        "-o",
        tmp_path / "x.mp4",
        "--random-weights",
        capsys=capsys,
    )
    assert code == 2 and "the output must end in .png" in err


def test_portrait_720x1280_driver_video(tmp_path, capsys):
    clip = tmp_path / "portrait.mp4"
    frames = []
    for i, arr in enumerate(iter_frame_arrays(TALKING)):
        if i == 6:
            break
        canvas = np.full((1280, 720, 3), 90, np.uint8)
        canvas[384:896, 104:616] = arr
        frames.append(canvas)
    with VideoWriter(clip, 25) as w:
        w.write(torch.from_numpy(np.stack(frames)).permute(0, 3, 1, 2))
    out = tmp_path / "out.mp4"
    code, err = animate(WOMAN, clip, "-o", out, "--random-weights", capsys=capsys)
    assert code == 0, err
    assert probe_video(out).num_frames == 6


@pytest.mark.parametrize(
    ("source", "driver", "message"),
    [
        (DATA / "images" / "dog_no_human_face.jpg", TALKING, "dog_no_human_face.jpg: no human face found"),
        (WOMAN, "missing.mp4", "missing.mp4: no such file"),
    ],
)
def test_bad_inputs_fail_cleanly_without_output(tmp_path, capsys, source, driver, message):
    out = tmp_path / "out" / "result.mp4"
    out.parent.mkdir()
    code, err = animate(source, driver, "-o", out, "--random-weights", capsys=capsys)
    assert code == 2
    lines = [line for line in err.strip().splitlines() if line]
    assert len(lines) == 1 and lines[0].startswith("error: ") and message in lines[0], err
    assert _no_output_left(out.parent)


def test_corrupt_driver_and_small_source_fail_cleanly(tmp_path, capsys):
    bad = tmp_path / "broken.mp4"
    bad.write_bytes(TALKING.read_bytes()[:3000])
    code, err = animate(WOMAN, bad, "-o", tmp_path / "o.mp4", "--random-weights", capsys=capsys)
    assert code == 2 and "broken.mp4" in err and "Traceback" not in err
    tiny = tmp_path / "tiny.png"
    Image.open(WOMAN).resize((40, 40)).save(tiny)
    code, err = animate(tiny, TALKING, "-o", tmp_path / "o.mp4", "--random-weights", capsys=capsys)
    assert code == 2 and "tiny.png" in err and "Traceback" not in err
    assert not (tmp_path / "o.mp4").exists()


def test_weights_options_and_bad_checkpoint(tmp_path, capsys):
    with pytest.raises(SystemExit):  # argparse: one of --checkpoint / --random-weights is required
        main(["animate", str(WOMAN), str(TALKING), "-o", str(tmp_path / "o.mp4")])
    bad = tmp_path / "model.safetensors"
    bad.write_bytes(b"not a checkpoint")
    code, err = animate(WOMAN, TALKING, "-o", tmp_path / "o.mp4", "--checkpoint", bad, capsys=capsys)
    assert code == 2 and "model.safetensors: not a readable safetensors checkpoint" in err


def test_pipeline_typo_in_set_names_the_key(tmp_path, capsys):
    code, err = animate(
        WOMAN,
        TALKING,
        "-o",
        tmp_path / "o.mp4",
        "--random-weights",
        "--set",
        "components.renderer.name=emoportraits_rendrer",
        capsys=capsys,
    )
    assert code == 2 and "emoportraits_rendrer" in err and "did you mean 'emoportraits_renderer'" in err


def test_interrupted_run_leaves_no_partial_output(tmp_path, monkeypatch):
    animator = Animator.load(random_weights=True, pipeline=TINY)
    calls = {"n": 0}
    original = animator.animate_batch

    def interrupt_on_second_batch(batch, **kw):
        calls["n"] += 1
        if calls["n"] == 2:
            raise KeyboardInterrupt
        return original(batch, **kw)

    monkeypatch.setattr(animator, "animate_batch", interrupt_on_second_batch)
    with pytest.raises(KeyboardInterrupt):
        animator.animate(WOMAN, TALKING, tmp_path / "out.mp4", batch_size=4)
    assert _no_output_left(tmp_path)


def test_python_api_loads_once_and_animates_many(tmp_path):
    animator = Animator.load(random_weights=True, pipeline=TINY)
    clip = tmp_path / "clip.mp4"
    _cut(TALKING, clip, frames=3)
    first = animator.animate(WOMAN, clip, tmp_path / "a.mp4", batch_size=2)
    assert first.frames == 3 and first.size == (64, 64)
    again = animator.animate(WOMAN, clip, tmp_path / "b.mp4")
    assert again.source_seconds < first.source_seconds  # the source stays encoded
    other = animator.animate(DATA / "images" / "photo_man_bw.jpg", clip, tmp_path / "c.mp4")
    assert other.frames == 3
    crops = torch.rand(2, 3, 64, 64)
    assert animator.animate_frames(crops).shape == (2, 3, 64, 64)


def _cut(src: Path, dst: Path, frames: int) -> None:
    arrays = [a for _, a in zip(range(frames), iter_frame_arrays(src))]
    with VideoWriter(dst, 25, audio_from=src) as w:
        w.write(torch.from_numpy(np.stack(arrays)).permute(0, 3, 1, 2))


@pytest.mark.slow
def test_release_size_random_weights_on_a_few_frames(tmp_path, capsys):
    clip = tmp_path / "clip.mp4"
    _cut(TALKING, clip, frames=2)
    out = tmp_path / "out.mp4"
    code = main(["animate", str(WOMAN), str(clip), "-o", str(out), "--random-weights", "-q"])
    assert code == 0, capsys.readouterr().err
    info = probe_video(out)
    assert (info.width, info.height, info.num_frames) == (512, 512, 2) and info.has_audio


@pytest.mark.slow
def test_compiled_networks_give_the_eager_result(tmp_path):
    """--compile (torch.compile of the per-frame components, last batch padded) changes speed only."""
    clip = tmp_path / "clip.mp4"
    _cut(TALKING, clip, frames=3)
    eager = Animator.load(random_weights=True, pipeline=TINY, seed=1)
    compiled = Animator.load(random_weights=True, pipeline=TINY, seed=1, compile_networks=True)
    assert compiled.compiled and not eager.compiled  # the eager one must not be compiled
    crops = next(iter(eager.driver.stream(clip, 3)))["driver"]
    eager.set_source(WOMAN)
    compiled.set_source(WOMAN)
    want = eager.animate_frames(crops)
    got = compiled.animate_frames(crops[:2], pad_to=3)
    torch.testing.assert_close(got, want[:2], rtol=1e-4, atol=1e-4)


def test_tiny_pipeline_is_the_shipped_graph():
    """The fast tests above exercise the shipped animate graph: same nodes, wiring and components."""
    from emoportraits_core.pipeline import load_pipeline

    shipped, tiny = load_pipeline("animate"), load_pipeline(TINY)
    assert shipped.nodes == tiny.nodes
    assert shipped.outputs == tiny.outputs
    assert {k: (c.kind, c.name) for k, c in shipped.components.items()} == {
        k: (c.kind, c.name) for k, c in tiny.components.items()
    }
