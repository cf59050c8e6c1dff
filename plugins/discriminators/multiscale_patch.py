"""The multi-scale patch discriminator (TRAINING_FACTS §3; pix2pixHD, Wang et al. 2018).

``num_scales`` (2) independent patch discriminators, the first on the input (512), each next one on the
previous scale's input 2x2 average-pooled (256). Each has four blocks ``3x3 conv (no bias, padding 1)
-> InstanceNorm (affine) -> LeakyReLU(0.2)`` with channels 3 -> 64 -> 128 -> 256 -> 512 and strides
2, 2, 2, 1, then a 1x1 convolution (with bias) to a one-channel score map. No spectral norm.
Outputs: ``scores`` (a ``(B, 1, h, w)`` map per scale) and ``features`` (per scale, the four block
outputs) for the hinge and feature-matching losses.

Names: ``scales.{i}.blocks.{j}.conv.weight``, ``scales.{i}.blocks.{j}.norm.{weight,bias}``,
``scales.{i}.score.{weight,bias}``. Init: Kaiming-normal (fan-in) convolutions, zero bias, unit
norms: what the released run ends up with (its global Kaiming init overwrites D's own).
"""

from __future__ import annotations

from typing import Any

import attrs
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from emoportraits_core import PortSpec
from emoportraits_core.interfaces import Discriminator
from emoportraits_core.validators import in_range, positive

__all__ = ["MultiScalePatchConfig", "MultiScalePatchDiscriminator"]


@attrs.frozen
class MultiScalePatchConfig:
    """Config of :class:`MultiScalePatchDiscriminator` (defaults: the release).

    Attributes:
        num_scales: independent discriminators, each on a 2x2-average-pooled copy of the previous input.
        channels: output channels of the blocks.
        strides: stride of each block's convolution.
        negative_slope: of the LeakyReLUs.
        in_channels: input channels.
        image_size: side of the input images (declared ports and example inputs; any size runs).
    """

    num_scales: int = attrs.field(default=2, validator=positive)
    channels: tuple[int, ...] = attrs.field(default=(64, 128, 256, 512), validator=positive)
    strides: tuple[int, ...] = attrs.field(default=(2, 2, 2, 1), validator=positive)
    negative_slope: float = attrs.field(default=0.2, validator=in_range(0.0, 1.0))
    in_channels: int = attrs.field(default=3, validator=positive)
    image_size: int = attrs.field(default=512, validator=positive)

    def __attrs_post_init__(self) -> None:
        if len(self.channels) != len(self.strides) or not self.channels:
            raise ValueError(f"channels {self.channels} and strides {self.strides} must match in length")


class _Block(nn.Module):
    def __init__(self, cin: int, cout: int, stride: int, slope: float) -> None:
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, 3, stride=stride, padding=1, bias=False)
        self.norm = nn.InstanceNorm2d(cout, affine=True)
        self.slope = slope

    def forward(self, x: Tensor) -> Tensor:
        return F.leaky_relu(self.norm(self.conv(x)), self.slope)


class _PatchDiscriminator(nn.Module):
    def __init__(self, config: MultiScalePatchConfig) -> None:
        super().__init__()
        blocks, cin = [], config.in_channels
        for cout, stride in zip(config.channels, config.strides):
            blocks.append(_Block(cin, cout, stride, config.negative_slope))
            cin = cout
        self.blocks = nn.ModuleList(blocks)
        self.score = nn.Conv2d(cin, 1, 1)

    def forward(self, x: Tensor) -> tuple[Tensor, list[Tensor]]:
        features = []
        for block in self.blocks:
            x = block(x)
            features.append(x)
        return self.score(x), features


class MultiScalePatchDiscriminator(Discriminator):
    """``image (B, 3, H, W)`` in [0, 1] -> ``{"scores": [(B, 1, h_i, w_i)], "features": [[4 maps] per scale]}``."""

    def __init__(self, config: MultiScalePatchConfig | None = None) -> None:
        config = config if config is not None else MultiScalePatchConfig()
        super().__init__(config)
        self.scales = nn.ModuleList(_PatchDiscriminator(config) for _ in range(config.num_scales))
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Kaiming-normal (fan-in, leaky ReLU slope) convolutions, zero biases, unit norm affines."""
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(
                    m.weight, a=self.config.negative_slope, mode="fan_in", nonlinearity="leaky_relu"
                )
                if m.bias is not None:
                    nn.init.zeros_(m.bias)
            elif isinstance(m, nn.InstanceNorm2d):
                nn.init.ones_(m.weight)
                nn.init.zeros_(m.bias)

    def input_specs(self) -> dict[str, PortSpec]:
        s = self.config.image_size
        return {"image": PortSpec("image", ("B", self.config.in_channels, s, s), (0.0, 1.0))}

    def output_specs(self) -> dict[str, PortSpec]:
        return {"scores": PortSpec("features"), "features": PortSpec("features")}

    def forward(self, image: Tensor) -> dict[str, Any]:
        scores, features = [], []
        x = image
        for i, disc in enumerate(self.scales):
            if i:
                x = F.avg_pool2d(x, 2)
            score, feats = disc(x)
            scores.append(score)
            features.append(feats)
        return {"scores": scores, "features": features}

    def example_inputs(
        self, batch: int = 2, *, generator: Any = None, dtype: Any = torch.float32, device: Any = "cpu"
    ) -> dict[str, Any]:
        s, c = self.config.image_size, self.config.in_channels
        return {"image": torch.rand(batch, c, s, s, generator=generator, dtype=dtype).to(device)}
