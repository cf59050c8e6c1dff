"""Pipeline validation against the registry (toy plugin): resolution, staging, and every error class."""

from __future__ import annotations

import pytest
from pipeline_files import ANIMATE, PIPES, TRAIN, variant

from emoportraits_core.errors import ConfigError, PipelineError
from emoportraits_core.pipeline import Wire, load_pipeline, validate_pipeline
from emoportraits_core.pipeline.graph import CycleError, topological_order


def check(path, registry, overrides=()):
    return validate_pipeline(load_pipeline(path, overrides), registry)


def test_resolves_components_wires_order_and_stages(toy_registry):
    r = check(ANIMATE, toy_registry)
    assert r.components["motion"].config.max_angle == 0.1  # preset applied
    assert r.components["encoder"].config.channels == 4
    assert r.components["warp"].entry.plugin == "emoportraits_toy.plugin"  # registered explicitly
    assert list(r.nodes) == [
        "encode_source",
        "source_motion",
        "to_canonical",
        "canonical",
        "driver_motion",
        "to_driver",
        "render",
    ]
    assert r.nodes_in_stage("static") == ["encode_source", "source_motion", "to_canonical", "canonical"]
    assert r.nodes_in_stage("stream") == ["driver_motion", "to_driver", "render"]
    assert r.nodes["render"].inputs == {"volume": Wire("to_driver", "volume")}  # "node" shorthand
    assert r.nodes["to_driver"].input_types == {"volume": "volume", "motion": "motion"}
    assert r.outputs["image"] == Wire("render", "image") and r.output_types["driver_motion"] == "motion"
    assert r.static_inputs == ["source"] and r.stream_inputs == ["driver"]


def test_train_pipeline_validates(toy_registry):
    r = check(TRAIN, toy_registry)
    assert r.losses["l1_half"].config.scale == 2.0
    assert r.losses["l1"].inputs == {"pred": Wire("render", "image"), "target": Wire("driver")}
    assert r.optimizers["generator"].config.betas == (0.5, 0.999)
    assert r.schedules["generator"].config.total_steps == 1000
    assert {k: d.ratio for k, d in r.data.items()} == {"vox": 0.75, "mead": 0.25}


def test_set_swaps_a_component_in_one_line(toy_registry):
    from emoportraits_toy.components import ToyWarper, ToyWarperConfig

    class OtherWarper(ToyWarper):
        """Another warper with the same ports."""

    toy_registry.register("warper", "other_warper", OtherWarper, config=ToyWarperConfig)
    r = check(ANIMATE, toy_registry, ["components.warp.name=other_warper"])
    assert r.components["warp"].entry.factory is OtherWarper


def test_data_ratios_default_to_equal(toy_registry, tmp_path):
    path = variant(tmp_path, "ratio = 0.75\n", "", TRAIN)
    path.write_text(path.read_text().replace("ratio = 0.25\n", ""))
    assert [d.ratio for d in check(path, toy_registry).data.values()] == [0.5, 0.5]


def test_typo_file_names_the_node_the_key_and_the_closest_match(toy_registry):
    path = PIPES / "typo.toml"
    with pytest.raises(PipelineError) as info:
        check(path, toy_registry)
    assert str(info.value) == (
        f"{path}: [nodes.render] inputs.volume: unknown node 'warpd'; "
        "available: encode, warp, render; did you mean 'warp'?"
    )


def test_cycle_is_named(toy_registry):
    with pytest.raises(
        PipelineError, match=r"\[nodes.first\] inputs.volume: cycle first -> second -> first$"
    ):
        check(PIPES / "cycle.toml", toy_registry)


def test_topological_order_keeps_file_order_and_finds_cycles():
    assert topological_order({"c": ["a"], "a": [], "b": ["c"]}) == ["a", "c", "b"]
    with pytest.raises(CycleError) as info:
        topological_order({"a": ["b"], "b": ["c"], "c": ["b"]})
    assert info.value.cycle == ("b", "c", "b")
    with pytest.raises(CycleError):
        topological_order({"a": ["a"]})


