"""``conformance_tests``: the conformance checks of one component as a parametrized pytest test."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

__all__ = ["conformance_tests"]


def conformance_tests(
    kind: str,
    name: str,
    *,
    registry: Any = None,
    max_examples: int | None = None,
    checks: Sequence[str] | None = None,
    **config: Any,
) -> Callable[..., None]:
    """A pytest test function parametrized over the checks of ``kind``, run on component ``name``.

    Args:
        kind, name: the registered component.
        registry: a Registry, the name of a pytest fixture returning one, or None (the registry of
            the installed plugins, built when the test runs).
        max_examples: hypothesis examples per drawn property (default 10).
        checks: only these check names (default: all of the kind's checks).
        **config: the component's config values, e.g. ``preset="tiny"``.

    Example (in a plugin's tests)::

        test_my_warper = conformance_tests("warper", "my_warper", preset="tiny")
    """
    import pytest

    from .contracts import NotApplicable, checks_for
    from .runner import target_factory

    selected = checks_for(kind)
    if checks is not None:
        unknown = set(checks) - {c.name for c in selected}
        if unknown:
            raise ValueError(
                f"no {kind} checks named {sorted(unknown)}; available: {[c.name for c in selected]}"
            )
        selected = [c for c in selected if c.name in checks]

    @pytest.mark.parametrize("conformance_check", selected, ids=[c.name for c in selected])
    def test_conformance(conformance_check: Any, request: Any) -> None:
        reg = request.getfixturevalue(registry) if isinstance(registry, str) else registry
        make = target_factory(kind, name, config, reg)
        try:
            conformance_check.run(make, max_examples=max_examples)
        except NotApplicable as exc:
            pytest.skip(f"not applicable: {exc}")

    test_conformance.__doc__ = f"Conformance of {kind} '{name}' (config {config or 'default'})."
    return test_conformance
