"""emoportraits_conformance: the conformance suite, importable and a pytest plugin.

What it checks (``emoportraits conformance --list`` prints every check):

- components, per kind (:mod:`.contracts`): declared ports, shapes, dtypes and ranges; batch
  independence; determinism; no input mutation; valid ``conformance_*`` hooks (opt-outs checked
  against the real parameter names); parameters and buffers unchanged by an eval-mode call;
  state-dict round trip through safetensors, compared on inputs the copy sees first; gradients to
  every trainable parameter; finite outputs on extreme inputs; float64, bfloat16 and device moves
  (meta always, CUDA where available); determinism, batch independence and finiteness also on
  perturbed weights, ranges also on scaled (saturating) weights; and what each kind adds (encoder
  ports and proper rotations from motion encoders; warper grids and, through ``run()`` alone, the
  identity motion, translation axes and one sense for translations and rotations; renderer images
  in [0, 1]; loss scalars, finite gradients at pred = target, 0 and not NaN on identical inputs;
  discriminator outputs; driver streams, in bounded memory);
- geometry (:mod:`.geometry`): property-based invariants of the core geometry functions, or of
  your own (``--function NAME=MODULE:ATTR`` on the command line).

Every check is shown to fail on a deliberately broken implementation
(:mod:`.broken_components`, :mod:`.broken_geometry`).

Three ways to run it:

1. The command line, isolated from your project's tests::

       emoportraits conformance warper my_warper --preset tiny
       emoportraits conformance geometry rotation_6d
       emoportraits conformance geometry warp --function warp_volume=my_pkg.geometry:my_warp

   (the command comes from this package's ``emoportraits`` plugin, :mod:`.plugin`)

2. pytest options (see :mod:`.pytest_plugin`), next to your own tests::

       pytest --conformance warper:my_warper --conformance-config preset=tiny

3. In a plugin's own test module, one parametrized test per check::

       from emoportraits_conformance import conformance_tests

       test_my_warper = conformance_tests("warper", "my_warper", preset="tiny")

   ``registry=`` may be a :class:`~emoportraits_core.Registry`, the name of a pytest fixture that
   returns one (e.g. a fresh registry with your plugin registered explicitly), or None for the
   installed plugins. ``max_examples=`` sets the hypothesis examples per drawn property.

This module imports its parts lazily: the pytest plugin is loaded by every pytest run.
"""

from __future__ import annotations

import importlib
from typing import Any

__all__ = [
    "CHECKS_BY_KIND",
    "GENERIC_CHECKS",
    "Check",
    "ContractViolation",
    "NotApplicable",
    "checks_for",
    "conformance_tests",
    "register_checks",
    "run_conformance",
]

_LAZY = {
    "CHECKS_BY_KIND": "contracts",
    "GENERIC_CHECKS": "contracts",
    "Check": "contracts",
    "ContractViolation": "contracts",
    "NotApplicable": "contracts",
    "checks_for": "contracts",
    "register_checks": "contracts",
    "conformance_tests": "helpers",
    "run_conformance": "runner",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(f".{_LAZY[name]}", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
