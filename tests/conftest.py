"""Shared fixtures: paths to ../shared, fresh plugin managers and registries, the toy out-of-tree
plugin, the parity weights; and the ``gpu`` marker's automatic skip.

The tests live in four folders (see the README's "Set-up" notes): ``core/``, ``plugins/``,
``conformance/`` (unit tests) and ``e2e/`` (whole commands on ../shared/data). This file and the
helpers beside it (``pipeline_files``, ``parity``) are imported by name from every folder:
``pythonpath = ["tests"]`` in pyproject.toml; the folders hold no ``conftest.py`` or ``__init__.py``.

Registries. Unit tests build a fresh plugin manager from explicitly named plugin modules and never
depend on what is installed: ``registry`` (the project's own plugins), ``toy_registry`` (plus the toy
plugin), and ``project_cli`` / ``toy_cli`` to give the command line (and every API that defaults to
the process-wide registry) those same plugins. The end-to-end tests, and the tests of discovery
itself (entry points, ``emoportraits plugins``, packaging), use what is installed: ``toy_site``
installs the toy plugin as a distribution, ``installed_toy_registry`` / ``installed_toy_cli`` find it
through its entry point.
"""

from __future__ import annotations

import importlib
import sys
from pathlib import Path

import pytest

TESTS = Path(__file__).resolve().parent
ROOT = TESTS.parent
SHARED = ROOT.parent / "shared"
DATA = SHARED / "data"
OFFICIAL = SHARED / "official"
TOY_PLUGIN_DIR = TESTS / "toy_plugin"

#: The area folders; every test file lives in one of them (tests/core/test_layout.py checks it).
AREAS = ("core", "plugins", "conformance", "e2e")

#: The project's own plugin modules, as its entry points name them (pyproject.toml).
PROJECT_PLUGINS = (
    "emoportraits_plugins",
    "emoportraits_plugins.motion.plugin",
    "emoportraits_plugins.data.plugin",
    "emoportraits_plugins.evaluate.plugin",
    "emoportraits_plugins.audio_pose.plugin",
    "emoportraits_plugins.speech.plugin",
    "emoportraits_conformance.plugin",
)


# ---- markers ---------------------------------------------------------------------------------------


def pytest_runtest_setup(item: pytest.Item) -> None:
    """``@pytest.mark.gpu`` tests need CUDA: skipped where ``torch.cuda.is_available()`` is false."""
    if item.get_closest_marker("gpu") is not None:
        import torch

        if not torch.cuda.is_available():
            pytest.skip("needs CUDA (torch.cuda.is_available() is false)")


# ---- fresh plugin managers and registries ----------------------------------------------------------


def plugin_registry(*packages):
    """A fresh registry with the core kinds and the given plugin packages (each with ``register``
    and optionally ``register_kinds``), kinds first, as the plugin manager orders the hooks;
    independent of what is installed."""
    from emoportraits_core import Registry
    from emoportraits_core.plugin_manager import CORE_KINDS

    registry = Registry()
    for name, interface, description in CORE_KINDS:
        registry.register_kind(name, interface, description)
    for package in packages:
        if hasattr(package, "register_kinds"):
            package.register_kinds(registry)
    for package in packages:
        package.register(registry)
    return registry


def _forget_toy_modules() -> None:
    for mod in [m for m in sys.modules if m.startswith("emoportraits_toy")]:
        del sys.modules[mod]


def project_plugin_manager(*extra: object):
    """A fresh plugin manager with the project's own plugins (``PROJECT_PLUGINS``) and ``extra``
    plugins, registered explicitly: no entry point is read, so what is installed does not matter."""
    from emoportraits_core import make_plugin_manager

    modules = [importlib.import_module(name) for name in PROJECT_PLUGINS]
    return make_plugin_manager(entry_points=False, plugins=[*modules, *extra])


def use_plugins(monkeypatch: pytest.MonkeyPatch, pm, registry=None):
    """Make ``pm`` (and its registry) the process-wide ones for the rest of the test: what the command
    line, ``get_registry()`` and every API that defaults to it see. Returns the registry."""
    from emoportraits_core import build_registry, plugin_manager

    registry = build_registry(pm) if registry is None else registry
    monkeypatch.setattr(plugin_manager, "_default", {"pm": pm, "registry": registry})
    return registry


@pytest.fixture
def project_pm():
    """A fresh plugin manager with the project's own plugins only (see ``project_plugin_manager``)."""
    return project_plugin_manager()


@pytest.fixture
def registry(project_pm):
    """A fresh registry of the project's own plugins (the EMOPortraits networks, drivers, motion
    files), independent of what is installed. Modules may override it with a narrower one."""
    from emoportraits_core import build_registry

    return build_registry(project_pm)


@pytest.fixture
def project_cli(monkeypatch, project_pm):
    """The command line (and ``get_registry()``) over the project's own plugins only, registered
    explicitly. Returns that registry (its own: a module's narrower ``registry`` does not leak in)."""
    return use_plugins(monkeypatch, project_pm)


@pytest.fixture
def toy_plugin(monkeypatch):
    """The toy plugin's hook module (``emoportraits_toy.plugin``), importable from tests/toy_plugin
    but not installed: no distribution, no entry point. Its modules are forgotten afterwards."""
    monkeypatch.syspath_prepend(str(TOY_PLUGIN_DIR))
    importlib.invalidate_caches()
    yield importlib.import_module("emoportraits_toy.plugin")
    _forget_toy_modules()


