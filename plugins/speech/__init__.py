"""The speech-driven mode (supplementary section 2): the audio expression encoder E_aud, the mouth PCA
and its loss L_PCA.

- :mod:`.interface`: the kind ``audio_expression_encoder`` (audio embeddings + z0 -> latent per frame);
- :mod:`.audio_expression_encoder`: E_aud (``emoportraits_audio_expression_encoder``), streamable;
- :mod:`.mouth_pca`: the fitted mouth PCA and its file; :mod:`.fit_mouth_pca`: the fit and its
  criterion (``emoportraits fit-mouth-pca``);
- :mod:`.mouth_pca_loss`: the loss ``mouth_pca``.

Registered through its own entry point (:mod:`.plugin`), like a third party's.
"""

from __future__ import annotations

from emoportraits_core import Registry

from ..audio.features import WhisperFeatures, WhisperFeaturesConfig
from .audio_expression_encoder import (
    AudioExpressionState,
    MLPAudioExpressionEncoder,
    MLPAudioExpressionEncoderConfig,
)
from .blend_driver import BlendDriver, BlendDriverConfig
from .driver import SpeechDriver, SpeechDriverConfig
from .fit_mouth_pca import fit_mouth_pca, fit_mouth_pca_from_shards, mouth_measures
from .interface import AudioExpressionEncoder, register_kinds
from .mouth_blend import MouthBlend, MouthBlendConfig
from .mouth_pca import MouthPCA
from .mouth_pca_loss import MouthPCALoss, MouthPCALossConfig
from .speech_motion import SpeechMotion, SpeechMotionConfig
from .streaming import StreamingAudioExpressionEncoder
from .training import register_training

__all__ = [
    "AudioExpressionEncoder",
    "AudioExpressionState",
    "MLPAudioExpressionEncoder",
    "MLPAudioExpressionEncoderConfig",
    "MouthPCA",
    "MouthPCALoss",
    "MouthPCALossConfig",
    "fit_mouth_pca",
    "fit_mouth_pca_from_shards",
    "mouth_measures",
    "register",
    "register_kinds",
]

#: ``tiny``: the tiny motion encoder's 16-d latent, the test Whisper's 64 channels
#: (:func:`emoportraits_plugins.audio.tiny_whisper_config`), small MLPs.
TINY_ENCODER = {"audio_dim": 64, "latent_dim": 16, "hidden": 32, "depth": 2, "align_features": 16}


def register(registry: Registry) -> None:
    """Registers E_aud (kind ``audio_expression_encoder``), the op ``whisper_features`` and the loss
    ``mouth_pca``."""
    registry.register(
        "audio_expression_encoder",
        "emoportraits_audio_expression_encoder",
        MLPAudioExpressionEncoder,
        config=MLPAudioExpressionEncoderConfig,
        presets={"release": {}, "tiny": TINY_ENCODER},
    )
    registry.register(
        "audio_expression_encoder",
        "emoportraits_audio_expression_stream",
        StreamingAudioExpressionEncoder,
        config=MLPAudioExpressionEncoderConfig,
        presets={"release": {}, "tiny": TINY_ENCODER},
    )
    registry.register(
        "driver",
        "speech",
        SpeechDriver,
        config=SpeechDriverConfig,
        presets={
            "release": {},
            "tiny": {"random_whisper": "test", "audio_dim": 64, "pose_preset": "tiny", "pose_window": 32},
        },
    )
    registry.register(
        "driver",
        "blend",
        BlendDriver,
        config=BlendDriverConfig,
        presets={"release": {}, "tiny": {"random_whisper": "test", "audio_dim": 64, "size": 64}},
    )
    registry.register(
        "op",
        "speech_motion",
        SpeechMotion,
        config=SpeechMotionConfig,
        presets={"tiny": {"expression_dim": 16}},
    )
    registry.register(
        "op", "mouth_blend", MouthBlend, config=MouthBlendConfig, presets={"tiny": {"expression_dim": 16}}
    )
    registry.register(
        "op",
        "whisper_features",
        WhisperFeatures,
        config=WhisperFeaturesConfig,
        presets={"release": {}, "tiny": {"random": "test", "audio_dim": 64}},
    )
    registry.register(
        "loss",
        "mouth_pca",
        MouthPCALoss,
        config=MouthPCALossConfig,
        presets={"release": {}, "tiny": {"dim": 16}},
    )
    register_training(registry)  # speech_clips, the clip ops, the speech losses (.training)
