"""The renderer G2D (tiny preset; release sizes on the meta device)."""

from __future__ import annotations

import pytest
import torch
from conftest import plugin_registry

from emoportraits_conformance import conformance_tests
from emoportraits_core import ConfigError, Registry
from emoportraits_plugins import renderers
from emoportraits_plugins.renderers import VolumeRenderer, VolumeRendererConfig


def _registry() -> Registry:
    return plugin_registry(renderers)


@pytest.fixture(scope="module")
def tiny() -> VolumeRenderer:
    torch.manual_seed(0)
    return _registry().create("renderer", "emoportraits_renderer", preset="tiny").eval()


def test_tiny_shapes_range_and_ports(tiny):
    assert tiny.input_specs()["volume"].shape == ("B", 8, 4, 8, 8)
    spec = tiny.output_specs()["image"]
    assert spec.shape == ("B", 3, 64, 64) and spec.range == (0.0, 1.0)
    volume = 5 * torch.randn(2, 8, 4, 8, 8)  # large values: the sigmoid keeps the range
    with torch.no_grad():
        image = tiny.run(volume=volume)["image"]
        trunk = tiny.trunk(volume)
        feats = tiny.decode_features(trunk)
    assert image.shape == (2, 3, 64, 64)
    assert image.min() >= 0 and image.max() <= 1
    assert trunk.shape == (2, 16, 8, 8) and feats.shape == (2, 8, 64, 64)
    torch.testing.assert_close(tiny.to_rgb(feats), image)


def test_depth_is_folded_into_channels_as_c_times_d_plus_d(tiny):
    """The projection sees channel ``c * D + d`` = ``volume[:, c, d]``."""
    c, d, depth = 3, 2, 4
    proj = torch.nn.Conv2d(32, 1, 1, bias=False)
    with torch.no_grad():
        proj.weight.zero_()
        proj.weight[0, c * depth + d] = 1
        volume = torch.randn(1, 8, 4, 8, 8)
        original, tiny.project = tiny.project, proj
        try:
            blocks, tiny.blocks = tiny.blocks, torch.nn.Identity()
            out = tiny.trunk(volume)
        finally:
            tiny.project, tiny.blocks = original, blocks
    torch.testing.assert_close(out[:, 0], volume[:, c, d])


def test_release_sizes_match_the_official_network():
    config = VolumeRendererConfig()
    with torch.device("meta"):
        renderer = VolumeRenderer(config)
        trunk = renderer.trunk(torch.empty(1, 96, 16, 64, 64))
        feats = renderer.decode_features(trunk)
    assert sum(p.numel() for p in renderer.parameters()) == 35_822_211  # decoder_nw
    assert config.image_size == 512
    assert trunk.shape == (1, 512, 64, 64) and feats.shape == (1, 128, 512, 512)
    assert renderer.project.bias is None and renderer.head_conv.bias is not None
    ups = [b.upsample for b in renderer.up_blocks]
    assert ups == [2, None, 2, None, 2, None]


def test_config_validation():
    with pytest.raises(ConfigError, match="num_groups"):
        _registry().make_config("renderer", "emoportraits_renderer", {"decoder_channels": [320, 100]})


# ---- the conformance suite on the tiny presets -------------------------------------------------


@pytest.fixture(scope="module")
def registry() -> Registry:
    return _registry()


test_conformance = conformance_tests("renderer", "emoportraits_renderer", registry="registry", preset="tiny")