ANIMATE_ERRORS = [
    # (old, new, location, message)
    (
        'name = "toy_warper"',
        'name = "toy_warpr"',
        "[components.warp] name",
        r"unknown warper 'toy_warpr'; available: .*toy_warper.*; did you mean 'toy_warper'\?",
    ),
    (
        'kind = "warper"',
        'kind = "warpr"',
        "[components.warp] kind",
        r"unknown kind 'warpr'; available kinds: .*; did you mean 'warper'\?",
    ),
    (
        'kind = "volume"',
        'kind = "renderer"',
        "[components.volume] name",
        r"'toy_volume' is a volume, not a renderer; set kind = \"volume\"",
    ),
    (
        'component = "warp"',
        'component = "wrap"',
        "[nodes.to_canonical] component",
        r"unknown component 'wrap'; available: encoder, motion, warp, volume, render; did you mean 'warp'\?",
    ),
    (
        'inputs = { volume = "to_driver" }',
        'inputs = { volum = "to_driver" }',
        "[nodes.render] inputs.volum",
        r"renderer 'toy_renderer' has no input port 'volum'; its inputs: volume; did you mean 'volume'\?",
    ),
    (
        'inputs = { volume = "encode_source.volume", motion = "source_motion" }',
        'inputs = { volume = "encode_source.volume" }',
        "[nodes.to_canonical] inputs",
        r"port 'motion' \(motion\) of warper 'toy_warper' is not wired; add inputs.motion = ",
    ),
    (
        'inputs = { volume = "to_driver" }',
        'inputs = { volume = "driver_motion" }',
        "[nodes.render] inputs.volume",
        r"type mismatch: 'driver_motion' carries motion but port 'volume' of renderer 'toy_renderer' expects volume",
    ),
    (
        'inputs = { image = "source" }',
        'inputs = { image = "sourc" }',
        "[nodes.encode_source] inputs.image",
        r"unknown input or node 'sourc'; inputs: source, driver; nodes: .*; did you mean 'source'\?",
    ),
    (
        'volume = "canonical.volume"',
        'volume = "canonical.vol"',
        "[nodes.to_driver] inputs.volume",
        r"node 'canonical' has no output 'vol'; its outputs: volume; did you mean 'volume'\?",
    ),
    (
        'inputs = { image = "source" }',
        'inputs = { image = "source.image" }',
        "[nodes.encode_source] inputs.image",
        r"unknown node 'source' \('source' is a pipeline input: write just 'source'\)",
    ),
    (
        'image = "render.image"',
        'image = "render.imag"',
        "[outputs] image",
        r"node 'render' has no output 'imag'; its outputs: image; did you mean 'image'\?",
    ),
    (
        'type = "image"',
        'type = "imge"',
        "[inputs.source] type",
        r"unknown port type 'imge'; known types: .*; did you mean 'image'\?",
    ),
    (
        "[nodes.canonical]",
        '[nodes.source]\ncomponent = "volume"\ninputs = { volume = "to_canonical" }\n[nodes.canonical]',
        "[nodes.source]",
        r"'source' is also a pipeline input",
    ),
]


@pytest.mark.parametrize(("old", "new", "where", "message"), ANIMATE_ERRORS)
def test_validation_errors_name_the_file_and_key(toy_registry, tmp_path, old, new, where, message):
    path = variant(tmp_path, old, new)
    with pytest.raises(PipelineError, match=message) as info:
        check(path, toy_registry)
    text = str(info.value)
    assert text.startswith(f"{path}: {where}: "), text
    assert "\n" not in text


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        (
            "config = { channels = 4 }",
            "config = { chanels = 4 }",
            r"\[components.encoder.config\]: unknown key 'chanels'; valid keys: .*; did you mean 'channels'\?",
        ),
        (
            "config = { channels = 4 }",
            'config = { channels = "4" }',
            r"\[components.encoder.config\]: key 'channels' expects int, got '4' \(str\)",
        ),
        (
            'config = { preset = "gentle" }',
            'config = { preset = "gentl" }',
            r"\[components.motion.config\]: unknown preset 'gentl' for encoder 'toy_motion_encoder'; "
            r"available: gentle; did you mean 'gentle'\?",
        ),
    ],
)
def test_component_config_errors(toy_registry, tmp_path, old, new, message):
    path = variant(tmp_path, old, new)
    with pytest.raises(ConfigError, match=message) as info:
        check(path, toy_registry)
    assert str(info.value).startswith(f"{path} [components.")


