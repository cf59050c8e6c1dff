"""The canonical volume loss L_CV (TRAINING_FACTS §2.8; main paper Eq. 2, not retrieved).

``loss = mean |V_s - sg(V_d)|`` over every element of the two canonical volumes ``(B, C, D, H, W)``
(release: ``(B, 96, 16, 64, 64)``). ``target`` (the driver's canonical volume) is detached here. How
the training step produces it, as released: the masked driver image goes through the source branch
under no_grad (appearance encoder, 3D res-blocks), a rigid warp undoes the driver's regressed pose
(with the source's scale) composed with the similarity that aligns the driver's de-rotated landmarks
(nose tip 30, eye corners 36, 39, 42, 45) to the source's (:mod:`.procrustes`), then the W_s warp from
(z_driver, source identity) and G3D. Since source and driver share the identity, this pushes
expression out of the canonical volume.
"""

from __future__ import annotations

import attrs
from torch import Tensor

from emoportraits_core import PortSpec
from emoportraits_core.interfaces import Loss
from emoportraits_core.validators import positive

from ._common import SCALAR, l1, require_same_shape

__all__ = ["CanonicalVolumeL1Config", "CanonicalVolumeL1Loss"]


@attrs.frozen
class CanonicalVolumeL1Config:
    """Config of :class:`CanonicalVolumeL1Loss`.

    Attributes:
        shape: (C, D, H, W) of the volumes (declared ports and example inputs; any shape runs).
    """

    shape: tuple[int, int, int, int] = attrs.field(default=(96, 16, 64, 64), validator=positive)


class CanonicalVolumeL1Loss(Loss):
    """``pred`` (source canonical volume) and ``target`` (driver's, detached) (B, C, D, H, W) -> () L1."""

    inputs = {"pred": "volume", "target": "volume"}
    zero_on_identical = True

    def __init__(self, config: CanonicalVolumeL1Config | None = None) -> None:
        super().__init__(config if config is not None else CanonicalVolumeL1Config())

    def input_specs(self) -> dict[str, PortSpec]:
        spec = PortSpec("volume", ("B", *self.config.shape))
        return {"pred": spec, "target": spec}

    def output_specs(self) -> dict[str, PortSpec]:
        return {"loss": SCALAR}

    def forward(self, pred: Tensor, target: Tensor) -> Tensor:
        require_same_shape("canonical_volume_l1", pred=pred, target=target)
        return l1(pred, target.detach())
