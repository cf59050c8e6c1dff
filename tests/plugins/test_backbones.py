"""ResNet backbones: torchvision-style names, parameter counts, norms, registry, timm extra."""

from __future__ import annotations

import importlib.util

import pytest
import torch
from conftest import plugin_registry
from torch import nn

from emoportraits_core import ConfigError, Registry, RegistryError
from emoportraits_plugins import backbones
from emoportraits_plugins.backbones import (
    Backbone,
    ResNet,
    ResNet18Config,
    ResNet50Config,
    ResNetConfig,
    TimmBackbone,
    build_backbone,
)

TINY = backbones.TINY_RESNET


@pytest.fixture
def registry() -> Registry:
    return plugin_registry(backbones)


def _meta(config) -> ResNet:
    with torch.device("meta"):
        return ResNet(config)


def _count(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


def test_torchvision_resnet18_with_9_outputs_has_torchvision_keys_and_count():
    net = _meta(ResNet18Config(norm="batch", conv_bias_after_norm=False, num_classes=9))
    assert _count(net) == 11_181_129  # ARCHITECTURE_FACTS §1 (head-pose regressor)
    keys = list(net.state_dict())
    assert len(keys) == 122  # the HPR_FILE rows of keys.tsv
    for key in (
        "conv1.weight",
        "bn1.running_mean",
        "bn1.num_batches_tracked",
        "layer1.0.conv1.weight",
        "layer1.1.bn2.running_var",
        "layer2.0.downsample.0.weight",
        "layer2.0.downsample.1.bias",
        "layer4.1.conv2.weight",
        "fc.weight",
        "fc.bias",
    ):
        assert key in keys
    assert not any(k.endswith("conv2.bias") or k == "conv1.bias" for k in keys)


def test_group_norm_resnet50_layout_and_biases():
    net = _meta(ResNet50Config())
    sd = net.state_dict()
    # ARCHITECTURE_FACTS §1: identity encoder 24,575,488 = trunk + fc (2048 -> 512 1x1, no bias)
    assert _count(net) == 24_575_488 - 512 * 2048
    assert net.out_channels == 2048 and net.stride == 32
    assert isinstance(net.layer1[0].bn1, nn.GroupNorm) and net.layer1[0].bn1.num_groups == 32
    biased = {k.rsplit(".", 2)[-2] for k in sd if k.endswith(".bias") and ".conv" in k}
    assert biased == {"conv2", "conv3"}
    assert "layer1.0.conv1.bias" not in sd and "layer1.0.downsample.0.bias" not in sd
    assert tuple(sd["layer3.5.conv3.weight"].shape) == (1024, 256, 1, 1)
    assert tuple(sd["layer4.0.downsample.0.weight"].shape) == (2048, 1024, 1, 1)
    assert not any("running" in k for k in sd)


def test_group_norm_resnet18_layout():
    net = _meta(ResNet18Config())
    sd = net.state_dict()
    # expression embedder 11,506,112 = trunk + fc 512 -> 128 (1x1) + head 2048 -> 128
    assert _count(net) == 11_506_112 - 128 * 512 - 128 * 2048
    assert {k for k in sd if ".conv" in k and k.endswith(".bias")} == {
        f"layer{i}.{j}.conv2.bias" for i in range(1, 5) for j in range(2)
    }


def test_stride_sits_on_the_3x3_conv():
    net = _meta(ResNet50Config())
    assert net.layer2[0].conv1.stride == (1, 1) and net.layer2[0].conv2.stride == (2, 2)


@pytest.mark.parametrize("block", ["basic", "bottleneck"])
@pytest.mark.parametrize("norm", ["group", "batch"])
def test_tiny_forward_shapes(block, norm):
    net = ResNet(ResNetConfig(block=block, norm=norm, **TINY)).eval()
    x = torch.randn(2, 3, 64, 64)
    out = net(x)
    assert out.shape == (2, net.out_channels, 2, 2)
    assert net.out_channels == 16 * (4 if block == "bottleneck" else 1)


def test_classifier():
    net = ResNet(ResNetConfig(norm="batch", num_classes=5, **TINY)).eval()
    assert net.classify(torch.rand(3, 3, 32, 32)).shape == (3, 5)
    with pytest.raises(ConfigError, match="no classifier"):
        ResNet(ResNetConfig(**TINY)).classify(torch.rand(1, 3, 32, 32))


def test_config_validation():
    with pytest.raises(ConfigError, match="num_groups 32 does not divide"):
        ResNetConfig(widths=(8, 8, 16, 16), stem_channels=8)
    with pytest.raises(ConfigError, match="equal length"):
        ResNetConfig(layers=(1, 1), widths=(8, 8, 8))
    ResNetConfig(norm="batch", widths=(8, 8, 16, 16), stem_channels=8)  # no groups needed


def test_registry_kind_and_names(registry):
    assert registry.get_kind("backbone").interface is Backbone
    assert [e.name for e in registry.list("backbone")] == ["resnet18", "resnet50", "timm"]
    net = registry.create("backbone", "resnet50", preset="tiny")
    assert isinstance(net, ResNet) and net.config.block == "bottleneck" and net.config.layers == (1, 1, 1, 1)
    assert registry.create("backbone", "resnet18", preset="tiny").out_channels == 16


def test_build_backbone_and_unknown_name(project_cli):
    """An unknown name is also looked up among the registered backbones: the project's (``project_cli``)."""
    net = build_backbone("resnet18", {"preset": "tiny", "norm": "batch"})
    assert net.config.norm == "batch" and net.config.widths == (8, 8, 16, 16)
    with pytest.raises(
        RegistryError, match=r"unknown backbone 'resnet5'.*resnet18, resnet50, timm.*did you mean"
    ):
        build_backbone("resnet5")
    with pytest.raises(ConfigError, match="unknown key 'width'"):
        build_backbone("resnet18", {"width": 3})
    with pytest.raises(ConfigError, match=r"unknown preset 'small'.*release, tiny"):
        build_backbone("resnet50", {"preset": "small"})


@pytest.mark.skipif(importlib.util.find_spec("timm") is not None, reason="timm is installed")
def test_timm_backbone_without_timm_names_the_extra():
    with pytest.raises(ConfigError, match=r"pip install 'emoportraits\[timm\]'"):
        build_backbone("timm")


def test_timm_backbone_with_timm():
    pytest.importorskip("timm")
    net = build_backbone("timm", {"model_name": "resnet18"})
    assert isinstance(net, TimmBackbone) and net.out_channels == 512 and net.stride == 32
    assert net(torch.rand(1, 3, 64, 64)).shape == (1, 512, 2, 2)
