"""The toy plugin's hook: what an out-of-tree plugin module looks like."""

from emoportraits_core import Registry, hookimpl

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


@hookimpl
def emoportraits_register(registry: Registry) -> None:
    registry.register("encoder", "toy_encoder", ToyEncoder, config=ToyEncoderConfig)
    registry.register("volume", "toy_volume", ToyVolume, config=ToyVolumeConfig)
    registry.register(
        "warper", "toy_warper", ToyWarper, config=ToyWarperConfig, deprecated_names={"toy_rigid": "0.1"}
    )
    registry.register("renderer", "toy_renderer", ToyRenderer, config=ToyRendererConfig)
