"""Deliberately broken components: each breaks the contract checks named in its ``breaks``.

A conformance check that cannot fail is a defect; the suite's own tests run every check against the
components listed here and require each check to fail on at least one of them (and each component
to fail every check it names). They are tiny (shapes like ``(B, 2, 2, 4, 4)``), take no config and
can be registered under their ``registry_name`` with :func:`register_broken_components`, e.g. from a
throw-away plugin to see what a failing ``emoportraits conformance`` run looks like.
"""

from __future__ import annotations

from typing import Any

from . import broken_drivers, broken_losses, broken_modules, broken_warpers
from ._broken_base import Broken
from .broken_modules import UnusedParameterVolume

__all__ = ["BROKEN_COMPONENTS", "UnusedParameterVolume", "register_broken_components"]


#: every broken component class (each has ``kind``, ``registry_name`` and ``breaks``).
BROKEN_COMPONENTS: list[type] = [
    cls
    for module in (broken_modules, broken_warpers, broken_losses, broken_drivers)
    for cls in vars(module).values()
    if isinstance(cls, type)
    and issubclass(cls, Broken)
    and not cls.__name__.startswith("_")
    and cls is not Broken
]


def register_broken_components(registry: Any, names: Any = None) -> None:
    """Register the broken components (all, or those whose ``registry_name`` is in ``names``) under
    their kind and ``registry_name``."""
    for cls in BROKEN_COMPONENTS:
        if names is None or cls.registry_name in names:
            registry.register(cls.kind, cls.registry_name, cls)
