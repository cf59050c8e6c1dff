"""Running pipelines on tensors: static nodes once, stream nodes per batch, broadcasting, weights."""

from __future__ import annotations

from collections import Counter

import pytest
import torch
from pipeline_files import PIPES

from emoportraits_core.checkpoint import save_checkpoint
from emoportraits_core.errors import CheckpointError, InputError
from emoportraits_core.pipeline import build, load_pipeline, validate_pipeline
from emoportraits_core.types import Motion


@pytest.fixture
def animate(toy_registry):
    return validate_pipeline(load_pipeline(PIPES / "toy_animate.toml"), toy_registry)


def images(batch: int, seed: int) -> torch.Tensor:
    return torch.rand(batch, 3, 32, 32, generator=torch.Generator().manual_seed(seed))


def count_calls(runner) -> Counter:
    calls: Counter = Counter()
    for key, module in runner.components.items():
        module.register_forward_hook(lambda m, args, out, key=key: calls.update([key]))
    return calls


def test_static_branch_runs_once_and_stream_per_batch(animate, toy_registry):
    torch.manual_seed(0)
    runner = build(animate, toy_registry)
    calls = count_calls(runner)
    runner.prepare(source=images(1, 0))
    assert calls == Counter(encoder=1, motion=1, warp=1, volume=1)
    for batch in (2, 3, 1):
        out = runner(driver=images(batch, batch))
        assert out["image"].shape == (batch, 3, 32, 32)
        assert isinstance(out["driver_motion"], Motion) and out["driver_motion"].batch_size == batch
        assert out["image"].min() >= 0 and out["image"].max() <= 1
    # shared components: `motion` and `warp` are called by one static and one stream node each
    assert calls == Counter(encoder=1, volume=1, motion=4, warp=4, render=3)


def test_batch1_static_values_are_broadcast(animate, toy_registry):
    torch.manual_seed(0)
    runner = build(animate, toy_registry)
    source, driver = images(1, 0), images(3, 1)
    runner.prepare(source=source)
    out, trace = runner(driver=driver, return_intermediates=True)
    assert trace["canonical.volume"].shape[0] == 1  # computed once, at batch 1
    assert trace["to_driver.volume"].shape[0] == 3
    assert set(trace) >= {"source", "driver", "encode_source.volume", "render.image"}
    # the same as running the source branch on a batch of copies
    full = runner.run_all(source=source.expand(3, -1, -1, -1), driver=driver)
    torch.testing.assert_close(out["image"], full["image"])


def test_prepare_replaces_the_cache(animate, toy_registry):
    runner = build(animate, toy_registry)
    driver = images(2, 1)
    runner.prepare(source=images(1, 0))
    first = runner(driver=driver)["image"]
    runner.prepare(source=images(1, 5))
    assert not torch.allclose(first, runner(driver=driver)["image"])
    runner.prepare(source=images(1, 0))
    torch.testing.assert_close(first, runner(driver=driver)["image"])


def test_input_errors(animate, toy_registry):
    runner = build(animate, toy_registry)
    with pytest.raises(InputError, match=r"call prepare\(source=\.\.\.\) before running frame batches"):
        runner(driver=images(1, 0))
    with pytest.raises(
        InputError, match=r"unexpected input 'sorce' for prepare; expected: source; did you mean 'source'\?"
    ):
        runner.prepare(sorce=images(1, 0))
    with pytest.raises(InputError, match=r"unexpected input 'driver' for prepare.*stream inputs per call"):
        runner.prepare(source=images(1, 0), driver=images(1, 0))
    with pytest.raises(InputError, match=r"missing input 'source' \(image\) for prepare"):
        runner.prepare()
    with pytest.raises(InputError, match=r"input 'source' of type image expects a Tensor, got list"):
        runner.prepare(source=[1, 2])


def test_dtype_and_eval_mode(animate, toy_registry):
    runner = build(animate, toy_registry, dtype=torch.float64)
    assert all(not m.training for m in runner.components.values())
    out = runner.run_all(source=images(1, 0), driver=images(2, 1))  # float32 inputs are cast
    assert out["image"].dtype == torch.float64


def _save(runner, path, drop: str = "", extra: bool = False) -> None:
    tensors = {
        f"{key}.{name}": t
        for key, m in runner.components.items()
        if key != drop
        for name, t in m.state_dict().items()
    }
    if extra:
        tensors["discriminator.weight"] = torch.zeros(1)
    save_checkpoint(path, tensors, {})


def test_checkpoint_round_trip(animate, toy_registry, tmp_path):
    torch.manual_seed(0)
    first = build(animate, toy_registry)
    _save(first, tmp_path / "model.safetensors")
    torch.manual_seed(1)
    second = build(animate, toy_registry, checkpoint=tmp_path / "model.safetensors")
    inputs = {"source": images(1, 0), "driver": images(2, 1)}
    torch.testing.assert_close(first.run_all(**inputs)["image"], second.run_all(**inputs)["image"])


def test_checkpoint_missing_and_unknown_components(animate, toy_registry, tmp_path):
    runner = build(animate, toy_registry)
    _save(runner, tmp_path / "missing.safetensors", drop="warp")
    with pytest.raises(CheckpointError, match=r"no weights for component 'warp' of .*toy_animate.toml"):
        build(animate, toy_registry, checkpoint=tmp_path / "missing.safetensors")
    _save(runner, tmp_path / "extra.safetensors", extra=True)
    with pytest.raises(CheckpointError, match=r"weights for component 'discriminator', which is not in"):
        build(animate, toy_registry, checkpoint=tmp_path / "extra.safetensors")


def test_pipeline_without_stream_inputs_runs_with_run_all(toy_registry, tmp_path):
    path = tmp_path / "encode.toml"
    path.write_text(
        '[inputs.source]\ntype = "image"\n'
        '[components.enc]\nkind = "encoder"\nname = "toy_encoder"\n'
        '[nodes.enc]\ncomponent = "enc"\ninputs = { image = "source" }\n'
        '[outputs]\nvolume = "enc"\n'
    )
    resolved = validate_pipeline(load_pipeline(path), toy_registry)
    assert resolved.nodes["enc"].stage == "static"
    out = build(resolved, toy_registry).run_all(source=images(2, 0))
    assert out["volume"].shape == (2, 4, 4, 8, 8)


def test_stream_batch_sizes_must_agree(toy_registry, tmp_path):
    text = (
        (PIPES / "toy_animate.toml")
        .read_text()
        .replace(
            "[components.encoder]", '[inputs.driver2]\ntype = "image"\nstream = true\n\n[components.encoder]'
        )
    )
    text = text.replace('inputs = { image = "driver" }', 'inputs = { image = "driver2" }')
    (tmp_path / "two.toml").write_text(text)
    runner = build(validate_pipeline(load_pipeline(tmp_path / "two.toml"), toy_registry), toy_registry)
    runner.prepare(source=images(1, 0))
    with pytest.raises(InputError, match=r"stream inputs differ in batch size \(driver: 2, driver2: 3\)"):
        runner(driver=images(2, 0), driver2=images(3, 0))
