"""``emoportraits conformance`` and the pytest plugin, end to end.

Errors that stop before pytest starts, and runs of the suite itself (pytest inside pytest), run
in-process over plugins registered explicitly (conftest ``project_cli`` / ``toy_cli``); the pytest
plugin in a user's own run is tested in a subprocess, with the toy plugin installed on PYTHONPATH.
"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from emoportraits_core import plugin_manager
from emoportraits_core.cli import main


def _run(args, site, cwd, timeout=120):
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(site), os.environ.get("PYTHONPATH", "")])}
    env.pop("PYTEST_ADDOPTS", None)
    proc = subprocess.run(
        [sys.executable, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout
    )
    return proc.returncode, proc.stdout + proc.stderr


# -- in-process: listing, help and errors before pytest starts ----------------------------------------


def test_list_prints_checks_per_kind_and_geometry(project_cli, capsys):
    assert main(["conformance", "--list"]) == 0
    out = capsys.readouterr().out
    for text in (
        "generic",
        "batch_independence",
        "warper",
        "warper_deformation",
        "driver_one_item_per_frame",
    ):
        assert text in out
    assert "geometry families" in out and "rotation_6d" in out


def test_help_explains_and_gives_examples(project_cli, capsys):
    with pytest.raises(SystemExit) as info:
        main(["conformance", "--help"])
    assert info.value.code == 0
    out = capsys.readouterr().out
    assert "independence" in out and "examples:" in out and "conformance geometry" in out


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["conformance", "warper", "no_such_warper"], "unknown warper 'no_such_warper'"),
        (["conformance", "no_such_kind", "x"], "unknown kind 'no_such_kind'"),
        (["conformance", "warper", "toy_warper", "--set", "chanels=8"], "did you mean 'channels'?"),
        (["conformance", "warper", "toy_warper", "--preset", "huge"], "unknown preset 'huge'"),
        (["conformance", "geometry", "rotation6d"], "did you mean 'rotation_6d'?"),
        (["conformance", "warper"], "give the name of the warper"),
        (["conformance"], "give KIND NAME"),
        (["conformance", "geometry", "warp", "--function", "warp_volume=no_such_module:f"], "cannot import"),
        (["conformance", "geometry", "warp", "--function", "my_warp"], "expects [NAME=]MODULE:ATTR"),
        (
            ["conformance", "geometry", "warp", "--function", "torch.nn.functional:grid_sampel"],
            "did you mean",
        ),
        (["conformance", "geometry", "warp", "--function", "math:pi"], "is a float, not a function"),
        (["conformance", "geometry", "euler", "--function", "math:sqrt"], "no function 'sqrt'"),
        (["conformance", "warper", "toy_warper", "--function", "math:sqrt"], "applies to 'geometry' only"),
    ],
)
def test_bad_targets_are_one_line_errors_before_pytest(toy_cli, capsys, argv, message):
    assert main(argv) == 2
    captured = capsys.readouterr()
    assert message in captured.err
    assert len(captured.err.strip().splitlines()) == 1
    assert "test session starts" not in captured.out


# -- real runs, in-process (pytest inside pytest, output not captured by the inner run) -----------------


def _cli(argv, capsys):
    code = main(argv)
    captured = capsys.readouterr()
    return code, captured.out + captured.err


@pytest.fixture
def isolated(toy_cli, tmp_path, monkeypatch):
    """Run the CLI from an empty directory over the project's plugins plus the toy plugin."""
    monkeypatch.chdir(tmp_path)


def test_toy_warper_conforms(isolated, capsys):
    code, out = _cli(["conformance", "warper", "toy_warper", "--max-examples", "1"], capsys)
    assert code == 0, out
    assert "conformance[warper:toy_warper]" in out and "passed" in out and "failed" not in out


def test_geometry_family_conforms(isolated, capsys):
    code, out = _cli(["conformance", "geometry", "euler", "-v", "--max-examples", "3"], capsys)
    assert code == 0, out
    assert "geometry[euler]::orthonormal PASSED" in out


def test_broken_component_fails_naming_the_check(isolated, capsys, monkeypatch):
    from conftest import project_plugin_manager, use_plugins

    from emoportraits_conformance.broken_components import register_broken_components
    from emoportraits_core import hookimpl

    class BrokenPlugin:
        """A third party's plugin whose volume keeps state outside its state dict."""

        @hookimpl
        def emoportraits_register(self, registry):
            register_broken_components(registry, {"broken_hidden_buffer"})

    use_plugins(monkeypatch, project_plugin_manager(BrokenPlugin()))
    argv = ["conformance", "volume", "broken_hidden_buffer", "--max-examples", "1"]
    code, out = _cli([*argv, "-k", "state_dict or determinism"], capsys)
    assert code == 1, out
    assert "FAILED conformance[volume:broken_hidden_buffer]::state_dict_roundtrip" in out
    assert (
        "state_dict_roundtrip failed on volume 'broken_hidden_buffer': fresh instance after loading vs original"
        in out
    )
    assert "1 failed, 1 passed" in out


