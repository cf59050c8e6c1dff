"""The encoders' key map covers keys.tsv one to one, shape for shape, and the derived buffers agree."""

from __future__ import annotations

import re

import pytest
import torch
from conftest import OFFICIAL

from emoportraits_plugins.convert.keymap import DERIVED, IGNORED
from emoportraits_plugins.convert.keymap_encoders import RULES
from emoportraits_plugins.encoders import (
    IdentityEncoder,
    IdentityEncoderConfig,
    MotionEncoder,
    MotionEncoderConfig,
)
from emoportraits_plugins.encoders._common import identity_grid_2d

KEYS_TSV = OFFICIAL / "keys.tsv"
TINY_POSE = {"pose_layers": (1, 1, 1, 1), "pose_widths": (8, 8, 16, 16), "pose_stem_channels": 8}
GROUPS = {"idt_embedder_nw": "main", "expression_embedder_nw": "main", "HPR_FILE": "head_pose"}


def _official_keys() -> list[tuple[str, str, tuple[int, ...]]]:
    """``(source, key, shape)`` of our groups, with ``weight_orig`` -> ``weight`` and no ``_u/_v``."""
    rows = []
    for line in KEYS_TSV.read_text().splitlines():
        if line.startswith("#") or not line.strip():
            continue
        group, key, shape, _dtype, _kind = line.split("\t")
        if group not in GROUPS or key.endswith((".weight_u", ".weight_v")):
            continue
        key = key.removesuffix("_orig")
        dims = () if shape == "scalar" else tuple(int(s) for s in shape.split("x"))
        rows.append((GROUPS[group], key, dims))
    return rows


def _matches(patterns, key: str) -> bool:
    return any(re.fullmatch(p, key) for p in patterns)


@pytest.fixture(scope="module")
def ours() -> dict[str, tuple[int, ...]]:
    with torch.device("meta"):
        comps = {"identity_encoder": IdentityEncoder(), "motion_encoder": MotionEncoder()}
    return {f"{c}.{k}": tuple(v.shape) for c, m in comps.items() for k, v in m.state_dict().items()}


def test_keys_tsv_has_the_expected_rows():
    rows = _official_keys()
    assert sum(s == "head_pose" for s, _, _ in rows) == 122
    assert len(rows) > 300


def test_every_official_key_maps_to_exactly_one_of_ours(ours):
    mapped: dict[str, str] = {}
    for source, key, shape in _official_keys():
        if source == "main" and (_matches(DERIVED, key) or _matches(IGNORED, key)):
            continue
        hits = [m for m in (r.match(key) for r in RULES if r.source == source) if m is not None]
        assert len(hits) == 1, f"{key}: {len(hits)} rules match ({hits})"
        target = hits[0]
        assert target in ours, f"{key} -> {target}, not a key of ours"
        assert ours[target] == shape, f"{key} {shape} -> {target} {ours[target]}"
        assert target not in mapped, f"{key} and {mapped.get(target)} both map to {target}"
        mapped[target] = key
    assert sorted(set(ours) - set(mapped)) == []  # every key of ours is covered


def test_derived_and_ignored_keys_of_our_groups():
    main = [k for s, k, _ in _official_keys() if s == "main"]
    derived = sorted(k for k in main if _matches(DERIVED, k))
    assert derived == sorted(
        [
            "expression_embedder_nw.identity_grid",
            "expression_embedder_nw.identity_grid_512",
            "expression_embedder_nw.net_face.mean",
            "expression_embedder_nw.net_face.std",
            "idt_embedder_nw.mean",
            "idt_embedder_nw.std",
        ]
    )
    assert [k for k in main if _matches(IGNORED, k)] == ["expression_embedder_nw.aligned_keypoints"]


def test_derived_buffers_equal_ours(official_state):
    """The official buffer values equal what our modules compute (tiny networks, release grid size)."""
    tiny = {"preset": "tiny"}
    idt = IdentityEncoder(IdentityEncoderConfig(image_size=64, input_size=64, backbone_config=tiny))
    mot = MotionEncoder(MotionEncoderConfig(image_size=64, expression_backbone_config=tiny, **TINY_POSE))
    pairs = {
        "idt_embedder_nw.mean": idt.normalize.mean,
        "idt_embedder_nw.std": idt.normalize.std,
        "expression_embedder_nw.net_face.mean": mot.expression.normalize.mean,
        "expression_embedder_nw.net_face.std": mot.expression.normalize.std,
        "expression_embedder_nw.identity_grid": mot.align_grid,  # align_size 128, as released
        "expression_embedder_nw.identity_grid_512": identity_grid_2d(512),  # unused at inference
    }
    for key, value in pairs.items():
        torch.testing.assert_close(official_state[key], value, rtol=0, atol=0, msg=key)
