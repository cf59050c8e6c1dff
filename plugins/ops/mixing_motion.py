"""``mixing_motion``: the motion of the release's cross-reenactment ("mixing") image.

TRAINING_FACTS section 1, step 3: the mixing image k shows source k with the expression of driver
k - 1 (the batch rolled by one; detached, so the latent losses do not steer it) in the head pose of
driver k, or, with probability ``pool_probability`` per item, in a pose drawn from a FIFO pool of
the last ``pool_batches`` batches' driver poses (the pool includes the current batch), with the
source's head scale rescaled to the mean scale of that target pose.

The pool is a buffer (saved with the run, so a resumed run draws the same poses); it is updated in
training mode only. The draws use torch's global generator (saved with the run too).
"""

from __future__ import annotations

import attrs
import torch

from emoportraits_core import Component, Motion, PortSpec
from emoportraits_core.validators import in_range, positive

__all__ = ["MixingMotion", "MixingMotionConfig"]

_POSE = 15  # rotation (9), translation (3), scale (3)


@attrs.frozen
class MixingMotionConfig:
    """Config of :class:`MixingMotion`.

    Attributes:
        pool_batches: batches of driver poses the FIFO pool keeps (50 in the release).
        max_batch_size: largest batch the pool is sized for (the buffer holds
            ``pool_batches * max_batch_size`` poses).
        pool_probability: per item, the chance to take a pooled pose instead of the driver's.
        expression_dim: Z (for the declared ports).
    """

    pool_batches: int = attrs.field(default=50, validator=positive)
    max_batch_size: int = attrs.field(default=16, validator=positive)
    pool_probability: float = attrs.field(default=0.5, validator=in_range(0.0, 1.0))
    expression_dim: int = attrs.field(default=128, validator=positive)


class MixingMotion(Component):
    """``driver``, ``source`` motions -> the mixing ``motion`` (expression rolled by one, pose pooled)."""

    kind = "op"
    conformance_batch_coupled = True  # items are rolled along the batch by design
    inputs = {"driver": "motion", "source": "motion"}
    outputs = {"motion": "motion"}

    def __init__(self, config: MixingMotionConfig) -> None:
        super().__init__(config)
        capacity = config.pool_batches * config.max_batch_size
        self.register_buffer("pool", torch.zeros(capacity, _POSE))
        self.register_buffer("pool_size", torch.zeros((), dtype=torch.long))
        self.register_buffer("pool_next", torch.zeros((), dtype=torch.long))

    def input_specs(self) -> dict[str, PortSpec]:
        spec = PortSpec("motion", ("B", self.config.expression_dim))
        return {"driver": spec, "source": spec}

    def output_specs(self) -> dict[str, PortSpec]:
        return {"motion": PortSpec("motion", ("B", self.config.expression_dim))}

    def _push(self, poses: torch.Tensor) -> None:
        for pose in poses.detach():
            self.pool[self.pool_next] = pose
            self.pool_next.copy_((self.pool_next + 1) % self.pool.shape[0])
            self.pool_size.copy_(torch.clamp(self.pool_size + 1, max=self.pool.shape[0]))

    def forward(self, driver: Motion, source: Motion) -> Motion:
        b = driver.batch_size
        poses = torch.cat(
            [driver.rotation.reshape(b, 9), driver.translation, driver.scale_or_ones()], dim=1
        ).to(self.pool.dtype)
        if self.training:
            self._push(poses)
        if self.training and int(self.pool_size) > 0 and self.config.pool_probability > 0:
            pooled = self.pool[torch.randint(int(self.pool_size), (b,), device=self.pool.device)]
            take = torch.rand(b, device=self.pool.device) < self.config.pool_probability
            poses = torch.where(take[:, None], pooled, poses)
        poses = poses.to(driver.rotation.dtype)
        rotation, translation, target_scale = poses[:, :9].reshape(b, 3, 3), poses[:, 9:12], poses[:, 12:]
        src_scale = source.scale_or_ones()
        scale = src_scale * (target_scale.mean(1, keepdim=True) / src_scale.mean(1, keepdim=True))
        expression = torch.roll(driver.expression, 1, dims=0).detach()
        return Motion(rotation, translation, expression, scale)
