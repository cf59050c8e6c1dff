"""Four tiny components that chain into image -> volume -> warped volume -> image."""

from __future__ import annotations

import attrs
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from emoportraits_core import Motion, PortSpec
from emoportraits_core.interfaces import Encoder, Renderer, VolumeProcessor, Warper


@attrs.frozen
class ToyEncoderConfig:
    """Config of :class:`ToyEncoder`."""

    image_size: int = 32
    channels: int = 4
    depth: int = 4
    size: int = 8


class ToyEncoder(Encoder):
    """Image -> volume by a strided conv whose channels are folded into depth."""

    outputs = {"volume": "volume"}

    def __init__(self, config: ToyEncoderConfig) -> None:
        super().__init__(config)
        c = config
        self.conv = nn.Conv2d(3, c.channels * c.depth, 3, stride=c.image_size // c.size, padding=1)

    def input_specs(self) -> dict[str, PortSpec]:
        s = self.config.image_size
        return {"image": PortSpec("image", ("B", 3, s, s), (0.0, 1.0))}

    def output_specs(self) -> dict[str, PortSpec]:
        c = self.config
        return {"volume": PortSpec("volume", ("B", c.channels, c.depth, c.size, c.size))}

    def forward(self, image: Tensor) -> Tensor:
        c = self.config
        x = self.conv(image * 2 - 1)
        return x.view(x.shape[0], c.channels, c.depth, c.size, c.size)


@attrs.frozen
class ToyVolumeConfig:
    channels: int = 4
    depth: int = 4
    size: int = 8


class ToyVolume(VolumeProcessor):
    """One residual 3x3x3 conv."""

    def __init__(self, config: ToyVolumeConfig) -> None:
        super().__init__(config)
        self.conv = nn.Conv3d(config.channels, config.channels, 3, padding=1)

    def _spec(self) -> dict[str, PortSpec]:
        c = self.config
        return {"volume": PortSpec("volume", ("B", c.channels, c.depth, c.size, c.size))}

    input_specs = output_specs = _spec

    def forward(self, volume: Tensor) -> Tensor:
        return volume + self.conv(torch.relu(volume))


@attrs.frozen
class ToyWarperConfig:
    channels: int = 4
    depth: int = 4
    size: int = 8
    expression_dim: int = 8


class ToyWarper(Warper):
    """Rigid warp by the motion's rotation and translation, plus a learned expression offset."""

    inputs = {"volume": "volume", "motion": "motion"}

    def __init__(self, config: ToyWarperConfig) -> None:
        super().__init__(config)
        self.offset = nn.Linear(config.expression_dim, 3)

    def input_specs(self) -> dict[str, PortSpec]:
        c = self.config
        return {
            "volume": PortSpec("volume", ("B", c.channels, c.depth, c.size, c.size)),
            "motion": PortSpec("motion", ("B", c.expression_dim)),
        }

    def output_specs(self) -> dict[str, PortSpec]:
        return {"volume": self.input_specs()["volume"]}

    def deformation(self, motion: Motion) -> Tensor:
        c = self.config
        theta = torch.cat(
            [
                motion.rotation,
                (motion.translation + 0.1 * torch.tanh(self.offset(motion.expression)))[..., None],
            ],
            -1,
        )
        return F.affine_grid(theta, [motion.batch_size, 1, c.depth, c.size, c.size], align_corners=False)

    def forward(self, volume: Tensor, motion: Motion) -> Tensor:
        grid = self.deformation(motion).to(volume.dtype)
        return F.grid_sample(volume, grid, align_corners=False)


@attrs.frozen
class ToyRendererConfig:
    channels: int = 4
    depth: int = 4
    size: int = 8
    image_size: int = 32


class ToyRenderer(Renderer):
    """Fold depth into channels, 1x1 conv to RGB, upsample, sigmoid."""

    def __init__(self, config: ToyRendererConfig) -> None:
        super().__init__(config)
        self.to_rgb = nn.Conv2d(config.channels * config.depth, 3, 1)

    def input_specs(self) -> dict[str, PortSpec]:
        c = self.config
        return {"volume": PortSpec("volume", ("B", c.channels, c.depth, c.size, c.size))}

    def output_specs(self) -> dict[str, PortSpec]:
        s = self.config.image_size
        return {"image": PortSpec("image", ("B", 3, s, s), (0.0, 1.0))}

    def forward(self, volume: Tensor) -> Tensor:
        x = self.to_rgb(volume.flatten(1, 2))
        x = F.interpolate(x, size=(self.config.image_size,) * 2, mode="bilinear", align_corners=False)
        return torch.sigmoid(x)
