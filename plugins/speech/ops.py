"""Graph operations (kind ``op``) of the speech training graph: from clips to per-frame batches.

A batch of the ``speech_clips`` dataset holds B clips of T frames (``frames (B, T, 3, S, S)``, port
type ``video``; ``masks (B, T, 1, S, S)``, ``video_mask``). E_aud reads the clip's first frame and
predicts a latent per frame (``(B, T, D)``); the frozen image model renders frames one image at a
time. These ops move between the two:

- ``clip_frame``: frame ``index`` of every clip, ``(B, 3, S, S)`` and its mask (the input frame);
- ``clip_targets``: frames ``start..T-1`` of every clip as one image batch ``(B * T', 3, S, S)``
  (T' = T - start), clip-major (clip 0's frames, then clip 1's...), and their masks;
- ``clip_latents``: the same flattening for per-frame latents ``(B, T, D) -> (B * T', D)``;
- ``clip_repeat``: per-clip values (the canonical volume, the identity descriptor) repeated for
  each of the clip's T' target frames, in the same order;
- ``with_expression``: a ``Motion`` with its expression latent replaced (the truth frames' head pose
  with the predicted expression).

``start`` is 1 in the paper's set-up: frame 0 is the input, every later frame a target. The per-frame
batches have ``B * T'`` items (declared ``"BT"``), not B: items of one clip are related by design,
so the per-item batch contract of the conformance suite does not apply to the reshaping ops.
"""

from __future__ import annotations

from typing import Any

import attrs
import torch
from torch import Tensor

from emoportraits_core import Component, InputError, Motion, PortSpec
from emoportraits_core.component import example_value
from emoportraits_core.validators import non_negative, positive

__all__ = [
    "ClipFrame",
    "ClipFrameConfig",
    "ClipLatents",
    "ClipLatentsConfig",
    "ClipRepeat",
    "ClipRepeatConfig",
    "ClipTargets",
    "ClipTargetsConfig",
    "WithExpression",
    "WithExpressionConfig",
]

#: the size name of a per-frame batch (B clips x T' frames).
PER_FRAME = "BT"


def _video_specs(size: int) -> dict[str, PortSpec]:
    return {
        "frames": PortSpec("video", ("B", "T", 3, size, size), (0.0, 1.0)),
        "masks": PortSpec("video_mask", ("B", "T", 1, size, size), (0.0, 1.0)),
    }


def _examples(
    specs: dict[str, PortSpec], batch: int, frames: int, generator: Any, dtype: Any, device: Any
) -> dict[str, Any]:
    """:func:`example_value` of each spec with the free size ``T`` set to ``frames``."""
    out = {}
    for name, spec in specs.items():
        shape = None if spec.shape is None else tuple(frames if d == "T" else d for d in spec.shape)
        concrete = PortSpec(spec.type, shape, spec.range)
        out[name] = example_value(concrete, batch, generator=generator, dtype=dtype, device=device)
    return out


def _check_clip(where: str, value: Tensor, start: int, what: str) -> None:
    if value.dim() < 3 or value.shape[1] <= start:
        raise InputError(
            f"{where}: '{what}' must be (B, T, ...) clips with T > start = {start}, got {tuple(value.shape)}"
        )


def _flatten(value: Tensor, start: int) -> Tensor:
    """``(B, T, ...)`` -> frames ``start..`` of each clip, ``(B * (T - start), ...)``, clip-major."""
    return value[:, start:].reshape(-1, *value.shape[2:])


@attrs.frozen
class ClipFrameConfig:
    """``index``: the frame taken (0: the clip's first, E_aud's input); ``image_size``: S;
    ``frames``: T of the example inputs (any T >= index + 1 runs)."""

    index: int = attrs.field(default=0, validator=non_negative)
    image_size: int = attrs.field(default=512, validator=positive)
    frames: int = attrs.field(default=4, validator=positive)


