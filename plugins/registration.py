"""Registers this package's components with the core registry (the ``emoportraits`` entry point)."""

from __future__ import annotations

from emoportraits_core import Registry, hookimpl


@hookimpl
def emoportraits_register_kinds(registry: Registry) -> None:
    """No new kinds yet."""


@hookimpl
def emoportraits_register(registry: Registry) -> None:
    """No components yet."""
