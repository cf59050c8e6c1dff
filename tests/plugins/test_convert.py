"""`emoportraits convert`: the released layout -> strict safetensors, and its refusals.

Over the project's own plugins registered explicitly: ``registry`` for the API, ``project_cli`` for
the command line. (``converted_checkpoint`` is made once per run by the installed command line.)
"""

from __future__ import annotations

import json
import shutil

import pytest
import torch

from emoportraits_core.checkpoint import read_checkpoint
from emoportraits_core.cli import main
from emoportraits_core.errors import CheckpointError
from emoportraits_core.pipeline import load_pipeline
from emoportraits_plugins.convert.converter import convert, expected_state, release_components
from emoportraits_plugins.convert.release import RELEASE_COMPONENTS


def test_release_components_are_those_of_the_animate_pipeline():
    """The networks of every shipped animate pipeline are the release's (the driver has no weights)."""
    for name in ("animate", "animate_motion"):
        spec = load_pipeline(name)
        shipped = {
            k: (c.kind, c.name, dict(c.config)) for k, c in spec.components.items() if c.kind != "driver"
        }
        assert shipped == RELEASE_COMPONENTS


def test_converted_checkpoint_holds_every_parameter_and_the_configs(converted_checkpoint, registry):
    ckpt = read_checkpoint(converted_checkpoint)
    expected = expected_state(registry)
    assert set(ckpt.tensors) == set(expected)
    for key, shape in expected.items():
        assert ckpt.tensors[key].shape == shape, key
    assert ckpt.components == json.loads(json.dumps(release_components(registry)))  # tuples -> lists
    assert "discriminator_ds.net_0512.blocks.0.0.weight_orig" in ckpt.metadata["ignored_keys"]


def _convert_cli(tmp_path, main_file, hpr_file, capsys):
    out = tmp_path / "model.safetensors"
    code = main(["convert", str(main_file), "--head-pose", str(hpr_file), "-o", str(out), "-q"])
    err = capsys.readouterr().err.strip()
    return code, err, out


def _assert_nothing_written(tmp_path):
    assert not [p for p in tmp_path.iterdir() if p.suffix == ".safetensors" or ".part" in p.name]


def test_renamed_key_is_named(project_cli, parity_weights, tmp_path, capsys):
    state = torch.load(parity_weights / "328_model.pth", weights_only=True)
    state["volume_process_nw.head.1.weight"] = state.pop("volume_process_nw.head.0.weight")
    bad = tmp_path / "renamed.pth"
    torch.save(state, bad)
    del state
    code, err, _ = _convert_cli(tmp_path, bad, parity_weights / "head_pose_regressor.pth", capsys)
    assert code == 2
    assert err.count("\n") == 0, "one line, no traceback"
    assert "unexpected key 'volume_process_nw.head.1.weight'" in err
    assert "missing key for 'canonical_volume." in err
    _assert_nothing_written(tmp_path)


def test_wrong_shape_is_named_with_both_shapes(registry, parity_weights, tmp_path):
    state = torch.load(parity_weights / "328_model.pth", weights_only=True)
    state["decoder_nw.img_decoder.dec_img_head.2.weight"] = torch.zeros(3, 64, 1, 1)
    bad = tmp_path / "shape.pth"
    torch.save(state, bad)
    del state
    with pytest.raises(
        CheckpointError,
        match=r"key 'renderer\.head_conv\.weight' has shape \(3, 64, 1, 1\), expected \(3, 128, 1, 1\)",
    ):
        convert(
            bad,
            parity_weights / "head_pose_regressor.pth",
            tmp_path / "m.safetensors",
            registry=registry,
        )
    _assert_nothing_written(tmp_path)


def test_truncated_file_is_refused(project_cli, parity_weights, tmp_path, capsys):
    truncated = tmp_path / "328_model.pth"
    with open(parity_weights / "328_model.pth", "rb") as src, open(truncated, "wb") as dst:
        dst.write(src.read(5_000_000))
    code, err, _ = _convert_cli(tmp_path, truncated, parity_weights / "head_pose_regressor.pth", capsys)
    assert code == 2 and err.count("\n") == 0
    assert "328_model.pth: not a readable PyTorch checkpoint" in err
    _assert_nothing_written(tmp_path)


def test_not_a_checkpoint_and_swapped_files_are_refused(project_cli, parity_weights, tmp_path, capsys):
    text = tmp_path / "notes.pth"
    text.write_text("this is not a checkpoint\n")
    code, err, _ = _convert_cli(tmp_path, text, parity_weights / "head_pose_regressor.pth", capsys)
    assert code == 2 and "notes.pth: not a readable PyTorch checkpoint" in err
    hpr_copy = tmp_path / "hpr.pth"
    shutil.copy(parity_weights / "head_pose_regressor.pth", hpr_copy)
    code, err, _ = _convert_cli(tmp_path, hpr_copy, hpr_copy, capsys)
    assert code == 2 and "hpr.pth: unexpected key 'conv1.weight'" in err
    _assert_nothing_written(tmp_path)


def test_checkpoint_loading_is_strict(converted_checkpoint, registry, tmp_path):
    """A converted checkpoint loads into the pipeline only if every key and shape fits."""
    from emoportraits_core.pipeline import build, resolve_pipeline

    tiny = resolve_pipeline("animate", ["components.renderer.config.channels=256"], registry)
    with pytest.raises(CheckpointError, match=r"\[component renderer\]: key '.*' has shape .*, expected"):
        build(tiny, registry, checkpoint=converted_checkpoint)
    garbage = tmp_path / "garbage.safetensors"
    garbage.write_bytes(b"\x00" * 100)
    with pytest.raises(CheckpointError, match="not a readable safetensors checkpoint"):
        read_checkpoint(garbage)
