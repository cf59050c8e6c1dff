"""The VGG trunk (Simonyan & Zisserman 2015, arXiv:1409.1556) shared by the VGG loss networks.

:func:`vgg_features` builds torchvision's ``features`` sequence: per entry of the stage plan, a 3x3
convolution (padding 1, bias) [+ BatchNorm] + ReLU, and a 2x2/2 max-pool after each stage, so that
module ``features.N`` has torchvision's index ``N`` (VGG19: relu1_1 = 1, relu2_1 = 6, relu3_1 = 11,
relu4_1 = 20, relu5_1 = 29; VGG16: 1, 6, 11, 18, 25). The sequence stops after the last index a loss
reads. ReLUs are not in place, so a stored feature map is never overwritten by a later layer.
"""

from __future__ import annotations

from collections.abc import Sequence

from torch import Tensor, nn

__all__ = ["VGG16_DEPTHS", "VGG19_DEPTHS", "conv_indices", "tap", "vgg_features"]

#: convolutions per stage.
VGG16_DEPTHS = (2, 2, 3, 3, 3)
VGG19_DEPTHS = (2, 2, 4, 4, 4)


def vgg_features(
    depths: Sequence[int], channels: Sequence[int], *, batch_norm: bool = False, last: int | None = None
) -> nn.Sequential:
    """torchvision's VGG ``features`` (stage ``i``: ``depths[i]`` convs of ``channels[i]`` outputs),
    truncated after index ``last`` (None: the whole trunk, final pool included)."""
    if len(depths) != len(channels):
        raise ValueError(f"depths {tuple(depths)} and channels {tuple(channels)} differ in length")
    layers: list[nn.Module] = []
    cin = 3
    for depth, width in zip(depths, channels):
        for _ in range(depth):
            layers.append(nn.Conv2d(cin, width, 3, padding=1))
            if batch_norm:
                layers.append(nn.BatchNorm2d(width))
            layers.append(nn.ReLU())
            cin = width
        layers.append(nn.MaxPool2d(2, 2))
    if last is not None:
        if not 0 <= last < len(layers):
            raise ValueError(f"layer index {last} is outside the trunk's {len(layers)} layers")
        layers = layers[: last + 1]
    return nn.Sequential(*layers)


def conv_indices(features: nn.Sequential) -> list[int]:
    """Indices of the convolutions of ``features`` (the modules that hold weights, with the BatchNorms)."""
    return [i for i, m in enumerate(features) if isinstance(m, nn.Conv2d)]


def tap(features: nn.Sequential, x: Tensor, layers: Sequence[int]) -> list[Tensor]:
    """Run ``x`` through ``features`` up to ``max(layers)`` and return the outputs of ``layers`` (in order)."""
    wanted = set(layers)
    out: dict[int, Tensor] = {}
    for i, module in enumerate(features):
        x = module(x)
        if i in wanted:
            out[i] = x
            if len(out) == len(wanted):
                break
    return [out[i] for i in layers]
