"""What training E_aud adds to the registry (supplementary section 2; ``pipelines/train_speech*.toml``):

- dataset ``speech_clips`` (:mod:`.clips_dataset`): clips of frames of one video with their audio;
- ops ``clip_frame``, ``clip_targets``, ``clip_latents``, ``clip_repeat``, ``with_expression``
  (:mod:`.ops`): between clips and per-frame batches;
- losses ``image_l1``, ``latent_l1`` (:mod:`.l1_losses`) and ``mouth_parsing_bce``
  (:mod:`.mouth_bce`).

Presets: ``release`` (the defaults: 512 x 512, D = 128) and ``tiny`` (64 x 64, D = 16, the tiny
networks' sizes).
"""

from __future__ import annotations

from emoportraits_core import Registry

from .clips_dataset import SpeechClipsConfig, SpeechClipsDataset
from .l1_losses import ImageL1Config, ImageL1Loss, LatentL1Config, LatentL1Loss
from .mouth_bce import MouthParsingBCEConfig, MouthParsingBCELoss
from .ops import (
    ClipFrame,
    ClipFrameConfig,
    ClipLatents,
    ClipLatentsConfig,
    ClipRepeat,
    ClipRepeatConfig,
    ClipTargets,
    ClipTargetsConfig,
    WithExpression,
    WithExpressionConfig,
)

__all__ = ["register_training"]

_TINY_IMAGE = {"image_size": 64}

#: kind -> name -> (class, config class, ``tiny`` preset).
_COMPONENTS: dict[str, dict[str, tuple[type, type, dict]]] = {
    "op": {
        "clip_frame": (ClipFrame, ClipFrameConfig, _TINY_IMAGE),
        "clip_targets": (ClipTargets, ClipTargetsConfig, _TINY_IMAGE),
        "clip_latents": (ClipLatents, ClipLatentsConfig, {"dim": 16}),
        "clip_repeat": (ClipRepeat, ClipRepeatConfig, {}),
        "with_expression": (WithExpression, WithExpressionConfig, {"dim": 16}),
    },
    "loss": {
        "image_l1": (ImageL1Loss, ImageL1Config, _TINY_IMAGE),
        "latent_l1": (LatentL1Loss, LatentL1Config, {"dim": 16}),
        "mouth_parsing_bce": (MouthParsingBCELoss, MouthParsingBCEConfig, {"image_size": 16}),
    },
}


def register_training(registry: Registry) -> None:
    """Registers the dataset ``speech_clips``, the clip ops and the speech losses (module docstring)."""
    registry.register("dataset", "speech_clips", SpeechClipsDataset, config=SpeechClipsConfig)
    for kind, entries in _COMPONENTS.items():
        for name, (cls, config, tiny) in entries.items():
            registry.register(kind, name, cls, config=config, presets={"release": {}, "tiny": tiny})