class ClipFrame(Component):
    """``frames (B, T, 3, S, S)``, ``masks (B, T, 1, S, S)`` -> frame ``index`` of each clip:
    ``image (B, 3, S, S)``, ``mask (B, 1, S, S)`` (views)."""

    kind = "op"
    inputs = {"frames": "video", "masks": "video_mask"}
    outputs = {"image": "image", "mask": "mask"}

    def input_specs(self) -> dict[str, PortSpec]:
        return _video_specs(self.config.image_size)

    def output_specs(self) -> dict[str, PortSpec]:
        s = self.config.image_size
        return {
            "image": PortSpec("image", ("B", 3, s, s), (0.0, 1.0)),
            "mask": PortSpec("mask", ("B", 1, s, s), (0.0, 1.0)),
        }

    def example_inputs(self, batch=2, *, generator=None, dtype=torch.float32, device="cpu") -> dict[str, Any]:
        frames = max(self.config.frames, self.config.index + 1)
        return _examples(self.input_specs(), batch, frames, generator, dtype, device)

    def forward(self, frames: Tensor, masks: Tensor) -> dict[str, Tensor]:
        i = self.config.index
        _check_clip("clip_frame", frames, i, "frames")
        return {"image": frames[:, i], "mask": masks[:, i]}


@attrs.frozen
class ClipTargetsConfig:
    """``start``: the first target frame of each clip (1: all but the input frame); ``image_size``: S;
    ``frames``: T of the example inputs (any T > start runs)."""

    start: int = attrs.field(default=1, validator=non_negative)
    image_size: int = attrs.field(default=512, validator=positive)
    frames: int = attrs.field(default=4, validator=positive)


class ClipTargets(Component):
    """``frames (B, T, 3, S, S)``, ``masks (B, T, 1, S, S)`` -> ``images (B * T', 3, S, S)``,
    ``masks (B * T', 1, S, S)``: frames ``start..T-1`` of every clip, clip-major (T' = T - start)."""

    kind = "op"
    inputs = {"frames": "video", "masks": "video_mask"}
    outputs = {"images": "image", "masks": "mask"}

    def input_specs(self) -> dict[str, PortSpec]:
        return _video_specs(self.config.image_size)

    def output_specs(self) -> dict[str, PortSpec]:
        s = self.config.image_size
        return {
            "images": PortSpec("image", (PER_FRAME, 3, s, s), (0.0, 1.0)),
            "masks": PortSpec("mask", (PER_FRAME, 1, s, s), (0.0, 1.0)),
        }

    def example_inputs(self, batch=2, *, generator=None, dtype=torch.float32, device="cpu") -> dict[str, Any]:
        frames = max(self.config.frames, self.config.start + 1)
        return _examples(self.input_specs(), batch, frames, generator, dtype, device)

    def forward(self, frames: Tensor, masks: Tensor) -> dict[str, Tensor]:
        start = self.config.start
        _check_clip("clip_targets", frames, start, "frames")
        return {"images": _flatten(frames, start), "masks": _flatten(masks, start)}


@attrs.frozen
class ClipLatentsConfig:
    """``start``: as :class:`ClipTargetsConfig`; ``dim``: D, the latent size; ``frames``: T of the
    example inputs."""

    start: int = attrs.field(default=1, validator=non_negative)
    dim: int = attrs.field(default=128, validator=positive)
    frames: int = attrs.field(default=4, validator=positive)


class ClipLatents(Component):
    """``latents (B, T, D)`` -> ``latent (B * T', D)``: frames ``start..T-1`` of every clip, clip-major
    (the order of ``clip_targets``); gradients flow through."""

    kind = "op"
    inputs = {"latents": "descriptor"}
    outputs = {"latent": "descriptor"}

    def input_specs(self) -> dict[str, PortSpec]:
        return {"latents": PortSpec("descriptor", ("B", "T", self.config.dim))}

    def output_specs(self) -> dict[str, PortSpec]:
        return {"latent": PortSpec("descriptor", (PER_FRAME, self.config.dim))}

    def example_inputs(self, batch=2, *, generator=None, dtype=torch.float32, device="cpu") -> dict[str, Any]:
        frames = max(self.config.frames, self.config.start + 1)
        return _examples(self.input_specs(), batch, frames, generator, dtype, device)

    def forward(self, latents: Tensor) -> Tensor:
        _check_clip("clip_latents", latents, self.config.start, "latents")
        return _flatten(latents, self.config.start)


