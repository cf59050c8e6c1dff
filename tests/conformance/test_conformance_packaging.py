"""The suite is a plugin of the core, not a part of it: the core never imports it, and loading the
plugin (every `emoportraits` run does) imports only its command-line module."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap


def _python(script: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "PYTEST_ADDOPTS"}
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(script)], capture_output=True, text=True, env=env, timeout=300
    )


def test_no_core_module_imports_the_suite():
    proc = _python(
        """
        import importlib, pkgutil, sys
        import emoportraits_core

        names = [
            m.name
            for m in pkgutil.walk_packages(emoportraits_core.__path__, "emoportraits_core.")
            if not m.name.endswith("__main__")  # runs the command line when imported
        ]
        for name in names:
            importlib.import_module(name)
        suite = sorted(m for m in sys.modules if m.split(".")[0] == "emoportraits_conformance")
        print(len(names), suite)
        """
    )
    assert proc.returncode == 0, proc.stderr
    count, suite = proc.stdout.split(" ", 1)
    assert int(count) > 20  # every module of the core was imported
    assert suite.strip() == "[]"


def test_loading_the_plugins_imports_only_the_command_line_module():
    proc = _python(
        """
        import sys
        from emoportraits_core.cli import build_parser

        build_parser()
        print(sorted(m for m in sys.modules if m.split(".")[0] == "emoportraits_conformance"))
        """
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == str(
        ["emoportraits_conformance", "emoportraits_conformance.cli", "emoportraits_conformance.plugin"]
    )
