"""Small graph operations as components of kind ``op``: what a pipeline needs between networks.

- ``mask_image``: ``image x mask`` (the masked source the encoders see);
- ``background``: ``image x mask + colour x (1 - mask)`` (the release's targets: the driver on green);
- ``expression_latent``: a ``Motion``'s expression latent as a ``(B, Z)`` descriptor (for the latent
  losses);
- ``face_align``: the face crop aligned with a ``Motion``'s head pose, as the motion encoder aligns
  its input (for the VGG-Face and identity losses);
- ``mixing_motion``: the cross-reenactment's motion (expressions rolled by one, poses from a FIFO
  pool), with its pool as a buffer;
- ``roll_batch``: a latent rolled along the batch;
- ``canonical_alignment``: the driver's pose, with the source's scale and the landmark similarity,
  that puts the driver's canonical volume where the source's is (the canonical-volume loss);
- ``face_parser``: a frozen BiSeNet's class probabilities (the head-region loss's masks).

They have no trainable weights: ``mixing_motion`` has a pose pool (saved with a run), ``face_parser``
a frozen network read from its weights file on every build (never saved).
"""

from __future__ import annotations

from emoportraits_core import Component, Registry

from .canonical_alignment import CanonicalAlignment, CanonicalAlignmentConfig
from .expression_latent import ExpressionLatent, ExpressionLatentConfig
from .face_align import FaceAlign, FaceAlignConfig
from .face_parser import FaceParser, FaceParserConfig
from .masking import Background, BackgroundConfig, MaskImage, MaskImageConfig
from .mixing_motion import MixingMotion, MixingMotionConfig
from .roll_batch import RollBatch, RollBatchConfig

__all__ = ["register", "register_kinds"]


def register_kinds(registry: Registry) -> None:
    """Adds the kind ``op`` (weightless graph operations)."""
    registry.register_kind("op", Component, "weightless graph operation (masking, alignment, field access)")


def register(registry: Registry) -> None:
    """Registers the operations."""
    registry.register(
        "op", "mask_image", MaskImage, config=MaskImageConfig, presets={"tiny": {"image_size": 64}}
    )
    registry.register(
        "op", "background", Background, config=BackgroundConfig, presets={"tiny": {"image_size": 64}}
    )
    registry.register(
        "op",
        "expression_latent",
        ExpressionLatent,
        config=ExpressionLatentConfig,
        presets={"tiny": {"dim": 16}},
    )
    registry.register(
        "op",
        "face_align",
        FaceAlign,
        config=FaceAlignConfig,
        presets={"tiny": {"image_size": 64, "size": 32}},
    )
    registry.register(
        "op",
        "mixing_motion",
        MixingMotion,
        config=MixingMotionConfig,
        presets={"tiny": {"pool_batches": 4, "max_batch_size": 4, "expression_dim": 16}},
    )
    registry.register("op", "roll_batch", RollBatch, config=RollBatchConfig, presets={"tiny": {"dim": 16}})
    registry.register(
        "op",
        "canonical_alignment",
        CanonicalAlignment,
        config=CanonicalAlignmentConfig,
        presets={"tiny": {"expression_dim": 16}},
    )
    registry.register(
        "op",
        "face_parser",
        FaceParser,
        config=FaceParserConfig,
        presets={"tiny": {"image_size": 64, "input_size": 64}},
    )
