"""Shared fixtures: paths to ../shared, the toy out-of-tree plugin, fresh registries."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
DATA = SHARED / "data"
TOY_PLUGIN_DIR = Path(__file__).parent / "toy_plugin"


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
    import importlib

    importlib.invalidate_caches()
    yield site
    for mod in [m for m in sys.modules if m.startswith("emoportraits_toy")]:
        del sys.modules[mod]


@pytest.fixture
def toy_registry(toy_site):
    """A fresh registry over the installed entry points plus the toy plugin."""
    from emoportraits_core import build_registry, make_plugin_manager

    return build_registry(make_plugin_manager())


# ---- parity with the official networks (../shared/official/parity) ------------------------------

PARITY_DIR = SHARED / "official" / "parity"
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
