"""Backbones (new kind ``backbone``): ResNet-18/50 with torchvision-style names, and timm models.

Encoders take a backbone by name and config (``backbone = "resnet50"``, ``backbone_config =
{...}``) and build it with :func:`build_backbone`: the built-in names below first, then any
``backbone`` a third-party plugin registered in the process-wide registry.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from emoportraits_core.config import build_config
from emoportraits_core.errors import ConfigError, RegistryError, did_you_mean
from emoportraits_core.registry import Registry

from .base import Backbone
from .resnet import BasicBlock, Bottleneck, ResNet, ResNet18Config, ResNet50Config, ResNetConfig
from .timm_backbone import TimmBackbone, TimmBackboneConfig

__all__ = [
    "BUILTIN_BACKBONES",
    "Backbone",
    "BasicBlock",
    "Bottleneck",
    "ResNet",
    "ResNet18Config",
    "ResNet50Config",
    "ResNetConfig",
    "TimmBackbone",
    "TimmBackboneConfig",
    "build_backbone",
    "register",
    "register_kinds",
]

#: Tiny ResNet configs (same topology, few channels and one block per stage) for fast tests.
TINY_RESNET: dict[str, Any] = {
    "layers": (1, 1, 1, 1),
    "widths": (8, 8, 16, 16),
    "stem_channels": 8,
    "num_groups": 4,
}

#: name -> (factory, config class, presets)
BUILTIN_BACKBONES: dict[str, tuple[type[Backbone], type, dict[str, dict[str, Any]]]] = {
    "resnet18": (ResNet, ResNet18Config, {"release": {}, "tiny": TINY_RESNET}),
    "resnet50": (ResNet, ResNet50Config, {"release": {}, "tiny": TINY_RESNET}),
    "timm": (TimmBackbone, TimmBackboneConfig, {"release": {}, "tiny": {"model_name": "resnet18"}}),
}


def register_kinds(registry: Registry) -> None:
    """Add the kind ``backbone`` (interface :class:`Backbone`)."""
    registry.register_kind("backbone", Backbone, "normalised image -> convolutional feature map")


def register(registry: Registry) -> None:
    """Register ``resnet18``, ``resnet50`` and ``timm`` as backbones."""
    for name, (factory, config, presets) in BUILTIN_BACKBONES.items():
        registry.register("backbone", name, factory, config=config, presets=presets)


def build_backbone(name: str, values: Mapping[str, Any] | None = None, *, where: str = "") -> Backbone:
    """Build backbone ``name`` with config ``values`` (an optional ``preset`` key picks a preset).

    Built-in names are built directly; other names come from the process-wide registry (a
    third-party plugin's ``backbone``).

    Raises:
        ConfigError: invalid config values.
        RegistryError: unknown name (the message lists the names that exist).
    """
    values = dict(values or {})
    where = where or f"config of backbone '{name}'"
    if name in BUILTIN_BACKBONES:
        factory, config_cls, presets = BUILTIN_BACKBONES[name]
        preset = values.pop("preset", None)
        if preset is not None and preset not in presets:
            raise ConfigError(
                f"{where}: unknown preset '{preset}' for backbone '{name}'; available: {', '.join(sorted(presets))}"
            )
        merged = {**presets.get(preset, {}), **values} if preset is not None else values
        return factory(build_config(config_cls, merged, where=where))
    from emoportraits_core import get_registry

    registry = get_registry()
    if any(k.name == "backbone" for k in registry.kinds()) and registry.has("backbone", name):
        return registry.create("backbone", name, **values)
    names = sorted(set(BUILTIN_BACKBONES) | _registered_names(registry))
    raise RegistryError(
        f"{where}: unknown backbone '{name}'; available: {', '.join(names)}{did_you_mean(name, names)}"
    )


def _registered_names(registry: Registry) -> set[str]:
    if not any(k.name == "backbone" for k in registry.kinds()):
        return set()
    return {e.name for e in registry.list("backbone")}
