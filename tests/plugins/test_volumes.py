"""The source 3D res blocks and G3D (tiny presets; release sizes on the meta device)."""

from __future__ import annotations

import pytest
import torch
from conftest import plugin_registry

from emoportraits_conformance import conformance_tests
from emoportraits_core import ConfigError, Registry
from emoportraits_plugins import volumes
from emoportraits_plugins.volumes import G3D, G3DConfig, VolumeResBlocks, VolumeResBlocksConfig


def _registry() -> Registry:
    return plugin_registry(volumes)


@pytest.mark.parametrize("name", ["emoportraits_volume_resblocks", "emoportraits_g3d"])
def test_tiny_shapes_and_ports(name):
    torch.manual_seed(0)
    net = _registry().create("volume", name, preset="tiny").eval()
    assert net.input_specs()["volume"].shape == ("B", 8, 4, 8, 8)
    assert net.output_specs()["volume"].shape == ("B", 8, 4, 8, 8)
    inputs = net.example_inputs(2, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        out = net.run(**inputs)["volume"]
        single = net(inputs["volume"][1:])
    assert out.shape == (2, 8, 4, 8, 8) and torch.isfinite(out).all()
    torch.testing.assert_close(out[1:], single)


def test_g3d_levels_and_learned_constant():
    torch.manual_seed(0)
    g3d = _registry().create("volume", "emoportraits_g3d", preset="tiny").eval()
    assert g3d.config.skip_sizes() == [(8, 8, 8), (8, 4, 4), (4, 2, 2)]
    assert g3d.input_tensor.shape == (1, 16, 2, 1, 1)
    feats = g3d.encode(torch.randn(3, 8, 4, 8, 8))
    assert [tuple(f.shape) for f in feats] == [(3, 16, 8, 8, 8), (3, 16, 8, 4, 4), (3, 16, 4, 2, 2)]
    assert G3DConfig().skip_sizes() == [(32, 64, 64), (32, 32, 32), (16, 16, 16)]


def test_g3d_gradients_reach_skip_blocks_and_constant():
    torch.manual_seed(0)
    g3d = _registry().create("volume", "emoportraits_g3d", preset="tiny")
    g3d(torch.randn(2, 8, 4, 8, 8)).square().mean().backward()
    missing = [n for n, p in g3d.named_parameters() if p.grad is None or not p.grad.abs().sum() > 0]
    assert not missing


def test_release_sizes_match_the_official_networks():
    with torch.device("meta"):
        source = VolumeResBlocks(VolumeResBlocksConfig())
        g3d = G3D(G3DConfig())
        out = g3d(torch.empty(1, 96, 16, 64, 64))
    assert sum(p.numel() for p in source.parameters()) == 1_494_144  # volume_source_nw
    assert sum(p.numel() for p in g3d.parameters()) == 57_843_104  # volume_process_nw
    assert out.shape == (1, 96, 16, 64, 64)
    assert g3d.input_tensor.shape == (1, 512, 8, 8, 8)
    assert g3d.head_conv.bias is not None
    assert all(
        b.conv1.bias is None for b in [*source.blocks, *g3d.down_blocks, *g3d.up_blocks, *g3d.skip_blocks]
    )


def test_config_validation():
    registry = _registry()
    with pytest.raises(ConfigError, match="pools"):
        registry.make_config("volume", "emoportraits_g3d", {"pools": [[2, 2, 2]]})
    with pytest.raises(ConfigError, match="num_groups"):
        registry.make_config("volume", "emoportraits_volume_resblocks", {"channels": 20})


# ---- the conformance suite on the tiny presets -------------------------------------------------


@pytest.fixture(scope="module")
def registry() -> Registry:
    return _registry()


test_resblocks_conformance = conformance_tests(
    "volume", "emoportraits_volume_resblocks", registry="registry", preset="tiny"
)
test_g3d_conformance = conformance_tests("volume", "emoportraits_g3d", registry="registry", preset="tiny")
