"""The test suite's own layout and markers (README, "Set-up"): every test file in one of the four
area folders, helpers importable by name from each, the markers declared, applied and honoured."""

from __future__ import annotations

import tomllib
from pathlib import Path
from types import SimpleNamespace

import pytest
from conftest import AREAS, PROJECT_PLUGINS, ROOT, TESTS

#: the out-of-tree plugin package the tests install; not tests itself
NOT_TESTS = (TESTS / "toy_plugin",)


def _test_files() -> list[Path]:
    return sorted(
        p
        for p in TESTS.rglob("*.py")
        if (p.name.startswith("test_") or p.name.endswith("_test.py"))
        and not any(p.is_relative_to(d) for d in NOT_TESTS)
    )


def test_every_test_file_is_in_an_area_folder():
    files = _test_files()
    assert len(files) > 40
    outside = [
        str(p.relative_to(TESTS)) for p in files if p.parent.parent != TESTS or p.parent.name not in AREAS
    ]
    assert not outside, f"put these test files in tests/{{{','.join(AREAS)}}}/ (by what they test): {outside}"


def test_test_modules_are_found_by_name():
    """No ``__init__.py`` and no second ``conftest.py`` in the area folders: each test module is
    imported by its file name (so names are unique) and ``conftest``, ``pipeline_files`` and ``parity``
    come from tests/ through ``pythonpath``."""
    names = [p.name for p in _test_files()]
    assert sorted({n for n in names if names.count(n) > 1}) == []
    for area in AREAS:
        assert not [p.name for p in (TESTS / area).rglob("*.py") if p.name in ("__init__.py", "conftest.py")]
    ini = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["pytest"]["ini_options"]
    assert ini["pythonpath"] == ["tests"] and ini["testpaths"] == ["tests"]


def test_markers_are_declared_and_slow_and_distributed_are_left_out_by_default(pytestconfig):
    declared = {line.split(":")[0] for line in pytestconfig.getini("markers")}
    assert {"slow", "parity", "gpu", "distributed"} <= declared
    ini = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["pytest"]["ini_options"]
    assert "--strict-markers" in ini["addopts"]
    assert '-m "not slow and not distributed"' in ini["addopts"]


def test_parity_tests_are_marked_parity():
    parity = [p for p in _test_files() if p.name.startswith("test_parity_")]
    assert len(parity) >= 3
    unmarked = [p.name for p in parity if "\npytestmark = pytest.mark.parity\n" not in p.read_text()]
    assert not unmarked, f"mark these `pytestmark = pytest.mark.parity`: {unmarked}"


def test_unit_registries_hold_the_plugins_they_name_and_nothing_installed(registry, toy_registry):
    """``registry``: the modules of the project's own entry points, registered explicitly;
    ``toy_registry``: those and the toy plugin. No entry came through an entry point."""
    declared = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["entry-points"]["emoportraits"]
    assert sorted(PROJECT_PLUGINS) == sorted(declared.values())
    assert registry.has("driver", "motion_file") and not registry.has("warper", "toy_warper")
    assert toy_registry.has("warper", "toy_warper") and toy_registry.has("driver", "video")
    for reg in (registry, toy_registry):
        assert {e.distribution for k in reg.kinds() for e in reg.list(k.name)} == {""}


def _item(*markers: str) -> SimpleNamespace:
    marks = {name: getattr(pytest.mark, name).mark for name in markers}
    return SimpleNamespace(get_closest_marker=marks.get)


def test_gpu_tests_are_skipped_without_cuda(monkeypatch):
    import conftest
    import torch

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(pytest.skip.Exception, match="needs CUDA"):
        conftest.pytest_runtest_setup(_item("gpu"))
    conftest.pytest_runtest_setup(_item())  # not marked: runs
    conftest.pytest_runtest_setup(_item("slow", "parity"))
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    conftest.pytest_runtest_setup(_item("gpu"))  # CUDA present: runs
