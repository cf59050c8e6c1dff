"""The geometry conformance checks pass on the core and each one fails on a broken implementation."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

import emoportraits_core.geometry as core
from emoportraits_conformance.broken_geometry import BROKEN_GEOMETRY
from emoportraits_conformance.geometry import (
    GEOMETRY_FAMILIES,
    CheckResult,
    GeometryCheck,
    all_checks,
    run_geometry_checks,
)
from emoportraits_core.errors import RegistryError

CHECKS = all_checks()
BREAKS = [(broken, name) for broken in BROKEN_GEOMETRY.values() for name in broken.breaks]


@pytest.mark.parametrize("check", CHECKS, ids=lambda c: c.qualname)
def test_check_passes_on_core(check: GeometryCheck):
    check()  # None -> the core implementation


@pytest.mark.parametrize("broken, name", BREAKS, ids=[f"{b.name}-{n}" for b, n in BREAKS])
def test_check_fails_on_broken(broken, name):
    check = GEOMETRY_FAMILIES[broken.family].check(name)
    with pytest.raises(AssertionError, match=rf"^{check.qualname} failed: "):
        check(broken.impl)


def test_every_check_can_fail():
    """A check that no broken implementation fails could be a check that cannot fail."""
    covered = {(b.family, name) for b, name in BREAKS}
    missing = [c.qualname for c in CHECKS if (c.family, c.name) not in covered]
    assert not missing, f"checks without a broken counterpart in broken_geometry: {missing}"


def test_broken_implementations_are_well_formed():
    for broken in BROKEN_GEOMETRY.values():
        family = GEOMETRY_FAMILIES[broken.family]
        assert broken.breaks and broken.overrides and broken.description
        assert set(broken.overrides) <= set(family.requires)
        for name in broken.breaks:
            family.check(name)  # raises on a typo
        impl = broken.impl
        for fn in family.requires:
            expected = broken.overrides.get(fn, getattr(core, fn))
            assert getattr(impl, fn) is expected


def test_families_structure():
    assert list(GEOMETRY_FAMILIES) == ["rotation_6d", "euler", "geodesic", "affine", "warp"]
    names = set()
    for name, family in GEOMETRY_FAMILIES.items():
        assert family.name == name and family.description and family.requires and family.checks
        for fn in family.requires:
            assert getattr(family.default_impl, fn) is getattr(core, fn)
        for check in family.checks:
            assert check.family == name and check.summary and callable(check)
            assert check.qualname not in names
            names.add(check.qualname)
    assert len(names) == len(CHECKS) >= 25


def test_any_object_with_the_functions_is_an_implementation():
    GEOMETRY_FAMILIES["geodesic"].check("symmetric")(core)  # a module
    GEOMETRY_FAMILIES["geodesic"].check("geodesic.symmetric")(
        SimpleNamespace(geodesic_angle=core.geodesic_angle)
    )


def test_missing_function_is_reported():
    with pytest.raises(AssertionError, match=r"euler.round_trip: the implementation lacks matrix_to_euler"):
        GEOMETRY_FAMILIES["euler"].check("round_trip")(SimpleNamespace(euler_to_matrix=core.euler_to_matrix))


def test_failure_message_has_the_falsifying_example():
    broken = BROKEN_GEOMETRY["compose_affine_reversed"].impl
    with pytest.raises(AssertionError) as info:
        GEOMETRY_FAMILIES["affine"].check("compose_order")(broken)
    message = str(info.value)
    assert "compose_affine(a, b) . p = a . (b . p)" in message and "inner(" in message and "seed=" in message


def test_unexpected_exception_becomes_assertion_error():
    def boom(r1, r2):
        raise RuntimeError("kaboom")

    impl = GEOMETRY_FAMILIES["geodesic"].impl(geodesic_angle=boom)
    with pytest.raises(
        AssertionError, match=r"geodesic.symmetric failed: the implementation raised RuntimeError: kaboom"
    ):
        GEOMETRY_FAMILIES["geodesic"].check("symmetric")(impl)


def test_run_geometry_checks_reports_failures():
    impl = BROKEN_GEOMETRY["geodesic_product"].impl
    results = run_geometry_checks(
        "geodesic", impl, checks=["zero_on_identical", "geodesic.symmetric"], scale=0.5
    )
    assert [r.qualname for r in results] == ["geodesic.symmetric", "geodesic.zero_on_identical"]
    assert all(isinstance(r, CheckResult) for r in results)
    assert results[0].passed and results[0].message == ""
    assert not results[1].passed and "geodesic_angle(R, R) = 0" in results[1].message


def test_run_geometry_checks_errors():
    with pytest.raises(
        RegistryError, match=r"unknown geometry family 'eulr'; available: .*did you mean 'euler'"
    ):
        run_geometry_checks("eulr")
    with pytest.raises(
        RegistryError, match=r"unknown geometry check 'symetric'.*did you mean 'geodesic.symmetric'"
    ):
        run_geometry_checks("geodesic", checks=["symetric"])
    with pytest.raises(RegistryError, match="unknown check 'nope' in geometry family 'warp'"):
        GEOMETRY_FAMILIES["warp"].check("nope")
    with pytest.raises(RegistryError, match="has no function"):
        GEOMETRY_FAMILIES["warp"].impl(euler_to_matrix=core.euler_to_matrix)
