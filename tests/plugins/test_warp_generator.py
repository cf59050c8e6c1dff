"""The warp embedder and the warp generators (tiny presets; release sizes on the meta device)."""

from __future__ import annotations

import pytest
import torch
from conftest import plugin_registry

from emoportraits_conformance import conformance_tests
from emoportraits_core import ConfigError, Motion, Registry
from emoportraits_core.geometry import (
    euler_to_matrix,
    identity_grid,
    invert_affine,
    pose_to_affine,
    transform_grid,
    warp_volume,
)
from emoportraits_plugins import embedders, warpers
from emoportraits_plugins.embedders import Embedder, WarpEmbedder, WarpEmbedderConfig
from emoportraits_plugins.warpers import WarpGenerator, WarpGeneratorConfig


def _registry() -> Registry:
    return plugin_registry(embedders, warpers)


def _warper(direction: str = "to_canonical", seed: int = 0) -> WarpGenerator:
    torch.manual_seed(seed)
    return (
        _registry().create("warper", "emoportraits_warp_generator", preset="tiny", direction=direction).eval()
    )


def _motion(batch: int, seed: int = 0, angle: float = 0.15) -> Motion:
    g = torch.Generator().manual_seed(seed)
    return Motion.from_euler(
        angle * torch.randn(batch, 3, generator=g),
        0.05 * torch.randn(batch, 3, generator=g),
        torch.randn(batch, 16, generator=g),
        1 + 0.03 * torch.randn(batch, 3, generator=g),
    )


def _zero_deformation(warper: WarpGenerator, shift: tuple[float, float, float] = (0.0, 0.0, 0.0)) -> None:
    """Head weights 0, bias atanh(shift): the learned warp becomes identity grid + constant shift."""
    with torch.no_grad():
        warper.head.weight.zero_()
        warper.head.bias.copy_(torch.atanh(torch.tensor(shift)))


# ---- embedder ------------------------------------------------------------------------------------


def test_embedder_kind_and_shapes():
    registry = _registry()
    assert registry.get_kind("embedder").interface is Embedder
    embedders.register_kinds(registry)  # idempotent
    emb = registry.create("embedder", "emoportraits_warp_embedder", preset="tiny").eval()
    inputs = emb.example_inputs(3, generator=torch.Generator().manual_seed(0))
    assert emb.input_specs()["descriptor"].shape == ("B", 16, 2, 2)
    with torch.no_grad():
        out = emb.run(**inputs)["embedding"]
        shared = emb(inputs["motion"], inputs["descriptor"][:1])  # one source for three frames
    assert out.shape == (3, 16, 2, 2)
    assert shared.shape == (3, 16, 2, 2)
    c = emb.config
    want = emb.head(
        (emb.expression_proj(inputs["motion"].expression).view(3, 16, 2, 2) + inputs["descriptor"]) / 2
    )
    torch.testing.assert_close(out, want)
    assert (c.expression_dim, c.embed_channels) == (16, 16)


def test_release_sizes_match_the_official_networks():
    with torch.device("meta"):
        emb = WarpEmbedder(WarpEmbedderConfig())
        warper = WarpGenerator(WarpGeneratorConfig())
    assert sum(p.numel() for p in emb.parameters()) == 1_048_576 + 262_144
    assert sum(p.numel() for p in warper.parameters()) == 9_016_451  # xy_generator_nw
    assert "identity_grid" not in warper.state_dict()  # derived, non-persistent
    assert [tuple(u.shape) for u in warper.projector.u] == [
        (c, 512) for c in (512, 256, 256, 128, 128, 64, 64, 32)
    ]


# ---- warp generator ----------------------------------------------------------------------------


