"""The EMOPortraits warp generator: a learned 3D deformation plus the rigid head-pose warp.

ARCHITECTURE_FACTS section 4, steps 8-10 (``to_canonical``, the source side, official
``xy_generator_nw``) and 14-15 (``from_canonical``, the driver side, ``uv_generator_nw``).

Learned part (:meth:`WarpGenerator.learned_deformation`): the warp embedding ``(B, E, s, s)`` -> 1x1 conv
to ``E * d0`` channels viewed ``(B, E, d0, s, s)`` (channel index ``c * d0 + d``) -> per block a
trilinear resize to the block's size then an adaptive 3D res block (its two group norms get
per-sample affine deltas from a :class:`LowRankProjector` of the embedding viewed ``(B, E, s*s)``)
-> average pool over depth -> GN + ReLU -> Conv3d k3 (bias) -> tanh = delta ``(B, 3, D, H, W)``;
grid = identity grid + delta, permuted to ``(B, D, H, W, 3)``.

Rigid part (:meth:`WarpGenerator.rigid_grid`): ``theta = S R T`` from the motion;
``to_canonical`` samples at ``theta^-1 p``, ``from_canonical`` at ``theta p``.

Order: ``to_canonical`` applies the rigid warp FIRST, then the learned one;
``from_canonical`` the learned one first, then the rigid one. The two are applied as two successive
samplings (:meth:`WarpGenerator.deformations` lists them), exactly as the release; there is
therefore no single-grid ``deformation()`` (the optional method of the warper contract).

Conventions (as the release): identity grids are ``linspace(-1, 1)`` coordinates
(``identity_grid(..., align_corners=True)``) while every warp samples with
``grid_sample(align_corners=False)`` (:func:`~emoportraits_core.geometry.warp_volume`); the
trilinear resizes use ``align_corners=False`` (checked against the parity reference). So a zero
deformation is not an identity: each sampling scales by ``N / (N - 1)`` per axis. Models trained
from scratch may opt out (``exact_identity``) and start from the identity warp (``identity_init``).
"""

from __future__ import annotations

import itertools
from typing import Any, Literal

import attrs
import torch
import torch.nn.functional as F
from einops import rearrange, reduce
from torch import Tensor, nn

from emoportraits_core import Motion, PortSpec
from emoportraits_core.geometry import (
    identity_grid,
    invert_affine,
    pose_to_affine,
    transform_grid,
    warp_volume,
)
from emoportraits_core.interfaces import Warper
from emoportraits_core.validators import positive

from ..blocks import LowRankProjector, ResBlock

__all__ = ["WarpGenerator", "WarpGeneratorConfig"]

Size3 = tuple[int, int, int]


def _grid_dtype(dtype: torch.dtype) -> torch.dtype:
    """Grids and sampling use at least float32."""
    return torch.promote_types(dtype, torch.float32)


