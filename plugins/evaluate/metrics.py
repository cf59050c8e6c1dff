"""Image metrics in torch: PSNR, SSIM and L1, on the whole image or weighted by a soft mask.

Conventions (every function): images ``(B, C, H, W)`` float in [0, 1] (data range 1); an optional
``mask`` ``(B, 1, H, W)`` in [0, 1] weights each pixel (a soft matte counts its edge pixels in part;
all channels alike); the result is one value per image, ``(B,)`` float64. Computed in float64.

- **L1**: mean absolute difference, ``sum(m |x - y|) / (C sum(m))`` (``m = 1`` unmasked).
- **PSNR**: ``10 log10(1 / MSE)`` dB with the MSE weighted as L1; identical images give ``inf``
  (:func:`psnr` returns it; pass ``max_db`` to cap, as the evaluation does at :data:`PSNR_CAP`).
- **SSIM** (Wang et al. 2004, IEEE TIP 13(4)): per channel, local statistics under an 11 x 11
  Gaussian window of sigma 1.5 (normalised), ``C1 = (0.01)^2``, ``C2 = (0.03)^2``, population
  (not sample) variances, the map over the *valid* window centres only (no padding: an H x W image
  gives (H - 10) x (W - 10) values; the convention of ``pytorch_msssim`` and of Wang's MATLAB code
  with ``'valid'`` filtering), averaged over the channels and the map, weighted by the mask at the
  window centres when one is given. Identical images give exactly 1; constant images ``a`` and
  ``b`` give ``(2ab + C1) / (a^2 + b^2 + C1)``.

An image whose mask is empty (sum 0) gives NaN; the evaluation counts and skips such images.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

__all__ = [
    "PSNR_CAP",
    "SSIM_C1",
    "SSIM_C2",
    "SSIM_SIGMA",
    "SSIM_WINDOW",
    "gaussian_window",
    "l1",
    "psnr",
    "ssim",
]

SSIM_WINDOW = 11
SSIM_SIGMA = 1.5
SSIM_C1 = 0.01**2
SSIM_C2 = 0.03**2
#: PSNR of an exact copy is infinite; the evaluation caps each image's PSNR at this many dB.
PSNR_CAP = 100.0


def _check(x: Tensor, y: Tensor, mask: Tensor | None) -> None:
    if x.dim() != 4 or x.shape != y.shape:
        raise ValueError(
            f"expected two images (B, C, H, W) of one shape, got {tuple(x.shape)} and {tuple(y.shape)}"
        )
    if mask is not None and (mask.dim() != 4 or mask.shape[1] != 1 or mask.shape[-2:] != x.shape[-2:]):
        raise ValueError(f"expected a mask (B, 1, H, W) for images {tuple(x.shape)}, got {tuple(mask.shape)}")


def _weighted_mean(values: Tensor, mask: Tensor | None) -> Tensor:
    """``values (B, C, H, W)`` -> ``(B,)``: the mean over C, H, W, weighted by ``mask`` over H, W."""
    if mask is None:
        return values.flatten(1).mean(1)
    m = mask.to(values.dtype).expand_as(values)
    return (values * m).flatten(1).sum(1) / m.flatten(1).sum(1)


def l1(x: Tensor, y: Tensor, mask: Tensor | None = None) -> Tensor:
    """Mean absolute difference per image: ``(B, C, H, W)`` x 2 [+ mask ``(B, 1, H, W)``] -> ``(B,)``."""
    _check(x, y, mask)
    return _weighted_mean((x.double() - y.double()).abs(), mask)


def psnr(x: Tensor, y: Tensor, mask: Tensor | None = None, *, max_db: float | None = None) -> Tensor:
    """PSNR in dB per image (data range 1): ``(B, C, H, W)`` x 2 [+ mask] -> ``(B,)``.

    Identical images give ``inf``, or ``max_db`` when given (each value is capped at it).
    """
    _check(x, y, mask)
    mse = _weighted_mean((x.double() - y.double()).square(), mask)
    out = 10.0 * torch.log10(1.0 / mse)  # mse == 0 -> inf
    return out.clamp(max=max_db) if max_db is not None else out


def gaussian_window(
    size: int = SSIM_WINDOW, sigma: float = SSIM_SIGMA, dtype: torch.dtype = torch.float64
) -> Tensor:
    """The normalised 1-D Gaussian ``(size,)`` centred on the middle tap."""
    r = torch.arange(size, dtype=dtype) - (size - 1) / 2
    g = torch.exp(-(r**2) / (2 * sigma**2))
    return g / g.sum()


def _filter(x: Tensor, g: Tensor) -> Tensor:
    """Separable 'valid' Gaussian filter per channel: ``(B, C, H, W)`` -> ``(B, C, H-k+1, W-k+1)``."""
    c = x.shape[1]
    x = F.conv2d(x, g.view(1, 1, 1, -1).expand(c, 1, 1, -1), groups=c)
    return F.conv2d(x, g.view(1, 1, -1, 1).expand(c, 1, -1, 1), groups=c)


def ssim(x: Tensor, y: Tensor, mask: Tensor | None = None) -> Tensor:
    """SSIM per image (module docstring): ``(B, C, H, W)`` x 2 [+ mask ``(B, 1, H, W)``] -> ``(B,)``.

    Raises:
        ValueError: shapes differ, or the image is smaller than the 11 x 11 window.
    """
    _check(x, y, mask)
    if min(x.shape[-2:]) < SSIM_WINDOW:
        raise ValueError(
            f"SSIM needs images of at least {SSIM_WINDOW} x {SSIM_WINDOW}, got {tuple(x.shape[-2:])}"
        )
    x, y = x.double(), y.double()
    g = gaussian_window(dtype=torch.float64).to(x.device)
    mu_x, mu_y = _filter(x, g), _filter(y, g)
    var_x = _filter(x * x, g) - mu_x**2
    var_y = _filter(y * y, g) - mu_y**2
    cov = _filter(x * y, g) - mu_x * mu_y
    num = (2 * mu_x * mu_y + SSIM_C1) * (2 * cov + SSIM_C2)
    den = (mu_x**2 + mu_y**2 + SSIM_C1) * (var_x + var_y + SSIM_C2)
    ssim_map = num / den
    if mask is not None:
        r = (SSIM_WINDOW - 1) // 2
        mask = mask[..., r : mask.shape[-2] - r, r : mask.shape[-1] - r]
    return _weighted_mean(ssim_map, mask)