@attrs.frozen
class ClipRepeatConfig:
    """``start``: as :class:`ClipTargetsConfig` (each value is repeated T - start times); ``frames``:
    T of the example inputs."""

    start: int = attrs.field(default=1, validator=non_negative)
    frames: int = attrs.field(default=4, validator=positive)


class ClipRepeat(Component):
    """Per-clip ``volume (B, ...)`` and ``descriptor (B, ...)`` -> each repeated for the clip's T' target
    frames, ``(B * T', ...)`` in the order of ``clip_targets``; T' = T - start with T read from
    ``frames (B, T, ...)`` (only its shape is used). The repeats are copies (a network reading them
    needs contiguous memory): B * T' canonical volumes at the release's size are large."""

    kind = "op"
    inputs = {"volume": "volume", "descriptor": "descriptor", "frames": "video"}
    outputs = {"volume": "volume", "descriptor": "descriptor"}

    def input_specs(self) -> dict[str, PortSpec]:
        return {
            "volume": PortSpec("volume", ("B", ...)),
            "descriptor": PortSpec("descriptor", ("B", ...)),
            "frames": PortSpec("video", ("B", "T", ...), (0.0, 1.0)),
        }

    def output_specs(self) -> dict[str, PortSpec]:
        return {
            "volume": PortSpec("volume", (PER_FRAME, ...)),
            "descriptor": PortSpec("descriptor", (PER_FRAME, ...)),
        }

    def example_inputs(self, batch=2, *, generator=None, dtype=torch.float32, device="cpu") -> dict[str, Any]:
        frames = max(self.config.frames, self.config.start + 1)
        specs = {
            "volume": PortSpec("volume", ("B", 4, 2, 4, 4)),
            "descriptor": PortSpec("descriptor", ("B", 8)),
            "frames": PortSpec("video", ("B", "T", 3, 4, 4), (0.0, 1.0)),
        }
        return _examples(specs, batch, frames, generator, dtype, device)

    def forward(self, volume: Tensor, descriptor: Tensor, frames: Tensor) -> dict[str, Tensor]:
        start = self.config.start
        _check_clip("clip_repeat", frames, start, "frames")
        if volume.shape[0] != frames.shape[0] or descriptor.shape[0] != frames.shape[0]:
            raise InputError(
                f"clip_repeat: volume {tuple(volume.shape)}, descriptor {tuple(descriptor.shape)} and frames "
                f"{tuple(frames.shape)} must have one batch size (clips)"
            )
        times = frames.shape[1] - start
        return {
            "volume": volume.repeat_interleave(times, dim=0),
            "descriptor": descriptor.repeat_interleave(times, dim=0),
        }


@attrs.frozen
class WithExpressionConfig:
    """``dim``: Z, the size of the expression latent."""

    dim: int = attrs.field(default=128, validator=positive)


class WithExpression(Component):
    """``motion`` (B items), ``expression (B, Z)`` -> the motion's rotation, translation and scale with
    ``expression`` (gradients flow to it; the truth frames' head pose, E_aud's expression)."""

    kind = "op"
    inputs = {"motion": "motion", "expression": "descriptor"}
    outputs = {"motion": "motion"}

    def input_specs(self) -> dict[str, PortSpec]:
        return {
            "motion": PortSpec("motion", ("B", self.config.dim)),
            "expression": PortSpec("descriptor", ("B", self.config.dim)),
        }

    def output_specs(self) -> dict[str, PortSpec]:
        return {"motion": PortSpec("motion", ("B", self.config.dim))}

    def forward(self, motion: Motion, expression: Tensor) -> Motion:
        if expression.shape != motion.expression.shape:
            raise InputError(
                f"with_expression: expression {tuple(expression.shape)} must have the motion's expression "
                f"shape {tuple(motion.expression.shape)}"
            )
        return Motion(motion.rotation, motion.translation, expression, motion.scale)
