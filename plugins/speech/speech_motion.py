"""``speech_motion``: the Motion of a speech-driven frame, from the source's pose, a relative head
motion and a predicted expression latent.

Per frame ``k`` (batch dim = frames): ``R_k = R_rel,k R_source``, ``t_k = t_source + t_rel,k``
(as :func:`emoportraits_plugins.audio_pose.pose.to_absolute`: the pose sequences are relative to
their first frame, which the source's pose stands for), the source's head scale, and the frame's
latent as the expression. A relative pose of the identity keeps the source's pose (``--still``); a
degenerate 6D rotation (zero or parallel columns) counts as the identity.
"""

from __future__ import annotations

import attrs
import torch
from torch import Tensor

from emoportraits_core import Component, Motion, PortSpec
from emoportraits_core.validators import positive

from ..audio_pose.pose import IDENTITY_POSE, to_matrices

__all__ = ["SpeechMotion", "SpeechMotionConfig"]


@attrs.frozen
class SpeechMotionConfig:
    """``expression_dim``: D of the latents (128 release, 16 tiny)."""

    expression_dim: int = attrs.field(default=128, validator=positive)


class SpeechMotion(Component):
    """``source`` motion (broadcast), ``latents (B, D)``, ``pose (B, 9)`` relative -> ``motion`` (B)."""

    kind = "op"
    inputs = {"source": "motion", "latents": "descriptor", "pose": "pose_sequence"}
    outputs = {"motion": "motion"}

    def input_specs(self) -> dict[str, PortSpec]:
        d = self.config.expression_dim
        return {
            "source": PortSpec("motion", ("B", d)),
            "latents": PortSpec("descriptor", ("B", d)),
            "pose": PortSpec("pose_sequence", ("B", 9)),
        }

    def output_specs(self) -> dict[str, PortSpec]:
        return {"motion": PortSpec("motion", ("B", self.config.expression_dim))}

    def example_inputs(self, batch: int = 2, **kwargs) -> dict[str, object]:
        out = super().example_inputs(batch, **kwargs)
        identity = out["pose"].new_tensor(IDENTITY_POSE)
        out["pose"] = identity + 0.05 * out["pose"]  # near rest, as a generator's output
        return out

    def forward(self, source: Motion, latents: Tensor, pose: Tensor) -> Motion:
        rel_r, rel_t = to_matrices(pose, check=False)
        eye = torch.eye(3, dtype=rel_r.dtype, device=rel_r.device)
        rel_r = torch.where(rel_r.isfinite().all((-1, -2), keepdim=True), rel_r, eye)  # degenerate 6D: none
        return Motion(rel_r @ source.rotation, source.translation + rel_t, latents, source.scale)
