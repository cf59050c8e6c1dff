"""The large-margin cosine (CosFace, Wang et al. 2018) loss on expression latents, L_cos
(supplementary §1.3, TRAINING_FACTS §2.6).

For item k with positive similarity ``p_k = cos(z_k, z_driver_k)`` (z: the expression re-encoded from
a generated image that carries driver k's expression) and negatives ``n_kj``:

    l_k = -log( e^{s (p_k - m)} / (e^{s (p_k - m)} + sum_j e^{s n_kj}) ),   loss = sum_k l_k

with s = 5, m = 0.2 (the release's "temperature" 0.2 is 1 / s). Negatives: ``cos(z_k, z_driver_{k-1})``
(the batch rolled by one, as released: item k-1 is another video) or, with ``negatives = "all"``,
every ``cos(z_k, z_driver_j)``, j != k (MegaPortraits' form for larger batches). With
``source_negative`` one more "negative" is appended: the source-driver mismatch hinge
``h_k = max(0, cos(sg(z_source_k), z_driver_k) - sdm_margin)`` (a hinge value, not a cosine; release
from epoch 1). ``z_driver`` is not detached: the negatives carry gradient, as released. The release
uses two instances, each weighted 2: ``z`` = E_mtn(x_hat) and ``z`` = E_mtn(x_hat_mix) carrying driver
k's expression.
"""

from __future__ import annotations

from typing import Literal

import attrs
import torch
from torch import Tensor

from emoportraits_core import PortSpec
from emoportraits_core.interfaces import Loss
from emoportraits_core.validators import non_negative, positive

from ._common import SCALAR, cosine, require_same_shape

__all__ = ["CosFaceConfig", "CosFaceLoss", "latent_spec", "other_items"]


def latent_spec(dim: int) -> PortSpec:
    """``(B, dim)`` float expression latents."""
    return PortSpec("descriptor", ("B", dim))


def other_items(x: Tensor) -> Tensor:
    """``x`` rolled by one along the batch: row k holds item k-1 (the release's "other identity")."""
    return torch.roll(x, 1, 0)


@attrs.frozen
class CosFaceConfig:
    """Config of :class:`CosFaceLoss` (defaults: the release from epoch 1).

    Attributes:
        s: scale of the logits.
        m: additive cosine margin on the positive.
        negatives: ``"roll"`` (the previous item's driver, as released) or ``"all"`` (every other item).
        source_negative: append the source-driver mismatch hinge as a negative (release: from epoch 1).
        sdm_margin: margin of that hinge.
        reduction: ``"sum"`` over the batch (release) or ``"mean"``.
        dim: latent size (declared ports and example inputs; any size runs).
    """

    s: float = attrs.field(default=5.0, validator=positive)
    m: float = attrs.field(default=0.2, validator=non_negative)
    negatives: Literal["roll", "all"] = "roll"
    source_negative: bool = True
    sdm_margin: float = 0.5
    reduction: Literal["sum", "mean"] = "sum"
    dim: int = attrs.field(default=128, validator=positive)


class CosFaceLoss(Loss):
    """CosFace on ``z``, ``z_driver``, ``z_source`` (B, Z) -> () loss (see the module docstring)."""

    inputs = {"z": "descriptor", "z_driver": "descriptor", "z_source": "descriptor"}

    def __init__(self, config: CosFaceConfig | None = None) -> None:
        super().__init__(config if config is not None else CosFaceConfig())

    def input_specs(self) -> dict[str, PortSpec]:
        spec = latent_spec(self.config.dim)
        return {"z": spec, "z_driver": spec, "z_source": spec}

    def output_specs(self) -> dict[str, PortSpec]:
        return {"loss": SCALAR}

    def logits(self, z: Tensor, z_driver: Tensor, z_source: Tensor) -> Tensor:
        """``(B, 1 + N)`` scaled logits: ``s (p_k - m)`` first, then ``s n_kj`` (and ``s h_k`` last);
        with ``negatives = "all"`` the item's own column is -inf (it drops out of the softmax)."""
        c = self.config
        positive = cosine(z, z_driver) - c.m  # (B,)
        if c.negatives == "roll":
            negatives = cosine(z, other_items(z_driver))[:, None]  # (B, 1)
        else:
            own = torch.eye(z.shape[0], dtype=torch.bool, device=z.device)
            negatives = cosine(z[:, None], z_driver[None]).masked_fill(own, float("-inf"))  # (B, B)
        columns = [positive[:, None], negatives]
        if c.source_negative:
            columns.append(torch.relu(cosine(z_source.detach(), z_driver) - c.sdm_margin)[:, None])
        return c.s * torch.cat(columns, 1)

    def forward(self, z: Tensor, z_driver: Tensor, z_source: Tensor) -> Tensor:
        require_same_shape("cosface", z=z, z_driver=z_driver, z_source=z_source)
        logits = self.logits(z, z_driver, z_source)
        per_item = torch.logsumexp(logits, 1) - logits[:, 0]  # -log softmax of the positive
        return per_item.sum() if self.config.reduction == "sum" else per_item.mean()
