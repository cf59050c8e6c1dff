"""``emoportraits pipeline show|validate|run`` (filled in with the pipeline engine)."""

from __future__ import annotations

import argparse


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("pipeline", help="show, validate or run a declarative pipeline (TOML)")
    p.set_defaults(func=lambda args: p.print_help() or 2)
