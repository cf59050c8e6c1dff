"""Property-based geometry checks, usable on ANY implementation of the core geometry functions.

Each check is a callable ``check(impl) -> None`` that raises ``AssertionError`` (naming the check,
what differed, and hypothesis's falsifying example) when ``impl`` violates the property. ``impl`` is
any object with the family's functions as attributes (a module, a ``SimpleNamespace``, a class);
None means the core implementation, :mod:`emoportraits_core.geometry`. Inputs are drawn by
hypothesis, deterministically (``derandomize``), in float32 and float64, with tolerances from
:mod:`emoportraits_conformance.tolerances`.

    >>> from emoportraits_conformance.geometry import GEOMETRY_FAMILIES, run_geometry_checks
    >>> fam = GEOMETRY_FAMILIES["rotation_6d"]
    >>> fam.requires
    ('rotation_6d_to_matrix', 'matrix_to_rotation_6d')
    >>> fam.check("orthonormal")(fam.default_impl)  # passes: returns None
    >>> mine = fam.impl(rotation_6d_to_matrix=my_gram_schmidt)  # doctest: +SKIP
    >>> [r for r in run_geometry_checks("rotation_6d", mine) if not r.passed]  # doctest: +SKIP

Every check is shown to be able to fail by :mod:`emoportraits_conformance.broken_geometry`.
"""

from __future__ import annotations

import time
from types import SimpleNamespace
from typing import Any

import attrs

from emoportraits_core.errors import RegistryError, did_you_mean

from . import affine, euler, geodesic, rotation_6d, warp
from ._common import REGISTRY, GeometryCheck, examples_scale

__all__ = [
    "GEOMETRY_FAMILIES",
    "CheckResult",
    "GeometryCheck",
    "GeometryFamily",
    "all_checks",
    "examples_scale",
    "run_geometry_checks",
]


@attrs.frozen
class GeometryFamily:
    """A family of geometry functions and the checks of its contract.

    Attributes:
        name: ``rotation_6d``, ``euler``, ``geodesic``, ``affine`` or ``warp``.
        description: one line.
        requires: names of the functions an implementation must provide.
        checks: the family's checks, in a stable order.
    """

    name: str
    description: str
    requires: tuple[str, ...]
    checks: tuple[GeometryCheck, ...]

    @property
    def default_impl(self) -> SimpleNamespace:
        """The core implementation: a namespace of the required functions of ``emoportraits_core.geometry``."""
        return self.impl()

    def impl(self, base: Any = None, **overrides: Any) -> SimpleNamespace:
        """A namespace of the required functions taken from ``base`` (default: the core), with
        ``overrides`` replacing some of them (e.g. ``impl(warp_volume=my_warp)``)."""
        from emoportraits_core import geometry

        base = geometry if base is None else base
        unknown = set(overrides) - set(self.requires)
        if unknown:
            raise RegistryError(
                f"geometry family '{self.name}' has no function {sorted(unknown)}; it requires {list(self.requires)}"
            )
        fns = {name: getattr(base, name, None) for name in self.requires}
        return SimpleNamespace(**{**fns, **overrides})

    def check(self, name: str) -> GeometryCheck:
        """The check called ``name`` (with or without the ``family.`` prefix)."""
        name = name.removeprefix(f"{self.name}.")
        for c in self.checks:
            if c.name == name:
                return c
        names = [c.name for c in self.checks]
        raise RegistryError(
            f"unknown check '{name}' in geometry family '{self.name}'; available: {', '.join(names)}"
            f"{did_you_mean(name, names)}"
        )


@attrs.frozen
class CheckResult:
    """Outcome of one check: ``passed``, and the AssertionError's message when it failed."""

    family: str
    name: str
    passed: bool
    message: str = ""
    seconds: float = 0.0

    @property
    def qualname(self) -> str:
        return f"{self.family}.{self.name}"


def _family(module: Any) -> GeometryFamily:
    checks = tuple(c for c in REGISTRY if c.family == module.FAMILY)
    return GeometryFamily(module.FAMILY, module.DESCRIPTION, module.REQUIRES, checks)


#: family name -> family, in the order a report lists them.
GEOMETRY_FAMILIES: dict[str, GeometryFamily] = {
    f.name: f for f in map(_family, (rotation_6d, euler, geodesic, affine, warp))
}


def all_checks() -> list[GeometryCheck]:
    """Every geometry check of every family."""
    return [c for f in GEOMETRY_FAMILIES.values() for c in f.checks]


def run_geometry_checks(
    family: str | None = None, impl: Any = None, *, checks: list[str] | None = None, scale: float = 1.0
) -> list[CheckResult]:
    """Run the checks of ``family`` (all families when None) on ``impl`` (None: the core).

    Args:
        family: a key of :data:`GEOMETRY_FAMILIES`, or None for all.
        impl: an object with the required functions of the families run (build one that replaces
            only some core functions with :meth:`GeometryFamily.impl`).
        checks: only these check names (``name`` or ``family.name``).
        scale: multiply every check's number of hypothesis examples (e.g. 10 for a nightly run).

    Returns:
        One :class:`CheckResult` per check, in order; failures do not stop the run.

    Raises:
        RegistryError: unknown family or check name (the message lists the valid ones).
    """
    if family is not None and family not in GEOMETRY_FAMILIES:
        names = list(GEOMETRY_FAMILIES)
        raise RegistryError(
            f"unknown geometry family '{family}'; available: {', '.join(names)}{did_you_mean(family, names)}"
        )
    families = [GEOMETRY_FAMILIES[family]] if family else list(GEOMETRY_FAMILIES.values())
    selected = [c for f in families for c in f.checks]
    if checks is not None:
        known = {c.name for c in selected} | {c.qualname for c in selected}
        for name in checks:
            if name not in known:
                _unknown_check(name, [c.qualname for c in selected])
        selected = [c for c in selected if c.name in checks or c.qualname in checks]
    results = []
    with examples_scale(scale):
        for c in selected:
            start = time.perf_counter()
            try:
                c(impl)
            except AssertionError as err:
                results.append(CheckResult(c.family, c.name, False, str(err), time.perf_counter() - start))
            else:
                results.append(CheckResult(c.family, c.name, True, "", time.perf_counter() - start))
    return results


def _unknown_check(name: str, names: list[str]) -> None:
    raise RegistryError(
        f"unknown geometry check '{name}'; available: {', '.join(names)}{did_you_mean(name, names)}"
    )
