"""The motion-file plugin: registered through its own ``emoportraits`` entry point, like a third party's.

It adds the driver ``motion_file`` and the command ``extract-motion``; the pipelines that use them
(``extract_motion``, ``animate_motion``) are shipped files. Nothing else in the project knows
motion files exist: the session, the writer and ``animate`` are unchanged by them.
"""

from __future__ import annotations

import argparse

from emoportraits_core import Registry, hookimpl

from .driver import MotionFileDriver, MotionFileDriverConfig


@hookimpl
def emoportraits_register(registry: Registry) -> None:
    """Registers the driver ``motion_file``."""
    registry.register(
        "driver",
        "motion_file",
        MotionFileDriver,
        config=MotionFileDriverConfig,
        presets={"release": {}, "tiny": {"expression_dim": 16}},
    )


@hookimpl
def emoportraits_add_commands(subparsers: argparse._SubParsersAction) -> None:
    """Adds ``emoportraits extract-motion``."""
    from . import cli

    cli.add_parser(subparsers)
