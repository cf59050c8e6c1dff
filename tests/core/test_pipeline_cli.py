"""``emoportraits pipeline list|show|validate|run`` through ``cli.main``, over the project's plugins
plus the toy plugin, registered explicitly (``toy_cli``); one test finds the toy through its entry point."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest
import torch
from PIL import Image
from pipeline_files import PIPES
from safetensors.torch import load_file

from emoportraits_core.cli import main
from emoportraits_core.pipeline.files import read_image, write_outputs

ANIMATE = str(PIPES / "toy_animate.toml")
TRAIN = str(PIPES / "toy_train.toml")


@pytest.fixture(autouse=True)
def _toy_cli(toy_cli):
    """Every command here runs over the project's plugins plus the toy plugin (conftest ``toy_cli``)."""


def cli(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_validate_ok_and_error(capsys):
    assert cli(capsys, "pipeline", "validate", ANIMATE) == (0, f"ok: {ANIMATE}: 5 components, 7 nodes\n", "")
    code, out, err = cli(capsys, "pipeline", "validate", str(PIPES / "typo.toml"))
    assert code == 2 and out == ""
    assert err == (
        f"error: {PIPES / 'typo.toml'}: [nodes.render] inputs.volume: unknown node 'warpd'; "
        "available: encode, warp, render; did you mean 'warp'?\n"
    )


def test_validate_with_set_fixes_or_breaks(capsys):
    typo = str(PIPES / "typo.toml")
    assert cli(capsys, "pipeline", "validate", typo, "--set", "nodes.render.inputs.volume=warp")[0] == 0
    code, _, err = cli(capsys, "pipeline", "validate", ANIMATE, "--set", "components.warp.name=toy_warpr")
    assert code == 2 and "[components.warp] name: unknown warper 'toy_warpr'" in err
    code, _, err = cli(capsys, "pipeline", "validate", ANIMATE, "--set", "oops")
    assert code == 2 and "--set 'oops': expected KEY=VALUE" in err


def test_show_text(installed_toy_cli, capsys):
    """Over what is installed: each component is shown with the distribution that provides it."""
    code, out, _ = cli(capsys, "pipeline", "show", TRAIN, "--set", "losses.l1.weight=20")
    assert code == 0
    lines = out.splitlines()
    assert lines[0] == f"pipeline toy_train (train): {TRAIN}"
    assert "  overrides: losses.l1.weight=20" in lines
    assert any(
        line.split() == ["warp", "warper", "toy_warper", "[emoportraits-toy-plugin", "0.1.0]"]
        for line in lines
    )
    assert any(line.split() == ["expression_dim", "=", "8"] for line in lines)  # defaults filled in
    assert any(
        line.split() == ["driver_motion", "stream", "motion", "(encoder", "toy_motion_encoder)"]
        for line in lines
    )
    assert any(line.split() == ["volume", "<-", "encode.volume", "volume"] for line in lines)
    assert any(line.split()[:4] == ["l1", "toy_l1", "weight", "20"] for line in lines)
    for section in ("inputs", "components", "outputs", "losses", "optimizers", "schedules", "data"):
        assert section in lines


def test_show_json(capsys):
    code, out, _ = cli(capsys, "pipeline", "show", ANIMATE, "--json")
    assert code == 0
    d = json.loads(out)
    assert d["pipeline"] == {
        "name": "toy_animate",
        "description": d["pipeline"]["description"],
        "mode": "inference",
        "task": "",
    }
    motion = d["components"]["motion"]
    assert motion["name"] == "toy_motion_encoder" and motion["plugin"] == "emoportraits_toy.plugin"
    assert motion["distribution"] == ""  # registered explicitly, not installed (see test_show_text)
    assert motion["config"] == {"image_size": 32, "expression_dim": 8, "max_angle": 0.1}  # preset applied
    assert list(d["nodes"]) == [
        "encode_source",
        "source_motion",
        "to_canonical",
        "canonical",
        "driver_motion",
        "to_driver",
        "render",
    ]
    assert d["nodes"]["canonical"]["stage"] == "static" and d["nodes"]["render"]["stage"] == "stream"
    assert d["nodes"]["to_driver"]["inputs"]["motion"] == {"from": "driver_motion.motion", "type": "motion"}
    assert d["outputs"]["image"] == {"from": "render.image", "type": "image", "stage": "stream"}
    assert d["inputs"]["driver"]["stage"] == "stream"


def test_run_random_inputs_to_safetensors(capsys, tmp_path):
    out_path = tmp_path / "out.safetensors"
    code, out, err = cli(
        capsys, "pipeline", "run", ANIMATE, "--random-inputs", "--batch", "3", "-o", str(out_path)
    )
    assert code == 0, err
    assert out.startswith(f"ok: {ANIMATE}: image (3, 3, 32, 32), driver_motion Motion(B=3) -> {out_path} in ")
    tensors = load_file(str(out_path))
    assert tensors["image"].shape == (3, 3, 32, 32)
    assert tensors["driver_motion.rotation"].shape == (3, 3, 3)
    assert tensors["driver_motion.expression"].shape == (3, 8)


def test_run_image_files_to_png(capsys, tmp_path):
    rng = np.random.default_rng(0)
    for name in ("source", "a", "b"):
        Image.fromarray(rng.integers(0, 256, (32, 32, 3), dtype=np.uint8)).save(tmp_path / f"{name}.png")
    args = ["pipeline", "run", ANIMATE, "-i", f"source={tmp_path / 'source.png'}"]
    args += [
        "-i",
        f"driver={tmp_path / 'a.png'}",
        "-i",
        f"driver={tmp_path / 'b.png'}",
        "-o",
        str(tmp_path / "out.png"),
    ]
    code, _, err = cli(capsys, *args)
    assert code == 0, err
    for i in range(2):  # two driver frames stacked into one batch -> two images
        with Image.open(tmp_path / f"out_{i:04d}.png") as img:
            assert img.size == (32, 32) and img.mode == "RGB"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            [],
            r"missing inputs source \(image\), driver \(image\); give --input source=PATH or --random-inputs",
        ),
        (["-i", "sorce=x.png"], r"has no input 'sorce'; inputs: source, driver; did you mean 'source'\?"),
        (["-i", "source"], r"--input 'source': expected NAME=PATH"),
        (["-i", "source=missing.png"], r"--input source=missing.png: no such file"),
        (["--random-inputs", "--device", "nonsense"], r"--device nonsense: not a device"),
        (["--random-inputs", "--batch", "0"], r"--batch 0: expected a batch size >= 1"),
    ],
)
def test_run_errors(capsys, tmp_path, args, message):
    code, _, err = cli(capsys, "pipeline", "run", ANIMATE, *args, "-o", str(tmp_path / "out.png"))
    assert code == 2
    assert err.startswith("error: ") and err.count("\n") == 1

    assert re.search(message, err), err


