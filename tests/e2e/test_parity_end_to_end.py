"""Faithfulness to the official networks, end to end (../shared/official/parity).

The recipe weights (released layout) go through the real `emoportraits convert`; the shipped
`animate` pipeline is built from the converted checkpoint; every reference intermediate of the
official inference path and the final image are compared under the tolerance of the parity
README. The same check is made through the command line alone (`emoportraits animate`).
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from conftest import PARITY_DIR, PARITY_REFERENCE
from parity import check, reference_tensor
from PIL import Image
from safetensors import safe_open

from emoportraits_core import get_registry
from emoportraits_core.cli import main
from emoportraits_core.io import to_uint8
from emoportraits_core.pipeline import build, resolve_pipeline

pytestmark = pytest.mark.parity


@pytest.fixture(scope="module")
def official(converted_checkpoint, parity_reference):
    """One run of the release pipeline on the reference inputs; returns {reference name: ours}."""
    ref = parity_reference
    registry = get_registry()
    runner = build(resolve_pipeline("animate", (), registry), registry, checkpoint=converted_checkpoint)
    c = runner.components
    captured: dict[str, torch.Tensor] = {}
    c["renderer"].blocks.register_forward_hook(lambda _m, _i, out: captured.setdefault("decoder_out_2", out))
    c["renderer"].up_blocks.register_forward_hook(
        lambda _m, _i, out: captured.setdefault("decoder_out_3", out)
    )
    mask = reference_tensor(ref, "input.source_mask")
    source = reference_tensor(ref, "input.source") * mask
    driver = reference_tensor(ref, "input.driver")
    runner.prepare(source=source)
    outputs, v = runner(driver=driver, return_intermediates=True)
    repeat = runner(driver=driver)["image"]
    ours = {
        "source.source_mask": mask,
        "source.source_img_masked": source,
        "source.idt_embed": v["identity.descriptor"],
        "source.local_encoder_out": v["appearance.volume"].reshape(1, -1, 64, 64),
        "source.source_latent_volume_raw": v["appearance.volume"],
        "source.source_latent_volume": v["source_volume.volume"],
        "source.warp_embed_source_orig": v["source_embedding.embedding"],
        "source.canonical_volume_pre_g3d": v["to_canonical.volume"],
        "source.canonical_volume": v["canonical.volume"],
        "driver.driver_aligned_volume": v["to_driver.volume"],
        "driver.decoder_input_2d": v["to_driver.volume"].reshape(1, -1, 64, 64),
        "output.decoder_out_2": captured["decoder_out_2"],
        "output.decoder_out_3": captured["decoder_out_3"],
        "output.decoder_out_0": outputs["image"],
        "output.pred_img_raw": outputs["image"],
        "output.pred_img_clamped": outputs["image"].clamp(0, 1),
        "output.driver_only_repeat_img": repeat,
    }
    with torch.inference_mode():
        for side, image, name in (("source", source, "source_motion"), ("driver", driver, "driver_motion")):
            steps = c["motion_encoder"].intermediates(image)
            prefix = "source.source" if side == "source" else "driver.driver"
            ours[f"{side}.hpr_raw_9"] = steps["raw"]
            ours[f"{prefix}_scale"] = steps["scale"]
            ours[f"{prefix}_rotation"] = steps["angles"]
            ours[f"{prefix}_translation"] = steps["translation"]
            ours[f"{prefix}_theta"] = steps["theta"]
            ours[f"{prefix}_img_align"] = steps["aligned"]
            ours[f"{prefix}_exp_latent"] = v[f"{name}.motion"].expression
        ours["source.hpr_input_128"] = c["motion_encoder"].pose_input(source)
        delta, grid = c["source_warper"].learned_deformation(v["source_embedding.embedding"])
        ours["source.source_xy_delta"], ours["source.source_xy_warp"] = delta, grid
        ours["source.source_xy_warp_resize"] = grid
        ours["source.source_rotation_warp"] = c["source_warper"].rigid_grid(v["source_motion.motion"])
        delta, grid = c["driver_warper"].learned_deformation(v["driver_embedding.embedding"])
        ours["driver.driver_uv_delta"], ours["driver.driver_uv_warp"] = delta, grid
    return ours


def _reference_names() -> list[str]:
    """Every tensor of the reference but the inputs themselves."""
    with safe_open(str(PARITY_REFERENCE), framework="pt") as f:
        names = {k.rsplit(".", 1)[0] for k in f.keys()}  # noqa: SIM118 (safe_open has no __iter__)
    return sorted(n for n in names if not n.startswith("input."))


REFERENCE_NAMES = _reference_names()


def test_every_reference_tensor_is_checked(official):
    assert set(REFERENCE_NAMES) == set(official)


@pytest.mark.parametrize("name", REFERENCE_NAMES)
def test_intermediate_matches_the_official_network(official, parity_reference, name):
    check(parity_reference, name, official[name])


def test_final_image_within_the_stated_tolerance(official, parity_reference):
    ours = official["output.pred_img_raw"].double()
    want = reference_tensor(parity_reference, "output.pred_img_raw").double()
    diff = (ours - want).abs()
    assert diff.max().item() <= 5e-4
    assert diff.mean().item() <= 2e-5
    png = torch.from_numpy(np.array(Image.open(PARITY_DIR / "official_seed0.png"))).permute(2, 0, 1)
    levels = (to_uint8(official["output.pred_img_raw"][0]).int() - png.int()).abs()
    assert levels.max().item() <= 1


def test_source_is_encoded_once_and_the_driver_call_repeats_exactly(official):
    assert torch.equal(official["output.driver_only_repeat_img"], official["output.pred_img_raw"])


def test_command_line_alone_reproduces_the_official_image(converted_checkpoint, tmp_path, capsys):
    out = tmp_path / "out.png"
    code = main(
        [
            "animate",
            str(PARITY_DIR / "source.png"),
            str(PARITY_DIR / "driver.png"),
            "-o",
            str(out),
            "--checkpoint",
            str(converted_checkpoint),
            "--no-crop",
            "--source-mask",
            str(PARITY_DIR / "mask.png"),
            "-q",
        ]
    )
    assert code == 0, capsys.readouterr().err
    ours = np.asarray(Image.open(out)).astype(int)
    official = np.asarray(Image.open(PARITY_DIR / "official_seed0.png")).astype(int)
    assert ours.shape == official.shape == (512, 512, 3)
    assert np.abs(ours - official).max() <= 1
