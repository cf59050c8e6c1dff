"""SE-ResNet-50 trained on VGGFace2 (Cao et al. 2018) for the identity loss, in the widely used
PyTorch port's layout (cydonia999/VGGFace2-pytorch, ``senet50_ft_weight.pkl`` /
``senet50_scratch_weight.pkl``: pickles of numpy arrays, read by :func:`~.weights.read_state_dict`
without running code; a ``torch.save`` or safetensors copy with the same keys works too).

Layout (the port's names, kept here, so the key map is the identity on the trunk): ``conv1`` (7x7/2,
no bias) ``bn1`` ReLU, max-pool 3x3/2 (padding 0, ``ceil_mode``), ``layer1`` .. ``layer4`` of
bottlenecks ``layerN.i.{conv1 (1x1, carries the stride), bn1, conv2 (3x3), bn2, conv3 (1x1), bn3,
conv4, conv5 (squeeze-excitation 1x1 convs with bias, reduction 16), downsample.0, downsample.1}``,
then a 7x7/1 average pool; ``fc.*`` (the 8631-identity classifier) is unused.

Input convention of the published weights (Caffe): pixels in [0, 255], BGR, minus the VGGFace2 mean
(91.4953, 103.8827, 131.0912) in BGR order; :meth:`SENet50.preprocess` does this from RGB in [0, 1].
The embedding is the flattened average-pooled layer4 output.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ._frozen import FrozenNet
from .weights import KeyMap

__all__ = ["VGGFACE2_MEAN_BGR", "SENet50"]

#: per-channel mean of VGGFace2 (0-255 scale), BGR order.
VGGFACE2_MEAN_BGR = (91.4953, 103.8827, 131.0912)


class _SEBottleneck(nn.Module):
    expansion = 4

    def __init__(self, cin: int, width: int, stride: int, reduction: int) -> None:
        super().__init__()
        cout = width * self.expansion
        self.conv1 = nn.Conv2d(cin, width, 1, stride=stride, bias=False)
        self.bn1 = nn.BatchNorm2d(width)
        self.conv2 = nn.Conv2d(width, width, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(width)
        self.conv3 = nn.Conv2d(width, cout, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(cout)
        self.conv4 = nn.Conv2d(cout, max(cout // reduction, 1), 1)
        self.conv5 = nn.Conv2d(max(cout // reduction, 1), cout, 1)
        self.downsample = None
        if stride != 1 or cin != cout:
            self.downsample = nn.Sequential(
                nn.Conv2d(cin, cout, 1, stride=stride, bias=False), nn.BatchNorm2d(cout)
            )

    def forward(self, x: Tensor) -> Tensor:
        out = F.relu(self.bn1(self.conv1(x)))
        out = F.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        gate = torch.sigmoid(self.conv5(F.relu(self.conv4(out.mean((2, 3), keepdim=True)))))
        skip = x if self.downsample is None else self.downsample(x)
        return F.relu(out * gate + skip)


class SENet50(FrozenNet):
    """Frozen SE-ResNet-50 (VGGFace2); ``forward(images (B, 3, H, W) RGB in [0, 1]) -> (B, E)``."""

    description = "SENet50 (VGGFace2)"

    def __init__(
        self,
        layers: Sequence[int] = (3, 4, 6, 3),
        widths: Sequence[int] = (64, 128, 256, 512),
        stem_channels: int = 64,
        reduction: int = 16,
        bgr: bool = True,
    ) -> None:
        super().__init__()
        self.bgr = bgr
        self.conv1 = nn.Conv2d(3, stem_channels, 7, stride=2, padding=3, bias=False)
        self.bn1 = nn.BatchNorm2d(stem_channels)
        cin = stem_channels
        for i, (depth, width) in enumerate(zip(layers, widths)):
            blocks = []
            for j in range(depth):
                blocks.append(_SEBottleneck(cin, width, 2 if (j == 0 and i > 0) else 1, reduction))
                cin = width * _SEBottleneck.expansion
            self.add_module(f"layer{i + 1}", nn.Sequential(*blocks))
        self.num_stages = len(layers)
        self.out_channels = cin
        self.register_buffer("mean_bgr", torch.tensor(VGGFACE2_MEAN_BGR).view(1, 3, 1, 1), persistent=False)

    def key_map(self) -> KeyMap:
        named = [n for n, _ in self.named_parameters()] + [n for n, _ in self.named_buffers()]
        names = [k for k in named if k != "mean_bgr" and not k.endswith("num_batches_tracked")]
        return KeyMap("VGGFace2-pytorch SENet50 (conv1.weight, layerN.i.conv4.weight, fc.weight)",
                      {k: k for k in names}, (r"fc\.(weight|bias)",))  # fmt: skip

    def preprocess(self, images: Tensor) -> Tensor:
        """RGB in [0, 1] -> the published weights' input: x 255, BGR (if ``bgr``), minus the mean."""
        x = images * 255.0
        mean = self.mean_bgr.to(x.dtype)
        if self.bgr:
            return x.flip(1) - mean
        return x - mean.flip(1)

    def forward(self, images: Tensor) -> Tensor:
        """``images (B, 3, H, W)`` RGB in [0, 1] -> ``(B, E)``: layer4 average-pooled (7x7/1, or the whole
        map when it is smaller) and flattened."""
        x = F.relu(self.bn1(self.conv1(self.preprocess(images))))
        x = F.max_pool2d(x, 3, 2, ceil_mode=True)
        for i in range(self.num_stages):
            x = getattr(self, f"layer{i + 1}")(x)
        k = min(7, x.shape[-2], x.shape[-1])
        return F.avg_pool2d(x, k, stride=1).flatten(1)
