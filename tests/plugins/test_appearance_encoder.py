"""The appearance encoder E_app (tiny preset; release sizes on the meta device)."""

from __future__ import annotations

import pytest
import torch
from conftest import plugin_registry
from einops import rearrange

from emoportraits_conformance import conformance_tests
from emoportraits_core import ConfigError, Registry
from emoportraits_plugins import encoders
from emoportraits_plugins.encoders import AppearanceEncoder, AppearanceEncoderConfig


def _registry() -> Registry:
    return plugin_registry(encoders)


@pytest.fixture(scope="module")
def tiny() -> AppearanceEncoder:
    torch.manual_seed(0)
    return _registry().create("encoder", "emoportraits_appearance_encoder", preset="tiny").eval()


def test_tiny_shapes_and_ports(tiny):
    specs_in, specs_out = tiny.input_specs(), tiny.output_specs()
    assert specs_in["image"].shape == ("B", 3, 64, 64) and specs_in["image"].range == (0.0, 1.0)
    assert specs_out["volume"].shape == ("B", 8, 4, 8, 8)
    image = tiny.example_inputs(2, generator=torch.Generator().manual_seed(1))["image"]
    with torch.no_grad():
        out = tiny.run(image=image)
        flat = tiny.features(image)
    assert set(out) == {"volume"} and out["volume"].shape == (2, 8, 4, 8, 8)
    assert flat.shape == (2, 32, 8, 8)
    # channel index c * D + d
    torch.testing.assert_close(out["volume"], rearrange(flat, "b (c d) h w -> b c d h w", d=4))
    assert torch.equal(out["volume"][:, 1, 2], flat[:, 1 * 4 + 2])


def test_release_sizes_match_the_official_network():
    with torch.device("meta"):
        enc = AppearanceEncoder(AppearanceEncoderConfig())
    assert sum(p.numel() for p in enc.parameters()) == 10_119_680  # local_encoder_nw
    assert enc.output_specs()["volume"].shape == ("B", 96, 16, 64, 64)
    assert enc.stem.bias is not None and enc.to_volume.bias is not None
    assert all(b.conv1.bias is not None and b.conv2.bias is None for b in enc.blocks)
    with torch.device("meta"):
        out = enc(torch.empty(1, 3, 512, 512))
    assert out.shape == (1, 96, 16, 64, 64)


def test_config_errors_name_the_problem():
    with pytest.raises(ConfigError, match="divisible"):
        _registry().make_config("encoder", "emoportraits_appearance_encoder", {"image_size": 100})
    with pytest.raises(ValueError, match="num_groups"):
        AppearanceEncoderConfig(stem_channels=10)


# ---- the conformance suite on the tiny presets -------------------------------------------------


@pytest.fixture(scope="module")
def registry() -> Registry:
    return _registry()


test_conformance = conformance_tests(
    "encoder", "emoportraits_appearance_encoder", registry="registry", preset="tiny"
)
