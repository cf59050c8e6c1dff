"""Packaging and architecture rules that no other test would notice breaking."""

from __future__ import annotations

import ast
import importlib.metadata
import tomllib
from pathlib import Path

from conftest import ROOT

PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())
PACKAGE_DIRS = {"emoportraits_core": "emoportraits_core", **PYPROJECT["tool"]["setuptools"]["package-dir"]}


def _packages_on_disk() -> set[str]:
    found = set()
    for name, directory in PACKAGE_DIRS.items():
        base = ROOT / directory
        for init in base.rglob("__init__.py"):
            rel = init.parent.relative_to(base)
            if "__pycache__" in rel.parts:
                continue
            found.add(".".join((name, *rel.parts)))
    return found


def test_every_package_is_listed_in_pyproject():
    """Non-editable installs only ship the listed packages: keep the list in step with the tree."""
    assert set(PYPROJECT["tool"]["setuptools"]["packages"]) == _packages_on_disk()


def test_entry_points_are_declared():
    eps = PYPROJECT["project"]["entry-points"]
    declared = {
        "emoportraits": "emoportraits_plugins",
        "emoportraits_motion": "emoportraits_plugins.motion.plugin",
        "emoportraits_data": "emoportraits_plugins.data.plugin",
        "emoportraits_evaluate": "emoportraits_plugins.evaluate.plugin",
        "emoportraits_audio_pose": "emoportraits_plugins.audio_pose.plugin",
        "emoportraits_speech": "emoportraits_plugins.speech.plugin",
        "emoportraits_conformance": "emoportraits_conformance.plugin",
    }
    assert eps["emoportraits"] == declared
    assert eps["pytest11"] == {"emoportraits_conformance": "emoportraits_conformance.pytest_plugin"}
    installed = {ep.name: ep.value for ep in importlib.metadata.entry_points(group="emoportraits")}
    assert {k: installed.get(k) for k in declared} == declared


def test_heavy_optional_packages_are_not_required():
    deps = " ".join(PYPROJECT["project"]["dependencies"]).lower()
    for name in ("timm", "torchvision", "torchaudio"):
        assert name not in deps
    assert "torch==" not in deps.replace(" ", "")  # a pin would pull a CUDA build on a fresh machine


def _imports(path: Path) -> list[tuple[str, int, bool]]:
    """(module, line, top_level) for each import in a file."""
    tree = ast.parse(path.read_text(), str(path))
    top = {id(n) for n in tree.body}
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out += [(a.name, node.lineno, id(node) in top) for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            out.append((node.module, node.lineno, id(node) in top))
    return out


def _sources(*dirs: str) -> list[Path]:
    return [p for d in dirs for p in (ROOT / d).rglob("*.py") if "__pycache__" not in p.parts]


def test_core_never_imports_a_plugin():
    """The core reaches plugins only through the entry point; the conformance suite (a sibling
    package of the same distribution) only lazily, from the `conformance` command."""
    bad = [
        f"{p.relative_to(ROOT)}:{line}"
        for p in _sources("emoportraits_core")
        for mod, line, top in _imports(p)
        if mod.split(".")[0] == "emoportraits_plugins"
        or (top and mod.split(".")[0] == "emoportraits_conformance")
    ]
    assert not bad, f"the core imports plugin code: {bad}"


def test_no_top_level_torchvision_timm_torchaudio_imports():
    bad = [
        f"{p.relative_to(ROOT)}:{line}"
        for p in _sources("emoportraits_core", "plugins", "conformance")
        for mod, line, top in _imports(p)
        if top and mod.split(".")[0] in {"torchvision", "timm", "torchaudio"}
    ]
    assert not bad, f"these fail to import with the CPU torch wheel; import lazily: {bad}"


def test_pickles_are_only_loaded_with_weights_only():
    bad = []
    for p in _sources("emoportraits_core", "plugins", "conformance"):
        for node in ast.walk(ast.parse(p.read_text())):
            if (
                isinstance(node, ast.Call)
                and getattr(node.func, "attr", None) == "load"
                and getattr(node.func.value, "id", None) == "torch"
            ):
                kw = {k.arg: k.value for k in node.keywords}
                if not (
                    isinstance(kw.get("weights_only"), ast.Constant) and kw["weights_only"].value is True
                ):
                    bad.append(f"{p.relative_to(ROOT)}:{node.lineno}")
    assert not bad, f"torch.load without weights_only=True: {bad}"


def test_pipelines_are_package_data():
    import emoportraits_pipelines

    for name in emoportraits_pipelines.available():
        assert emoportraits_pipelines.path(name).is_file()
