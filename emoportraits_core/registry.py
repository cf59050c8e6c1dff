"""The component registry: named factories with typed configs, grouped by kind.

Plugins fill a :class:`Registry` from their ``emoportraits_register`` hook (see
:mod:`emoportraits_core.hookspecs`); users build components with :meth:`Registry.create`::

    from emoportraits_core import get_registry
    warper = get_registry().create("warper", "emoportraits_warp_generator", preset="tiny")

Names are ``snake_case`` and unique within a kind. An unknown kind or name raises
:class:`RegistryError` listing what exists and the closest match. Old names of renamed components
keep working with a :class:`FutureWarning` and are hidden from listings.
"""

from __future__ import annotations

import contextlib
import fnmatch
import re
import warnings
from collections.abc import Callable, Iterator, Mapping
from typing import Any

import attrs

from .config import build_config
from .errors import ConfigError, RegistryError, did_you_mean

__all__ = ["ComponentEntry", "KindEntry", "Registry"]

_NAME = re.compile(r"^[a-z][a-z0-9_]*$")


@attrs.frozen
class KindEntry:
    """A component kind: its name, its interface (base class) and a one-line description."""

    name: str
    interface: type | None
    description: str = ""
    provider: str = "emoportraits_core"


@attrs.frozen
class ComponentEntry:
    """One registered component.

    Attributes:
        kind, name: where it is registered.
        factory: ``factory(config) -> component``; usually the component class.
        config_cls: frozen attrs class of its config, or None if it takes none.
        presets: preset name -> config values (e.g. ``"tiny"`` for fast tests).
        description: one line; defaults to the first line of the factory's docstring.
        module: module that defines the factory.
        plugin: pluggy name of the plugin that registered it.
        distribution: ``"name version"`` of the installed distribution that provides it, if known.
    """

    kind: str
    name: str
    factory: Callable[..., Any]
    config_cls: type | None = None
    presets: Mapping[str, Mapping[str, Any]] = attrs.field(factory=dict)
    description: str = ""
    module: str = ""
    plugin: str = ""
    distribution: str = ""

    @property
    def component_class(self) -> type | None:
        return self.factory if isinstance(self.factory, type) else None


