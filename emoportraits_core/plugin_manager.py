"""Plugin discovery: one pluggy ``PluginManager`` for the project's own plugins and third parties'.

Every plugin, including ``emoportraits_plugins`` (this project's EMOPortraits implementation), is
found through the entry-point group ``emoportraits``; the core never imports a plugin by name.
Set ``EMOPORTRAITS_TRACE_HOOKS=1`` to log every hook call.
"""

from __future__ import annotations

import importlib.metadata
import os
import sys
import warnings
from collections.abc import Iterable
from typing import Any

import attrs
import pluggy

from . import hookspecs
from .interfaces import (
    Dataset,
    Discriminator,
    Driver,
    Encoder,
    Loss,
    Optimizer,
    Renderer,
    Schedule,
    VolumeProcessor,
    Warper,
)
from .registry import Registry

__all__ = [
    "CORE_KINDS",
    "ENTRY_POINT_GROUP",
    "LoadedPlugin",
    "build_registry",
    "get_plugin_manager",
    "get_registry",
    "make_plugin_manager",
]

ENTRY_POINT_GROUP = "emoportraits"

CORE_KINDS: tuple[tuple[str, type, str], ...] = (
    ("encoder", Encoder, "image -> volume, descriptor, motion or appearance"),
    ("warper", Warper, "makes and applies a 3D deformation to a feature volume"),
    ("volume", VolumeProcessor, "processes a feature volume"),
    ("renderer", Renderer, "feature volume -> image in [0, 1]"),
    ("driver", Driver, "a modality stream -> per-frame pipeline inputs"),
    ("loss", Loss, "named scalar training term"),
    ("discriminator", Discriminator, "real/fake scores and features"),
    ("optimizer", Optimizer, "a torch optimizer and its hyper-parameters"),
    ("schedule", Schedule, "a learning-rate schedule, stepped per iteration"),
    ("dataset", Dataset, "a source of training items"),
)


@attrs.frozen
class LoadedPlugin:
    """A plugin as discovered: its pluggy name, distribution (``"name version"``) and load error."""

    name: str
    distribution: str
    error: str = ""


def make_plugin_manager(*, entry_points: bool = True, plugins: Iterable[Any] = ()) -> pluggy.PluginManager:
    """A fresh manager with the hook specs, ``plugins`` registered explicitly and, unless
    ``entry_points`` is False, every plugin of the ``emoportraits`` entry-point group.

    A plugin that fails to import is skipped with a warning (and listed by ``emoportraits plugins``);
    a hook implementation with no matching spec raises at once (``check_pending``).
    """
    pm = pluggy.PluginManager(hookspecs.PROJECT)
    pm.add_hookspecs(hookspecs)
    pm._emoportraits_loaded = []  # type: ignore[attr-defined]
    for plugin in plugins:
        pm.register(plugin)
        pm._emoportraits_loaded.append(LoadedPlugin(pm.get_name(plugin) or repr(plugin), ""))  # type: ignore[attr-defined]
    if entry_points:
        _load_entry_points(pm)
    pm.check_pending()
    if os.environ.get("EMOPORTRAITS_TRACE_HOOKS"):
        pm.add_hookcall_monitoring(
            lambda name, impls, kw: print(
                f"hook {name} -> {[i.plugin_name for i in impls]}", file=sys.stderr
            ),
            lambda outcome, name, impls, kw: None,
        )
    return pm


def _load_entry_points(pm: pluggy.PluginManager) -> None:
    for ep in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP):
        if pm.has_plugin(ep.name) or pm.is_blocked(ep.name):
            continue
        dist = f"{ep.dist.name} {ep.dist.version}" if ep.dist is not None else ""
        try:
            plugin = ep.load()
        except Exception as exc:  # a broken third-party plugin must not break the CLI
            msg = f"{type(exc).__name__}: {exc}"
            warnings.warn(
                f"emoportraits plugin '{ep.name}' ({dist}) failed to load: {msg}",
                RuntimeWarning,
                stacklevel=2,
            )
            pm._emoportraits_loaded.append(LoadedPlugin(ep.name, dist, msg))  # type: ignore[attr-defined]
            continue
        pm.register(plugin, name=ep.name)
        pm._emoportraits_loaded.append(LoadedPlugin(ep.name, dist))  # type: ignore[attr-defined]


def loaded_plugins(pm: pluggy.PluginManager) -> list[LoadedPlugin]:
    """Plugins the manager knows, with distribution and any load error."""
    return list(getattr(pm, "_emoportraits_loaded", []))


def build_registry(pm: pluggy.PluginManager) -> Registry:
    """A registry with the core kinds, then every plugin's kinds, then every plugin's components."""
    registry = Registry()
    for name, interface, description in CORE_KINDS:
        registry.register_kind(name, interface, description)
    dists = {p.name: p.distribution for p in loaded_plugins(pm)}
    for hook in (pm.hook.emoportraits_register_kinds, pm.hook.emoportraits_register):
        for impl in reversed(hook.get_hookimpls()):  # registration order
            with registry.registering(impl.plugin_name, dists.get(impl.plugin_name, "")):
                impl.function(**{arg: registry for arg in impl.argnames})
    return registry


_default: dict[str, Any] = {}


def get_plugin_manager() -> pluggy.PluginManager:
    """The process-wide manager over the installed entry points (built on first use)."""
    if "pm" not in _default:
        _default["pm"] = make_plugin_manager()
    return _default["pm"]


def get_registry(*, reload: bool = False) -> Registry:
    """The process-wide registry over the installed plugins (built on first use)."""
    if reload:
        _default.clear()
    if "registry" not in _default:
        _default["registry"] = build_registry(get_plugin_manager())
    return _default["registry"]
