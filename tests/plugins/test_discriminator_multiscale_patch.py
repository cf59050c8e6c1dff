"""The multi-scale patch discriminator: TRAINING_FACTS §3 layout, output structure, conformance."""

from __future__ import annotations

import pytest
import torch
from conftest import plugin_registry
from torch import nn

from emoportraits_conformance import conformance_tests
from emoportraits_core import Registry
from emoportraits_plugins import discriminators
from emoportraits_plugins.discriminators import MultiScalePatchConfig, MultiScalePatchDiscriminator


@pytest.fixture
def registry() -> Registry:
    return plugin_registry(discriminators)


test_conformance = conformance_tests("discriminator", "multiscale_patch", registry="registry", preset="tiny")


def test_release_layout_and_parameter_count():
    with torch.device("meta"):
        d = MultiScalePatchDiscriminator()
    assert len(d.scales) == 2
    convs = [m for m in d.scales[0].modules() if isinstance(m, nn.Conv2d)]
    assert [(c.in_channels, c.out_channels, c.kernel_size, c.stride, c.bias is None) for c in convs] == [
        (3, 64, (3, 3), (2, 2), True),
        (64, 128, (3, 3), (2, 2), True),
        (128, 256, (3, 3), (2, 2), True),
        (256, 512, (3, 3), (1, 1), True),
        (512, 1, (1, 1), (1, 1), False),
    ]
    norms = [m for m in d.scales[0].modules() if isinstance(m, nn.InstanceNorm2d)]
    assert len(norms) == 4 and all(n.affine for n in norms)
    per_scale = (3 * 64 + 64 * 128 + 128 * 256 + 256 * 512) * 9 + 2 * (64 + 128 + 256 + 512) + 512 + 1
    assert sum(p.numel() for p in d.parameters()) == 2 * per_scale
    keys = set(d.state_dict())
    assert {"scales.0.blocks.0.conv.weight", "scales.1.blocks.3.norm.bias", "scales.1.score.bias"} <= keys


def test_scores_and_features_per_scale():
    d = MultiScalePatchDiscriminator(MultiScalePatchConfig(channels=(4, 8, 8, 16), image_size=64))
    out = d(torch.rand(2, 3, 64, 64))
    assert [tuple(s.shape) for s in out["scores"]] == [(2, 1, 8, 8), (2, 1, 4, 4)]
    assert [[tuple(f.shape[1:]) for f in fs] for fs in out["features"]] == [
        [(4, 32, 32), (8, 16, 16), (8, 8, 8), (16, 8, 8)],
        [(4, 16, 16), (8, 8, 8), (8, 4, 4), (16, 4, 4)],
    ]


def test_second_scale_sees_the_average_pooled_image():
    d = MultiScalePatchDiscriminator(MultiScalePatchConfig(channels=(4, 8, 8, 16), image_size=32))
    x = torch.rand(1, 3, 32, 32)
    score, _ = d.scales[1](nn.functional.avg_pool2d(x, 2))
    torch.testing.assert_close(d(x)["scores"][1], score)