def test_tiny_shapes_ports_and_deformation():
    warper = _warper()
    inputs = warper.example_inputs(2, generator=torch.Generator().manual_seed(0))
    rot = inputs["motion"].rotation
    torch.testing.assert_close(rot @ rot.transpose(1, 2), torch.eye(3).expand(2, 3, 3))
    with torch.no_grad():
        out = warper.run(**inputs)["volume"]
        delta, grid = warper.learned_deformation(inputs["embedding"])
    assert out.shape == (2, 8, 4, 8, 8)
    assert delta.shape == (2, 3, 4, 8, 8) and grid.shape == (2, 4, 8, 8, 3)
    assert delta.abs().max() < 1
    ident = identity_grid(4, 8, 8, align_corners=True)
    torch.testing.assert_close(grid, ident + delta.permute(0, 2, 3, 4, 1))
    assert torch.equal(warper.identity_grid, ident)


def test_rigid_grid_direction_and_theta():
    motion = _motion(2)
    theta = pose_to_affine(motion.scale, motion.rotation, motion.translation)
    grid = identity_grid(4, 8, 8, align_corners=True)
    to_c, from_c = _warper("to_canonical"), _warper("from_canonical")
    torch.testing.assert_close(WarpGenerator.theta(motion), theta)
    torch.testing.assert_close(to_c.rigid_grid(motion), transform_grid(grid, invert_affine(theta)))
    torch.testing.assert_close(from_c.rigid_grid(motion), transform_grid(grid, theta))
    unit = Motion(motion.rotation, motion.translation, motion.expression)  # scale None = ones
    torch.testing.assert_close(
        to_c.rigid_grid(unit),
        to_c.rigid_grid_from_theta(pose_to_affine(torch.ones(2, 3), motion.rotation, motion.translation)),
    )


@pytest.mark.parametrize("direction", ["to_canonical", "from_canonical"])
def test_order_rigid_and_learned(direction):
    """Learned warp = a constant shift (zero head weights): to_canonical is rigid first, then the
    learned warp; from_canonical the reverse; and the two orders differ."""
    warper = _warper(direction)
    _zero_deformation(warper, (0.2, -0.1, 0.0))
    inputs = warper.example_inputs(2, generator=torch.Generator().manual_seed(3))
    motion = _motion(2, angle=0.3)
    with torch.no_grad():
        out = warper(inputs["volume"], inputs["embedding"], motion)
        _, learned = warper.learned_deformation(inputs["embedding"])
    rigid = warper.rigid_grid(motion)
    rigid_first = warp_volume(warp_volume(inputs["volume"], rigid), learned)
    learned_first = warp_volume(warp_volume(inputs["volume"], learned), rigid)
    want, other = (
        (rigid_first, learned_first) if direction == "to_canonical" else (learned_first, rigid_first)
    )
    torch.testing.assert_close(out, want)
    assert (want - other).abs().max() > 0.1
    grids = warper.deformations(inputs["embedding"], motion)
    order = [rigid, learned] if direction == "to_canonical" else [learned, rigid]
    assert len(grids) == 2 and all(torch.equal(g, o) for g, o in zip(grids, order))


def test_zero_deformation_is_the_rigid_warp_alone():
    """With a zero delta the learned grid is the (linspace) identity grid: the to_canonical output is
    the rigid warp followed by that identity resample."""
    warper = _warper()
    _zero_deformation(warper)
    inputs = warper.example_inputs(2, generator=torch.Generator().manual_seed(4))
    with torch.no_grad():
        out = warper(**inputs)
        delta, grid = warper.learned_deformation(inputs["embedding"])
    assert torch.equal(delta, torch.zeros_like(delta))
    assert torch.equal(grid, warper.identity_grid.expand_as(grid))
    rigid_only = warp_volume(inputs["volume"], warper.rigid_grid(inputs["motion"]))
    torch.testing.assert_close(out, warp_volume(rigid_only, warper.identity_grid))


