"""The identity encoder: ports, shapes, release layout, backbone swap."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from conftest import plugin_registry

from emoportraits_core import Registry, RegistryError
from emoportraits_plugins import backbones, encoders
from emoportraits_plugins.encoders import IdentityEncoder, IdentityEncoderConfig


@pytest.fixture(scope="module")
def registry() -> Registry:
    return plugin_registry(backbones, encoders)


@pytest.fixture(scope="module")
def tiny(registry) -> IdentityEncoder:
    torch.manual_seed(0)
    return registry.create("encoder", "emoportraits_identity_encoder", preset="tiny").eval()


def test_ports_and_shapes(tiny):
    assert tiny.kind == "encoder" and tiny.outputs == {"descriptor": "descriptor"}
    spec = tiny.input_specs()["image"]
    assert spec.type == "image" and spec.shape == ("B", 3, 64, 64) and spec.range == (0.0, 1.0)
    out = tiny.run(**tiny.example_inputs(3, generator=torch.Generator().manual_seed(1)))
    assert set(out) == {"descriptor"}
    assert out["descriptor"].shape == (3, 16, 2, 2)
    assert tiny.output_specs()["descriptor"].shape == ("B", 16, 2, 2)


def test_release_layout():
    with torch.device("meta"):
        enc = IdentityEncoder()
    sd = enc.state_dict()
    assert sum(p.numel() for p in enc.parameters()) == 24_575_488  # ARCHITECTURE_FACTS §1
    assert tuple(sd["fc.weight"].shape) == (512, 2048, 1, 1)
    assert "backbone.layer4.2.conv3.bias" in sd
    assert not any(k.endswith(("mean", "std")) for k in sd)  # ImageNet stats are non-persistent buffers
    assert enc.output_specs()["descriptor"].shape == ("B", 512, 4, 4)


def test_forward_is_resize_normalise_backbone_fc_pool(tiny):
    image = torch.rand(2, 3, 64, 64)
    x = F.interpolate(image, size=(64, 64), mode="bilinear", align_corners=False)
    mean = torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1)
    std = torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1)
    want = F.adaptive_avg_pool2d(tiny.fc(tiny.backbone((x - mean) / std)), 2)
    torch.testing.assert_close(tiny(image), want)


def test_batch_independence(tiny):
    image = torch.rand(3, 3, 64, 64)
    torch.testing.assert_close(tiny(image)[1:2], tiny(image[1:2]), rtol=1e-4, atol=1e-5)


def test_backbone_swap_in_one_line():
    config = IdentityEncoderConfig(
        image_size=64,
        input_size=64,
        backbone="resnet18",
        backbone_config={"preset": "tiny"},
        descriptor_channels=8,
    )
    enc = IdentityEncoder(config).eval()
    assert enc.backbone.config.block == "basic"
    assert enc.fc.in_channels == 16
    assert enc(torch.rand(1, 3, 64, 64)).shape == (1, 8, 4, 4)


def test_unknown_backbone_is_named():
    with pytest.raises(RegistryError, match=r"unknown backbone 'resnet51'.*did you mean 'resnet50'"):
        IdentityEncoder(IdentityEncoderConfig(backbone="resnet51"))
