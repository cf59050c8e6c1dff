"""Deliberately broken volume processors, encoders, renderers and warpers: each breaks the contract checks named in its ``breaks``.

Part of the catalogue in :mod:`emoportraits_conformance.broken_components`.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from emoportraits_core import Motion, PortSpec
from emoportraits_core.interfaces import (
    Encoder,
    Renderer,
    VolumeProcessor,
    Warper,
)

from ._broken_base import IMG as _IMG
from ._broken_base import VOL as _VOL
from ._broken_base import Broken as _Broken

# -- volume processors (one residual conv; each variant breaks one thing) --------------------------------


class _TinyVolume(_Broken, VolumeProcessor):
    def __init__(self, config: Any = None) -> None:
        super().__init__(config)
        self.conv = nn.Conv3d(2, 2, 3, padding=1)

    def input_specs(self) -> dict[str, PortSpec]:
        return {"volume": PortSpec("volume", _VOL)}

    output_specs = input_specs

    def forward(self, volume: Tensor) -> Tensor:
        return volume + self.conv(volume)


class BatchMeanVolume(_TinyVolume):
    """Subtracts the batch mean: items depend on each other."""

    breaks = ("batch_independence",)
    registry_name = "broken_batch_mean"

    def forward(self, volume: Tensor) -> Tensor:
        return super().forward(volume - volume.mean(0, keepdim=True))


class DropoutInEvalVolume(_TinyVolume):
    """Applies dropout whatever the mode: random in eval."""

    breaks = ("determinism",)
    registry_name = "broken_dropout_in_eval"

    def forward(self, volume: Tensor) -> Tensor:
        return F.dropout(super().forward(volume), 0.5, training=True)


class WrongShapeVolume(_TinyVolume):
    """Returns (B, 2, 2, 4, 2) while declaring (B, 2, 2, 4, 4)."""

    breaks = ("output_shapes",)
    registry_name = "broken_wrong_shape"

    def forward(self, volume: Tensor) -> Tensor:
        return super().forward(volume)[..., :2]


class ExtraPortVolume(_TinyVolume):
    """Returns an undeclared port 'debug' next to 'volume'."""

    breaks = ("declared_ports",)
    registry_name = "broken_extra_port"

    def forward(self, volume: Tensor) -> dict[str, Tensor]:
        out = super().forward(volume)
        return {"volume": out, "debug": out.mean()}


class BadExampleVolume(_TinyVolume):
    """Its example_inputs() draws volumes one voxel too wide for its spec."""

    breaks = ("example_inputs",)
    registry_name = "broken_example_inputs"

    def example_inputs(self, batch: int = 2, *, generator=None, dtype=torch.float32, device="cpu") -> dict:
        return {"volume": torch.randn(batch, 2, 2, 4, 5, generator=generator, dtype=dtype, device=device)}


class InPlaceVolume(_TinyVolume):
    """Scales its input volume in place."""

    breaks = ("inputs_not_modified",)
    registry_name = "broken_in_place"

    def forward(self, volume: Tensor) -> Tensor:
        return super().forward(volume.mul_(0.5))


class UnusedParameterVolume(_TinyVolume):
    """Has a parameter that no output depends on."""

    breaks = ("gradients",)
    registry_name = "broken_unused_parameter"

    def __init__(self, config: Any = None) -> None:
        super().__init__(config)
        self.unused = nn.Linear(2, 2)


class HiddenBufferVolume(_TinyVolume):
    """Scales by a random buffer that is not persistent: lost in the state dict."""

    breaks = ("state_dict_roundtrip",)
    registry_name = "broken_hidden_buffer"

    def __init__(self, config: Any = None) -> None:
        super().__init__(config)
        self.register_buffer("gain", torch.rand(2) + 0.5, persistent=False)

    def forward(self, volume: Tensor) -> Tensor:
        return super().forward(volume) * self.gain[:, None, None, None]


class Float32OnlyVolume(_TinyVolume):
    """Casts to float32 inside forward."""

    breaks = ("float64_move",)
    registry_name = "broken_float32_only"

    def forward(self, volume: Tensor) -> Tensor:
        return super().forward(volume).float()


class LowPrecisionVolume(_TinyVolume):
    """Adds and subtracts 256 (exact in float32 up to 2e-5; in bfloat16 it rounds values to steps of 2)."""

    breaks = ("bfloat16_move",)
    registry_name = "broken_low_precision"

    def forward(self, volume: Tensor) -> Tensor:
        return (super().forward(volume) + 256.0) - 256.0


class FlatVolume(_TinyVolume):
    """A 'volume' processor whose volume ports are declared (and are) 4-D."""

    breaks = ("volume_ports",)
    registry_name = "broken_flat_volume"

    def input_specs(self) -> dict[str, PortSpec]:
        return {"volume": PortSpec("volume", ("B", 2, 4, 4))}

    output_specs = input_specs

    def forward(self, volume: Tensor) -> Tensor:
        return super().forward(volume[:, :, None].expand(-1, -1, 2, -1, -1)).mean(2)


# -- encoders and renderers ------------------------------------------------------------------------------


class _TinyEncoder(_Broken, Encoder):
    outputs = {"volume": "volume"}

    def __init__(self, config: Any = None) -> None:
        super().__init__(config)
        self.conv = nn.Conv2d(3, 4, 3, stride=2, padding=1)

    def input_specs(self) -> dict[str, PortSpec]:
        return {"image": PortSpec("image", _IMG, (0.0, 1.0))}

    def output_specs(self) -> dict[str, PortSpec]:
        return {"volume": PortSpec("volume", _VOL)}

    def forward(self, image: Tensor) -> Any:
        return self.conv(image).view(-1, 2, 2, 4, 4)


class NanOnWhiteEncoder(_TinyEncoder):
    """Adds log(1 - image): -inf on a white image."""

    breaks = ("finite_outputs",)
    registry_name = "broken_nan_on_white"

    def forward(self, image: Tensor) -> Tensor:
        return super().forward(image) + torch.log1p(-image).mean((1, 2, 3)).view(-1, 1, 1, 1, 1)


class TwoOutputEncoder(_TinyEncoder):
    """Outputs a volume and a descriptor (an encoder has one output)."""

    breaks = ("encoder_ports",)
    registry_name = "broken_two_outputs"
    outputs = {"volume": "volume", "descriptor": "descriptor"}

    def output_specs(self) -> dict[str, PortSpec]:
        return {"volume": PortSpec("volume", _VOL), "descriptor": PortSpec("descriptor", ("B", 4))}

    def forward(self, image: Tensor) -> dict[str, Tensor]:
        volume = super().forward(image)
        return {"volume": volume, "descriptor": volume.mean((2, 3, 4)).repeat(1, 2)}


class OutOfRangeRenderer(_Broken, Renderer):
    """Declares images in [0, 1] but ends with tanh (values in [-1, 1])."""

    breaks = ("renderer_image", "output_range")
    registry_name = "broken_out_of_range"

    def __init__(self, config: Any = None) -> None:
        super().__init__(config)
        self.to_rgb = nn.Conv2d(4, 3, 1)

    def input_specs(self) -> dict[str, PortSpec]:
        return {"volume": PortSpec("volume", _VOL)}

    def output_specs(self) -> dict[str, PortSpec]:
        return {"image": PortSpec("image", _IMG, (0.0, 1.0))}

    def forward(self, volume: Tensor) -> Tensor:
        return torch.tanh(F.interpolate(self.to_rgb(volume.flatten(1, 2)), size=(8, 8)) * 3)


# -- warpers ----------------------------------------------------------------------------------------------


class _TinyWarper(_Broken, Warper):
    inputs = {"volume": "volume", "motion": "motion"}

    def __init__(self, config: Any = None) -> None:
        super().__init__(config)
        self.offset = nn.Linear(4, 3)

    def input_specs(self) -> dict[str, PortSpec]:
        return {"volume": PortSpec("volume", _VOL), "motion": PortSpec("motion", ("B", 4))}

    def output_specs(self) -> dict[str, PortSpec]:
        return {"volume": PortSpec("volume", _VOL)}

    def deformation(self, motion: Motion) -> Tensor:
        shift = motion.translation + 0.1 * torch.tanh(self.offset(motion.expression))
        theta = torch.cat([motion.rotation, shift[..., None]], -1)
        return F.affine_grid(theta, [motion.batch_size, 1, 2, 4, 4], align_corners=False)

    def forward(self, volume: Tensor, motion: Motion) -> Tensor:
        return F.grid_sample(volume, self.deformation(motion).to(volume.dtype), align_corners=False)


class ChannelMixingWarper(_TinyWarper):
    """Returns 3 channels from 2 (declared so): a warper keeps the channel count."""

    breaks = ("warper_ports",)
    registry_name = "broken_channel_count"

    def output_specs(self) -> dict[str, PortSpec]:
        return {"volume": PortSpec("volume", ("B", 3, 2, 4, 4))}

    def forward(self, volume: Tensor, motion: Motion) -> Tensor:
        out = super().forward(volume, motion)
        return torch.cat([out, out[:, :1]], 1)


class ChannelsFirstGridWarper(_TinyWarper):
    """Its deformation() returns the grid channels-first, (B, 3, D, H, W)."""

    breaks = ("warper_deformation",)
    registry_name = "broken_grid_layout"

    def deformation(self, motion: Motion) -> Tensor:
        return super().deformation(motion).permute(0, 4, 1, 2, 3)

    def forward(self, volume: Tensor, motion: Motion) -> Tensor:
        grid = self.deformation(motion).permute(0, 2, 3, 4, 1)
        return F.grid_sample(volume, grid.to(volume.dtype), align_corners=False)


class AlignCornersWarper(_TinyWarper):
    """Samples with align_corners=True: not the grid convention it exposes."""

    breaks = ("warper_applies_deformation",)
    registry_name = "broken_align_corners"

    def forward(self, volume: Tensor, motion: Motion) -> Tensor:
        return F.grid_sample(volume, self.deformation(motion).to(volume.dtype), align_corners=True)
