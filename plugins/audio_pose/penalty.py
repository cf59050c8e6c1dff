"""The WGAN-GP gradient penalty (Gulrajani et al. 2017, "Improved Training of Wasserstein GANs",
arXiv:1704.00028; EMOPortraits supplementary, section 3.4, with lambda = 10 applied by the loss)."""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor

from emoportraits_core import InputError

__all__ = ["gradient_penalty"]


def gradient_penalty(
    critic: Callable[[Tensor], Tensor],
    real: Tensor,
    fake: Tensor,
    *,
    alpha: Tensor | None = None,
    generator: torch.Generator | None = None,
) -> Tensor:
    """``mean_b (|grad_x critic(x)_b|_2 - 1)^2`` at ``x = alpha real + (1 - alpha) fake``.

    The norm is taken per item over every other dim. ``critic`` must score items independently (no
    batch statistics), so that the gradient of the summed scores holds each item's own gradient. The
    result keeps the graph (``create_graph=True``): back-propagating it reaches the critic's
    parameters. A critic that is 1-Lipschitz with unit gradient everywhere (``x -> <w, x>`` with
    ``|w| = 1``) gets exactly 0.

    Args:
        critic: ``(B, ...) -> (B,)`` scores.
        real, fake: ``(B, ...)`` samples of the same shape; both are detached here.
        alpha: ``(B,)`` weights in [0, 1]; drawn uniformly with ``generator`` (on the CPU, then moved)
            when None.
        generator: random source of ``alpha``.

    Returns:
        ``()`` tensor >= 0 in ``real``'s dtype.
    """
    if real.shape != fake.shape or real.dim() < 1:
        raise InputError(
            f"gradient_penalty: real {tuple(real.shape)} and fake {tuple(fake.shape)} must have the same "
            "(B, ...) shape"
        )
    batch = real.shape[0]
    if alpha is None:
        alpha = torch.rand(batch, generator=generator, dtype=real.dtype).to(real.device)
    if alpha.shape != (batch,):
        raise InputError(f"gradient_penalty: alpha must be ({batch},), got {tuple(alpha.shape)}")
    a = alpha.to(real.dtype).reshape(batch, *([1] * (real.dim() - 1)))
    x = (a * real.detach() + (1 - a) * fake.detach()).requires_grad_(True)
    with torch.enable_grad():
        scores = critic(x)
        (grad,) = torch.autograd.grad(scores.sum(), x, create_graph=True)
    # sqrt with an epsilon: a zero gradient gives a finite derivative (the norm's is 0/0 there)
    norm = torch.sqrt(grad.flatten(1).pow(2).sum(1) + 1e-12)
    return (norm - 1).pow(2).mean()