def test_geometry_checks_a_function_given_by_its_import_path(isolated, capsys):
    """A third-party function, named on the command line: here a broken one from the catalogue."""
    broken = "emoportraits_conformance.broken_geometry:compose_affine_reversed"
    argv = [
        "conformance",
        "geometry",
        "affine",
        "--function",
        f"compose_affine={broken}",
        "--max-examples",
        "2",
    ]
    code, out = _cli(argv, capsys)
    assert code == 1, out
    assert "FAILED geometry[affine]::compose_order" in out
    assert "affine.compose_order failed: compose_affine(a, b) . p = a . (b . p)" in out
    code, out = _cli(
        [*argv[:4], "compose_affine=emoportraits_core.geometry:compose_affine", *argv[5:]], capsys
    )
    assert code == 0, out  # the core's own function, named the same way, passes


def test_missing_pytest_is_a_one_line_error(tmp_path):
    """Without pytest (simulated: None in sys.modules makes its import fail), one line, exit 2."""
    script = (
        "import sys; sys.modules['pytest'] = None\n"
        "from emoportraits_core.cli import main\n"
        "sys.exit(main(['conformance', 'geometry', 'euler']))\n"
    )
    code, out = _run(["-c", script], tmp_path, tmp_path)
    assert code == 2, out
    assert out.strip().splitlines() == [out.strip()]
    assert out.startswith("error: the conformance suite needs pytest>=8") and "pip install" in out


def test_the_command_is_the_suite_plugin(monkeypatch):
    """`conformance` is added through the emoportraits_add_commands hook of the suite's plugin."""
    import importlib.metadata

    from emoportraits_core import make_plugin_manager
    from emoportraits_core.cli import build_parser

    eps = {ep.name: ep.value for ep in importlib.metadata.entry_points(group="emoportraits")}
    assert eps["emoportraits_conformance"] == "emoportraits_conformance.plugin"
    commands = lambda: set(build_parser()._subparsers._group_actions[0].choices)  # noqa: E731
    monkeypatch.setattr(plugin_manager, "_default", {"pm": make_plugin_manager(entry_points=False)})
    assert "conformance" not in commands() and "plugins" in commands()
    from emoportraits_conformance import plugin

    pm = make_plugin_manager(entry_points=False, plugins=[plugin])
    monkeypatch.setattr(plugin_manager, "_default", {"pm": pm})
    assert "conformance" in commands()


def test_no_check_run_is_a_failure(monkeypatch, capsys):
    from emoportraits_conformance.runner import EXIT_NO_CHECKS, run_conformance

    seen = []
    monkeypatch.setattr(pytest, "main", lambda args: seen.append(args) or pytest.ExitCode.NO_TESTS_COLLECTED)
    assert run_conformance(geometry="euler", keyword="nothing_matches") == EXIT_NO_CHECKS != 0
    assert "no conformance check ran matching -k 'nothing_matches'" in capsys.readouterr().err
    (args,) = seen
    assert "--conformance-geometry=euler" in args and "-c" in args and "no:cacheprovider" in args


def test_pytest_plugin_is_cheap_to_load(tmp_path):
    code, out = _run(
        ["-c", "import sys, emoportraits_conformance.pytest_plugin; assert 'torch' not in sys.modules"],
        tmp_path,
        tmp_path,
    )
    assert code == 0, out


def test_pytest_plugin_options(toy_site, tmp_path):
    (tmp_path / "test_mine.py").write_text("def test_mine():\n    pass\n")
    base = ["-m", "pytest", "-p", "no:cacheprovider", "-q", "test_mine.py"]
    opts = ["--conformance=renderer:toy_renderer", "--conformance-config=image_size=16"]
    opts += ["--conformance-max-examples=1", "-k", "test_mine or renderer_image or declared_ports"]
    code, out = _run([*base, *opts], toy_site, tmp_path)  # next to the project's own tests
    assert code == 0, out
    from emoportraits_conformance.contracts import checks_for

    assert f"3 passed, {len(checks_for('renderer')) - 2} deselected" in out, out


@pytest.mark.parametrize(
    ("targets", "pairs", "message"),
    [
        (["renderer:toy_rendrer"], [], "did you mean 'toy_renderer'?"),
        (["renderer"], [], "expects KIND:NAME"),
        (["renderer:toy_renderer"], ["image_size"], "expects KEY=VALUE"),
        (["renderer:toy_renderer"], ["image_size=big"], "key 'image_size' expects int, got 'big'"),
    ],
)
def test_pytest_plugin_usage_errors(toy_cli, targets, pairs, message):
    from emoportraits_conformance.pytest_plugin import _component_groups

    with pytest.raises(pytest.UsageError, match=message):
        _component_groups(None, targets, pairs, None)  # fails before any node is made
