"""Parity of the appearance, warp, volume and rendering networks with the official ones.

The recipe checkpoint (released layout, spectral norm / weight standardisation resolved) goes
through :mod:`emoportraits_plugins.convert.keymap_volumes` into release-configured components
(strict load); intermediates are compared with ../shared/official/parity/reference_seed0.safetensors
under the README's tolerance (``parity.check``). Inputs that other components produce (identity
descriptor, expression latents, head poses) are taken whole from the reference, so these tests do
not depend on the encoders.
"""

from __future__ import annotations

import time

import numpy as np
import pytest
import torch
from conftest import PARITY_DIR
from parity import check, reference_tensor
from PIL import Image

from emoportraits_core import Motion
from emoportraits_plugins.convert.keymap import apply_rules
from emoportraits_plugins.convert.keymap_volumes import RULES
from emoportraits_plugins.embedders import WarpEmbedder, WarpEmbedderConfig
from emoportraits_plugins.encoders import AppearanceEncoder, AppearanceEncoderConfig
from emoportraits_plugins.renderers import VolumeRenderer, VolumeRendererConfig
from emoportraits_plugins.volumes import G3D, G3DConfig, VolumeResBlocks, VolumeResBlocksConfig
from emoportraits_plugins.warpers import WarpGenerator, WarpGeneratorConfig

pytestmark = pytest.mark.parity

OUR_GROUPS = (
    "local_encoder_nw.",
    "pose_unsqueeze_nw.",
    "warp_embed_head_orig_nw.",
    "xy_generator_nw.",
    "uv_generator_nw.",
    "volume_source_nw.",
    "volume_process_nw.",
    "decoder_nw.",
)

FACTORIES = {
    "appearance_encoder": lambda: AppearanceEncoder(AppearanceEncoderConfig()),
    "warp_embedder": lambda: WarpEmbedder(WarpEmbedderConfig()),
    "source_warper": lambda: WarpGenerator(WarpGeneratorConfig(direction="to_canonical")),
    "driver_warper": lambda: WarpGenerator(WarpGeneratorConfig(direction="from_canonical")),
    "source_volume": lambda: VolumeResBlocks(VolumeResBlocksConfig()),
    "canonical_volume": lambda: G3D(G3DConfig()),
    "renderer": lambda: VolumeRenderer(VolumeRendererConfig()),
}


@pytest.fixture(scope="module")
def mapped(official_state) -> dict:
    main = {k: v for k, v in official_state.items() if k.startswith(OUR_GROUPS)}
    return apply_rules(main, RULES, source="main", where="328_model.pth").tensors


def _load(mapped: dict, component: str) -> torch.nn.Module:
    prefix = component + "."
    module = FACTORIES[component]()
    module.load_state_dict(
        {k[len(prefix) :]: v for k, v in mapped.items() if k.startswith(prefix)}, strict=True
    )
    return module.eval()


def _embeddings(embedder: WarpEmbedder, ref: dict) -> tuple[torch.Tensor, torch.Tensor]:
    descriptor = reference_tensor(ref, "source.idt_embed")
    source = embedder.embed(reference_tensor(ref, "source.source_exp_latent"), descriptor)
    driver = embedder.embed(
        reference_tensor(ref, "driver.driver_exp_latent"), descriptor
    )  # SOURCE descriptor
    return source, driver


@torch.no_grad()
def test_warp_embedding_and_warp_grids(mapped, parity_reference):
    """Steps 7, 8, 9, 14 (and the driver's step 15 grid through the source's motion path)."""
    ref = parity_reference
    embedder = _load(mapped, "warp_embedder")
    source_emb, driver_emb = _embeddings(embedder, ref)
    check(ref, "source.warp_embed_source_orig", source_emb)
    source_warper, driver_warper = _load(mapped, "source_warper"), _load(mapped, "driver_warper")
    delta, grid = source_warper.learned_deformation(source_emb)
    check(ref, "source.source_xy_delta", delta)
    check(ref, "source.source_xy_warp", grid)
    check(
        ref,
        "source.source_rotation_warp",
        source_warper.rigid_grid_from_theta(reference_tensor(ref, "source.source_theta")),
    )
    delta, grid = driver_warper.learned_deformation(driver_emb)
    check(ref, "driver.driver_uv_delta", delta)
    check(ref, "driver.driver_uv_warp", grid)


