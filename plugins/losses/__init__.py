"""Training losses (kind ``loss``) of the released EMOPortraits run, one concept per module.

Each loss is a :class:`~emoportraits_core.interfaces.Loss` with a frozen attrs config whose defaults are
the release's numbers (TRAINING_FACTS §2); the weight of each term lives in the pipeline. Losses that
compare network features build their frozen network from the ``weights`` file in their config
(:mod:`emoportraits_plugins.lossnets`), so a missing or wrong file fails when the loss is built.
Helpers for the training step: :mod:`.procrustes` (landmark similarity alignment), :mod:`.eyes` and
:mod:`.landmarks` (eye geometry, the 68-point convention).
"""

from __future__ import annotations

from emoportraits_core import Registry

from .adversarial_hinge import (
    AdversarialHingeConfig,
    AdversarialHingeDiscriminatorLoss,
    AdversarialHingeGeneratorLoss,
)
from .canonical_volume_l1 import CanonicalVolumeL1Config, CanonicalVolumeL1Loss
from .cosface import CosFaceConfig, CosFaceLoss
from .feature_matching import FeatureMatchingConfig, FeatureMatchingLoss
from .gaze import GazeConfig, GazeLoss
from .head_region_l1 import BISENET_REGIONS, RTNET_REGIONS, HeadRegionL1Config, HeadRegionL1Loss
from .identity_cosine import IdentityCosineConfig, IdentityCosineLoss
from .procrustes import CV_LANDMARKS, similarity_matrix, similarity_procrustes
from .pull_push import PullPushConfig, PullPushLoss
from .source_driver_mismatch import SourceDriverMismatchConfig, SourceDriverMismatchLoss
from .vgg19_perceptual import VGG19PerceptualConfig, VGG19PerceptualLoss
from .vggface_perceptual import VGGFacePerceptualConfig, VGGFacePerceptualLoss

__all__ = [
    "BISENET_REGIONS",
    "CV_LANDMARKS",
    "LOSSES",
    "RTNET_REGIONS",
    "AdversarialHingeConfig",
    "AdversarialHingeDiscriminatorLoss",
    "AdversarialHingeGeneratorLoss",
    "CanonicalVolumeL1Config",
    "CanonicalVolumeL1Loss",
    "CosFaceConfig",
    "CosFaceLoss",
    "FeatureMatchingConfig",
    "FeatureMatchingLoss",
    "GazeConfig",
    "GazeLoss",
    "HeadRegionL1Config",
    "HeadRegionL1Loss",
    "IdentityCosineConfig",
    "IdentityCosineLoss",
    "PullPushConfig",
    "PullPushLoss",
    "SourceDriverMismatchConfig",
    "SourceDriverMismatchLoss",
    "VGG19PerceptualConfig",
    "VGG19PerceptualLoss",
    "VGGFacePerceptualConfig",
    "VGGFacePerceptualLoss",
    "register",
    "similarity_matrix",
    "similarity_procrustes",
]

_TINY_VGG = (4, 8, 8, 16, 16)
_BISENET = {
    "num_classes": 19,
    "eyes": BISENET_REGIONS[0],
    "mouth": BISENET_REGIONS[1],
    "ears": BISENET_REGIONS[2],
}

#: registry name -> (class, config class, presets beyond ``release``).
LOSSES: dict[str, tuple[type, type, dict[str, dict]]] = {
    "vgg19_perceptual": (
        VGG19PerceptualLoss,
        VGG19PerceptualConfig,
        {"tiny": {"image_size": 32, "num_scales": 2, "channels": _TINY_VGG}},
    ),
    "vggface_perceptual": (
        VGGFacePerceptualLoss,
        VGGFacePerceptualConfig,
        {"tiny": {"crop_size": 16, "resize": 32, "channels": _TINY_VGG}},
    ),
    "gaze": (
        GazeLoss,
        GazeConfig,
        {
            "tiny": {
                "image_size": 32,
                "resize": 32,
                "patch_size": (24, 16),
                "mask_kernel": 3,
                "channels": _TINY_VGG,
            }
        },
    ),
    "head_region_l1": (
        HeadRegionL1Loss,
        HeadRegionL1Config,
        {"tiny": {"image_size": 16}, "bisenet": _BISENET, "bisenet_tiny": {**_BISENET, "image_size": 16}},
    ),
    "adversarial_hinge_generator": (
        AdversarialHingeGeneratorLoss,
        AdversarialHingeConfig,
        {"tiny": {"score_size": 8}},
    ),
    "adversarial_hinge_discriminator": (
        AdversarialHingeDiscriminatorLoss,
        AdversarialHingeConfig,
        {"tiny": {"score_size": 8}},
    ),
    "feature_matching": (FeatureMatchingLoss, FeatureMatchingConfig, {"tiny": {"size": 8}}),
    "cosface": (CosFaceLoss, CosFaceConfig, {"tiny": {"dim": 8}}),
    "pull_push": (PullPushLoss, PullPushConfig, {"tiny": {"dim": 8}}),
    "source_driver_mismatch": (SourceDriverMismatchLoss, SourceDriverMismatchConfig, {"tiny": {"dim": 8}}),
    "canonical_volume_l1": (
        CanonicalVolumeL1Loss,
        CanonicalVolumeL1Config,
        {"tiny": {"shape": (4, 2, 4, 4)}},
    ),
    "identity_cosine": (
        IdentityCosineLoss,
        IdentityCosineConfig,
        {
            "tiny": {
                "crop_size": 16,
                "input_size": 32,
                "layers": (1, 1, 1, 1),
                "widths": (4, 8, 8, 16),
                "stem_channels": 8,
            }
        },
    ),
}


def register(registry: Registry) -> None:
    """Registers every loss of :data:`LOSSES` under kind ``loss`` (presets ``release``, ``tiny``, and
    ``bisenet`` / ``bisenet_tiny`` for ``head_region_l1``)."""
    for name, (cls, config, presets) in LOSSES.items():
        registry.register("loss", name, cls, config=config, presets={"release": {}, **presets})
