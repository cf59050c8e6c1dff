"""ResNet-18/50 (He et al. 2016, arXiv:1512.03385) with torchvision-style module names.

Layout (names as in torchvision, so released weights map one to one): ``conv1`` (7x7/2) ``bn1``
ReLU ``maxpool`` (3x3/2), then ``layer1`` .. ``layer4`` of blocks ``layerN.i.{conv1, bn1, conv2,
bn2[, conv3, bn3], downsample.0 (1x1 conv), downsample.1 (norm)}``; the stride of a stage sits on
the 3x3 convolution (``conv2`` of a bottleneck, "ResNet v1.5"). With ``num_classes > 0`` the
module also has ``fc`` (Linear after global average pooling), used through :meth:`ResNet.classify`.

Norms (``norm``): ``"batch"`` (BatchNorm2d, eps 1e-5; the released head-pose regressor) or
``"group"`` (GroupNorm, ``num_groups`` groups, eps 1e-5, affine; the released identity and
expression encoders). In the released GroupNorm backbones the convolutions that follow a norm
inside a block (BasicBlock ``conv2``; Bottleneck ``conv2`` and ``conv3``) were weight-standardised
convolutions with a bias; converted checkpoints store the standardised weight, so here they are
ordinary convolutions with a bias (``conv_bias_after_norm=True``).
"""

from __future__ import annotations

from typing import Literal

import attrs
import torch
from torch import Tensor, nn

from emoportraits_core.errors import ConfigError
from emoportraits_core.validators import positive

from .base import Backbone

__all__ = ["BasicBlock", "Bottleneck", "ResNet", "ResNet18Config", "ResNet50Config", "ResNetConfig"]


@attrs.frozen
class ResNetConfig:
    """Config of :class:`ResNet`.

    Attributes:
        block: ``"basic"`` (two 3x3 convs, expansion 1) or ``"bottleneck"`` (1x1-3x3-1x1, expansion 4).
        layers: blocks per stage (ResNet-18: (2, 2, 2, 2); ResNet-50: (3, 4, 6, 3)).
        widths: base channels per stage; a stage outputs ``width * expansion`` channels.
        stem_channels: channels of ``conv1``.
        in_channels: input channels.
        norm: ``"group"`` or ``"batch"``.
        num_groups: groups of each GroupNorm (must divide every normalised channel count).
        norm_eps: eps of every norm.
        conv_bias_after_norm: bias on the convolutions that follow a norm inside a block.
        num_classes: outputs of the ``fc`` classifier (0: no classifier, trunk only).
    """

    block: Literal["basic", "bottleneck"] = "basic"
    layers: tuple[int, ...] = attrs.field(default=(2, 2, 2, 2), validator=positive)
    widths: tuple[int, ...] = attrs.field(default=(64, 128, 256, 512), validator=positive)
    stem_channels: int = attrs.field(default=64, validator=positive)
    in_channels: int = attrs.field(default=3, validator=positive)
    norm: Literal["group", "batch"] = "group"
    num_groups: int = attrs.field(default=32, validator=positive)
    norm_eps: float = 1e-5
    conv_bias_after_norm: bool = True
    num_classes: int = 0

    def __attrs_post_init__(self) -> None:
        if len(self.layers) != len(self.widths) or not self.layers:
            raise ConfigError(
                f"layers {self.layers} and widths {self.widths} must be non-empty and of equal length"
            )
        if self.num_classes < 0:
            raise ConfigError(f"num_classes must be >= 0, got {self.num_classes}")
        if self.norm == "group":
            expansion = _EXPANSION[self.block]
            sizes = {self.stem_channels, *self.widths, *(w * expansion for w in self.widths)}
            bad = sorted(c for c in sizes if c % self.num_groups)
            if bad:
                raise ConfigError(f"num_groups {self.num_groups} does not divide the channel counts {bad}")


@attrs.frozen
class ResNet18Config(ResNetConfig):
    """:class:`ResNetConfig` with ResNet-18 defaults (BasicBlock, (2, 2, 2, 2)), GroupNorm as released."""


@attrs.frozen
class ResNet50Config(ResNetConfig):
    """:class:`ResNetConfig` with ResNet-50 defaults (Bottleneck, (3, 4, 6, 3)), GroupNorm as released."""

    block: Literal["basic", "bottleneck"] = "bottleneck"
    layers: tuple[int, ...] = attrs.field(default=(3, 4, 6, 3), validator=positive)


_EXPANSION = {"basic": 1, "bottleneck": 4}


def _norm(config: ResNetConfig, channels: int) -> nn.Module:
    if config.norm == "batch":
        return nn.BatchNorm2d(channels, eps=config.norm_eps)
    return nn.GroupNorm(config.num_groups, channels, eps=config.norm_eps)


