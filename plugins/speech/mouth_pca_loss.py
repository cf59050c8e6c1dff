"""L_PCA, the latent mouth-movement loss of the speech mode (supplementary section 2.3).

``L_PCA(z_i, z_j, n) = mean |P_n (z_i - z_j)|`` over every element, where ``P_n`` projects on the
first ``n`` mouth components of a :class:`~.mouth_pca.MouthPCA` (``emoportraits fit-mouth-pca``);
n = 8 in the paper, weight 200 (the weight lives in the pipeline). The PCA's mean cancels in the
difference. Neither input is detached: the pipeline feeds the ground-truth latents from a no-grad
node.
"""

from __future__ import annotations

from typing import Any

import attrs
import torch
from torch import Tensor

from emoportraits_core import ConfigError, InputError, PortSpec
from emoportraits_core.interfaces import Loss
from emoportraits_core.validators import positive

from ..lossnets._frozen import warn_once
from .mouth_pca import MouthPCA

__all__ = ["MouthPCALoss", "MouthPCALossConfig"]

#: seed of the random basis used when no PCA file is configured (tests only).
RANDOM_SEED = 0


@attrs.frozen
class MouthPCALossConfig:
    """Config of :class:`MouthPCALoss`.

    Attributes:
        pca: the mouth PCA file (``emoportraits fit-mouth-pca``); None: a random orthonormal basis
            (seeded, with a warning; for tests and smoke runs only).
        n: mouth components compared (the paper's 8); at most the file's K.
        dim: D, the size of the expression latents (128 release, 16 tiny); must be the file's.
    """

    pca: str | None = None
    n: int = attrs.field(default=8, validator=positive)
    dim: int = attrs.field(default=128, validator=positive)


def _random_basis(n: int, dim: int) -> Tensor:
    """``(n, dim)`` orthonormal rows, seeded."""
    gen = torch.Generator().manual_seed(RANDOM_SEED)
    q, _ = torch.linalg.qr(torch.randn(dim, dim, generator=gen, dtype=torch.float64))
    return q.T[:n].float().contiguous()


def mouth_basis(pca: str | None, n: int, dim: int, what: str) -> Tensor:
    """The ``(n, dim)`` mouth axes of the PCA file ``pca``, or (None) a seeded random orthonormal basis
    with a one-time warning (tests and smoke runs). ``what`` names the user in messages.

    Raises:
        ConfigError: a missing or unreadable file, ``dim`` or ``n`` that it does not fit.
    """
    if pca is None or pca == "":
        if n > dim:
            raise ConfigError(f"{what}: n = {n} exceeds dim = {dim}")
        warn_once(
            "mouth PCA",
            f"{what}: no PCA file configured, using a random orthonormal basis as the mouth axes (only for tests "
            "and smoke runs; set its 'pca' to a file of `emoportraits fit-mouth-pca`)",
            stacklevel=3,
        )
        return _random_basis(n, dim)
    try:
        fitted = MouthPCA.load(pca)
        fitted.check_dim(dim, f"the {what}'s dim")
        return fitted.basis(n)
    except InputError as exc:
        raise ConfigError(f"{what}: {exc}") from None


class MouthPCALoss(Loss):
    """``pred``, ``target`` latents ``(B, ..., D)`` -> () L1 between their first ``n`` mouth coordinates.

    Raises at build (ConfigError): a missing or unreadable file, ``dim`` or ``n`` that the file does
    not fit. Buffer ``basis (n, D)`` (not saved with a checkpoint: it comes from the file).
    """

    inputs = {"pred": "descriptor", "target": "descriptor"}
    zero_on_identical = True

    def __init__(self, config: MouthPCALossConfig | None = None) -> None:
        config = config if config is not None else MouthPCALossConfig()
        super().__init__(config)
        basis = mouth_basis(config.pca, config.n, config.dim, "loss mouth_pca")
        self.register_buffer("basis", basis, persistent=False)

    def input_specs(self) -> dict[str, PortSpec]:
        spec = PortSpec("descriptor", ("B", ..., self.config.dim))
        return {"pred": spec, "target": spec}

    def output_specs(self) -> dict[str, PortSpec]:
        return {"loss": PortSpec("scalar", ())}

    def example_inputs(
        self,
        batch: int = 2,
        *,
        generator: torch.Generator | None = None,
        dtype: torch.dtype = torch.float32,
        device: torch.device | str = "cpu",
    ) -> dict[str, Tensor]:
        """Standard-normal ``pred`` and ``target`` ``(B, D)``."""
        kw: dict[str, Any] = {"generator": generator, "dtype": dtype}
        dim = self.config.dim
        return {k: torch.randn(batch, dim, **kw).to(device) for k in ("pred", "target")}

    def forward(self, pred: Tensor, target: Tensor) -> Tensor:
        """``pred``, ``target`` ``(B, ..., D)`` (same shape) -> ``mean |(pred - target) @ basis.T|``."""
        dim = self.config.dim
        if pred.shape != target.shape or pred.shape[-1] != dim:
            raise InputError(
                f"mouth_pca: pred and target must be (B, ..., {dim}) of one shape, got "
                f"{tuple(pred.shape)} and {tuple(target.shape)}"
            )
        return ((pred - target) @ self.basis.T).abs().mean()