def test_run_rejects_unknown_output_suffix(capsys, tmp_path):
    code, _, err = cli(capsys, "pipeline", "run", ANIMATE, "--random-inputs", "-o", str(tmp_path / "out.gif"))
    assert code == 2 and "unknown output file type '.gif'; valid: .safetensors, .png, .jpg, .jpeg" in err


def test_help_and_bare_command(capsys):
    assert main(["pipeline"]) == 2
    assert "show" in capsys.readouterr().out
    with pytest.raises(SystemExit) as info:
        main(["pipeline", "run", "--help"])
    assert info.value.code == 0
    help_text = capsys.readouterr().out
    assert "--random-inputs" in help_text and "--set KEY=VALUE" in help_text


def test_list(capsys):
    code, out, _ = cli(capsys, "pipeline", "list")
    assert code == 0 and out


def test_image_io_rounds_to_nearest(tmp_path):
    image = torch.tensor([0.0, 0.5, 1.2, 0.001]).view(1, 1, 2, 2).expand(1, 3, 2, 2)
    [path] = write_outputs({"image": image}, {"image": "image"}, tmp_path / "x.png")
    back = read_image(path)
    assert back.shape == (1, 3, 2, 2)
    assert (back[0, 0] * 255).round().flatten().tolist() == [0, 128, 255, 0]


def test_run_seed_is_passed_on_to_random_weights_and_inputs(capsys, tmp_path):
    """--seed seeds the random weights too: same seed, same output; another seed, another one."""
    outs = []
    for i, seed in enumerate(("1", "1", "2")):
        path = tmp_path / f"out{i}.safetensors"
        argv = ["pipeline", "run", ANIMATE, "--random-inputs", "--random-weights", "--seed", seed]
        code, _, err = cli(capsys, *argv, "-o", str(path))
        assert code == 0, err
        outs.append(load_file(str(path))["image"])
    torch.testing.assert_close(outs[0], outs[1], rtol=0, atol=0)
    assert not torch.equal(outs[0], outs[2])
