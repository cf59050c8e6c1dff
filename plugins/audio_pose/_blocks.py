"""Pieces shared by the generator and the critics: a 1D residual block over time and sinusoidal
positional encodings."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor, nn

__all__ = ["ResBlock1d", "sinusoidal_positions"]


class _ChannelNorm(nn.Module):
    """LayerNorm over the channels of each frame of ``(B, C, T)``: no mixing across time or batch."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.norm = nn.LayerNorm(channels)

    def forward(self, x: Tensor) -> Tensor:
        return self.norm(x.transpose(1, 2)).transpose(1, 2)


class ResBlock1d(nn.Module):
    """Pre-activation residual block over time: ``x + conv2(act(conv1(act(norm(x)))))``.

    Convolutions ``Conv1d(C, C, kernel, padding=kernel // 2)`` keep the length; ``act`` is a LeakyReLU.
    ``norm=False`` (the critics: WGAN-GP wants no normalisation that couples inputs) drops the norm.

    Shapes: ``x (B, C, T) -> (B, C, T)``.
    """

    def __init__(
        self, channels: int, kernel_size: int = 3, negative_slope: float = 0.2, norm: bool = True
    ) -> None:
        super().__init__()
        pad = kernel_size // 2
        self.norm = _ChannelNorm(channels) if norm else nn.Identity()
        self.conv1 = nn.Conv1d(channels, channels, kernel_size, padding=pad)
        self.conv2 = nn.Conv1d(channels, channels, kernel_size, padding=pad)
        self.slope = negative_slope

    def forward(self, x: Tensor) -> Tensor:
        h = self.conv1(F.leaky_relu(self.norm(x), self.slope))
        return x + self.conv2(F.leaky_relu(h, self.slope))


def sinusoidal_positions(frames: int, dim: int, like: Tensor) -> Tensor:
    """Transformer positional encodings ``(frames, dim)`` (Vaswani et al. 2017): ``sin`` on even and
    ``cos`` on odd channels, wavelengths from 2 pi to 10000 * 2 pi; in ``like``'s dtype and device.
    No learned table, so any number of frames runs."""
    dtype = torch.float64 if like.dtype == torch.float64 else torch.float32
    pos = torch.arange(frames, device=like.device, dtype=dtype).unsqueeze(1)
    freq = torch.exp(torch.arange(0, dim, 2, device=like.device, dtype=dtype) * (-math.log(10000.0) / dim))
    out = torch.zeros(frames, dim, device=like.device, dtype=dtype)
    out[:, 0::2] = torch.sin(pos * freq)
    out[:, 1::2] = torch.cos(pos * freq)[:, : dim // 2]
    return out.to(like.dtype)
