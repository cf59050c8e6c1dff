"""Encoders: identity (E_id), motion (E_mtn: head pose + expression) and appearance (E_app)."""

from __future__ import annotations

from emoportraits_core.registry import Registry

from .appearance_encoder import AppearanceEncoder, AppearanceEncoderConfig
from .head_pose import HeadPoseRegressor
from .identity_encoder import IdentityEncoder, IdentityEncoderConfig
from .motion_encoder import MotionEncoder, MotionEncoderConfig

__all__ = [
    "AppearanceEncoder",
    "AppearanceEncoderConfig",
    "HeadPoseRegressor",
    "IdentityEncoder",
    "IdentityEncoderConfig",
    "MotionEncoder",
    "MotionEncoderConfig",
    "register",
]

#: ``tiny`` presets: same topology, few channels and one block per stage, small images.
TINY_BACKBONE = {"preset": "tiny"}


_TINY_IDENTITY = {
    "image_size": 64,
    "input_size": 64,
    "backbone_config": TINY_BACKBONE,
    "descriptor_channels": 16,
    "descriptor_size": 2,
}
_TINY_MOTION = {
    "image_size": 64,
    "pose_input_size": 32,
    "pose_layers": (1, 1, 1, 1),
    "pose_widths": (8, 8, 16, 16),
    "pose_stem_channels": 8,
    "align_size": 64,
    "expression_backbone_config": TINY_BACKBONE,
    "expression_channels": 8,
    "expression_pool_size": 2,
    "expression_dim": 16,
}
_TINY_APPEARANCE = {
    "image_size": 64,
    "stem_channels": 8,
    "down_channels": (8, 16, 16),
    "volume_channels": 8,
    "volume_depth": 4,
    "num_groups": 4,
}
#: ``small`` (for training on a CPU): the identity and motion encoders as ``tiny``; the appearance
#: encoder down-samples once, to the 32 x 32 volumes of the volume, warper and renderer ``small`` presets.
_SMALL_APPEARANCE = {**_TINY_APPEARANCE, "stem_channels": 16, "down_channels": (32,)}


def register(registry: Registry) -> None:
    """Register the encoders (kind ``encoder``)."""
    registry.register(
        "encoder",
        "emoportraits_identity_encoder",
        IdentityEncoder,
        config=IdentityEncoderConfig,
        presets={
            "release": {},
            "tiny": _TINY_IDENTITY,
            "small": _TINY_IDENTITY,
        },
    )
    registry.register(
        "encoder",
        "emoportraits_motion_encoder",
        MotionEncoder,
        config=MotionEncoderConfig,
        presets={
            "release": {},
            "tiny": _TINY_MOTION,
            "small": _TINY_MOTION,
        },
    )
    registry.register(
        "encoder",
        "emoportraits_appearance_encoder",
        AppearanceEncoder,
        config=AppearanceEncoderConfig,
        presets={
            "release": {},
            "tiny": _TINY_APPEARANCE,
            "small": _SMALL_APPEARANCE,
        },
    )
