"""A checkpoint's component configs as `--set` overrides of an inference pipeline."""

from __future__ import annotations

import tomllib

import pytest

from emoportraits_core.config import config_to_dict
from emoportraits_core.errors import CheckpointError
from emoportraits_core.pipeline import load_pipeline, resolve_pipeline
from emoportraits_plugins.evaluate.overrides import checkpoint_overrides, toml_value


def test_toml_values_round_trip():
    value = {
        "a": 1,
        "b": [1.5, 1e-06, -2],
        "c": {"d": 'x "q" \\ é', "e": [[1, 2], [3]]},
        "f": True,
        "g": None,
    }
    back = tomllib.loads(f"v = {toml_value(value)}")["v"]
    assert back == {"a": 1, "b": [1.5, 1e-06, -2], "c": {"d": 'x "q" \\ é', "e": [[1, 2], [3]]}, "f": True}
    assert toml_value(float("inf")) == "inf" and toml_value((1, 2)) == "[1, 2]"
    with pytest.raises(ValueError, match="no TOML spelling"):
        toml_value(None)


def test_only_the_pipelines_components_and_a_renamed_one():
    spec = load_pipeline("animate")
    meta = {
        "renderer": {"kind": "renderer", "name": "emoportraits_renderer", "config": {"channels": 16}},
        "discriminator": {"kind": "discriminator", "name": "multiscale_patch", "config": {}},
        "warp_embedder": {"kind": "embedder", "name": "my_embedder", "config": {"x": 1}},
    }
    sets = checkpoint_overrides(meta, spec.components)
    assert sets == [
        'components.renderer.config={"channels" = 16}',
        'components.warp_embedder.name="my_embedder"',
        'components.warp_embedder.config={"x" = 1}',
    ]
    assert checkpoint_overrides(meta, ["renderer"]) == ['components.renderer.config={"channels" = 16}']
    with pytest.raises(CheckpointError, match=r"'renderer' is a volume .* but a renderer"):
        checkpoint_overrides({"renderer": {"kind": "volume", "name": "v", "config": {}}}, spec.components)
    with pytest.raises(CheckpointError, match=r"not \{kind, name, config\}"):
        checkpoint_overrides({"renderer": "oops"}, spec.components, where="m.safetensors")


def test_the_released_graph_in_the_tiny_form_of_a_training_checkpoint(registry):
    train = resolve_pipeline("train_tiny", [], registry)
    meta = {
        k: {"kind": c.kind, "name": c.entry.name, "config": config_to_dict(c.config)}
        for k, c in train.components.items()
    }
    animate = resolve_pipeline(
        "animate", checkpoint_overrides(meta, load_pipeline("animate").components), registry
    )
    for key, comp in animate.components.items():
        if key == "driver":  # not in the checkpoint: the pipeline's own
            assert comp.config.size == 512
        else:
            assert config_to_dict(comp.config) == meta[key]["config"], key