@attrs.frozen
class WarpGeneratorConfig:
    """Config of :class:`WarpGenerator` (defaults: the release).

    Attributes:
        direction: ``"to_canonical"`` (source side: rigid warp with theta^-1 first, then the learned
            warp) or ``"from_canonical"`` (driver side: learned warp first, then theta).
        volume_channels: C of the warped volume (only for the declared ports; any C works).
        volume_depth, volume_size: D and H = W of the volume and of the warp grids (16, 64).
        embed_channels, embed_size: the warp embedding ``(B, E, s, s)`` (512, 4).
        start_depth: d0, depth of the first 3D feature map (the 1x1 conv gives E * d0 channels).
        block_channels: output channels of the adaptive res blocks (256, 128, 64, 32).
        block_sizes: (D, H, W) each block's input is trilinearly resized to.
        depth_pool: average-pool factor over depth after the blocks (2).
        num_groups: group-norm groups (32).
        identity_init: zero the head conv at construction, so that the learned warp starts as the
            identity and training moves it from there (False: PyTorch's default init, a random
            smooth warp of about 0.25 grid units at step 0; the release re-initialises every conv
            with Kaiming normal, likewise random). For short runs from scratch; loaded weights
            replace it either way.
        exact_identity: build the identity grid at the voxel centres (``align_corners=False``, the
            sampling's own convention), so that a zero deformation and the identity pose reproduce
            the volume exactly. False (the release): ``linspace(-1, 1)`` grids sampled with
            ``align_corners=False``, so every warp also scales the volume by ``N / (N - 1)`` per axis
            and blurs it; the released weights expect it (4 warps at 64^2 x 16: 6 % in-plane, 29 % in
            depth), and it grows as volumes shrink (70 % at 8 voxels), which small models trained from
            scratch must first learn to undo.
    """

    direction: Literal["to_canonical", "from_canonical"] = "to_canonical"
    volume_channels: int = attrs.field(default=96, validator=positive)
    volume_depth: int = attrs.field(default=16, validator=positive)
    volume_size: int = attrs.field(default=64, validator=positive)
    embed_channels: int = attrs.field(default=512, validator=positive)
    embed_size: int = attrs.field(default=4, validator=positive)
    start_depth: int = attrs.field(default=4, validator=positive)
    block_channels: tuple[int, ...] = (256, 128, 64, 32)
    block_sizes: tuple[Size3, ...] = ((8, 8, 8), (16, 16, 16), (32, 32, 32), (32, 64, 64))
    depth_pool: int = attrs.field(default=2, validator=positive)
    num_groups: int = attrs.field(default=32, validator=positive)
    identity_init: bool = False
    exact_identity: bool = False

    def __attrs_post_init__(self) -> None:
        if len(self.block_channels) != len(self.block_sizes) or not self.block_channels:
            raise ValueError(
                f"block_channels {self.block_channels} and block_sizes {self.block_sizes} must be "
                "non-empty and of equal length"
            )
        d, h, w = self.block_sizes[-1]
        out = (d // self.depth_pool, h, w)
        want = (self.volume_depth, self.volume_size, self.volume_size)
        if out != want or d % self.depth_pool:
            raise ValueError(
                f"the last block size {self.block_sizes[-1]} pooled by depth_pool={self.depth_pool} gives "
                f"{out}, but the volume is (volume_depth, volume_size, volume_size) = {want}"
            )
        for c in (self.embed_channels, *self.block_channels):
            if c % self.num_groups:
                raise ValueError(f"channels {c} are not divisible by num_groups={self.num_groups}")


class WarpGenerator(Warper):
    """Learned + rigid 3D warp of a feature volume, conditioned on a warp embedding and a head pose.

    Inputs: ``volume (B or 1, C, D, H, W)``, ``embedding (B or 1, E, s, s)``, ``motion`` (rotation,
    translation, scale; batch B or 1). Output: ``volume (B, C, D, H, W)``. Batch-1 inputs broadcast.
    """

    inputs = {"volume": "volume", "embedding": "embedding", "motion": "motion"}
    outputs = {"volume": "volume"}

    def __init__(self, config: WarpGeneratorConfig) -> None:
        super().__init__(config)
        c = config
        chans = (c.embed_channels, *c.block_channels)
        self.first_conv = nn.Conv2d(c.embed_channels, c.embed_channels * c.start_depth, 1, bias=False)
        self.blocks = nn.ModuleList(
            ResBlock(3, cin, cout, num_groups=c.num_groups, adaptive=True, conv1_bias=True)
            for cin, cout in itertools.pairwise(chans)
        )
        norm_channels = [n for cin, cout in itertools.pairwise(chans) for n in (cin, cout)]
        self.projector = LowRankProjector(norm_channels, c.embed_channels, c.embed_size**2)
        self.pre_head_norm = nn.GroupNorm(c.num_groups, chans[-1], eps=1e-5)
        self.head = nn.Conv3d(chans[-1], 3, 3, padding=1, bias=True)
        if c.identity_init:
            nn.init.zeros_(self.head.weight)
            nn.init.zeros_(self.head.bias)
        grid = identity_grid(c.volume_depth, c.volume_size, c.volume_size, align_corners=not c.exact_identity)
        self.register_buffer("identity_grid", grid, persistent=False)  # (D, H, W, 3)

    # -- ports ------------------------------------------------------------------------------------
    def _volume_spec(self) -> PortSpec:
        c = self.config
        return PortSpec("volume", ("B", c.volume_channels, c.volume_depth, c.volume_size, c.volume_size))

    def input_specs(self) -> dict[str, PortSpec]:
        c = self.config
        return {
            "volume": self._volume_spec(),
            "embedding": PortSpec("embedding", ("B", c.embed_channels, c.embed_size, c.embed_size)),
            "motion": PortSpec("motion"),
        }

    def output_specs(self) -> dict[str, PortSpec]:
        return {"volume": self._volume_spec()}

    def example_inputs(
        self,
        batch: int = 2,
        *,
        generator: torch.Generator | None = None,
        dtype: torch.dtype = torch.float32,
        device: torch.device | str = "cpu",
    ) -> dict[str, Any]:
        """Random volume and embedding, and a plausible head pose near the identity (angles ~0.1 rad,
        translation ~0.02, scale ~1) so that the warped volume stays inside the grid."""
        c = self.config

        def randn(*shape: int) -> Tensor:
            return torch.randn(shape, generator=generator, dtype=dtype)

        motion = Motion.from_euler(  # (yaw, pitch, roll) ~ 0.1 rad
            0.1 * randn(batch, 3),
            0.02 * randn(batch, 3),
            randn(batch, 16),
            1 + 0.02 * randn(batch, 3),
        )
        values = {
            "volume": randn(batch, c.volume_channels, c.volume_depth, c.volume_size, c.volume_size),
            "embedding": randn(batch, c.embed_channels, c.embed_size, c.embed_size),
            "motion": motion,
        }
        return {k: v.to(device) for k, v in values.items()}

    # -- the two warps ----------------------------------------------------------------------------
    def learned_deformation(self, embedding: Tensor) -> tuple[Tensor, Tensor]:
        """``embedding (B, E, s, s)`` -> ``(delta (B, 3, D, H, W) in (-1, 1), grid (B, D, H, W, 3))``."""
        c = self.config
        deltas = self.projector(rearrange(embedding, "b e h w -> b e (h w)"))
        x = rearrange(self.first_conv(embedding), "b (c d) h w -> b c d h w", d=c.start_depth)
        for i, (block, size) in enumerate(zip(self.blocks, c.block_sizes)):
            if tuple(x.shape[2:]) != tuple(size):
                x = F.interpolate(x, size=size, mode="trilinear", align_corners=False)
            x = block(x, deltas[2 * i : 2 * i + 2])
        x = reduce(x, "b c (d k) h w -> b c d h w", "mean", k=c.depth_pool)  # avg-pool over depth
        delta = torch.tanh(self.head(F.relu(self.pre_head_norm(x))))
        dtype = _grid_dtype(delta.dtype)
        grid = self.identity_grid.to(dtype) + rearrange(delta.to(dtype), "b c d h w -> b d h w c")
        return delta, grid

    @staticmethod
    def theta(motion: Motion) -> Tensor:
        """The head pose ``theta = S R T`` ``(B, 4, 4)`` of ``motion`` (unit scale if None)."""
        return pose_to_affine(motion.scale_or_ones(), motion.rotation, motion.translation)

    def rigid_grid_from_theta(self, theta: Tensor) -> Tensor:
        """``theta (B, 4, 4)`` -> grid ``(B, D, H, W, 3)``: ``G theta^-1`` (to_canonical) or ``G theta``.

        Computed in at least float32 (the 3x3 inverse has no half-precision kernel)."""
        theta = theta.to(_grid_dtype(theta.dtype))
        affine = invert_affine(theta) if self.config.direction == "to_canonical" else theta
        return transform_grid(self.identity_grid.to(theta.dtype), affine)

    def rigid_grid(self, motion: Motion) -> Tensor:
        """The rigid head-pose grid ``(B, D, H, W, 3)`` of ``motion`` (see :meth:`rigid_grid_from_theta`)."""
        return self.rigid_grid_from_theta(self.theta(motion))

    def order(self, learned: Tensor, rigid: Tensor) -> list[Tensor]:
        """The two grids in the order :meth:`forward` applies them (rigid first for to_canonical)."""
        return [rigid, learned] if self.config.direction == "to_canonical" else [learned, rigid]

    def deformations(self, embedding: Tensor, motion: Motion) -> list[Tensor]:
        """The grids ``(B, D, H, W, 3)`` that :meth:`forward` applies one after the other.

        This warper samples TWICE (as the release does), so no single ``deformation()`` grid
        reproduces it exactly; ``compose_warps`` of these two approximates one."""
        return self.order(self.learned_deformation(embedding)[1], self.rigid_grid(motion))

    def warp(self, volume: Tensor, learned: Tensor, rigid: Tensor) -> Tensor:
        """Apply the ``learned`` and the ``rigid`` grid in this direction's order.

        Sampling runs in at least float32 (half-precision grid coordinates are off by a fraction of
        a voxel); the result has the volume's dtype. Batch-1 values broadcast (no copy)."""
        out = volume.to(_grid_dtype(volume.dtype))
        for grid in self.order(learned, rigid):
            out = warp_volume(out, grid)
        return out.to(volume.dtype)

    def forward(self, volume: Tensor, embedding: Tensor, motion: Motion) -> Tensor:
        _, learned = self.learned_deformation(embedding)
        return self.warp(volume, learned, self.rigid_grid(motion))
