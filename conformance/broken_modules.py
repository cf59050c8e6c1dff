"""Deliberately broken volume processors, encoders and renderers: each breaks the contract checks named
in its ``breaks``.

Part of the catalogue in :mod:`emoportraits_conformance.broken_components`.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from emoportraits_core import Motion, PortSpec
from emoportraits_core.geometry import rotation_6d_to_matrix
from emoportraits_core.interfaces import Encoder, Renderer, VolumeProcessor

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


class StatelessStreamVolume(_TinyVolume):
    """Declares a stateful stream (a running sum over the frames) but forgets the sum between batches."""

    breaks = ("stream_state",)
    registry_name = "broken_stateless_stream"
    stateful_stream = True
    conformance_batch_coupled = True  # frame t sums frames 0..t by design

    def reset_stream(self) -> None:
        pass  # nothing is carried: that is the bug

    def forward(self, volume: Tensor) -> Tensor:
        return super().forward(volume).cumsum(0)


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


# -- state, devices and hooks (volume processors) ----------------------------------------------------------


class RunningMeanVolume(_TinyVolume):
    """Tracks a running mean of its inputs in every mode (a statistic meant for training only); the
    output does not use it, so only the eval-mode state changes."""

    breaks = ("eval_state_unchanged",)
    registry_name = "broken_running_mean"

    def __init__(self, config: Any = None) -> None:
        super().__init__(config)
        self.register_buffer("running_mean", torch.zeros(2))

    def forward(self, volume: Tensor) -> Tensor:
        with torch.no_grad():
            self.running_mean.mul_(0.9).add_(0.1 * volume.mean((0, 2, 3, 4)))
        return super().forward(volume)


class LazyCalibrationVolume(_TinyVolume):
    """Calibrates a gain from the first inputs it sees and keeps it in a Python attribute, outside
    the state dict: a reloaded copy calibrates on different inputs."""

    breaks = ("state_dict_roundtrip",)
    registry_name = "broken_lazy_calibration"

    def __init__(self, config: Any = None) -> None:
        super().__init__(config)
        self._gain: float | None = None

    def forward(self, volume: Tensor) -> Tensor:
        if self._gain is None:
            self._gain = 1.0 / (float(volume.detach().abs().mean()) + 1e-3)
        return super().forward(volume) * self._gain


class CpuCoordinateVolume(_TinyVolume):
    """Adds an x-coordinate ramp made with torch.linspace without device=: always on the CPU."""

    breaks = ("device_move",)
    registry_name = "broken_cpu_coordinates"

    def forward(self, volume: Tensor) -> Tensor:
        ramp = torch.linspace(-1, 1, volume.shape[-1], dtype=volume.dtype)
        return super().forward(volume) + ramp


class CpuRoundTripVolume(_TinyVolume):
    """Moves its input to the CPU with .cpu() inside forward."""

    breaks = ("device_move",)
    registry_name = "broken_cpu_round_trip"

    def forward(self, volume: Tensor) -> Tensor:
        return super().forward(volume.cpu())


class StringNoGradVolume(UnusedParameterVolume):
    """Exempts its unused parameter with ``frozenset("unused.")``: a set of single characters, whose
    'u' exempts 'unused.*' by accident and whose other letters match nothing."""

    breaks = ("conformance_hooks", "gradients")
    registry_name = "broken_string_no_grad"
    conformance_no_grad = frozenset("unused.")


# -- weights beyond initialisation (renderers) and motion encoders --------------------------------------


class _TinyRenderer(_Broken, Renderer):
    """Group-normalised volume -> 1x1 conv -> small-initialised 1x1 head -> image; ``squash`` maps
    the head's output into [0, 1]."""

    def __init__(self, config: Any = None) -> None:
        super().__init__(config)
        self.norm = nn.GroupNorm(2, 4)
        self.body = nn.Conv2d(4, 4, 1)
        self.head = nn.Conv2d(4, 3, 1)
        nn.init.normal_(self.head.weight, std=0.05)  # a small output head, a common choice
        nn.init.zeros_(self.head.bias)

    def input_specs(self) -> dict[str, PortSpec]:
        return {"volume": PortSpec("volume", _VOL)}

    def output_specs(self) -> dict[str, PortSpec]:
        return {"image": PortSpec("image", _IMG, (0.0, 1.0))}

    def features(self, volume: Tensor) -> Tensor:
        x = torch.relu(self.body(self.norm(volume.flatten(1, 2))))
        return F.interpolate(self.head(x), size=(8, 8), mode="bilinear", align_corners=False)

    def forward(self, volume: Tensor) -> Tensor:
        return torch.sigmoid(self.features(volume))


class GatedNoiseRenderer(_TinyRenderer):
    """Adds noise behind a zero-initialised gate, in every mode: deterministic until the gate moves."""

    breaks = ("determinism", "batch_independence")
    registry_name = "broken_gated_noise"

    def __init__(self, config: Any = None) -> None:
        super().__init__(config)
        self.noise_gate = nn.Parameter(torch.zeros(1))

    def forward(self, volume: Tensor) -> Tensor:
        x = self.features(volume)
        return torch.sigmoid(x + self.noise_gate * torch.randn_like(x))


class StretchedSigmoidRenderer(_TinyRenderer):
    """Ends with ``sigmoid(x) * 1.2 - 0.1``: in [0, 1] while the head is small, not once it grows."""

    breaks = ("output_range", "renderer_image")
    registry_name = "broken_stretched_sigmoid"

    def forward(self, volume: Tensor) -> Tensor:
        return torch.sigmoid(self.features(volume)) * 1.2 - 0.1


class ReflectionMotionEncoder(_Broken, Encoder):
    """Returns rotation matrices with det -1 (a mirrored z axis: a left-handed frame)."""

    breaks = ("encoder_motion_rotation", "output_shapes")
    registry_name = "broken_reflection"
    outputs = {"motion": "motion"}

    def __init__(self, config: Any = None) -> None:
        super().__init__(config)
        self.head = nn.Linear(3, 6 + 4)

    def input_specs(self) -> dict[str, PortSpec]:
        return {"image": PortSpec("image", _IMG, (0.0, 1.0))}

    def output_specs(self) -> dict[str, PortSpec]:
        return {"motion": PortSpec("motion", ("B", 4))}

    def forward(self, image: Tensor) -> Motion:
        feats = self.head(image.mean((2, 3)))
        rotation = rotation_6d_to_matrix(feats[:, :6]) * feats.new_tensor([1.0, 1.0, -1.0])
        return Motion(rotation, torch.zeros_like(feats[:, :3]), feats[:, 6:])
