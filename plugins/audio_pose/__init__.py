"""Speech mode's audio -> head-pose GAN (EMOPortraits supplementary, section 3; TRAINING_FACTS section 6).

Per frame, 9 numbers relative to the first frame: a 6D rotation (Gram-Schmidt) and a translation
(:mod:`.pose`). A generator turns per-frame audio features (Whisper encoder states at the video frame
rate) and a per-sequence noise vector into such a sequence (:mod:`.generator`); a local temporal
PatchGAN critic and a global audio-conditioned critic score sequences (:mod:`.critics`); WGAN-GP,
reconstruction and smoothness losses train them (:mod:`.losses`, :mod:`.penalty`). :mod:`.clips` makes
the ground truth from the head-pose regressor's per-frame output.

Components (kind ``sequence``, added by :func:`register_kinds`; presets ``release`` and ``tiny``):
``audio_pose_generator``, ``local_temporal_critic``, ``global_content_critic``, and the critics'
training nodes ``local_temporal_critic_gp``, ``global_content_critic_gp`` (real and fake in, both
scores and the gradient penalty out: :mod:`.critic_pair`). Losses (kind ``loss``): ``wgan_gp_critic``,
``wgan_generator``, ``pose_rotation_l1``, ``pose_translation_l1``, ``pose_smoothness``. Dataset
``pose_clips`` (:mod:`.dataset`: audio and ground-truth poses of prepared videos). Sizes and loss
weights other than the window N = 8 and lambda_gp = 10 are ours. Training pipelines:
``pipelines/train_audio_pose.toml`` and ``train_audio_pose_tiny.toml``.
"""

from __future__ import annotations

from emoportraits_core import Registry

from .clips import pose_targets
from .critic_pair import GlobalContentCriticGP, LocalTemporalCriticGP
from .critics import (
    GlobalContentCritic,
    GlobalContentCriticConfig,
    LocalTemporalCritic,
    LocalTemporalCriticConfig,
)
from .dataset import PoseClipsConfig, PoseClipsDataset
from .generator import AudioPoseGenerator, AudioPoseGeneratorConfig
from .interface import SEQUENCE_PORT_TYPES, SequenceCritic, SequenceNetwork, register_kinds
from .losses import (
    DEFAULT_WEIGHTS,
    PoseLossConfig,
    PoseRotationL1Loss,
    PoseSmoothnessLoss,
    PoseTranslationL1Loss,
    WGANCriticLoss,
    WGANCriticLossConfig,
    WGANGeneratorLoss,
    WGANGeneratorLossConfig,
)
from .penalty import gradient_penalty
from .pose import IDENTITY_POSE, pose_scale, random_pose_sequence, relative_to_first, to_absolute, to_matrices

__all__ = [
    "DEFAULT_WEIGHTS",
    "IDENTITY_POSE",
    "LOSSES",
    "NETWORKS",
    "SEQUENCE_PORT_TYPES",
    "AudioPoseGenerator",
    "AudioPoseGeneratorConfig",
    "GlobalContentCritic",
    "GlobalContentCriticConfig",
    "GlobalContentCriticGP",
    "LocalTemporalCritic",
    "LocalTemporalCriticConfig",
    "LocalTemporalCriticGP",
    "PoseClipsConfig",
    "PoseClipsDataset",
    "PoseLossConfig",
    "PoseRotationL1Loss",
    "PoseSmoothnessLoss",
    "PoseTranslationL1Loss",
    "SequenceCritic",
    "SequenceNetwork",
    "WGANCriticLoss",
    "WGANCriticLossConfig",
    "WGANGeneratorLoss",
    "WGANGeneratorLossConfig",
    "gradient_penalty",
    "pose_scale",
    "pose_targets",
    "random_pose_sequence",
    "register",
    "register_kinds",
    "relative_to_first",
    "to_absolute",
    "to_matrices",
]

#: ``tiny`` presets: a few thousand parameters each, 16-frame examples, 8-dim audio features.
_TINY_AUDIO = 8
_TINY_FRAMES = 16

_LOCAL_PRESETS: dict[str, dict] = {"release": {}, "tiny": {"channels": (8, 16, 16), "frames": _TINY_FRAMES}}
_GLOBAL_PRESETS: dict[str, dict] = {
    "release": {},
    "tiny": {
        "audio_dim": _TINY_AUDIO,
        "channels": 16,
        "res_blocks": 1,
        "mlp_hidden": 16,
        "frames": _TINY_FRAMES,
    },
}

#: registry name (kind ``sequence``) -> (class, config class, presets).
NETWORKS: dict[str, tuple[type, type, dict[str, dict]]] = {
    "audio_pose_generator": (
        AudioPoseGenerator,
        AudioPoseGeneratorConfig,
        {
            "release": {},
            "tiny": {
                "audio_dim": _TINY_AUDIO,
                "noise_dim": 4,
                "hidden": 16,
                "layers": 1,
                "heads": 2,
                "feedforward": 32,
                "dropout": 0.0,
                "res_blocks": 1,
                "mlp_hidden": 16,
                "frames": _TINY_FRAMES,
            },
        },
    ),
    "local_temporal_critic": (LocalTemporalCritic, LocalTemporalCriticConfig, _LOCAL_PRESETS),
    "global_content_critic": (GlobalContentCritic, GlobalContentCriticConfig, _GLOBAL_PRESETS),
    "local_temporal_critic_gp": (LocalTemporalCriticGP, LocalTemporalCriticConfig, _LOCAL_PRESETS),
    "global_content_critic_gp": (GlobalContentCriticGP, GlobalContentCriticConfig, _GLOBAL_PRESETS),
}

#: registry name (kind ``loss``) -> (class, config class, presets).
LOSSES: dict[str, tuple[type, type, dict[str, dict]]] = {
    "wgan_gp_critic": (WGANCriticLoss, WGANCriticLossConfig, {"release": {}, "tiny": {}}),
    "wgan_generator": (WGANGeneratorLoss, WGANGeneratorLossConfig, {"release": {}, "tiny": {}}),
    "pose_rotation_l1": (
        PoseRotationL1Loss,
        PoseLossConfig,
        {"release": {}, "tiny": {"frames": _TINY_FRAMES}},
    ),
    "pose_translation_l1": (
        PoseTranslationL1Loss,
        PoseLossConfig,
        {"release": {}, "tiny": {"frames": _TINY_FRAMES}},
    ),
    "pose_smoothness": (
        PoseSmoothnessLoss,
        PoseLossConfig,
        {"release": {}, "tiny": {"frames": _TINY_FRAMES}},
    ),
}


def register(registry: Registry) -> None:
    """Registers :data:`NETWORKS` (kind ``sequence``; needs :func:`register_kinds` first) and
    :data:`LOSSES` (kind ``loss``), presets ``release`` and ``tiny``, and the dataset ``pose_clips``."""
    for name, (cls, config, presets) in NETWORKS.items():
        registry.register("sequence", name, cls, config=config, presets=presets)
    for name, (cls, config, presets) in LOSSES.items():
        registry.register("loss", name, cls, config=config, presets=presets)
    registry.register("dataset", "pose_clips", PoseClipsDataset, config=PoseClipsConfig)
