"""Registry: registration, lookup, configs, presets, errors, out-of-tree discovery."""

from __future__ import annotations

import attrs
import pytest

from emoportraits_core import (
    ConfigError,
    Registry,
    RegistryError,
    build_registry,
    hookimpl,
    make_plugin_manager,
)
from emoportraits_core.interfaces import Renderer, VolumeProcessor


@attrs.frozen
class _Cfg:
    channels: int = 4
    scale: float = 1.0
    mode: str = "a"
    sizes: tuple[int, ...] = (1, 2)
    extra: int | None = None


class _Vol(VolumeProcessor):
    """A test volume processor."""

    def forward(self, volume):
        return volume * self.config.scale


def _registry() -> Registry:
    r = Registry()
    r.register_kind("volume", VolumeProcessor, "volumes")
    r.register_kind("renderer", Renderer, "renderers")
    r.register(
        "volume",
        "scaler",
        _Vol,
        config=_Cfg,
        presets={"tiny": {"channels": 1}},
        deprecated_names={"old_scaler": "0.1"},
    )
    return r


def test_create_applies_config_and_preset():
    r = _registry()
    c = r.create("volume", "scaler", preset="tiny", scale=2, sizes=[3, 4])
    assert c.config == _Cfg(channels=1, scale=2.0, sizes=(3, 4))
    assert isinstance(c.config.scale, float)


def test_unknown_name_lists_names_and_closest():
    r = _registry()
    with pytest.raises(
        RegistryError, match=r"unknown volume 'scalr'; available: scaler; did you mean 'scaler'\?"
    ):
        r.create("volume", "scalr")


def test_unknown_kind_suggests():
    with pytest.raises(RegistryError, match="did you mean 'volume'"):
        _registry().create("volum", "scaler")


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"chanels": 3}, r"unknown key 'chanels'; valid keys: .*; did you mean 'channels'\?"),
        ({"channels": "3"}, r"key 'channels' expects int, got '3' \(str\)"),
        ({"channels": True}, r"key 'channels' expects int"),
        ({"sizes": [1, "x"]}, r"key 'sizes' expects tuple\[int, \.\.\.\]"),
        ({"preset": "huge"}, r"unknown preset 'huge'"),
    ],
)
def test_bad_config_is_a_clear_error(values, message):
    with pytest.raises(ConfigError, match=message):
        _registry().create("volume", "scaler", **values)


def test_deprecated_name_warns_and_is_hidden():
    r = _registry()
    with pytest.warns(FutureWarning, match="renamed to 'scaler'"):
        assert r.get("volume", "old_scaler").name == "scaler"
    assert [e.name for e in r.list("volume")] == ["scaler"]


def test_wrong_interface_and_duplicates_are_rejected():
    r = _registry()
    with pytest.raises(RegistryError, match="must subclass Renderer"):
        r.register("renderer", "bad", _Vol, config=_Cfg)
    with pytest.raises(RegistryError, match="already registered"):
        r.register("volume", "scaler", _Vol, config=_Cfg)
    with pytest.raises(RegistryError, match="snake_case"):
        r.register("volume", "Bad-Name", _Vol, config=_Cfg)


def test_list_matches_patterns_naturally_sorted():
    r = _registry()
    for n in ("v10", "v2", "w1"):
        r.register("volume", n, _Vol, config=_Cfg)
    assert [e.name for e in r.list("volume", "v*")] == ["v2", "v10"]


def test_explicit_plugin_registers_new_kind_and_component():
    class Plugin:
        @hookimpl
        def emoportraits_register_kinds(self, registry):
            registry.register_kind("blender", None, "mixes things")

        @hookimpl
        def emoportraits_register(self, registry):
            registry.register("blender", "mean_blender", lambda: "built")

    reg = build_registry(make_plugin_manager(entry_points=False, plugins=[Plugin()]))
    assert "blender" in [k.name for k in reg.kinds()]
    assert reg.create("blender", "mean_blender") == "built"


def test_hook_with_typo_fails_at_startup():
    class Typo:
        @hookimpl
        def emoportraits_registr(self, registry):  # misspelt hook name
            pass

    with pytest.raises(Exception, match="emoportraits_registr"):
        make_plugin_manager(entry_points=False, plugins=[Typo()])


def test_out_of_tree_plugin_is_discovered_through_its_entry_point(installed_toy_registry):
    """The toy package is only on sys.path with a .dist-info: nothing in the core names it."""
    entry = installed_toy_registry.get("warper", "toy_warper")
    assert entry.distribution == "emoportraits-toy-plugin 0.1.0"
    assert entry.plugin == "toy"
    warper = installed_toy_registry.create("warper", "toy_warper", channels=2)
    assert warper.config.channels == 2


def test_broken_plugin_is_reported_not_fatal(tmp_path, monkeypatch):
    from conftest import install_fake_distribution

    site = tmp_path / "site"
    install_fake_distribution(
        site, "broken-plugin", "1.0", {"emoportraits": {"broken": "no_such_module_xyz"}}
    )
    monkeypatch.syspath_prepend(str(site))
    import importlib

    importlib.invalidate_caches()
    from emoportraits_core.plugin_manager import loaded_plugins

    with pytest.warns(RuntimeWarning, match="failed to load"):
        pm = make_plugin_manager()
    [broken] = [p for p in loaded_plugins(pm) if p.name == "broken"]
    assert "ModuleNotFoundError" in broken.error
    build_registry(pm)  # the rest still works