def test_the_release_grid_scales_the_volume_and_exact_identity_does_not():
    """The release's linspace identity grid, sampled with align_corners=False, is no identity: a warp
    with zero delta and identity pose moves every voxel off its place. exact_identity puts the grid at
    the voxel centres, and the same warp returns the volume."""
    inputs = _warper().example_inputs(2, generator=torch.Generator().manual_seed(6))
    motion = Motion.from_euler(torch.zeros(2, 3), torch.zeros(2, 3), torch.zeros(2, 16), torch.ones(2, 3))
    outs = {}
    for exact in (False, True):
        warper = (
            _registry()
            .create("warper", "emoportraits_warp_generator", preset="tiny", exact_identity=exact)
            .eval()
        )
        _zero_deformation(warper)
        with torch.no_grad():
            outs[exact] = warper(inputs["volume"], inputs["embedding"], motion)
    torch.testing.assert_close(outs[True], inputs["volume"])
    assert (outs[False] - inputs["volume"]).abs().mean() > 0.1 * inputs["volume"].abs().mean()


@pytest.mark.parametrize("direction", ["to_canonical", "from_canonical"])
def test_identity_init_starts_from_the_identity_warp_and_learns(direction):
    """identity_init: delta is exactly 0 for any embedding at construction, and the head still gets
    gradients (it is zero, not frozen); the default init warps by a random field."""
    registry = _registry()
    warper = registry.create(
        "warper", "emoportraits_warp_generator", preset="tiny", direction=direction, identity_init=True
    )
    embedding = warper.example_inputs(2, generator=torch.Generator().manual_seed(7))["embedding"]
    delta, _ = warper.learned_deformation(embedding)
    assert torch.equal(delta, torch.zeros_like(delta))
    (delta * torch.randn_like(delta)).sum().backward()
    assert warper.head.weight.grad is not None and warper.head.weight.grad.abs().sum() > 0
    default, _ = _warper(direction).learned_deformation(embedding)
    assert default.abs().mean() > 0.01


@pytest.mark.parametrize("direction", ["to_canonical", "from_canonical"])
def test_batch1_volume_broadcasts(direction):
    """One source volume, a batch of embeddings and motions: same as the volume copied per item."""
    warper = _warper(direction)
    inputs = warper.example_inputs(3, generator=torch.Generator().manual_seed(5))
    volume = inputs["volume"][:1]
    with torch.no_grad():
        shared = warper(volume, inputs["embedding"], inputs["motion"])
        copied = warper(volume.repeat(3, 1, 1, 1, 1), inputs["embedding"], inputs["motion"])
        single = warper(volume, inputs["embedding"][1:2], inputs["motion"][1])
    assert shared.shape == (3, 8, 4, 8, 8)
    torch.testing.assert_close(shared, copied)
    torch.testing.assert_close(shared[1:2], single)


def test_config_validation():
    registry = _registry()
    with pytest.raises(ConfigError, match="block_sizes"):
        registry.make_config("warper", "emoportraits_warp_generator", {"block_sizes": [[8, 8, 8]]})
    with pytest.raises(ConfigError, match="volume"):
        registry.make_config("warper", "emoportraits_warp_generator", {"volume_size": 32})
    with pytest.raises(ConfigError, match="direction"):
        registry.make_config("warper", "emoportraits_warp_generator", {"direction": "sideways"})
    assert euler_to_matrix(torch.zeros(1, 3)).shape == (1, 3, 3)


# ---- the conformance suite on the tiny presets -------------------------------------------------


@pytest.fixture(scope="module")
def registry() -> Registry:
    return _registry()


test_embedder_conformance = conformance_tests(
    "embedder", "emoportraits_warp_embedder", registry="registry", preset="tiny"
)
test_warper_conformance_to_canonical = conformance_tests(
    "warper", "emoportraits_warp_generator", registry="registry", preset="tiny", direction="to_canonical"
)
test_warper_conformance_from_canonical = conformance_tests(
    "warper", "emoportraits_warp_generator", registry="registry", preset="tiny", direction="from_canonical"
)
