"""Programmatic entry of the conformance suite: validate a target, then run pytest on it.

    >>> from emoportraits_conformance.runner import run_conformance
    >>> run_conformance("warper", "toy_warper", {"preset": "tiny"}, keyword="not bfloat16")  # doctest: +SKIP
    0

The run is isolated from the current directory's pytest configuration and tests: pytest starts in
a scratch directory with an empty ``pytest.ini``, so only the conformance items are collected.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import os
import sys
import tempfile
import tomllib
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from emoportraits_core.errors import ConfigError, RegistryError, did_you_mean

__all__ = [
    "EXIT_NO_CHECKS",
    "describe_checks",
    "geometry_overrides",
    "parse_config_values",
    "parse_target",
    "pytest_args",
    "resolve_function",
    "run_conformance",
    "target_factory",
    "validate_geometry_family",
]

PLUGIN_MODULE = "emoportraits_conformance.pytest_plugin"
#: exit status when no check ran (pytest's 5, "no tests collected", is turned into this).
EXIT_NO_CHECKS = 1


def parse_value(raw: str) -> Any:
    """A TOML value (``8``, ``0.5``, ``true``, ``[1, 2]``, ``"x"``), else the raw string."""
    try:
        return tomllib.loads(f"v = {raw}")["v"]
    except tomllib.TOMLDecodeError:
        return raw


def parse_config_values(pairs: Iterable[str], *, option: str = "--set") -> dict[str, Any]:
    """``["channels=8", "preset=tiny", "enc.depth=2"]`` -> ``{"channels": 8, "preset": "tiny",
    "enc": {"depth": 2}}`` (values parsed as TOML, else kept as strings)."""
    out: dict[str, Any] = {}
    for pair in pairs:
        key, sep, raw = pair.partition("=")
        if not sep or not key.strip():
            raise ConfigError(f"{option} expects KEY=VALUE, got '{pair}'")
        *parents, leaf = key.strip().split(".")
        node = out
        for part in parents:
            node = node.setdefault(part, {})
            if not isinstance(node, dict):
                raise ConfigError(f"{option} '{pair}': '{part}' is set both as a value and as a table")
        node[leaf] = parse_value(raw.strip())
    return out


def parse_target(text: str) -> tuple[str, str]:
    """``"warper:toy_warper"`` -> ``("warper", "toy_warper")``."""
    kind, sep, name = text.partition(":")
    if not sep or not kind or not name:
        raise ConfigError(f"--conformance expects KIND:NAME (e.g. warper:toy_warper), got '{text}'")
    return kind, name


def target_factory(
    kind: str, name: str, config: Mapping[str, Any] | None = None, registry: Any = None
) -> Any:
    """Validate ``kind`` / ``name`` / ``config`` against the registry (RegistryError or ConfigError, one
    line) and return ``make() -> fresh component``."""
    if registry is None:
        from emoportraits_core import get_registry

        registry = get_registry()
    registry.get(kind, name)
    built = registry.make_config(kind, name, dict(config or {}))

    def make() -> Any:
        return registry.create(kind, name) if built is None else registry.create(kind, name, config=built)

    make.conformance_label = f"{kind} '{name}'"  # type: ignore[attr-defined]  # names it in messages
    return make


def validate_geometry_family(family: str | None) -> None:
    """Raise RegistryError unless ``family`` is None, ``"*"`` or a geometry family."""
    from .geometry import GEOMETRY_FAMILIES

    if family not in (None, "*") and family not in GEOMETRY_FAMILIES:
        names = list(GEOMETRY_FAMILIES)
        raise RegistryError(
            f"unknown geometry family '{family}'; available: {', '.join(names)}{did_you_mean(family, names)}"
        )


def resolve_function(spec: str) -> tuple[str, Callable[..., Any]]:
    """``"[NAME=]MODULE:ATTR"`` -> ``(NAME, the imported callable)``; NAME defaults to ATTR's last
    dotted part. Raises ConfigError (one line) for a malformed spec, an import error, a missing
    attribute or a non-callable."""
    name, sep, target = spec.partition("=")
    if not sep:
        name, target = "", spec
    module_name, colon, attr = target.strip().partition(":")
    if not colon or not module_name or not attr:
        raise ConfigError(
            f"--function expects [NAME=]MODULE:ATTR (e.g. warp_volume=my_pkg.geometry:my_warp), got '{spec}'"
        )
    try:
        obj: Any = importlib.import_module(module_name)
    except Exception as exc:  # ImportError, or the module itself failing
        raise ConfigError(
            f"--function '{spec}': cannot import '{module_name}' ({type(exc).__name__}: {exc})"
        ) from None
    for i, part in enumerate(attr.split(".")):
        if not hasattr(obj, part):
            where = ".".join([module_name, *attr.split(".")[:i]])
            choices = [a for a in dir(obj) if not a.startswith("_")]
            raise ConfigError(
                f"--function '{spec}': '{where}' has no attribute '{part}'{did_you_mean(part, choices)}"
            )
        obj = getattr(obj, part)
    if not callable(obj):
        raise ConfigError(f"--function '{spec}': '{target}' is a {type(obj).__name__}, not a function")
    return name.strip() or attr.split(".")[-1], obj


def geometry_overrides(
    specs: Sequence[str], families: str | Sequence[str] | None = None
) -> dict[str, dict[str, Callable[..., Any]]]:
    """``--function`` specs -> ``{family: {function name: callable}}`` over ``families`` (a family, a
    list of them, or None / ``"*"`` for all); a function that none of them requires is a ConfigError."""
    from .geometry import GEOMETRY_FAMILIES

    if families is None or families == "*":
        families = list(GEOMETRY_FAMILIES)
    elif isinstance(families, str):
        validate_geometry_family(families)
        families = [families]
    functions = dict(resolve_function(spec) for spec in specs)
    out: dict[str, dict[str, Callable[..., Any]]] = {}
    for name, fn in functions.items():
        users = [f for f in families if name in GEOMETRY_FAMILIES[f].requires]
        if not users:
            known = sorted({r for f in families for r in GEOMETRY_FAMILIES[f].requires})
            where = f"geometry family '{families[0]}'" if len(families) == 1 else "the geometry families run"
            raise ConfigError(
                f"--function: no function '{name}' in {where}; replaceable: {', '.join(known)}"
                f"{did_you_mean(name, known)}"
            )
        for f in users:
            out.setdefault(f, {})[name] = fn
    return out


def _plugin_args() -> list[str]:
    """``-p <plugin>`` unless pytest will load it from its ``pytest11`` entry point anyway (loading it
    twice under two names is an error)."""
    autoload = not os.environ.get("PYTEST_DISABLE_PLUGIN_AUTOLOAD")
    installed = any(ep.value == PLUGIN_MODULE for ep in importlib.metadata.entry_points(group="pytest11"))
    return [] if autoload and installed else ["-p", PLUGIN_MODULE]


def pytest_args(
    root: Path,
    *,
    targets: Sequence[tuple[str, str]] = (),
    config: Mapping[str, Any] | Sequence[str] = (),
    geometry: Sequence[str] = (),
    functions: Sequence[str] = (),
    keyword: str | None = None,
    verbosity: int = 0,
    max_examples: int | None = None,
    extra: Sequence[str] = (),
) -> list[str]:
    """The pytest command line for a run rooted at the (empty) directory ``root``."""
    ini = root / "pytest.ini"
    if not ini.exists():
        ini.write_text("[pytest]\n")
    # rootdir = the current directory only so that items print as "conformance[KIND:NAME]::check";
    # the ini file in root keeps the current directory's pytest config and conftest files out.
    args = [*_plugin_args(), "-c", str(ini), "--rootdir", str(Path.cwd()), "-p", "no:cacheprovider"]
    args += ["-W", "ignore::pytest.PytestAssertRewriteWarning", str(root)]
    args += [f"--conformance={kind}:{name}" for kind, name in targets]
    pairs = config if not isinstance(config, Mapping) else _flatten(config)
    args += [f"--conformance-config={pair}" for pair in pairs]
    args += [f"--conformance-geometry={family}" for family in geometry]
    args += [f"--conformance-geometry-function={spec}" for spec in functions]
    if keyword:
        args += ["-k", keyword]
    if max_examples is not None:
        args.append(f"--conformance-max-examples={max_examples}")
    if verbosity:
        args.append("-" + ("v" * verbosity if verbosity > 0 else "q" * -verbosity))
    return [*args, *extra]


def _flatten(config: Mapping[str, Any], prefix: str = "") -> list[str]:
    out = []
    for key, value in config.items():
        if isinstance(value, Mapping):
            out += _flatten(value, f"{prefix}{key}.")
        else:
            out.append(f"{prefix}{key}={_toml(value)}")
    return out


def _toml(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return value if parse_value(value) == value else f'"{value}"'
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_toml(v) if not isinstance(v, str) else f'"{v}"' for v in value) + "]"
    return repr(value)


def run_conformance(
    kind: str | None = None,
    name: str | None = None,
    config: Mapping[str, Any] | None = None,
    *,
    geometry: str | None = None,
    functions: Sequence[str] = (),
    keyword: str | None = None,
    verbosity: int = 0,
    max_examples: int | None = None,
    extra_args: Sequence[str] = (),
) -> int:
    """Run the checks of component ``kind`` / ``name`` (built with ``config``, which may hold a
    ``preset``), or of a ``geometry`` family (``"*"``: all), under pytest; return its exit status.
    ``functions`` (``"[NAME=]MODULE:ATTR"``) replace core geometry functions in the geometry checks.

    The target is validated first: an unknown kind, name, config key or family raises
    :class:`~emoportraits_core.errors.EmoportraitsError` before pytest starts. If no check runs
    (e.g. ``keyword`` matched none), a message is printed and :data:`EXIT_NO_CHECKS` returned.
    """
    import pytest

    targets = []
    if kind is not None:
        if name is None:
            raise ConfigError(f"conformance: give the name of the {kind} to check")
        target_factory(kind, name, config)
        targets.append((kind, name))
    if geometry is not None:
        validate_geometry_family(geometry)
        geometry_overrides(functions, geometry)  # a bad function path fails here, in one line
    elif functions:
        raise ConfigError("--function applies to the geometry checks only")
    with tempfile.TemporaryDirectory(prefix="emoportraits-conformance-") as tmp:
        args = pytest_args(
            Path(tmp),
            targets=targets,
            config=config or {},
            geometry=[geometry] if geometry is not None else [],
            functions=functions,
            keyword=keyword,
            verbosity=verbosity,
            max_examples=max_examples,
            extra=extra_args,
        )
        code = int(pytest.main(args))
    if code == int(pytest.ExitCode.NO_TESTS_COLLECTED):
        what = f" matching -k '{keyword}'" if keyword else ""
        print(
            f"error: no conformance check ran{what}; see `emoportraits conformance --list`", file=sys.stderr
        )
        return EXIT_NO_CHECKS
    return code


def describe_checks(kinds: Iterable[str] = ()) -> str:
    """The checks per kind (and the geometry families), one per line, for ``--list``."""
    from .contracts import CHECKS_BY_KIND, GENERIC_CHECKS, NON_MODULE_KINDS

    lines = [f"generic (every component kind except {', '.join(sorted(NON_MODULE_KINDS))}):"]
    lines += [f"  {c.name:<30} {c.description}" for c in GENERIC_CHECKS]
    for kind in sorted(set(CHECKS_BY_KIND) | set(kinds)):
        extra = " (its own checks only)" if kind in NON_MODULE_KINDS else " (generic checks, plus:)"
        lines.append(f"{kind}{extra}:")
        lines += [f"  {c.name:<30} {c.description}" for c in CHECKS_BY_KIND.get(kind, [])] or ["  (none)"]
    try:
        from .geometry import GEOMETRY_FAMILIES
    except ImportError as exc:  # pragma: no cover - geometry checks missing in a broken install
        lines.append(f"geometry: unavailable ({exc})")
        return "\n".join(lines)
    lines.append("geometry families (emoportraits conformance geometry [FAMILY]):")
    for family in GEOMETRY_FAMILIES.values():
        lines.append(f"  {family.name}: {family.description}")
        lines += [f"    {c.name:<28} {c.summary}" for c in family.checks]
    return "\n".join(lines)
