"""``canonical_alignment``: the driver's pose that puts its canonical volume where the source's is.

For the canonical-volume loss (TRAINING_FACTS section 2.8) the driver image goes through the source
branch under no_grad; its rigid warp undoes the driver's pose with the *source's* scale, composed
with the similarity that aligns the driver's de-rotated landmarks (nose tip 30, eye corners 36, 39,
42, 45) to the source's. With the pose convention of the warpers (``theta p = diag(s) R (p + t)``
maps a posed point to the canonical frame: the to-canonical warp samples the posed volume at
``theta^-1 p``), this op computes:

- ``c_s = theta_s l_s`` and ``c_d = theta_d' l_d``: the landmarks (normalised crop coordinates, x, y
  in [-1, 1], as the shards store them) de-rotated, where ``theta_d'`` is the driver's pose with
  the source's scale;
- ``(sigma, Q, tau)`` = the similarity with ``c_s ~ sigma Q c_d + tau`` (:mod:`..losses.procrustes`,
  no gradient);
- the aligned pose ``theta = Sim theta_d'``, returned as a Motion (the driver's expression) so that
  the same warper runs it: ``scale = sigma s_s``, ``rotation = Q R_d``,
  ``translation = t_d + (diag(sigma s_s) Q R_d)^-1 tau``.

The last step moves ``Q`` past ``diag(s_s)`` (``Q diag(s) = diag(s) Q``), which is exact when the
source's scale is isotropic (the regressor's three scales are nearly equal) and otherwise an
approximation a Motion cannot avoid: its linear part is ``diag(s) R`` by definition.
"""

from __future__ import annotations

import attrs
import torch
from torch import Tensor

from emoportraits_core import Component, Motion, PortSpec
from emoportraits_core.geometry.affine import apply_affine, pose_to_affine
from emoportraits_core.validators import positive

from ..losses.procrustes import CV_LANDMARKS, similarity_procrustes

__all__ = ["CanonicalAlignment", "CanonicalAlignmentConfig"]


@attrs.frozen
class CanonicalAlignmentConfig:
    """``landmarks``: the iBUG-68 indices aligned (release: nose tip, four eye corners);
    ``expression_dim``: Z (declared ports)."""

    landmarks: tuple[int, ...] = attrs.field(default=CV_LANDMARKS)
    expression_dim: int = attrs.field(default=128, validator=positive)

    @landmarks.validator
    def _check(self, _attribute: attrs.Attribute, value: tuple[int, ...]) -> None:
        if len(value) < 3 or not all(0 <= i < 68 for i in value):
            raise ValueError(f"'landmarks' must be at least 3 indices in [0, 68), got {list(value)}")


class CanonicalAlignment(Component):
    """``driver``, ``source`` motions and their ``(B, 68, 3)`` landmarks -> the driver's ``motion``
    with the aligned pose (module docstring); runs without gradients."""

    kind = "op"
    inputs = {
        "driver": "motion",
        "source": "motion",
        "driver_landmarks": "landmarks",
        "source_landmarks": "landmarks",
    }
    outputs = {"motion": "motion"}

    def input_specs(self) -> dict[str, PortSpec]:
        motion = PortSpec("motion", ("B", self.config.expression_dim))
        marks = PortSpec("landmarks", ("B", 68, 3))
        return {"driver": motion, "source": motion, "driver_landmarks": marks, "source_landmarks": marks}

    def output_specs(self) -> dict[str, PortSpec]:
        return {"motion": PortSpec("motion", ("B", self.config.expression_dim))}

    @torch.no_grad()
    def forward(
        self, driver: Motion, source: Motion, driver_landmarks: Tensor, source_landmarks: Tensor
    ) -> Motion:
        index = list(self.config.landmarks)
        scale = source.scale_or_ones().float()
        theta_s = pose_to_affine(scale, source.rotation.float(), source.translation.float())
        theta_d = pose_to_affine(scale, driver.rotation.float(), driver.translation.float())
        c_s = apply_affine(theta_s, source_landmarks[:, index].float())
        c_d = apply_affine(theta_d, driver_landmarks[:, index].float())
        sigma, q, tau = similarity_procrustes(c_d, c_s)
        degenerate = ~(sigma > 1e-6)  # coincident landmarks: no alignment, the plain pose
        sigma = torch.where(degenerate, torch.ones_like(sigma), sigma)
        q = torch.where(degenerate[:, None, None], torch.eye(3, dtype=q.dtype, device=q.device), q)
        tau = torch.where(degenerate[:, None], torch.zeros_like(tau), tau)
        new_scale = sigma[:, None] * scale
        rotation = q @ driver.rotation.float()
        # (diag(s') R')^-1 tau = R'^T (tau / s')
        shift = (rotation.transpose(1, 2) @ (tau / new_scale)[..., None])[..., 0]
        dtype = driver.rotation.dtype
        return Motion(
            rotation.to(dtype),
            (driver.translation.float() + shift).to(dtype),
            driver.expression,
            new_scale.to(dtype),
        )
