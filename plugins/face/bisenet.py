"""BiSeNet face parser (CelebAMask-HQ, 19 classes), written to load the widely used weights file
(``79999_iter.pth`` of zllrunning/face-parsing.PyTorch) by its own key names.

Architecture: a ResNet18 context path (``cp.resnet.*``, BatchNorm) whose stride-8 feature stands in
for the spatial path, attention refinement modules on the stride-16/32 features (``cp.arm16``,
``cp.arm32``) plus a global-context branch (``cp.conv_avg``), a feature fusion module (``ffm``) and
three heads (``conv_out`` main, ``conv_out16`` / ``conv_out32`` auxiliary). Input: ``(B, 3, H, W)``
ImageNet-normalised RGB; output: logits ``(B, 19, H, W)`` per head (bilinear, align_corners=True).

Classes (index: name): 0 background, 1 skin, 2 l_brow, 3 r_brow, 4 l_eye, 5 r_eye, 6 eye_g
(glasses), 7 l_ear, 8 r_ear, 9 ear_r (earring), 10 nose, 11 mouth, 12 u_lip, 13 l_lip, 14 neck,
15 neck_l (necklace), 16 cloth, 17 hair, 18 hat.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

__all__ = ["CLASS_NAMES", "BiSeNet"]

CLASS_NAMES = (
    "background", "skin", "l_brow", "r_brow", "l_eye", "r_eye", "eye_g", "l_ear", "r_ear", "ear_r",
    "nose", "mouth", "u_lip", "l_lip", "neck", "neck_l", "cloth", "hair", "hat",
)  # fmt: skip


class _ConvBNReLU(nn.Module):
    def __init__(self, cin: int, cout: int, k: int = 3, stride: int = 1, pad: int = 1) -> None:
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, k, stride, pad, bias=False)
        self.bn = nn.BatchNorm2d(cout)

    def forward(self, x: Tensor) -> Tensor:
        return F.relu(self.bn(self.conv(x)))


class _BasicBlock(nn.Module):
    def __init__(self, cin: int, cout: int, stride: int = 1) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.downsample = None
        if cin != cout or stride != 1:
            self.downsample = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))

    def forward(self, x: Tensor) -> Tensor:
        y = self.bn2(self.conv2(F.relu(self.bn1(self.conv1(x)))))
        return F.relu(y + (x if self.downsample is None else self.downsample(x)))


class _ResNet18(nn.Module):
    """Returns the stride-8, -16 and -32 features (128, 256, 512 channels)."""

    def __init__(self) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(3, 64, 7, 2, 3, bias=False)
        self.bn1 = nn.BatchNorm2d(64)
        self.layer1 = nn.Sequential(_BasicBlock(64, 64), _BasicBlock(64, 64))
        self.layer2 = nn.Sequential(_BasicBlock(64, 128, 2), _BasicBlock(128, 128))
        self.layer3 = nn.Sequential(_BasicBlock(128, 256, 2), _BasicBlock(256, 256))
        self.layer4 = nn.Sequential(_BasicBlock(256, 512, 2), _BasicBlock(512, 512))

    def forward(self, x: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        x = F.max_pool2d(F.relu(self.bn1(self.conv1(x))), 3, 2, 1)
        f8 = self.layer2(self.layer1(x))
        f16 = self.layer3(f8)
        return f8, f16, self.layer4(f16)


class _AttentionRefinement(nn.Module):
    def __init__(self, cin: int, cout: int) -> None:
        super().__init__()
        self.conv = _ConvBNReLU(cin, cout)
        self.conv_atten = nn.Conv2d(cout, cout, 1, bias=False)
        self.bn_atten = nn.BatchNorm2d(cout)

    def forward(self, x: Tensor) -> Tensor:
        feat = self.conv(x)
        atten = torch.sigmoid(self.bn_atten(self.conv_atten(feat.mean((2, 3), keepdim=True))))
        return feat * atten


class _ContextPath(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.resnet = _ResNet18()
        self.arm16 = _AttentionRefinement(256, 128)
        self.arm32 = _AttentionRefinement(512, 128)
        self.conv_head32 = _ConvBNReLU(128, 128)
        self.conv_head16 = _ConvBNReLU(128, 128)
        self.conv_avg = _ConvBNReLU(512, 128, 1, 1, 0)

    def forward(self, x: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        f8, f16, f32 = self.resnet(x)
        avg = self.conv_avg(f32.mean((2, 3), keepdim=True))
        up32 = self.arm32(f32) + F.interpolate(avg, size=f32.shape[2:], mode="nearest")
        up32 = self.conv_head32(F.interpolate(up32, size=f16.shape[2:], mode="nearest"))
        up16 = self.arm16(f16) + up32
        up16 = self.conv_head16(F.interpolate(up16, size=f8.shape[2:], mode="nearest"))
        return f8, up16, up32


class _FeatureFusion(nn.Module):
    def __init__(self, cin: int, cout: int) -> None:
        super().__init__()
        self.convblk = _ConvBNReLU(cin, cout, 1, 1, 0)
        self.conv1 = nn.Conv2d(cout, cout // 4, 1, bias=False)
        self.conv2 = nn.Conv2d(cout // 4, cout, 1, bias=False)

    def forward(self, fsp: Tensor, fcp: Tensor) -> Tensor:
        feat = self.convblk(torch.cat([fsp, fcp], dim=1))
        atten = torch.sigmoid(self.conv2(F.relu(self.conv1(feat.mean((2, 3), keepdim=True)))))
        return feat * atten + feat


class _Head(nn.Module):
    def __init__(self, cin: int, mid: int, n_classes: int) -> None:
        super().__init__()
        self.conv = _ConvBNReLU(cin, mid)
        self.conv_out = nn.Conv2d(mid, n_classes, 1, bias=False)

    def forward(self, x: Tensor) -> Tensor:
        return self.conv_out(self.conv(x))


class BiSeNet(nn.Module):
    """Face-parsing network; ``forward(x)`` returns ``(main, aux16, aux32)`` logits ``(B, n, H, W)``."""

    def __init__(self, n_classes: int = 19) -> None:
        super().__init__()
        self.cp = _ContextPath()
        self.ffm = _FeatureFusion(256, 256)
        self.conv_out = _Head(256, 256, n_classes)
        self.conv_out16 = _Head(128, 64, n_classes)
        self.conv_out32 = _Head(128, 64, n_classes)

    def forward(self, x: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        size = x.shape[2:]
        f8, cp8, cp16 = self.cp(x)
        outs = (self.conv_out(self.ffm(f8, cp8)), self.conv_out16(cp8), self.conv_out32(cp16))
        return tuple(F.interpolate(o, size=size, mode="bilinear", align_corners=True) for o in outs)
