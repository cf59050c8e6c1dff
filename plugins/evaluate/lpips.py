"""LPIPS, VGG variant, v0.1 (Zhang et al. 2018, "The Unreasonable Effectiveness of Deep Features as
a Perceptual Metric", CVPR, arXiv:1801.03924), from weights the user gives; no file, no metric.

Computation (as the ``lpips`` package, ``LPIPS(net="vgg", version="0.1")``): images in [0, 1] ->
``2x - 1`` -> ``(x - shift) / scale`` with shift ``(-0.030, -0.088, -0.188)`` and scale
``(0.458, 0.448, 0.450)``; torchvision's VGG16 trunk tapped at relu1_2, relu2_2, relu3_3, relu4_3,
relu5_3 (indices 3, 8, 15, 22, 29); each feature map unit-normalised over channels
(``f / (|f| + 1e-10)``); squared difference; a learned 1 x 1 convolution to one channel per layer
(``lin0..lin4``, no bias); spatial mean; sum over the five layers. One value per image pair, lower is
more alike, 0 for identical images.

Weights, either:

- one file with the ``lpips`` package's whole ``LPIPS`` state dict (``net.slice{1-5}.N.weight|bias``
  with torchvision's index N, ``lin{0-4}.model.1.weight``, ``scaling_layer.shift|scale``), e.g.
  ``torch.save(lpips.LPIPS(net="vgg").state_dict(), "lpips_vgg.pth")``; or
- the package's ``weights/v0.1/vgg.pth`` (only ``lin{0-4}.model.1.weight``) plus torchvision's
  ``vgg16-397923af.pth`` (``features.N.*``, ``classifier.*`` unused) as ``backbone``.

Both read through explicit key maps (:mod:`emoportraits_plugins.lossnets.weights`), strictly.
"""

from __future__ import annotations

import os
from pathlib import Path

import torch
from torch import Tensor, nn

from ..lossnets._frozen import freeze
from ..lossnets._vgg import VGG16_DEPTHS, conv_indices, tap, vgg_features
from ..lossnets.weights import KeyMap, load_published, read_state_dict

__all__ = ["LPIPS", "LPIPS_LAYERS"]

#: torchvision VGG16 indices of relu1_2, relu2_2, relu3_3, relu4_3, relu5_3.
LPIPS_LAYERS = (3, 8, 15, 22, 29)
_CHANNELS = (64, 128, 256, 512, 512)
_SHIFT = (-0.030, -0.088, -0.188)
_SCALE = (0.458, 0.448, 0.450)
_SLICES = ((0, 3), (4, 8), (9, 15), (16, 22), (23, 29))  # lpips' vgg16 slices: torchvision index ranges


class _Trunk(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.features = vgg_features(VGG16_DEPTHS, _CHANNELS, last=max(LPIPS_LAYERS))


class _Lins(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        for k, c in enumerate(_CHANNELS):
            self.add_module(f"lin{k}", nn.Conv2d(c, 1, 1, bias=False))


class LPIPS(nn.Module):
    """``lpips(x, y)``: images ``(B, 3, H, W)`` in [0, 1] -> ``(B,)`` float64 distances (module docstring)."""

    def __init__(self) -> None:
        super().__init__()
        self.trunk = _Trunk()
        self.lins = _Lins()
        self.register_buffer("shift", torch.tensor(_SHIFT).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("scale", torch.tensor(_SCALE).view(1, 3, 1, 1), persistent=False)

    @classmethod
    def create(
        cls, weights: str | os.PathLike[str], *, backbone: str | os.PathLike[str] | None = None
    ) -> LPIPS:
        """Build, load ``weights`` (+ ``backbone``: module docstring) and freeze.

        Raises:
            CheckpointError: a missing, unreadable or foreign file, a missing, unexpected or
                misshaped key (named), or the linear layers alone without ``backbone``.
        """
        from emoportraits_core.errors import CheckpointError

        net = cls()
        if backbone is not None:
            load_published(net.trunk, backbone, _torchvision_map(net.trunk), "VGG16 (torchvision, ImageNet)")
            load_published(net.lins, weights, _lin_map(), "LPIPS linear layers")
        else:
            keys = read_state_dict(weights, "LPIPS")
            if not any(k.startswith("net.slice") for k in keys):
                raise CheckpointError(
                    f"{Path(weights)}: only the LPIPS linear layers (no net.slice* keys); give torchvision's "
                    "vgg16-397923af.pth as the backbone (--lpips-backbone)"
                )
            load_published(net, weights, _full_map(net), "LPIPS (VGG, v0.1)")
        return freeze(net)

    def train(self, mode: bool = True) -> LPIPS:
        """Ignore ``mode``: always eval."""
        return super().train(False)

    @torch.no_grad()
    def forward(self, x: Tensor, y: Tensor) -> Tensor:
        if x.shape != y.shape or x.dim() != 4 or x.shape[1] != 3:
            raise ValueError(
                f"expected two (B, 3, H, W) images of one shape, got {tuple(x.shape)}, {tuple(y.shape)}"
            )
        dtype = self.shift.dtype
        both = torch.cat([x, y]).to(self.shift.device, dtype)
        feats = tap(self.trunk.features, (2 * both - 1 - self.shift) / self.scale, LPIPS_LAYERS)
        total = torch.zeros(len(x), dtype=torch.float64, device=both.device)
        for k, f in enumerate(feats):
            f = f / (f.square().sum(1, keepdim=True).sqrt() + 1e-10)
            d = (f[: len(x)] - f[len(x) :]).square()
            total += getattr(self.lins, f"lin{k}")(d).mean((1, 2, 3)).double()
        return total.cpu()


def _lin_map() -> KeyMap:
    keys = {f"lin{k}.model.1.weight": f"lin{k}.weight" for k in range(len(_CHANNELS))}
    return KeyMap("lpips weights/v0.1/vgg.pth (lin{k}.model.1.weight)", keys)


def _torchvision_map(trunk: _Trunk) -> KeyMap:
    used = conv_indices(trunk.features)
    keys = {f"features.{i}.{p}": f"features.{i}.{p}" for i in used for p in ("weight", "bias")}
    return KeyMap("torchvision VGG16 (features.N.weight)", keys, (r"classifier\.\d+\.(weight|bias)",))


def _full_map(net: LPIPS) -> KeyMap:
    keys = {k: f"lins.{v}" for k, v in _lin_map().keys.items()}
    for s, (lo, hi) in enumerate(_SLICES, start=1):
        for i in conv_indices(net.trunk.features):
            if lo <= i <= hi:
                for p in ("weight", "bias"):
                    keys[f"net.slice{s}.{i}.{p}"] = f"trunk.features.{i}.{p}"
    return KeyMap(
        "lpips LPIPS(net='vgg') state dict (net.sliceK.N, linK.model.1)",
        keys,
        (r"scaling_layer\.(shift|scale)",),
    )
