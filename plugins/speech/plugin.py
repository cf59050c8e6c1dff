"""The speech plugin: registered through its own ``emoportraits`` entry point, like a third party's.

It adds the kind ``audio_expression_encoder`` with E_aud (and its streaming form), the drivers
``speech`` and ``blend``, the ops ``speech_motion``, ``mouth_blend`` and ``whisper_features``, the
loss ``mouth_pca`` and the commands ``fit-mouth-pca``, ``speak`` and ``blend``. It builds on the
project's plugin (the kind ``op``, the image networks, the session).
"""

from __future__ import annotations

import argparse

from emoportraits_core import Registry, hookimpl


@hookimpl
def emoportraits_register_kinds(registry: Registry) -> None:
    """Adds the kind ``audio_expression_encoder``."""
    from .interface import register_kinds

    register_kinds(registry)


@hookimpl
def emoportraits_register(registry: Registry) -> None:
    """Registers ``emoportraits_audio_expression_encoder`` and the loss ``mouth_pca``."""
    from . import register

    register(registry)


@hookimpl
def emoportraits_add_commands(subparsers: argparse._SubParsersAction) -> None:
    """Adds ``emoportraits fit-mouth-pca``, ``speak`` and ``blend``."""
    from . import cli, speak_cli

    cli.add_parser(subparsers)
    speak_cli.add_parsers(subparsers)