def _conv(cin: int, cout: int, kernel: int, stride: int = 1, bias: bool = False) -> nn.Conv2d:
    return nn.Conv2d(cin, cout, kernel, stride=stride, padding=kernel // 2, bias=bias)


class BasicBlock(nn.Module):
    """``conv1 3x3/s -> bn1 -> ReLU -> conv2 3x3 -> bn2``, plus the (down-sampled) input, ReLU."""

    expansion = 1

    def __init__(self, config: ResNetConfig, cin: int, width: int, stride: int) -> None:
        super().__init__()
        cout = width * self.expansion
        self.conv1 = _conv(cin, width, 3, stride)
        self.bn1 = _norm(config, width)
        self.relu = nn.ReLU(inplace=True)
        self.conv2 = _conv(width, cout, 3, bias=config.conv_bias_after_norm)
        self.bn2 = _norm(config, cout)
        self.downsample = _downsample(config, cin, cout, stride)

    def forward(self, x: Tensor) -> Tensor:
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        skip = x if self.downsample is None else self.downsample(x)
        return self.relu(out + skip)


class Bottleneck(nn.Module):
    """``conv1 1x1 -> bn1 -> ReLU -> conv2 3x3/s -> bn2 -> ReLU -> conv3 1x1 -> bn3``, + skip, ReLU."""

    expansion = 4

    def __init__(self, config: ResNetConfig, cin: int, width: int, stride: int) -> None:
        super().__init__()
        cout = width * self.expansion
        bias = config.conv_bias_after_norm
        self.conv1 = _conv(cin, width, 1)
        self.bn1 = _norm(config, width)
        self.conv2 = _conv(width, width, 3, stride, bias=bias)
        self.bn2 = _norm(config, width)
        self.conv3 = _conv(width, cout, 1, bias=bias)
        self.bn3 = _norm(config, cout)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = _downsample(config, cin, cout, stride)

    def forward(self, x: Tensor) -> Tensor:
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        skip = x if self.downsample is None else self.downsample(x)
        return self.relu(out + skip)


def _downsample(config: ResNetConfig, cin: int, cout: int, stride: int) -> nn.Sequential | None:
    if stride == 1 and cin == cout:
        return None
    return nn.Sequential(_conv(cin, cout, 1, stride), _norm(config, cout))


_BLOCKS: dict[str, type[BasicBlock | Bottleneck]] = {"basic": BasicBlock, "bottleneck": Bottleneck}


class ResNet(Backbone):
    """ResNet trunk (``conv1`` .. ``layerN``) with torchvision-style names; optional ``fc`` classifier.

    ``forward(x (B, C_in, H, W)) -> (B, out_channels, H/32, W/32)`` for four stages (stride
    ``2 ** (1 + len(layers))``); ``out_channels = widths[-1] * expansion`` (512 for ResNet-18, 2048
    for ResNet-50). Input: an image normalised as the weights expect; any H, W.
    """

    def __init__(self, config: ResNetConfig | None = None) -> None:
        config = config if config is not None else ResNetConfig()
        super().__init__(config)
        block = _BLOCKS[config.block]
        self.in_channels = config.in_channels
        self.conv1 = nn.Conv2d(config.in_channels, config.stem_channels, 7, stride=2, padding=3, bias=False)
        self.bn1 = _norm(config, config.stem_channels)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(3, stride=2, padding=1)
        cin = config.stem_channels
        for i, (depth, width) in enumerate(zip(config.layers, config.widths)):
            blocks = []
            for j in range(depth):
                blocks.append(block(config, cin, width, 2 if (j == 0 and i > 0) else 1))
                cin = width * block.expansion
            self.add_module(f"layer{i + 1}", nn.Sequential(*blocks))
        self.out_channels = cin
        self.stride = 2 ** (1 + len(config.layers))
        if config.num_classes > 0:
            self.avgpool = nn.AdaptiveAvgPool2d(1)
            self.fc = nn.Linear(cin, config.num_classes)
        self.reset_parameters()

    @property
    def stages(self) -> list[nn.Sequential]:
        """``[layer1, ..., layerN]``."""
        return [getattr(self, f"layer{i + 1}") for i in range(len(self.config.layers))]

    def reset_parameters(self) -> None:
        """He (fan-out) init for convolutions, unit/zero norms, zero conv biases."""
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
                if m.bias is not None:
                    nn.init.zeros_(m.bias)
            elif isinstance(m, nn.BatchNorm2d | nn.GroupNorm):
                nn.init.ones_(m.weight)
                nn.init.zeros_(m.bias)

    def forward(self, x: Tensor) -> Tensor:
        """``x (B, C_in, H, W)`` -> feature map ``(B, out_channels, H/stride, W/stride)``."""
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        for stage in self.stages:
            x = stage(x)
        return x

    def classify(self, x: Tensor) -> Tensor:
        """``x (B, C_in, H, W)`` -> ``(B, num_classes)``: trunk, global average pool, ``fc``."""
        if self.config.num_classes == 0:
            raise ConfigError("this ResNet has no classifier (num_classes = 0)")
        return self.fc(torch.flatten(self.avgpool(self(x)), 1))
