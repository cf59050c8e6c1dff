"""pytest plugin of the conformance suite (entry point ``pytest11``; loaded in every pytest run).

Without its options it does nothing and imports nothing heavy. With them, it adds one test item per
check to whatever else pytest collects::

    pytest --conformance warper:my_warper --conformance-config preset=tiny
    pytest --conformance encoder:toy_encoder --conformance renderer:toy_renderer -k "not bfloat16"
    pytest --conformance-geometry              # every geometry family, on the core implementation
    pytest --conformance-geometry rotation_6d  # one family

Options:
    --conformance KIND:NAME          a registered component (repeatable).
    --conformance-config KEY=VALUE   its config, for every target (repeatable; values parsed as TOML,
                                     else strings; ``preset=tiny`` starts from a preset; ``a.b=1``
                                     sets a nested key).
    --conformance-geometry [FAMILY]  the geometry checks of FAMILY, or of all families (repeatable).
    --conformance-geometry-function [NAME=]MODULE:ATTR
                                     check this importable function in place of the core geometry
                                     function NAME (default: ATTR's last part), in every family
                                     that uses it (repeatable).
    --conformance-max-examples N     hypothesis examples per drawn property (geometry: scaled by N/10).

Items are named ``conformance[KIND:NAME]::CHECK`` and ``geometry[FAMILY]::CHECK``, so ``-k`` selects
by check, kind or component name. A check that does not concern the component is a skip with the
reason. A failure shows the check's message and contract; ``-vv`` shows the full traceback (e.g. of
an exception raised inside the component). ``emoportraits conformance`` runs exactly this in an isolated pytest session.
"""

from __future__ import annotations

import re
from typing import Any

import pytest

__all__ = ["ConformanceItem", "GroupNode"]


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("emoportraits-conformance", "emoportraits conformance suite")
    group.addoption(
        "--conformance",
        action="append",
        default=[],
        metavar="KIND:NAME",
        help="run the conformance checks of this registered component (repeatable)",
    )
    group.addoption(
        "--conformance-config",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="config of the --conformance components (repeatable; TOML values; e.g. preset=tiny)",
    )
    group.addoption(
        "--conformance-geometry",
        action="append",
        nargs="?",
        const="*",
        default=[],
        metavar="FAMILY",
        help="run the geometry checks of FAMILY (default: all families) on the core implementation",
    )
    group.addoption(
        "--conformance-geometry-function",
        action="append",
        default=[],
        metavar="[NAME=]MODULE:ATTR",
        help="check this importable function in place of the core geometry function NAME (repeatable)",
    )
    group.addoption(
        "--conformance-max-examples",
        type=int,
        default=None,
        metavar="N",
        help="hypothesis examples per drawn property of the conformance checks (default 10)",
    )


