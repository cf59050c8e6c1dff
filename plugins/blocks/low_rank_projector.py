"""Low-rank projection of a conditioning embedding to the per-sample affines of adaptive norms.

For norm ``k`` with ``C_k`` channels: ``delta_k = u_k @ emb @ v_k`` with ``u_k (C_k, E)``,
``emb (B, E, N)`` and ``v_k (N, 2)``, giving ``(B, C_k, 2)`` (scale, shift) deltas. In the release
E = 512, N = 16 (the 4x4 warp embedding flattened) and there are 8 norms per warp generator.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor, nn

__all__ = ["LowRankProjector"]


class LowRankProjector(nn.Module):
    """Parameters ``u.k (C_k, E)`` and ``v.k (N, 2)``; ``forward(emb (B, E, N))`` -> list of ``(B, C_k, 2)``."""

    def __init__(self, channels: Sequence[int], embed_channels: int, embed_size: int) -> None:
        super().__init__()
        self.u = nn.ParameterList([nn.Parameter(torch.empty(c, embed_channels)) for c in channels])
        self.v = nn.ParameterList([nn.Parameter(torch.empty(embed_size, 2)) for _ in channels])
        for u in self.u:
            nn.init.normal_(u, std=embed_channels**-0.5)
        for v in self.v:
            nn.init.normal_(v, std=embed_size**-0.5)

    def forward(self, embedding: Tensor) -> list[Tensor]:
        return [torch.matmul(torch.matmul(u, embedding), v) for u, v in zip(self.u, self.v)]