class Registry:
    """Kinds and named component factories."""

    def __init__(self) -> None:
        self._kinds: dict[str, KindEntry] = {}
        self._entries: dict[str, dict[str, ComponentEntry]] = {}
        self._aliases: dict[str, dict[str, tuple[str, str]]] = {}
        self._current: tuple[str, str] = ("", "")

    # -- registration ---------------------------------------------------------------------------
    @contextlib.contextmanager
    def registering(self, plugin: str, distribution: str = "") -> Iterator[None]:
        """Attribute the registrations made inside the block to ``plugin`` / ``distribution``."""
        previous, self._current = self._current, (plugin, distribution)
        try:
            yield
        finally:
            self._current = previous

    def register_kind(self, name: str, interface: type | None = None, description: str = "") -> None:
        """Add a component kind (the core adds encoder, warper, volume, renderer, driver, loss,
        discriminator; a plugin may add its own)."""
        if not _NAME.match(name):
            raise RegistryError(f"kind name '{name}' must be snake_case")
        if name in self._kinds:
            if self._kinds[name].interface is interface:
                return
            raise RegistryError(f"kind '{name}' is already registered by {self._kinds[name].provider}")
        provider = self._current[0] or "emoportraits_core"
        self._kinds[name] = KindEntry(name, interface, description, provider)
        self._entries.setdefault(name, {})
        self._aliases.setdefault(name, {})

    def register(
        self,
        kind: str,
        name: str,
        factory: Callable[..., Any],
        *,
        config: type | None = None,
        presets: Mapping[str, Mapping[str, Any]] | None = None,
        description: str | None = None,
        deprecated_names: Mapping[str, str] | None = None,
    ) -> ComponentEntry:
        """Register ``factory`` as component ``name`` of ``kind``.

        Args:
            kind: an existing kind.
            name: ``snake_case`` name, unique within the kind.
            factory: ``factory(config)`` (or ``factory()`` when ``config`` is None) builds the component.
                If ``factory`` is a class and the kind has an interface, it must subclass it.
            config: frozen attrs class of the config.
            presets: named config values, e.g. ``{"release": {}, "tiny": {"channels": 8}}``.
            description: one line; default: first line of the factory's docstring.
            deprecated_names: old name -> version or note; those names still resolve, with a warning.
        """
        kind_entry = self.get_kind(kind)
        if not _NAME.match(name):
            raise RegistryError(f"{kind} name '{name}' must be snake_case (letters, digits, underscores)")
        if name in self._entries[kind]:
            other = self._entries[kind][name]
            raise RegistryError(
                f"{kind} '{name}' is already registered by plugin '{other.plugin}' ({other.module})"
            )
        if config is not None and not attrs.has(config):
            raise RegistryError(f"{kind} '{name}': config must be an attrs class, got {config!r}")
        if (
            isinstance(factory, type)
            and kind_entry.interface is not None
            and not issubclass(factory, kind_entry.interface)
        ):
            raise RegistryError(
                f"{kind} '{name}': {factory.__name__} must subclass {kind_entry.interface.__name__}"
            )
        doc = description if description is not None else (factory.__doc__ or "").strip().splitlines()[:1]
        if isinstance(doc, list):
            doc = doc[0] if doc else ""
        plugin, dist = self._current
        entry = ComponentEntry(
            kind=kind,
            name=name,
            factory=factory,
            config_cls=config,
            presets=dict(presets or {}),
            description=doc,
            module=getattr(factory, "__module__", ""),
            plugin=plugin,
            distribution=dist,
        )
        if config is not None:  # presets must be valid configs
            for preset, values in entry.presets.items():
                build_config(config, values, where=f"{kind} '{name}' preset '{preset}'")
        self._entries[kind][name] = entry
        for old, note in (deprecated_names or {}).items():
            self._aliases[kind][old] = (name, note)
        return entry

    # -- lookup -------------------------------------------------------------------------------------
    def kinds(self) -> list[KindEntry]:
        return [self._kinds[k] for k in sorted(self._kinds)]

    def has(self, kind: str, name: str) -> bool:
        return kind in self._entries and (name in self._entries[kind] or name in self._aliases[kind])

    def get(self, kind: str, name: str) -> ComponentEntry:
        """The entry of ``kind`` / ``name``; an old name warns and resolves to the new one."""
        self.get_kind(kind)
        entries = self._entries[kind]
        if name in entries:
            return entries[name]
        if name in self._aliases[kind]:
            new, note = self._aliases[kind][name]
            warnings.warn(
                f"{kind} '{name}' was renamed to '{new}' ({note}); the old name will be removed",
                FutureWarning,
                stacklevel=2,
            )
            return entries[new]
        names = sorted(entries)
        listing = ", ".join(names) if names else "(none registered)"
        raise RegistryError(f"unknown {kind} '{name}'; available: {listing}{did_you_mean(name, names)}")

    def list(self, kind: str | None = None, pattern: str = "*") -> list[ComponentEntry]:
        """Entries of ``kind`` (or all kinds) whose name matches the fnmatch ``pattern``, sorted."""
        kinds = [kind] if kind is not None else sorted(self._entries)
        if kind is not None:
            self.get_kind(kind)
        return [
            self._entries[k][n]
            for k in kinds
            for n in sorted(self._entries[k], key=_natural_key)
            if fnmatch.fnmatchcase(n, pattern)
        ]

    def make_config(
        self, kind: str, name: str, values: Mapping[str, Any] | None = None, *, where: str = ""
    ) -> Any:
        """Validate ``values`` (optionally with a ``preset`` key) into the entry's config instance."""
        entry = self.get(kind, name)
        values = dict(values or {})
        where = where or f"config of {kind} '{name}'"
        preset = values.pop("preset", None)
        if entry.config_cls is None:
            if values or preset is not None:
                raise ConfigError(
                    f"{where}: {kind} '{name}' takes no config, got keys {sorted(values) or ['preset']}"
                )
            return None
        merged: dict[str, Any] = {}
        if preset is not None:
            if preset not in entry.presets:
                names = sorted(entry.presets)
                raise ConfigError(
                    f"{where}: unknown preset '{preset}' for {kind} '{name}'; available: "
                    f"{', '.join(names) or '(none)'}{did_you_mean(str(preset), names)}"
                )
            merged.update(entry.presets[preset])
        merged.update(values)
        return build_config(entry.config_cls, merged, where=where)

    def create(self, kind: str, name: str, *, config: Any = None, **values: Any) -> Any:
        """Build component ``name`` of ``kind``.

        Args:
            kind: component kind, e.g. ``"warper"``.
            name: registered name.
            config: a ready config instance (then ``values`` must be empty).
            **values: config values; ``preset="tiny"`` starts from a named preset.

        Example:
            >>> reg.create("renderer", "emoportraits_renderer", preset="tiny")  # doctest: +SKIP
        """
        entry = self.get(kind, name)
        if config is None:
            config = self.make_config(kind, name, values)
        elif values:
            raise ConfigError(f"{kind} '{name}': pass either config= or config values, not both")
        return entry.factory(config) if entry.config_cls is not None else entry.factory()

    def get_kind(self, kind: str) -> KindEntry:
        """The kind entry; an unknown kind raises RegistryError listing the kinds."""
        if kind not in self._kinds:
            names = sorted(self._kinds)
            raise RegistryError(
                f"unknown kind '{kind}'; available kinds: {', '.join(names)}{did_you_mean(kind, names)}"
            )
        return self._kinds[kind]


def _natural_key(name: str) -> list[Any]:
    return [int(t) if t.isdigit() else t for t in re.split(r"(\d+)", name)]
