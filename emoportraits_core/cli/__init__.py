"""The ``emoportraits`` command line: parses, validates and calls; no model logic lives here.

Core commands: ``plugins``, ``pipeline show|validate|run``. Plugins add more (``animate``,
``convert``, and ``conformance`` from the suite's own plugin) through the
``emoportraits_add_commands`` hook. A user error prints one line ``error: ...`` and exits with
status 2; Ctrl-C exits with 130. Set ``EMOPORTRAITS_DEBUG=1`` to see full tracebacks.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading
import warnings
from collections.abc import Sequence

from ..allocator import keep_freed_memory
from ..errors import EmoportraitsError

__all__ = ["build_parser", "main"]

DESCRIPTION = """\
emoportraits: animate one photo with a driving video (or speech), with the EMOPortraits networks,
as a plugin-based framework.

Start with:
  emoportraits plugins                          list the registered components
  emoportraits animate SOURCE DRIVER -o OUT     animate a photo (see `emoportraits animate -h`)
  emoportraits speak SOURCE AUDIO -o OUT        animate a photo with speech (see `emoportraits speak -h`)
  emoportraits train PIPELINE --out DIR         train a pipeline (see `emoportraits train -h`)
  emoportraits pipeline show animate            print the resolved graph of a pipeline
  emoportraits conformance KIND NAME            check a component against its contract
"""


def build_parser() -> argparse.ArgumentParser:
    from .. import __version__
    from ..plugin_manager import get_plugin_manager
    from . import pipeline_cmd, plugins_cmd, train_cmd

    parser = argparse.ArgumentParser(
        prog="emoportraits", description=DESCRIPTION, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--version", action="version", version=f"emoportraits {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for module in (plugins_cmd, pipeline_cmd, train_cmd):
        module.add_parser(sub)
    get_plugin_manager().hook.emoportraits_add_commands(subparsers=sub)
    return parser


def _terminate(signum: int, _frame: object) -> None:
    """SIGTERM ends the command like Ctrl-C: unwinding removes partial outputs."""
    raise KeyboardInterrupt(f"signal {signum}")


def _one_line_warning(message: Warning | str, category: type[Warning], *_: object, **__: object) -> str:
    """Warnings as ``warning: <message>`` lines (no file and line of the code that warned)."""
    return f"warning: {message}\n"


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the console script; returns the exit status."""
    debug = bool(os.environ.get("EMOPORTRAITS_DEBUG"))
    main_thread = threading.current_thread() is threading.main_thread()
    previous = signal.signal(signal.SIGTERM, _terminate) if main_thread else None
    keep_freed_memory()  # large CPU activations reuse their pages (see emoportraits_core.allocator)
    warnings.formatwarning = _one_line_warning
    try:
        parser = build_parser()
        args = parser.parse_args(argv)
        if getattr(args, "func", None) is None:
            parser.print_help()
            return 2
        return int(args.func(args) or 0)
    except EmoportraitsError as exc:
        if debug:
            raise
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # e.g. `emoportraits plugins | head`
        return 0
    finally:
        if main_thread:
            signal.signal(signal.SIGTERM, previous)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
