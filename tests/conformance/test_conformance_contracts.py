"""The component contract checks: they pass on the toy plugin's components, each fails on a
deliberately broken component, and no check (component or geometry) is left that cannot fail."""

from __future__ import annotations

import contextlib
from typing import ClassVar

import pytest

from emoportraits_conformance import conformance_tests
from emoportraits_conformance.broken_components import BROKEN_COMPONENTS, UnusedParameterVolume
from emoportraits_conformance.contracts import (
    CHECKS_BY_KIND,
    GENERIC_CHECKS,
    NON_MODULE_KINDS,
    Check,
    ContractViolation,
    NotApplicable,
    all_checks,
    checks_for,
    register_checks,
)
from emoportraits_conformance.geometry import GEOMETRY_FAMILIES

EXAMPLES = 2

TOY_COMPONENTS = [
    ("encoder", "toy_encoder"),
    ("encoder", "toy_motion_encoder"),
    ("volume", "toy_volume"),
    ("warper", "toy_warper"),
    ("renderer", "toy_renderer"),
    ("loss", "toy_feature_l1"),
    ("driver", "toy_motion_file"),
]


def _cases(targets):
    return [
        pytest.param(kind, name, check, id=f"{name}-{check.name}")
        for kind, name in targets
        for check in checks_for(kind)
    ]


@pytest.mark.parametrize(("kind", "name", "check"), _cases(TOY_COMPONENTS))
def test_toy_components_conform(toy_registry, kind, name, check):
    with contextlib.suppress(NotApplicable):  # e.g. output_range on a port without a declared range
        check.run(lambda: toy_registry.create(kind, name), max_examples=EXAMPLES)


@pytest.mark.parametrize(
    ("cls", "check_name"),
    [
        pytest.param(cls, name, id=f"{cls.__name__}-{name}")
        for cls in BROKEN_COMPONENTS
        for name in cls.breaks
    ],
)
def test_broken_component_fails_its_check(cls, check_name):
    (check,) = [c for c in checks_for(cls.kind) if c.name == check_name]
    with pytest.raises(AssertionError) as info:
        check.run(cls, max_examples=EXAMPLES)
    assert str(info.value).strip(), "a failing check must say what it saw"


def test_every_component_check_has_a_broken_component():
    broken = {name for cls in BROKEN_COMPONENTS for name in cls.breaks}
    names = [c.name for c in all_checks()]
    assert len(names) == len(set(names)), "check names must be unique"
    assert set(names) - broken == set(), "checks that no broken component makes fail"
    assert broken - set(names) == set(), "broken components name checks that do not exist"


def test_every_geometry_check_fails_on_a_broken_implementation():
    from emoportraits_conformance.broken_geometry import BROKEN_GEOMETRY

    for family in GEOMETRY_FAMILIES.values():
        for check in family.checks:
            breakers = [
                b for b in BROKEN_GEOMETRY.values() if b.family == family.name and check.name in b.breaks
            ]
            assert breakers, f"no broken implementation makes {check.qualname} fail"
            with pytest.raises(AssertionError):
                check(breakers[0].impl)


def test_check_catalogue():
    assert [c.kind for c in GENERIC_CHECKS] == ["*"] * len(GENERIC_CHECKS)
    for kind, checks in CHECKS_BY_KIND.items():
        assert all(c.kind == kind and c.description for c in checks)
    assert checks_for("driver") == CHECKS_BY_KIND["driver"]  # drivers are not called like modules
    assert checks_for("a_plugin_kind") == GENERIC_CHECKS  # an open set of kinds: generic checks
    assert "driver" in NON_MODULE_KINDS


def test_register_checks_for_a_plugin_kind(monkeypatch):
    monkeypatch.setattr("emoportraits_conformance.contracts.CHECKS_BY_KIND", dict(CHECKS_BY_KIND))
    monkeypatch.setattr("emoportraits_conformance.contracts.NON_MODULE_KINDS", set(NON_MODULE_KINDS))

    def always_fine(ctx):
        """Nothing to see."""

    register_checks("blender", [Check("blender_fine", always_fine, "blender")], generic=False)
    assert [c.name for c in checks_for("blender")] == ["blender_fine"]
    with pytest.raises(ValueError, match="already exists"):
        register_checks("other", [Check("determinism", always_fine, "other")])


def test_no_grad_exemption_is_honoured():
    class Exempt(UnusedParameterVolume):
        conformance_no_grad: ClassVar[frozenset[str]] = frozenset({"unused."})

    (gradients,) = [c for c in GENERIC_CHECKS if c.name == "gradients"]
    with pytest.raises(ContractViolation, match=r"no gradient: unused\.weight, unused\.bias"):
        gradients.run(UnusedParameterVolume)
    gradients.run(Exempt)


def test_checks_restore_the_global_rng():
    import torch

    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    (determinism,) = [c for c in GENERIC_CHECKS if c.name == "determinism"]
    determinism.run(BROKEN_COMPONENTS[0])
    assert torch.equal(torch.rand(3), expected)


# The helper a third-party plugin author uses in their own tests (here with the toy plugin's
# registry fixture, the way a plugin registers itself explicitly in its tests).
test_toy_renderer_through_the_helper = conformance_tests(
    "renderer", "toy_renderer", registry="toy_registry", max_examples=EXAMPLES, image_size=16
)