class GroupNode(pytest.Collector):
    """The items of one target (a component or a geometry family): ``specs`` is a list of
    ``(check name, runner, summary)``."""

    def __init__(self, *, specs: list[tuple[str, Any, str]], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.specs = specs

    def collect(self) -> list[pytest.Item]:
        return [
            ConformanceItem.from_parent(self, name=name, runner=runner, summary=summary)
            for name, runner, summary in self.specs
        ]


class ConformanceItem(pytest.Item):
    """One check on one target. ``runner()`` raises AssertionError on a violation."""

    def __init__(self, *, runner: Any, summary: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.runner = runner
        self.summary = summary

    def runtest(self) -> None:
        from .contracts import NotApplicable

        try:
            self.runner()
        except NotApplicable as exc:
            pytest.skip(f"not applicable: {exc}")

    def repr_failure(self, excinfo: Any, style: Any = None) -> Any:
        """The check's message and contract; with ``-vv``, pytest's full traceback instead."""
        if isinstance(excinfo.value, AssertionError) and self.config.get_verbosity() < 2:
            notes = "\n".join(getattr(excinfo.value, "__notes__", []))
            message = str(
                excinfo.value
            )  # checks name themselves: "CHECK failed on ...", "family.CHECK failed"
            named = re.match(rf"([\w.]+\.)?{re.escape(self.name)} failed", message)
            text = message if named else f"{self.name} failed: {message}"
            return "\n".join(part for part in (text, notes, f"contract: {self.summary}") if part)
        excinfo.traceback = excinfo.traceback.cut(path=__file__)  # from runtest() on, not pytest's own frames
        return super().repr_failure(excinfo, style=style)

    def reportinfo(self) -> tuple[Any, int | None, str]:
        return self.path, None, self.nodeid


def _component_groups(session: pytest.Session, targets: list[str], pairs: list[str], examples: Any) -> list:
    from emoportraits_core.errors import EmoportraitsError

    from .contracts import checks_for
    from .runner import parse_config_values, parse_target, target_factory

    groups = []
    try:
        config = parse_config_values(pairs, option="--conformance-config")
        for text in targets:
            kind, name = parse_target(text)
            make = target_factory(kind, name, config)
            specs = [
                (check.name, lambda c=check, m=make: c.run(m, max_examples=examples), check.description)
                for check in checks_for(kind)
            ]
            groups.append(_group(session, f"conformance[{kind}:{name}]", specs))
    except EmoportraitsError as exc:
        raise pytest.UsageError(f"conformance: {exc}") from None
    return groups


def _group(session: pytest.Session, name: str, specs: list[tuple[str, Any, str]]) -> GroupNode:
    return GroupNode.from_parent(session, name=name, nodeid=name, specs=specs)


def _geometry_groups(
    session: pytest.Session, families: list[str], examples: Any, functions: list[str]
) -> list:
    from emoportraits_core.errors import EmoportraitsError

    from .contracts import DEFAULT_MAX_EXAMPLES
    from .geometry import GEOMETRY_FAMILIES, examples_scale
    from .runner import geometry_overrides, validate_geometry_family

    if not families:
        if functions:
            raise pytest.UsageError("--conformance-geometry-function needs --conformance-geometry")
        return []
    scale = 1.0 if examples is None else examples / DEFAULT_MAX_EXAMPLES
    names: list[str] = []
    overrides: dict[str, dict[str, Any]] = {}
    try:
        for family in families:
            validate_geometry_family(family)
            names += list(GEOMETRY_FAMILIES) if family == "*" else [family]
        if functions:
            overrides = geometry_overrides(functions, list(dict.fromkeys(names)))
    except EmoportraitsError as exc:
        raise pytest.UsageError(f"conformance: {exc}") from None

    def runner(check: Any, impl: Any) -> None:
        with examples_scale(scale):
            check(impl)

    groups = []
    for name in dict.fromkeys(names):
        family = GEOMETRY_FAMILIES[name]
        impl = family.impl(**overrides[name]) if name in overrides else None
        specs = [(c.name, lambda c=c, i=impl: runner(c, i), c.summary) for c in family.checks]
        groups.append(_group(session, f"geometry[{name}]", specs))
    return groups


@pytest.hookimpl(tryfirst=True)  # before -k / -m deselection
def pytest_collection_modifyitems(session: pytest.Session, config: pytest.Config, items: list) -> None:
    targets = config.getoption("conformance", default=None) or []
    families = config.getoption("conformance_geometry", default=None) or []
    if not targets and not families:
        if config.getoption("conformance_config", default=None):
            raise pytest.UsageError("--conformance-config needs --conformance KIND:NAME")
        if config.getoption("conformance_geometry_function", default=None):
            raise pytest.UsageError("--conformance-geometry-function needs --conformance-geometry")
        return
    examples = config.getoption("conformance_max_examples", default=None)
    if examples is not None and examples < 1:
        raise pytest.UsageError(f"--conformance-max-examples must be at least 1, got {examples}")
    groups = _component_groups(session, targets, config.getoption("conformance_config"), examples)
    functions = config.getoption("conformance_geometry_function", default=None) or []
    groups += _geometry_groups(session, families, examples, functions)
    for group in groups:  # genitems reports the collection, so "collected N items" counts ours
        items.extend(session.genitems(group))
