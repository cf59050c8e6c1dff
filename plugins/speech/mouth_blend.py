"""``mouth_blend``: a driver's motion with its mouth taken from speech (the ``blend`` mode).

The mouth PCA (:mod:`.mouth_pca`) spans the expression directions that move with the mouth. With its
first ``n`` axes as the orthonormal rows of ``P (n, D)``, the blended latent is the driver's with its
mouth coordinates replaced by the speech latent's::

    z = z_driver + P^T P (z_speech - z_driver)

so the upper face (eyes, brows, gaze) and the head pose stay the driver's. With no PCA file the
axes are a seeded random basis (warned: only for tests and smoke runs).
"""

from __future__ import annotations

import attrs
from torch import Tensor

from emoportraits_core import Component, Motion, PortSpec
from emoportraits_core.validators import positive

from .mouth_pca_loss import mouth_basis

__all__ = ["MouthBlend", "MouthBlendConfig"]


@attrs.frozen
class MouthBlendConfig:
    """``pca``: the mouth PCA file (``emoportraits fit-mouth-pca``; "" = random, warned); ``n``: mouth
    axes replaced (the paper's L_PCA uses 8); ``expression_dim``: D."""

    pca: str = ""
    n: int = attrs.field(default=8, validator=positive)
    expression_dim: int = attrs.field(default=128, validator=positive)


class MouthBlend(Component):
    """``driver`` motion, ``latents (B, D)`` from speech -> ``motion``: the driver's, mouth from speech."""

    kind = "op"
    inputs = {"driver": "motion", "latents": "descriptor"}
    outputs = {"motion": "motion"}

    def __init__(self, config: MouthBlendConfig) -> None:
        super().__init__(config)
        basis = mouth_basis(config.pca or None, config.n, config.expression_dim, "mouth_blend")
        self.register_buffer("basis", basis, persistent=False)

    def input_specs(self) -> dict[str, PortSpec]:
        d = self.config.expression_dim
        return {"driver": PortSpec("motion", ("B", d)), "latents": PortSpec("descriptor", ("B", d))}

    def output_specs(self) -> dict[str, PortSpec]:
        return {"motion": PortSpec("motion", ("B", self.config.expression_dim))}

    def forward(self, driver: Motion, latents: Tensor) -> Motion:
        basis = self.basis.to(latents.dtype)
        mouth = (latents - driver.expression) @ basis.T @ basis
        return Motion(driver.rotation, driver.translation, driver.expression + mouth, driver.scale)
