"""Pipeline files: reading, ``--set`` overrides, structural errors (no registry needed)."""

from __future__ import annotations

import pytest
from pipeline_files import ANIMATE, PIPES, TRAIN, variant

from emoportraits_core.errors import PipelineError
from emoportraits_core.pipeline import load_pipeline
from emoportraits_core.pipeline.loader import apply_override, parse_value


def test_load_reads_every_section():
    spec = load_pipeline(ANIMATE)
    assert spec.name == "toy_animate" and spec.mode == "inference"
    assert list(spec.inputs) == ["source", "driver"]
    assert spec.inputs["driver"].stream and not spec.inputs["source"].stream
    assert spec.components["motion"].config == {"preset": "gentle"}
    assert spec.components["render"].config == {"image_size": 32}  # from a [..config] sub-table
    assert spec.nodes["to_driver"].inputs == {"volume": "canonical.volume", "motion": "driver_motion.motion"}
    assert spec.outputs == {"image": "render.image", "driver_motion": "driver_motion.motion"}
    train = load_pipeline(TRAIN)
    assert train.losses["l1"].weight == 10.0 and train.losses["l1_half"].config == {"scale": 2.0}
    assert train.optimizers["generator"].params == {"lr": 2e-4, "betas": [0.5, 0.999], "weight_decay": 0.0}
    assert train.schedules["generator"].params == {"total_steps": 1000, "warmup_steps": 10}
    assert train.data["mead"].ratio == 0.25
    assert (train.data["mead"].name, train.data["mead"].config) == ("toy_pairs", {"items": 4, "size": 32})


def test_name_defaults_to_file_stem(tmp_path):
    path = tmp_path / "mine.toml"
    path.write_text('[nodes.a]\ncomponent = "x"\n')
    assert load_pipeline(path).name == "mine"


def test_bare_name_resolves_to_a_shipped_pipeline(monkeypatch, tmp_path):
    import emoportraits_pipelines

    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(emoportraits_pipelines, "path", lambda name: PIPES / f"{name}.toml")
    monkeypatch.setattr(emoportraits_pipelines, "available", lambda: ["toy_animate", "toy_train"])
    assert load_pipeline("toy_animate").path == str(ANIMATE)
    with pytest.raises(
        PipelineError, match=r"no shipped pipeline .*toy_animate, toy_train; did you mean 'toy_train'\?"
    ):
        load_pipeline("toy_trian")


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("20", 20),
        ("2e-4", 2e-4),
        ("[1, 2]", [1, 2]),
        ("true", True),
        ('"str"', "str"),
        ("my_warper", "my_warper"),
    ],
)
def test_override_values_are_toml_or_bare_strings(text, value):
    assert parse_value(text) == value


def test_overrides_apply_to_the_raw_tree_before_parsing():
    spec = load_pipeline(
        TRAIN,
        [
            "components.warp.name=my_warper",
            "losses.l1.weight=20",
            "components.encoder.config.channels=8",
            "optimizers.generator.betas=[0.9, 0.99]",
            "data.vox.ratio=0.5",
            'pipeline.description="with spaces"',
        ],
    )
    assert spec.components["warp"].name == "my_warper"
    assert spec.losses["l1"].weight == 20.0
    assert spec.components["encoder"].config == {"channels": 8}  # a new table was created
    assert spec.optimizers["generator"].params["betas"] == [0.9, 0.99]
    assert spec.data["vox"].ratio == 0.5
    assert spec.description == "with spaces"
    assert spec.overrides[0] == "components.warp.name=my_warper"


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ("losses.l1.weight", r"--set 'losses.l1.weight': expected KEY=VALUE"),
        ("losses..weight=2", r"--set 'losses..weight=2': expected KEY=VALUE"),
        (
            "components.warp.name.x=1",
            r"--set 'components.warp.name.x=1': 'components.warp.name' is 'toy_warper' \(str\), not a table",
        ),
    ],
)
def test_bad_override_names_the_override(override, message):
    with pytest.raises(PipelineError, match=message):
        load_pipeline(TRAIN, [override])


def test_override_path_into_a_list_is_rejected():
    tree = {"a": [1, 2]}
    with pytest.raises(PipelineError, match=r"x.toml: --set 'a.b=1': 'a' is \[1, 2\] \(list\), not a table"):
        apply_override(tree, "a.b=1", "x.toml")


def test_toml_syntax_error_names_file_and_line():
    path = PIPES / "syntax_error.toml"
    with pytest.raises(PipelineError, match=rf"^{path}:6: invalid TOML: .*line 6") as info:
        load_pipeline(path)
    assert "\n" not in str(info.value)


def test_missing_file():
    with pytest.raises(PipelineError, match=r"nope/x.toml: no such pipeline file"):
        load_pipeline("nope/x.toml")


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        (
            "[components.encoder]",
            "[compnents.x]\n[components.encoder]",
            r"unknown top-level table 'compnents'; valid tables: pipeline, .*; did you mean 'components'\?",
        ),
        (
            'name = "toy_warper"',
            'nmae = "toy_warper"',
            r"\[components.warp\] unknown key 'nmae'; valid keys: config, kind, name; did you mean 'name'\?",
        ),
        (
            "stream = true",
            "streem = true",
            r"\[inputs.driver\] unknown key 'streem'; valid keys: description, stream, type; did you mean 'stream'\?",
        ),
        (
            'mode = "inference"',
            'mode = "infer"',
            r"\[pipeline\] mode: unknown mode 'infer'; valid modes: inference, train; did you mean 'inference'\?",
        ),
        (
            "stream = true",
            'stream = "yes"',
            r"\[inputs.driver\] stream: expected true or false, got 'yes' \(str\)",
        ),
        ('name = "toy_warper"\n', "", r"\[components.warp\] missing key 'name' \(the registry name"),
        (
            'inputs = { image = "source" }',
            "inputs = { image = 3 }",
            r"\[nodes.encode_source\] inputs.image: expected a wire string",
        ),
        (
            "[nodes.render]",
            '[nodes."a.b"]\ncomponent = "x"\n[nodes.render]',
            r"\[nodes.a.b\]: the name 'a.b' must be an identifier",
        ),
        ('image = "render.image"', "image = 1", r"\[outputs\] image: expected a string, got 1 \(int\)"),
    ],
)
def test_structural_errors_name_the_file_and_key(tmp_path, old, new, message):
    path = variant(tmp_path, old, new)
    with pytest.raises(PipelineError, match=message) as info:
        load_pipeline(path)
    assert str(info.value).startswith(f"{path}: ")


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ("weight = 10.0", "weight = -1", r"\[losses.l1\] weight: expected a weight >= 0, got -1"),
        ("weight = 10.0", 'weight = "x"', r"\[losses.l1\] weight: expected a number, got 'x' \(str\)"),
        ('kind = "loss"', 'kind = "los"', r"\[losses.l1_half\] kind: a loss term has kind 'loss'"),
        ("ratio = 0.75", "ratio = 0", r"\[data.vox\] ratio: expected a ratio > 0, got 0"),
        ('name = "toy_pairs"\nconfig = { items = 8 }\n', "", r"\[data.vox\] missing key 'name'"),
        (
            'components = ["encoder", "motion", "warp", "render"]',
            "components = [1]",
            r"\[optimizers.generator\] components\[0\]: expected a component name",
        ),
        ('optimizer = "generator"\n', "", r"\[schedules.generator\] missing key 'optimizer'"),
    ],
)
def test_structural_errors_in_training_sections(tmp_path, old, new, message):
    with pytest.raises(PipelineError, match=message):
        load_pipeline(variant(tmp_path, old, new, TRAIN))
