"""Deliberately broken warpers: each breaks the contract checks named in its ``breaks``.

They warp a ``(B, 2, 6, 6, 6)`` volume rigidly by the motion's rotation and translation (plus a small
learned expression offset, zero once the parameters are), with ``F.affine_grid``: the *inverse*
sense of :mod:`emoportraits_conformance.contracts.warper_motion`. Part of the catalogue in
:mod:`emoportraits_conformance.broken_components`.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from emoportraits_core import Motion, PortSpec
from emoportraits_core.interfaces import Warper

from ._broken_base import Broken as _Broken

_WVOL = ("B", 2, 6, 6, 6)


class _TinyWarper(_Broken, Warper):
    inputs = {"volume": "volume", "motion": "motion"}

    def __init__(self, config: Any = None) -> None:
        super().__init__(config)
        self.offset = nn.Linear(4, 3)

    def input_specs(self) -> dict[str, PortSpec]:
        return {"volume": PortSpec("volume", _WVOL), "motion": PortSpec("motion", ("B", 4))}

    def output_specs(self) -> dict[str, PortSpec]:
        return {"volume": PortSpec("volume", _WVOL)}

    def shift(self, motion: Motion) -> Tensor:
        """``(B, 3)`` translation of the sampling grid (x, y, z)."""
        return motion.translation + 0.1 * torch.tanh(self.offset(motion.expression))

    def deformation(self, motion: Motion) -> Tensor:
        theta = torch.cat([motion.rotation, self.shift(motion)[..., None]], -1)
        return F.affine_grid(theta, [motion.batch_size, 1, *_WVOL[2:]], align_corners=False)

    def forward(self, volume: Tensor, motion: Motion) -> Tensor:
        return F.grid_sample(volume, self.deformation(motion).to(volume.dtype), align_corners=False)


class ChannelMixingWarper(_TinyWarper):
    """Returns 3 channels from 2 (declared so): a warper keeps the channel count."""

    breaks = ("warper_ports",)
    registry_name = "broken_channel_count"

    def output_specs(self) -> dict[str, PortSpec]:
        return {"volume": PortSpec("volume", ("B", 3, *_WVOL[2:]))}

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


class HalfVoxelWarper(_TinyWarper):
    """Adds half a voxel along x to every warp (a pixel-centre offset from mixing conventions), and
    declares that the identity motion leaves the volume unchanged."""

    breaks = ("warper_identity_motion",)
    registry_name = "broken_half_voxel"
    conformance_warp_identity = True

    def shift(self, motion: Motion) -> Tensor:
        half = torch.tensor([1.0 / _WVOL[-1], 0.0, 0.0], dtype=motion.translation.dtype)
        return super().shift(motion) + half.to(motion.translation.device)


class SwappedAxesWarper(_TinyWarper):
    """Translates along y what the motion says for x and vice versa (a (y, x, z) ordering bug)."""

    breaks = ("warper_motion_axes",)
    registry_name = "broken_swapped_axes"

    def shift(self, motion: Motion) -> Tensor:
        return super().shift(motion)[..., [1, 0, 2]]


class NegatedTranslationWarper(_TinyWarper):
    """Negates the translation but not the rotation (the translation of the inverse motion)."""

    breaks = ("warper_motion_direction",)
    registry_name = "broken_negated_translation"

    def shift(self, motion: Motion) -> Tensor:
        return super().shift(motion) - 2 * motion.translation
