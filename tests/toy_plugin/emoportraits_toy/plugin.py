"""The toy plugin's hook: what an out-of-tree plugin module looks like."""

from emoportraits_core import Registry, hookimpl

from .adversarial import (
    ToyDiscriminator,
    ToyDiscriminatorConfig,
    ToyHingeConfig,
    ToyHingeDiscriminator,
    ToyHingeGenerator,
)
from .components import (
    ToyEncoder,
    ToyEncoderConfig,
    ToyRenderer,
    ToyRendererConfig,
    ToyVolume,
    ToyVolumeConfig,
    ToyWarper,
    ToyWarperConfig,
)
from .loss import ToyL1Config, ToyL1Loss
from .motion import ToyMotionEncoder, ToyMotionEncoderConfig
from .pairs import ToyPairsConfig, ToyPairsDataset


@hookimpl
def emoportraits_register(registry: Registry) -> None:
    registry.register("encoder", "toy_encoder", ToyEncoder, config=ToyEncoderConfig)
    registry.register("volume", "toy_volume", ToyVolume, config=ToyVolumeConfig)
    registry.register(
        "warper", "toy_warper", ToyWarper, config=ToyWarperConfig, deprecated_names={"toy_rigid": "0.1"}
    )
    registry.register("renderer", "toy_renderer", ToyRenderer, config=ToyRendererConfig)
    registry.register(
        "encoder",
        "toy_motion_encoder",
        ToyMotionEncoder,
        config=ToyMotionEncoderConfig,
        presets={"gentle": {"max_angle": 0.1}},
    )
    registry.register("loss", "toy_l1", ToyL1Loss, config=ToyL1Config)
    registry.register("dataset", "toy_pairs", ToyPairsDataset, config=ToyPairsConfig)
    registry.register("discriminator", "toy_discriminator", ToyDiscriminator, config=ToyDiscriminatorConfig)
    registry.register("loss", "toy_hinge_generator", ToyHingeGenerator, config=ToyHingeConfig)
    registry.register("loss", "toy_hinge_discriminator", ToyHingeDiscriminator, config=ToyHingeConfig)


@hookimpl(specname="emoportraits_register")
def register_conformance_toys(registry: Registry) -> None:
    """A loss and a driver that pass the conformance suite (used by its tests)."""
    from .feature_loss import ToyFeatureL1Config, ToyFeatureL1Loss
    from .motion_file import ToyMotionFileConfig, ToyMotionFileDriver

    registry.register("loss", "toy_feature_l1", ToyFeatureL1Loss, config=ToyFeatureL1Config)
    registry.register("driver", "toy_motion_file", ToyMotionFileDriver, config=ToyMotionFileConfig)


@hookimpl(specname="emoportraits_register")
def register_toy_drivers(registry: Registry) -> None:
    """A driver of another modality (frames dumped as .npy), for the session tests."""
    from .npy_frames import ToyNpyFramesConfig, ToyNpyFramesDriver

    registry.register("driver", "toy_npy_frames", ToyNpyFramesDriver, config=ToyNpyFramesConfig)
