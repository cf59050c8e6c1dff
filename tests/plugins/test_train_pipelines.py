"""The shipped training pipelines: the tiny, release and paper variants are one graph."""

from __future__ import annotations

import pytest

from emoportraits_core.pipeline import load_pipeline, resolve_pipeline

NAMES = ("train_tiny", "train_release", "train_paper")


@pytest.mark.parametrize("name", NAMES)
def test_training_pipelines_validate(registry, name):
    resolved = resolve_pipeline(name, (), registry)
    assert resolved.spec.mode == "train" and set(resolved.optimizers) == {"generator", "discriminator"}
    assert resolved.losses["discriminator"].optimizer == "discriminator"


def test_the_variants_share_the_graph_and_the_components():
    tiny, release, paper = (load_pipeline(n) for n in NAMES)
    assert tiny.nodes == release.nodes == paper.nodes
    names = lambda spec: {k: (c.kind, c.name) for k, c in spec.components.items()}  # noqa: E731
    assert names(tiny) == names(release) == names(paper)


def test_release_and_paper_differ_where_the_facts_say(registry):
    release, paper = (resolve_pipeline(n, (), registry) for n in NAMES[1:])
    assert (release.losses["vgg19"].weight, paper.losses["vgg19"].weight) == (18, 20)
    assert {"pull_push", "identity_mix"} <= set(release.losses) and not {"pull_push", "identity_mix"} & set(
        paper.losses
    )
    assert release.schedules["generator"].config.total_steps == 400_000
    assert paper.schedules["generator"].config.total_steps == 250_000
    assert {k: d.ratio for k, d in release.data.items()} == {"voxceleb2": 0.75, "feed": 0.25}
    assert paper.losses["source_driver_mismatch"].config.feed_weight == 10
    assert release.spec.train.steps_per_epoch == 938
