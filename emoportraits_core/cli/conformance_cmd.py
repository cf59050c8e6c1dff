"""``emoportraits conformance``: run the conformance suite on a registered component or the geometry.

Only parses and validates; the suite (``emoportraits_conformance``, shipped in the same distribution)
runs the checks under pytest. The suite is imported lazily, when the command runs, so that the core
has no import-time dependency on it; a missing suite is a one-line error.
"""

from __future__ import annotations

import argparse
from typing import Any

from ..errors import ConfigError, EmoportraitsError

__all__ = ["add_parser", "run"]

DESCRIPTION = """\
Check a registered component against the contract of its kind, or the core geometry against its
invariants. Every check is a pytest test; a failing one names the check and what it saw.

Every component is checked for: the ports, shapes, dtypes and value ranges it declares; batch
independence (item i of a batch = item i alone); determinism in eval mode; inputs left unchanged;
a state-dict round trip through safetensors into a fresh instance; gradients reaching every
trainable parameter; finite outputs on extreme inputs (black/white images, large volumes, extreme
motions); float64 and bfloat16 moves. Each kind adds its own (encoder ports, warper grids, renderer
images in [0, 1], loss scalars that are 0 on identical inputs, discriminator outputs, drivers that
stream one item per frame and the same values whatever the batch size).
"""

EPILOG = """\
examples:
  emoportraits conformance --list                          every check, per kind
  emoportraits conformance warper toy_warper               all warper checks on one component
  emoportraits conformance renderer my_renderer --preset tiny --set channels=8
  emoportraits conformance encoder my_encoder -k "not bfloat16" -v
  emoportraits conformance geometry                        every geometry family
  emoportraits conformance geometry rotation_6d            one family

The same checks run inside pytest with `pytest --conformance KIND:NAME`, or in a plugin's tests
with `test_x = emoportraits_conformance.conformance_tests("warper", "my_warper", preset="tiny")`.
Exit status: 0 all checks passed (or were not applicable), 1 a check failed or none ran, 2 bad
arguments (unknown kind, name, config key or family).
"""


def add_parser(sub: argparse._SubParsersAction) -> None:
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
    try:
        from emoportraits_conformance import runner

        return runner
    except ImportError as exc:
        raise EmoportraitsError(
            f"the conformance suite is not importable ({exc}); reinstall emoportraits"
        ) from None


def run(args: argparse.Namespace) -> int:
    suite = _suite_runner()
    describe_checks, parse_config_values = suite.describe_checks, suite.parse_config_values
    run_conformance = suite.run_conformance
    if args.list:
        from ..plugin_manager import get_registry

        print(describe_checks(k.name for k in get_registry().kinds()))
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
        return run_conformance(geometry=args.name or "*", **common)
    if args.name is None:
        raise ConfigError(
            f"conformance: give the name of the {args.kind} to check (see `emoportraits plugins`)"
        )
    config = parse_config_values(args.set_values)
    if args.preset is not None:
        config["preset"] = args.preset
    return run_conformance(args.kind, args.name, config, **common)
