"""Deliberately broken components: each breaks the contract checks named in its ``breaks``.

A conformance check that cannot fail is a defect; the suite's own tests run every check against the
components listed here and require each check to fail on at least one of them (and each component
to fail every check it names). They are tiny (shapes like ``(B, 2, 2, 4, 4)``), take no config and
can be registered under their ``registry_name`` with :func:`register_broken_components`, e.g. from a
throw-away plugin to see what a failing ``emoportraits conformance`` run looks like.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any, ClassVar

import torch
import torch.nn.functional as F
from safetensors import safe_open
from safetensors.torch import save_file
from torch import Tensor, nn

from emoportraits_core import Motion, PortSpec
from emoportraits_core.interfaces import (
    Discriminator,
    Driver,
    Encoder,
    Loss,
    Renderer,
    StreamInfo,
    VolumeProcessor,
    Warper,
)

__all__ = ["BROKEN_COMPONENTS", "register_broken_components"]

_VOL = ("B", 2, 2, 4, 4)
_IMG = ("B", 3, 8, 8)


class _Broken:
    """Mixin: the checks a class breaks and its registry name."""

    breaks: ClassVar[tuple[str, ...]] = ()
    registry_name: ClassVar[str] = ""


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


# -- losses and discriminators ----------------------------------------------------------------------------


class _TinyLoss(_Broken, Loss):
    inputs = {"pred": "image", "target": "image"}

    def input_specs(self) -> dict[str, PortSpec]:
        spec = PortSpec("image", _IMG, (0.0, 1.0))
        return {"pred": spec, "target": spec}

    def forward(self, pred: Tensor, target: Tensor) -> Tensor:
        return (pred - target).abs().mean()


class PerItemLoss(_TinyLoss):
    """Returns one value per batch item, (B,)."""

    breaks = ("loss_scalar",)
    registry_name = "broken_per_item_loss"

    def forward(self, pred: Tensor, target: Tensor) -> Tensor:
        return (pred - target).abs().mean((1, 2, 3))


class DetachedLoss(_TinyLoss):
    """Detaches its value from the inputs."""

    breaks = ("loss_differentiable",)
    registry_name = "broken_detached_loss"

    def forward(self, pred: Tensor, target: Tensor) -> Tensor:
        return super().forward(pred, target).detach()


class OffsetLoss(_TinyLoss):
    """Declares zero_on_identical but adds 0.1."""

    breaks = ("loss_zero_on_identical",)
    registry_name = "broken_offset_loss"
    zero_on_identical = True

    def forward(self, pred: Tensor, target: Tensor) -> Tensor:
        return super().forward(pred, target) + 0.1


class _TinyDiscriminator(_Broken, Discriminator):
    def __init__(self, config: Any = None) -> None:
        super().__init__(config)
        self.conv = nn.Conv2d(3, 4, 3, padding=1)
        self.head = nn.Conv2d(4, 1, 1)

    def input_specs(self) -> dict[str, PortSpec]:
        return {"image": PortSpec("image", _IMG, (0.0, 1.0))}

    def forward(self, image: Tensor) -> dict[str, Any]:
        feat = torch.relu(self.conv(image))
        return {"scores": [self.head(feat)], "features": [[feat]]}


class TensorScoresDiscriminator(_TinyDiscriminator):
    """Returns the scores as one tensor and the features as a flat list."""

    breaks = ("discriminator_outputs",)
    registry_name = "broken_tensor_scores"

    def forward(self, image: Tensor) -> dict[str, Any]:
        out = super().forward(image)
        return {"scores": out["scores"][0], "features": out["features"][0]}


class DetachedInputDiscriminator(_TinyDiscriminator):
    """Detaches its input image: no adversarial gradient reaches the generator."""

    breaks = ("discriminator_input_gradient",)
    registry_name = "broken_detached_input"

    def forward(self, image: Tensor) -> dict[str, Any]:
        return super().forward(image.detach())


# -- drivers ----------------------------------------------------------------------------------------------


class _TinyDriver(_Broken, Driver):
    """Streams rows of a safetensors file ``embedding (N, 4)``."""

    outputs = {"embedding": "embedding"}

    def output_specs(self) -> dict[str, PortSpec]:
        return {"embedding": PortSpec("embedding", ("B", 4))}

    def probe(self, source: str | Path) -> StreamInfo:
        with safe_open(str(source), framework="pt") as f:
            return StreamInfo(num_frames=f.get_slice("embedding").get_shape()[0], fps=25.0)

    def stream(self, source: str | Path, batch_size: int) -> Iterator[Mapping[str, Any]]:
        n = self.probe(source).num_frames or 0
        with safe_open(str(source), framework="pt") as f:
            for start in range(0, n, batch_size):
                yield {"embedding": f.get_slice("embedding")[start : min(start + batch_size, n)]}

    def conformance_sources(self, tmp_dir: Path) -> list[Path]:
        path = Path(tmp_dir) / "rows.safetensors"
        save_file({"embedding": torch.randn(5, 4, generator=torch.Generator().manual_seed(0))}, str(path))
        return [path]


class PerBatchNormDriver(_TinyDriver):
    """Normalises each batch by its own mean: streaming differs from batch."""

    breaks = ("driver_streaming_equals_batch",)
    registry_name = "broken_per_batch_norm"

    def stream(self, source: str | Path, batch_size: int) -> Iterator[Mapping[str, Any]]:
        for batch in super().stream(source, batch_size):
            yield {"embedding": batch["embedding"] - batch["embedding"].mean(0, keepdim=True)}


class DropLastDriver(_TinyDriver):
    """Drops the last, partial batch."""

    breaks = ("driver_one_item_per_frame", "driver_streaming_equals_batch")
    registry_name = "broken_drop_last"

    def stream(self, source: str | Path, batch_size: int) -> Iterator[Mapping[str, Any]]:
        for batch in super().stream(source, batch_size):
            if batch["embedding"].shape[0] == batch_size:
                yield batch


#: every broken component class (each has ``kind``, ``registry_name`` and ``breaks``).
BROKEN_COMPONENTS: list[type] = [
    cls
    for cls in list(globals().values())
    if isinstance(cls, type) and issubclass(cls, _Broken) and not cls.__name__.startswith("_")
]


def register_broken_components(registry: Any, names: Any = None) -> None:
    """Register the broken components (all, or those whose ``registry_name`` is in ``names``) under
    their kind and ``registry_name``."""
    for cls in BROKEN_COMPONENTS:
        if names is None or cls.registry_name in names:
            registry.register(cls.kind, cls.registry_name, cls)
