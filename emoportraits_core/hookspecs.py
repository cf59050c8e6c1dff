"""Hook specifications: the contract between the core and every plugin (ours and third parties').

A plugin is a module (or object) that implements some of these hooks with
``@emoportraits_core.hookimpl`` and is announced through the entry-point group ``emoportraits``::

    # pyproject.toml of a plugin package
    [project.entry-points.emoportraits]
    my_plugin = "my_package.plugin"

The core loads every entry point of that group at start-up, checks that each hook a plugin
implements exists here (a typo fails loudly), then calls the hooks in the order below.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING

import pluggy

if TYPE_CHECKING:
    from torch import nn

    from .pipeline.resolved import ResolvedPipeline
    from .registry import Registry

#: ``evaluator(modules) -> {name: value}``: see :func:`emoportraits_training_evaluator`.
Evaluator = Callable[[Mapping[str, "nn.Module"]], Mapping[str, float]]

__all__ = ["PROJECT", "Evaluator", "hookimpl", "hookspec"]

PROJECT = "emoportraits"
hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)


# ---- registration (called once per registry, kinds first) -------------------------------------


@hookspec
def emoportraits_register_kinds(registry: Registry) -> None:
    """Add new component kinds with ``registry.register_kind(name, interface, description)``.

    Called before any ``emoportraits_register``, so that components of a new kind can be
    registered by any plugin. The core's kinds are already there. Return None.
    """


@hookspec
def emoportraits_register(registry: Registry) -> None:
    """Add this plugin's named components with ``registry.register(kind, name, factory, config=...)``.

    Called once per registry, after every plugin's ``emoportraits_register_kinds``. Registrations
    made here are attributed to this plugin and its distribution. Return None.
    """


# ---- command line ---------------------------------------------------------------------------------


@hookspec
def emoportraits_add_commands(subparsers: argparse._SubParsersAction) -> None:
    """Add sub-commands to the ``emoportraits`` command line.

    Called once when the CLI starts, after the core's own commands are added. Each command is
    ``subparsers.add_parser(name, help=..., description=...)`` with ``set_defaults(func=fn)``;
    ``fn(args) -> int`` returns the exit code and raises
    :class:`~emoportraits_core.errors.EmoportraitsError` for user errors (printed as one line).
    Return None.
    """


# ---- training -------------------------------------------------------------------------------------


@hookspec(firstresult=True)
def emoportraits_training_evaluator(resolved: ResolvedPipeline, registry: Registry) -> Evaluator | None:
    """Return the evaluator of a training run (``[train] eval_every > 0``), or None to let another
    plugin answer.

    An evaluator is called as ``evaluator(modules) -> {name: value}`` with the trained run's modules
    (component key -> module) and returns the scalars to log (e.g. ``{"eval/psnr_mask": 24.1}``). It
    must leave the modules' modes and every random state as it found them, so that a run with
    evaluations takes the same steps as one without. Built once, before step 1.
    """
