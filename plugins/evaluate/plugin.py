"""The evaluation plugin: registered through its own ``emoportraits`` entry point, like a third party's.

It adds the command ``emoportraits evaluate`` (:mod:`.cli`). It registers no component.
"""

from __future__ import annotations

import argparse

from emoportraits_core import hookimpl


@hookimpl
def emoportraits_add_commands(subparsers: argparse._SubParsersAction) -> None:
    """Adds ``emoportraits evaluate``."""
    from . import cli

    cli.add_parser(subparsers)
