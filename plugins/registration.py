"""Registers this package's kinds, components and commands (the ``emoportraits`` entry point).

This module is what the entry point names: the core finds it like any third-party plugin.
"""

from __future__ import annotations

import argparse

from emoportraits_core import Registry, hookimpl

from . import (
    backbones,
    discriminators,
    drivers,
    embedders,
    encoders,
    losses,
    ops,
    optim,
    renderers,
    volumes,
    warpers,
)


@hookimpl
def emoportraits_register_kinds(registry: Registry) -> None:
    """Adds the kinds ``backbone`` (image trunks), ``embedder`` (warp-embedding heads) and ``op``
    (weightless graph operations)."""
    backbones.register_kinds(registry)
    embedders.register_kinds(registry)
    ops.register_kinds(registry)


@hookimpl
def emoportraits_register(registry: Registry) -> None:
    """Registers the EMOPortraits networks, the backbones, the video driver, optimizers, schedules,
    the training losses, the discriminator and the graph operations."""
    packages = (
        backbones,
        encoders,
        embedders,
        warpers,
        volumes,
        renderers,
        drivers,
        optim,
        losses,
        discriminators,
        ops,
    )
    for package in packages:
        package.register(registry)


@hookimpl
def emoportraits_add_commands(subparsers: argparse._SubParsersAction) -> None:
    """Adds ``emoportraits animate`` and ``emoportraits convert``."""
    from .animate import cli as animate_cli
    from .convert import cli as convert_cli

    animate_cli.add_parser(subparsers)
    convert_cli.add_parser(subparsers)