@torch.no_grad()
def test_rigid_grid_from_a_motion(mapped, parity_reference):
    """theta = S R T built from the reference's (scale, yaw/pitch/roll, translation) gives the same grid."""
    ref = parity_reference
    warper = _load(mapped, "source_warper")
    motion = Motion.from_euler(
        reference_tensor(ref, "source.source_rotation"),
        reference_tensor(ref, "source.source_translation"),
        reference_tensor(ref, "source.source_exp_latent"),
        reference_tensor(ref, "source.source_scale"),
    )
    torch.testing.assert_close(
        WarpGenerator.theta(motion), reference_tensor(ref, "source.source_theta"), atol=1e-6, rtol=1e-5
    )
    check(ref, "source.source_rotation_warp", warper.rigid_grid(motion))


@pytest.mark.slow
@torch.no_grad()
def test_full_chain(mapped, parity_reference):
    """Steps 3-17 chained from the masked source to the final image (~75 s on 2 CPU cores)."""
    ref = parity_reference
    nets = {name: _load(mapped, name) for name in FACTORIES}
    timings = {}
    start = time.perf_counter()

    image = reference_tensor(ref, "input.source") * reference_tensor(ref, "input.source_mask")
    check(ref, "source.local_encoder_out", nets["appearance_encoder"].features(image))
    volume = nets["appearance_encoder"](image)
    check(ref, "source.source_latent_volume_raw", volume)
    volume = nets["source_volume"](volume)
    check(ref, "source.source_latent_volume", volume)
    source_emb, driver_emb = _embeddings(nets["warp_embedder"], ref)
    warper = nets["source_warper"]
    _, grid = warper.learned_deformation(source_emb)
    canonical = warper.warp(
        volume, grid, warper.rigid_grid_from_theta(reference_tensor(ref, "source.source_theta"))
    )
    check(ref, "source.canonical_volume_pre_g3d", canonical)
    canonical = nets["canonical_volume"](canonical)
    check(ref, "source.canonical_volume", canonical)
    timings["source"] = time.perf_counter() - start

    warper = nets["driver_warper"]
    _, grid = warper.learned_deformation(driver_emb)
    aligned = warper.warp(
        canonical, grid, warper.rigid_grid_from_theta(reference_tensor(ref, "driver.driver_theta"))
    )
    check(ref, "driver.driver_aligned_volume", aligned)
    check(ref, "driver.decoder_input_2d", aligned.flatten(1, 2))
    renderer = nets["renderer"]
    trunk = renderer.trunk(aligned)
    check(ref, "output.decoder_out_2", trunk)
    features = renderer.decode_features(trunk)
    check(ref, "output.decoder_out_3", features)
    out = renderer.to_rgb(features)
    check(ref, "output.pred_img_raw", out)
    torch.testing.assert_close(renderer(aligned), out, rtol=0, atol=0)
    timings["driver"] = time.perf_counter() - start - timings["source"]

    want = reference_tensor(ref, "output.pred_img_raw")
    diff = (out - want).abs()
    assert diff.max() <= 5e-4 and diff.mean() <= 2e-5, (diff.max().item(), diff.mean().item())
    ours8 = torch.floor(out.clamp(0, 1) * 255 + 0.5).to(torch.int16)[0].permute(1, 2, 0)
    png = torch.from_numpy(np.array(Image.open(PARITY_DIR / "official_seed0.png").convert("RGB"))).to(
        torch.int16
    )
    assert (ours8 - png).abs().max() <= 1
    print(f"parity chain timings: source {timings['source']:.1f} s, driver {timings['driver']:.1f} s")
