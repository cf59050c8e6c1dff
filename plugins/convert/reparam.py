"""Resolve the released checkpoint's weight re-parametrisations into plain weights.

In the release (ARCHITECTURE_FACTS.md section 2):

- spectral-normalised layers store ``X.weight_orig``, ``X.weight_u``, ``X.weight_v``; in eval the
  weight is ``weight_orig / (u . (W_mat v))`` with the stored vectors -> ``X.weight``;
- weight-standardised convolutions store a plain ``X.weight`` (ndim >= 4) and ``X.bias`` with no
  ``weight_orig``; the weight used is the standardised one -> ``X.weight`` standardised.

Every other tensor passes through unchanged. The head-pose regressor file has neither.
"""

from __future__ import annotations

from collections.abc import Mapping

from torch import Tensor

from emoportraits_core.errors import CheckpointError

from ..blocks.spectral_norm import spectral_normalize
from ..blocks.weight_standardization import standardize_weight

__all__ = ["resolve_reparametrizations"]


def resolve_reparametrizations(state: Mapping[str, Tensor], *, where: str) -> dict[str, Tensor]:
    """Fold spectral norm and weight standardisation; returns a new flat state dict (float32)."""
    out: dict[str, Tensor] = {}
    for key, value in state.items():
        if key.endswith((".weight_u", ".weight_v")):
            if key[:-2] + "_orig" not in state:
                raise CheckpointError(f"{where}: '{key}' without its '{key[:-2]}_orig'")
            continue
        if key.endswith(".weight_orig"):
            stem = key[: -len("_orig")]
            u, v = state.get(stem + "_u"), state.get(stem + "_v")
            if u is None or v is None:
                raise CheckpointError(
                    f"{where}: spectral-norm weight '{key}' is missing '{stem}_u' or '{stem}_v'"
                )
            try:
                out[stem] = spectral_normalize(value.float(), u.float(), v.float())
            except ValueError as exc:
                raise CheckpointError(f"{where}: '{key}': {exc}") from None
            continue
        if key.endswith(".weight") and value.dim() >= 4:
            out[key] = standardize_weight(value.float())
            continue
        out[key] = value
    return out
