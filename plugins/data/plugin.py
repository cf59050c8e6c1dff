"""The training-data plugin: registered through its own ``emoportraits`` entry point, like a third party's.

It adds the dataset ``pairs`` (prepared shards -> (source, driver) pairs) and the command
``emoportraits prepare`` (videos -> shards).
"""

from __future__ import annotations

import argparse

from emoportraits_core import Registry, hookimpl


@hookimpl
def emoportraits_register(registry: Registry) -> None:
    """Registers the dataset ``pairs``."""
    from . import register

    register(registry)


@hookimpl
def emoportraits_add_commands(subparsers: argparse._SubParsersAction) -> None:
    """Adds ``emoportraits prepare``."""
    from . import cli

    cli.add_parser(subparsers)
