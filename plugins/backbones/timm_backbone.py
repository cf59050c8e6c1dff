"""Any timm model as a backbone (optional extra ``emoportraits[timm]``).

timm is imported only when the backbone is built: it imports torchvision, which has no CPU build
for the torch this project pins, so the extra is for CUDA installs. Weights are never downloaded
unless ``pretrained=True`` is asked for explicitly.
"""

from __future__ import annotations

import attrs
from torch import Tensor

from emoportraits_core.errors import ConfigError

from .base import Backbone

__all__ = ["TimmBackbone", "TimmBackboneConfig"]

_MISSING = (
    "backbone 'timm' needs the optional extra: pip install 'emoportraits[timm]' "
    "(timm imports torchvision, which has no CPU build for torch 2.13)"
)


@attrs.frozen
class TimmBackboneConfig:
    """Config of :class:`TimmBackbone`.

    Attributes:
        model_name: a timm model name, e.g. ``"resnet50"``.
        pretrained: load timm's pretrained weights (downloads them; off by default).
        in_channels: input channels.
        out_index: which feature level to return (timm ``out_indices``; -1 = the deepest).
    """

    model_name: str = "resnet50"
    pretrained: bool = False
    in_channels: int = 3
    out_index: int = -1


class TimmBackbone(Backbone):
    """A timm ``features_only`` model returning one feature map (the ``out_index``-th level)."""

    def __init__(self, config: TimmBackboneConfig | None = None) -> None:
        config = config if config is not None else TimmBackboneConfig()
        super().__init__(config)
        try:
            import timm
        except Exception as exc:  # ImportError, or torchvision failing inside timm
            raise ConfigError(_MISSING) from exc
        try:
            probe = timm.create_model(config.model_name, pretrained=False, features_only=True)
        except RuntimeError as exc:
            raise ConfigError(f"backbone 'timm': {exc}") from None
        levels = len(probe.feature_info.channels())
        index = config.out_index % levels
        self.net = timm.create_model(
            config.model_name,
            pretrained=config.pretrained,
            features_only=True,
            out_indices=(index,),
            in_chans=config.in_channels,
        )
        self.in_channels = config.in_channels
        self.out_channels = int(self.net.feature_info.channels()[-1])
        self.stride = int(self.net.feature_info.reduction()[-1])

    def forward(self, x: Tensor) -> Tensor:
        """``x (B, C_in, H, W)`` -> ``(B, out_channels, H/stride, W/stride)``."""
        return self.net(x)[-1]
