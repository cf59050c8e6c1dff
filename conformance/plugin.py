"""The suite's ``emoportraits`` plugin (entry point ``emoportraits_conformance``): the ``conformance``
command. Loaded by every ``emoportraits`` run, so it imports only :mod:`.cli` (cheap)."""

from __future__ import annotations

import argparse

from emoportraits_core import hookimpl

__all__ = ["emoportraits_add_commands"]


@hookimpl
def emoportraits_add_commands(subparsers: argparse._SubParsersAction) -> None:
    """Adds ``emoportraits conformance``."""
    from . import cli

    cli.add_parser(subparsers)