@pytest.fixture
def toy_pm(toy_plugin):
    """A fresh plugin manager with the project's own plugins and the toy plugin."""
    return project_plugin_manager(toy_plugin)


@pytest.fixture
def toy_registry(toy_pm):
    """A fresh registry of the project's own plugins plus the toy plugin, registered explicitly."""
    from emoportraits_core import build_registry

    return build_registry(toy_pm)


@pytest.fixture
def toy_cli(monkeypatch, toy_pm, toy_registry):
    """The command line (and ``get_registry()``) over ``toy_registry``."""
    return use_plugins(monkeypatch, toy_pm, toy_registry)


# ---- what is installed (end-to-end tests and tests of discovery) -----------------------------------


def install_fake_distribution(
    site: Path, name: str, version: str, entry_points: dict[str, dict[str, str]], source: Path | None = None
) -> None:
    """Make ``site`` look like site-packages holding distribution ``name``: a ``.dist-info`` with
    METADATA and entry_points.txt, so that importlib.metadata discovers its entry points exactly as
    for a pip-installed package. ``source`` (a package directory) is symlinked beside it."""
    dist = site / f"{name.replace('-', '_')}-{version}.dist-info"
    dist.mkdir(parents=True, exist_ok=True)
    (dist / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n")
    lines = []
    for group, eps in entry_points.items():
        lines.append(f"[{group}]")
        lines += [f"{k} = {v}" for k, v in eps.items()]
    (dist / "entry_points.txt").write_text("\n".join(lines) + "\n")
    if source is not None:
        (site / source.name).symlink_to(source, target_is_directory=True)


@pytest.fixture
def toy_site(tmp_path, monkeypatch):
    """The toy plugin 'installed' as an out-of-tree distribution (on sys.path, discovered through
    its entry point). Yields the site directory."""
    site = tmp_path / "site"
    install_fake_distribution(
        site,
        "emoportraits-toy-plugin",
        "0.1.0",
        {"emoportraits": {"toy": "emoportraits_toy.plugin"}},
        source=TOY_PLUGIN_DIR / "emoportraits_toy",
    )
    monkeypatch.syspath_prepend(str(site))
    importlib.invalidate_caches()
    yield site
    _forget_toy_modules()


@pytest.fixture
def installed_toy_registry(toy_site):
    """A fresh registry over the installed entry points, the toy plugin's among them (discovery)."""
    from emoportraits_core import build_registry, make_plugin_manager

    return build_registry(make_plugin_manager())


@pytest.fixture
def installed_toy_cli(toy_site, monkeypatch):
    """The command line's process-wide registry rebuilt over the installed entry points, the toy
    plugin's among them (restored afterwards). Returns the registry."""
    from emoportraits_core import plugin_manager

    monkeypatch.setattr(plugin_manager, "_default", {})
    return plugin_manager.get_registry(reload=True)


# ---- parity with the official networks (../shared/official/parity) ------------------------------

PARITY_DIR = OFFICIAL / "parity"
PARITY_REFERENCE = PARITY_DIR / "reference_seed0.safetensors"


@pytest.fixture(scope="session")
def parity_weights(tmp_path_factory) -> Path:
    """Directory with ``328_model.pth`` and ``head_pose_regressor.pth`` in the released layout,
    written once per test session by the shared recipe (~15 s, ~690 MB). Set
    ``EMOPORTRAITS_PARITY_WEIGHTS=DIR`` to reuse a directory made earlier with
    ``python ../shared/official/parity/make_weights.py --seed 0 --out DIR``."""
    import os
    import subprocess

    reuse = os.environ.get("EMOPORTRAITS_PARITY_WEIGHTS")
    if reuse and (Path(reuse) / "328_model.pth").is_file():
        return Path(reuse)
    out = tmp_path_factory.mktemp("parity_weights")
    subprocess.run(
        [sys.executable, str(PARITY_DIR / "make_weights.py"), "--seed", "0", "--out", str(out)],
        check=True,
        capture_output=True,
    )
    return out


@pytest.fixture(scope="session")
def parity_reference() -> dict:
    """The official intermediates (see ../shared/official/parity/README.md section 3)."""
    from safetensors.torch import load_file

    return load_file(str(PARITY_REFERENCE))


@pytest.fixture(scope="session")
def official_state(parity_weights) -> dict:
    """The recipe's main checkpoint with spectral norm and weight standardisation resolved."""
    import torch

    from emoportraits_plugins.convert.reparam import resolve_reparametrizations

    raw = torch.load(parity_weights / "328_model.pth", map_location="cpu", weights_only=True)
    return resolve_reparametrizations(raw, where="328_model.pth")


@pytest.fixture(scope="session")
def official_head_pose(parity_weights) -> dict:
    import torch

    return torch.load(parity_weights / "head_pose_regressor.pth", map_location="cpu", weights_only=True)


@pytest.fixture(scope="session")
def converted_checkpoint(parity_weights, tmp_path_factory) -> Path:
    """The recipe weights converted by the real command line: ``emoportraits convert``."""
    from emoportraits_core.cli import main

    out = tmp_path_factory.mktemp("converted") / "model.safetensors"
    code = main(
        [
            "convert",
            str(parity_weights / "328_model.pth"),
            "--head-pose",
            str(parity_weights / "head_pose_regressor.pth"),
            "-o",
            str(out),
            "-q",
        ]
    )
    assert code == 0 and out.is_file()
    return out
