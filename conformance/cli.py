"""``emoportraits conformance``: run the conformance suite on a registered component or the geometry.

Added to the command line by :mod:`emoportraits_conformance.plugin` (the ``emoportraits_add_commands``
hook), so the core never imports the suite. Only parses and validates; the suite runs the checks
under pytest. Importing this module is cheap (no torch, pytest or hypothesis): every ``emoportraits``
command loads it; a missing pytest or hypothesis is a one-line error when the command runs.
"""

from __future__ import annotations

import argparse
import importlib
from typing import Any

from emoportraits_core.errors import ConfigError, EmoportraitsError

__all__ = ["DESCRIPTION", "EPILOG", "add_parser", "run"]

DESCRIPTION = """\
Check a registered component against the contract of its kind, or the core geometry against its
invariants. Every check is a pytest test; a failing one names the check, the component and what it
saw.

Every component is checked for: the ports, shapes, dtypes and value ranges it declares; batch
independence (item i of a batch = item i alone); determinism in eval mode; inputs left unchanged;
valid conformance_* hooks (e.g. every conformance_no_grad entry names real parameters); parameters
and buffers left unchanged by an eval-mode call; a state-dict round trip through safetensors into a
fresh instance, compared on inputs the copy sees first; gradients reaching every trainable
parameter; finite outputs on extreme inputs (black/white images, large volumes, extreme motions);
float64, bfloat16 and device moves (meta always, CUDA where available). Determinism, batch
independence and finiteness also run on perturbed weights, ranges also on scaled (saturating)
weights. Each kind adds its own: encoder ports and proper rotations (det +1) from motion encoders;
warper grids, and what a motion does to a blob (identity, translation axes, one sense for
translations and rotations) even without deformation(); renderer images in [0, 1]; loss scalars,
finite gradients at pred = target, 0 (not NaN) on identical inputs; discriminator outputs; drivers
that stream one item per frame, the same values for any batch size, in bounded memory.
"""

EPILOG = """\
examples:
  emoportraits conformance --list                          every check, per kind
  emoportraits conformance warper toy_warper               all warper checks on one component
  emoportraits conformance renderer my_renderer --preset tiny --set channels=8
  emoportraits conformance encoder my_encoder -k "not bfloat16" -v
  emoportraits conformance geometry                        every geometry family
  emoportraits conformance geometry rotation_6d            one family
  emoportraits conformance geometry warp --function warp_volume=my_pkg.geometry:my_warp_volume
                                                           the warp checks on your warp_volume

--function [NAME=]MODULE:ATTR replaces the core geometry function NAME (default: ATTR's last
part) by an importable function, in every family that uses it (repeatable).

The same checks run inside pytest with `pytest --conformance KIND:NAME`, or in a plugin's tests
with `test_x = emoportraits_conformance.conformance_tests("warper", "my_warper", preset="tiny")`.
Exit status: 0 all checks passed (or were not applicable), 1 a check failed or none ran, 2 bad
arguments (unknown kind, name, config key, family or function; pytest or hypothesis missing).
"""

#: what the suite imports to run, and the requirement to install if one is missing.
SUITE_DEPENDENCIES = {"pytest": "pytest>=8", "hypothesis": "hypothesis>=6.100"}


def add_parser(sub: argparse._SubParsersAction) -> None:
    """Add the ``conformance`` sub-command to ``sub``."""
    p = sub.add_parser(
        "conformance",
        help="check a registered component (or the geometry) against its contract",
        description=DESCRIPTION,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument(
        "kind", nargs="?", metavar="KIND", help="component kind (encoder, warper, ...) or 'geometry'"
    )
    p.add_argument(
        "name", nargs="?", metavar="NAME", help="registered name; for geometry, a family (default: all)"
    )
    p.add_argument(
        "--set",
        dest="set_values",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="a config value of the component (TOML value, else a string; repeatable)",
    )
    p.add_argument("--preset", help="start the config from this preset (e.g. tiny)")
    p.add_argument(
        "--function",
        dest="functions",
        action="append",
        default=[],
        metavar="[NAME=]MODULE:ATTR",
        help="geometry only: check this importable function in place of the core's NAME (repeatable)",
    )
    p.add_argument(
        "-k", dest="keyword", metavar="EXPR", help="only checks matching this pytest -k expression"
    )
    p.add_argument(
        "--max-examples", type=int, metavar="N", help="hypothesis examples per drawn property (default 10)"
    )
    p.add_argument("-x", "--exitfirst", action="store_true", help="stop at the first failing check")
    p.add_argument("-q", "--quiet", action="count", default=0, help="less output (repeatable)")
    p.add_argument("-v", "--verbose", action="count", default=0, help="one line per check (repeatable)")
    p.add_argument(
        "--list", action="store_true", help="list the checks of every kind and geometry family, then exit"
    )
    p.set_defaults(func=run)


def _suite_runner() -> Any:
    """The suite's runner, after checking that pytest and hypothesis import (one-line error if not)."""
    for module, requirement in SUITE_DEPENDENCIES.items():
        try:
            importlib.import_module(module)
        except ImportError as exc:
            wanted = " ".join(f"'{r}'" for r in SUITE_DEPENDENCIES.values())
            raise EmoportraitsError(
                f"the conformance suite needs {requirement} ({exc}); install it: pip install {wanted}"
            ) from None
    from . import runner

    return runner


def run(args: argparse.Namespace) -> int:
    """Run the command; returns the exit status (EmoportraitsError for bad arguments)."""
    suite = _suite_runner()
    if args.list:
        from emoportraits_core.plugin_manager import get_registry

        print(suite.describe_checks(k.name for k in get_registry().kinds()))
        return 0
    if args.kind is None:
        raise ConfigError("conformance: give KIND NAME, 'geometry [FAMILY]' or --list (see -h)")
    if args.max_examples is not None and args.max_examples < 1:
        raise ConfigError(f"conformance: --max-examples must be at least 1, got {args.max_examples}")
    common = {
        "keyword": args.keyword,
        "verbosity": args.verbose - args.quiet,
        "max_examples": args.max_examples,
        "extra_args": ["-x"] if args.exitfirst else [],
    }
    if args.kind == "geometry":
        if args.set_values or args.preset:
            raise ConfigError("conformance geometry: --set and --preset apply to components only")
        return suite.run_conformance(geometry=args.name or "*", functions=args.functions, **common)
    if args.functions:
        raise ConfigError("conformance: --function applies to 'geometry' only")
    if args.name is None:
        raise ConfigError(
            f"conformance: give the name of the {args.kind} to check (see `emoportraits plugins`)"
        )
    config = suite.parse_config_values(args.set_values)
    if args.preset is not None:
        config["preset"] = args.preset
    return suite.run_conformance(args.kind, args.name, config, **common)
