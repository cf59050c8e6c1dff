"""``emoportraits conformance KIND NAME`` (filled in with the conformance suite)."""

from __future__ import annotations

import argparse


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("conformance", help="check a registered component against its kind's contract")
    p.set_defaults(func=lambda args: p.print_help() or 2)
