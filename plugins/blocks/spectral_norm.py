"""Spectral normalisation (Miyato et al. 2018) with the release's stored power-iteration vectors.

The release keeps ``weight_orig``, ``weight_u`` (C_out) and ``weight_v`` (C_in * k...) per layer and,
in eval, uses ``W = weight_orig / (u . (W_mat v))`` with ``W_mat = weight_orig.reshape(C_out, -1)``
and no further power iteration. :func:`spectral_normalize` computes that once (for conversion);
:func:`spectral_norm_` registers torch's own parametrisation for training, whose eval formula is
the same.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

__all__ = ["spectral_norm_", "spectral_normalize"]


def spectral_normalize(weight_orig: Tensor, u: Tensor, v: Tensor) -> Tensor:
    """``weight_orig (C_out, ...)``, ``u (C_out,)``, ``v (prod(...),)`` -> ``weight_orig / sigma``.

    sigma is computed in float64 and the result is cast back to ``weight_orig``'s dtype.
    """
    w = weight_orig.reshape(weight_orig.shape[0], -1)
    if u.shape != (w.shape[0],) or v.shape != (w.shape[1],):
        raise ValueError(
            f"spectral norm vectors u {tuple(u.shape)}, v {tuple(v.shape)} do not fit weight {tuple(weight_orig.shape)}"
        )
    sigma = torch.dot(u.double(), torch.mv(w.double(), v.double()))
    return (weight_orig.double() / sigma).to(weight_orig.dtype)


def spectral_norm_(module: nn.Module, n_power_iterations: int = 1, eps: float = 1e-12) -> nn.Module:
    """Register spectral normalisation on ``module.weight`` in place (torch parametrisation)."""
    return torch.nn.utils.parametrizations.spectral_norm(
        module, n_power_iterations=n_power_iterations, eps=eps, dim=0
    )