TRAIN_ERRORS = [
    (
        'name = "toy_l1"',
        'name = "toy_l2"',
        PipelineError,
        r"\[losses.l1\] name: unknown loss 'toy_l2'; available: .*toy_l1",
    ),
    (
        "config = { scale = 2.0 }",
        "config = { scal = 2.0 }",
        ConfigError,
        r"\[losses.l1_half.config\]: unknown key 'scal'",
    ),
    (
        'target = "driver" }',
        'target = "driver_motion" }',
        PipelineError,
        r"\[losses.l1\] inputs.target: type mismatch: 'driver_motion' carries motion but port 'target' "
        r"of loss 'toy_l1' expects image",
    ),
    (
        'type = "adam"',
        'type = "adan"',
        ConfigError,
        r"\[optimizers.generator\] type: unknown optimizer type 'adan'; valid types: adam, adamw, sgd; did you mean 'adam'\?",
    ),
    (
        "weight_decay = 0.0",
        "weight_decy = 0.0",
        ConfigError,
        r"\[optimizers.generator\]: unknown key 'weight_decy' for optimizer type 'adam'; valid keys: "
        r"betas, components, eps, lr, steps, type, weight_decay; did you mean 'weight_decay'\?",
    ),
    ("lr = 2e-4", "lr = -1", ConfigError, r"\[optimizers.generator\]: 'lr' must be > 0, got -1"),
    ("lr = 2e-4\n", "", ConfigError, r"\[optimizers.generator\]: missing key 'lr'"),
    ("betas = [0.5, 0.999]", "betas = [0.5, 1.5]", ConfigError, r"'betas' must both lie in \[0, 1\)"),
    (
        '"warp", "render"]',
        '"wrap", "render"]',
        PipelineError,
        r"\[optimizers.generator\] components\[2\]: unknown component 'wrap'; .*did you mean 'warp'\?",
    ),
    ('"warp", "render"]', '"warp", "warp"]', PipelineError, r"component 'warp' is already trained by"),
    (
        'optimizer = "generator"',
        'optimizer = "generater"',
        PipelineError,
        r"\[schedules.generator\] optimizer: unknown optimizer 'generater'; available: generator; did you mean 'generator'\?",
    ),
    ("total_steps = 1000\n", "", ConfigError, r"\[schedules.generator\]: missing key 'total_steps'"),
    (
        'type = "cosine"',
        'type = "cosin"',
        ConfigError,
        r"unknown schedule type 'cosin'; valid types: .*; did you mean 'cosine'\?",
    ),
    (
        "ratio = 0.25",
        "ratio = 0.5",
        PipelineError,
        r"\[data\] ratio: the ratios must sum to 1, got 1.25 \(vox=0.75, mead=0.5\)",
    ),
    (
        "ratio = 0.25\n",
        "",
        PipelineError,
        r"\[data.mead\] ratio: missing; give every data source a ratio, or none",
    ),
    (
        'name = "toy_pairs"\nconfig = { items = 8 }',
        'name = "toy_pair"\nconfig = { items = 8 }',
        ConfigError,
        r"\[data.vox\] name: unknown dataset name 'toy_pair'; valid names: pairs, .*toy_pairs; did you mean 'toy_pairs'\?",
    ),
    (
        "config = { items = 8 }",
        "config = { itemz = 8 }",
        ConfigError,
        r"\[data.vox\]: unknown key 'itemz' for dataset name 'toy_pairs'; valid keys: items, size; did you mean 'items'\?",
    ),
]


@pytest.mark.parametrize(("old", "new", "exc", "message"), TRAIN_ERRORS)
def test_training_section_errors(toy_registry, tmp_path, old, new, exc, message):
    path = variant(tmp_path, old, new, TRAIN)
    with pytest.raises(exc, match=message) as info:
        check(path, toy_registry)
    assert str(info.value).startswith(str(path))


def test_train_mode_needs_losses_and_optimizers(toy_registry):
    with pytest.raises(PipelineError, match=r'mode = "train" needs at least one \[losses.<name>\]'):
        check(ANIMATE, toy_registry, ["pipeline.mode=train"])


def test_inference_needs_an_output(toy_registry, tmp_path):
    path = variant(tmp_path, 'image = "render.image"\ndriver_motion = "driver_motion.motion"\n', "")
    with pytest.raises(PipelineError, match=r"\[outputs\] is empty"):
        check(path, toy_registry)


def test_validation_builds_nothing(toy_registry, monkeypatch):
    from emoportraits_toy.components import ToyEncoder

    def boom(self, config):
        raise AssertionError("validation must not build components")

    monkeypatch.setattr(ToyEncoder, "__init__", boom)
    check(ANIMATE, toy_registry)


def test_a_driver_is_not_a_node(toy_registry, tmp_path):
    from emoportraits_core.interfaces import Driver

    class FileDriver(Driver):
        """Yields nothing."""

        outputs = {"motion": "motion"}

        def probe(self, source):
            raise NotImplementedError

        def stream(self, source, batch_size):
            yield from ()

    toy_registry.register("driver", "file_driver", FileDriver)
    path = variant(
        tmp_path,
        "[components.encoder]",
        '[components.drv]\nkind = "driver"\nname = "file_driver"\n\n[components.encoder]',
    )
    path.write_text(path.read_text().replace('component = "encoder"', 'component = "drv"'))
    with pytest.raises(PipelineError, match=r"\[nodes.encode_source\] component: 'drv' is a driver"):
        check(path, toy_registry)
