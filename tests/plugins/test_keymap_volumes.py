"""Key map of the appearance / warp / volume / rendering networks against keys.tsv."""

from __future__ import annotations

import re

import pytest
import torch
from conftest import OFFICIAL, plugin_registry

from emoportraits_core import Registry
from emoportraits_plugins import embedders, encoders, renderers, volumes, warpers
from emoportraits_plugins.convert.keymap import DERIVED, apply_rules
from emoportraits_plugins.convert.keymap_volumes import RULES, derived_buffers

KEYS_TSV = OFFICIAL / "keys.tsv"

#: official group -> our component(s)
GROUPS = (
    "local_encoder_nw",
    "pose_unsqueeze_nw",
    "warp_embed_head_orig_nw",
    "xy_generator_nw",
    "uv_generator_nw",
    "volume_source_nw",
    "volume_process_nw",
    "decoder_nw",
)
COMPONENTS = {
    "appearance_encoder": ("encoder", "emoportraits_appearance_encoder", {}),
    "warp_embedder": ("embedder", "emoportraits_warp_embedder", {}),
    "source_warper": ("warper", "emoportraits_warp_generator", {"direction": "to_canonical"}),
    "driver_warper": ("warper", "emoportraits_warp_generator", {"direction": "from_canonical"}),
    "source_volume": ("volume", "emoportraits_volume_resblocks", {}),
    "canonical_volume": ("volume", "emoportraits_g3d", {}),
    "renderer": ("renderer", "emoportraits_renderer", {}),
}


def _registry() -> Registry:
    return plugin_registry(encoders, embedders, warpers, volumes, renderers)


def _release_components(device: str = "meta") -> dict[str, torch.nn.Module]:
    registry = _registry()
    with torch.device(device):
        return {
            comp: registry.create(kind, name, **values) for comp, (kind, name, values) in COMPONENTS.items()
        }


def _resolved_official_keys() -> dict[str, tuple[int, ...]]:
    """keys.tsv rows of our groups as they look after spectral-norm resolution."""
    out = {}
    for line in KEYS_TSV.read_text().splitlines():
        if line.startswith("#"):
            continue
        group, key, shape = line.split("\t")[:3]
        if group not in GROUPS or key.endswith((".weight_u", ".weight_v")):
            continue
        out[key.replace(".weight_orig", ".weight")] = tuple(int(s) for s in shape.split("x"))
    return out


def test_every_official_key_maps_to_exactly_one_of_ours_with_its_shape():
    ours = {
        f"{comp}.{k}": tuple(v.shape)
        for comp, m in _release_components().items()
        for k, v in m.state_dict().items()
    }
    official = _resolved_official_keys()
    assert len(official) > 300
    covered = {}
    for key, shape in official.items():
        if any(re.fullmatch(p, key) for p in DERIVED):
            continue
        hits = [m for m in (rule.match(key) for rule in RULES) if m is not None]
        assert len(hits) == 1, f"{key}: matched by {len(hits)} rules: {hits}"
        assert hits[0] in ours, f"{key} -> {hits[0]}, which is not a key of ours"
        assert ours[hits[0]] == shape, f"{key} {shape} -> {hits[0]} {ours[hits[0]]}"
        assert hits[0] not in covered, f"{key} and {covered[hits[0]]} both map to {hits[0]}"
        covered[hits[0]] = key
    assert sorted(set(ours) - set(covered)) == []


def test_apply_rules_on_the_key_layout():
    state = {k: torch.empty(0) for k in _resolved_official_keys()}
    mapped = apply_rules(state, RULES, source="main", where="keys.tsv")
    assert sorted(mapped.derived) == ["uv_generator_nw.identity_grid", "xy_generator_nw.identity_grid"]
    assert len(mapped.tensors) == len(state) - 2


def test_derived_buffers_equal_the_checkpoint(official_state):
    with torch.device("cpu"):
        warpers_ = {
            name: warpers.WarpGenerator(warpers.WarpGeneratorConfig(direction=d))
            for name, d in (("source_warper", "to_canonical"), ("driver_warper", "from_canonical"))
        }
    derived = derived_buffers(warpers_)
    assert set(derived) == {"xy_generator_nw.identity_grid", "uv_generator_nw.identity_grid"}
    for key, value in derived.items():
        assert value.shape == official_state[key].shape == (1, 3, 16, 64, 64)
        assert torch.equal(value, official_state[key]), key


@pytest.mark.parametrize("component", sorted(COMPONENTS))
def test_release_state_dict_has_no_stray_buffers(component):
    module = _release_components()[component]
    params = {n for n, _ in module.named_parameters()}
    assert set(module.state_dict()) == params  # identity grids are non-persistent
