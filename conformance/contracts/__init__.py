"""Contract checks per component kind.

Every module component (an ``nn.Module`` called through ``run``) gets :data:`GENERIC_CHECKS`; its
kind adds :data:`CHECKS_BY_KIND` ``[kind]``. Kinds in :data:`NON_MODULE_KINDS` (drivers, which
stream instead of being called) get only their own checks. A kind registered by a plugin gets the
generic checks, plus any it adds with :func:`register_checks`.

A check runs on a factory of fresh components::

    from emoportraits_conformance.contracts import checks_for
    make = lambda: registry.create("warper", "toy_warper")
    for check in checks_for("warper"):
        check.run(make)  # raises ContractViolation (an AssertionError) or NotApplicable

Hooks a component may define for the suite (validated by the ``conformance_hooks`` check):

- ``conformance_no_grad: ClassVar[frozenset[str]]``: parameter-name prefixes exempt from the
  ``gradients`` check (parameters that legitimately get no gradient from one forward pass); every
  entry must match a parameter name;
- ``example_inputs(batch, generator=, dtype=, device=)``: valid inputs when the specs alone cannot
  draw them (see :class:`emoportraits_core.Component`);
- warpers: ``conformance_neutralise()`` (neutralise the learned deformation in place; default: every
  parameter set to 0) and ``conformance_warp_identity: ClassVar[bool]`` (see :mod:`.warper_motion`);
- drivers: the methods ``conformance_sources(tmp_dir) -> list[Path]`` (see :mod:`.driver`) and
  ``conformance_long_source(tmp_dir, frames) -> Path`` (see :mod:`.driver_memory`); losses: the class
  attribute ``zero_on_identical``.

Behavioural checks also run on perturbed and scaled weights (:mod:`._weights`).
"""

from __future__ import annotations

from collections.abc import Iterable

from ._base import DEFAULT_MAX_EXAMPLES, Check, CheckContext, ContractViolation, NotApplicable, check
from .driver import DRIVER_CHECKS
from .driver_memory import DRIVER_MEMORY_CHECKS
from .generic_behaviour import GENERIC_BEHAVIOUR_CHECKS
from .generic_device import GENERIC_DEVICE_CHECKS
from .generic_ports import GENERIC_PORT_CHECKS
from .generic_state import GENERIC_STATE_CHECKS
from .kinds import DISCRIMINATOR_CHECKS, ENCODER_CHECKS, RENDERER_CHECKS, VOLUME_CHECKS, WARPER_CHECKS
from .loss import LOSS_CHECKS
from .warper_motion import WARPER_MOTION_CHECKS

__all__ = [
    "CHECKS_BY_KIND",
    "DEFAULT_MAX_EXAMPLES",
    "GENERIC_CHECKS",
    "NON_MODULE_KINDS",
    "Check",
    "CheckContext",
    "ContractViolation",
    "NotApplicable",
    "all_checks",
    "check",
    "checks_for",
    "register_checks",
]

#: checks for every module component, whatever its kind.
GENERIC_CHECKS: list[Check] = [
    *GENERIC_PORT_CHECKS,
    *GENERIC_BEHAVIOUR_CHECKS,
    *GENERIC_STATE_CHECKS,
    *GENERIC_DEVICE_CHECKS,
]

#: kind -> the checks that kind adds.
CHECKS_BY_KIND: dict[str, list[Check]] = {
    "encoder": list(ENCODER_CHECKS),
    "warper": [*WARPER_CHECKS, *WARPER_MOTION_CHECKS],
    "volume": list(VOLUME_CHECKS),
    "renderer": list(RENDERER_CHECKS),
    "loss": list(LOSS_CHECKS),
    "discriminator": list(DISCRIMINATOR_CHECKS),
    "driver": [*DRIVER_CHECKS, *DRIVER_MEMORY_CHECKS],
}

#: kinds whose components are not called like modules: no generic checks.
NON_MODULE_KINDS: set[str] = {"driver"}


def checks_for(kind: str) -> list[Check]:
    """The checks a component of ``kind`` must pass (generic first, then the kind's own)."""
    generic = [] if kind in NON_MODULE_KINDS else GENERIC_CHECKS
    return [*generic, *CHECKS_BY_KIND.get(kind, [])]


def register_checks(kind: str, checks: Iterable[Check], *, generic: bool = True) -> None:
    """Add ``checks`` for ``kind`` (e.g. a plugin's own kind); ``generic=False`` drops the generic
    checks for that kind (components that are not called like modules)."""
    known = {c.name for c in all_checks()}
    new = list(checks)
    for c in new:
        if c.name in known:
            raise ValueError(f"a conformance check named '{c.name}' already exists")
    CHECKS_BY_KIND.setdefault(kind, []).extend(new)
    if not generic:
        NON_MODULE_KINDS.add(kind)


def all_checks() -> list[Check]:
    """Every component check, generic and per kind, once each."""
    out = list(GENERIC_CHECKS)
    for kind in sorted(CHECKS_BY_KIND):
        out += CHECKS_BY_KIND[kind]
    return out
