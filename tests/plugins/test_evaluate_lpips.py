"""LPIPS (VGG, v0.1) from weights in the lpips package's layouts (synthetic values here: the real
files are not shipped): both layouts load the same network, the distance behaves, errors name keys."""

from __future__ import annotations

import pytest
import torch

from emoportraits_core.errors import CheckpointError
from emoportraits_plugins.evaluate.lpips import LPIPS, LPIPS_LAYERS
from emoportraits_plugins.evaluate.scorers import Scorers

_CONVS = {
    0: (64, 3),
    2: (64, 64),
    5: (128, 64),
    7: (128, 128),
    10: (256, 128),
    12: (256, 256),
    14: (256, 256),
}
_CONVS |= {17: (512, 256), 19: (512, 512), 21: (512, 512), 24: (512, 512), 26: (512, 512), 28: (512, 512)}
_SLICE = {i: 1 + sum(i > b for b in (3, 8, 15, 22)) for i in _CONVS}


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    """Files in the three published layouts, with random (He) weights and non-negative lins."""
    gen = torch.Generator().manual_seed(0)
    convs = {
        i: (
            torch.randn(o, c, 3, 3, generator=gen) * (2 / (9 * c)) ** 0.5,
            0.01 * torch.randn(o, generator=gen),
        )
        for i, (o, c) in _CONVS.items()
    }
    lins = {
        f"lin{k}.model.1.weight": torch.rand(1, c, 1, 1, generator=gen)
        for k, c in enumerate((64, 128, 256, 512, 512))
    }
    torchvision = {
        f"features.{i}.{n}": t for i, (w, b) in convs.items() for n, t in (("weight", w), ("bias", b))
    }
    torchvision |= {"classifier.0.weight": torch.zeros(2, 2), "classifier.0.bias": torch.zeros(2)}
    full = {
        f"net.slice{_SLICE[i]}.{i}.{n}": t
        for i, (w, b) in convs.items()
        for n, t in (("weight", w), ("bias", b))
    }
    full |= lins | {
        "scaling_layer.shift": torch.zeros(1, 3, 1, 1),
        "scaling_layer.scale": torch.ones(1, 3, 1, 1),
    }
    tmp_path = tmp_path_factory.mktemp("lpips")
    paths = {}
    for name, state in (("vgg16.pth", torchvision), ("vgg.pth", lins), ("lpips_vgg.pth", full)):
        paths[name] = tmp_path / name
        torch.save(state, paths[name])
    return paths


def test_both_layouts_give_the_same_metric(files):
    full = LPIPS.create(files["lpips_vgg.pth"])
    split = LPIPS.create(files["vgg.pth"], backbone=files["vgg16.pth"])
    gen = torch.Generator().manual_seed(1)
    x, y = torch.rand(2, 3, 32, 32, generator=gen), torch.rand(2, 3, 32, 32, generator=gen)
    d = full(x, y)
    assert d.shape == (2,) and (d > 0).all() and torch.allclose(d, split(x, y))
    assert torch.equal(full(x, x), torch.zeros(2, dtype=torch.float64))
    assert torch.allclose(full(x, y), full(y, x)) and full(x, x * 0.9 + 0.05).max() < d.min()
    assert not list(full.parameters()) and not full.state_dict() and LPIPS_LAYERS[-1] == 29
    assert Scorers.create(keypoints=False, identity=False, lpips=files["lpips_vgg.pth"]).lpips is not None


def test_wrong_files_are_named(files, tmp_path):
    with pytest.raises(CheckpointError, match=r"only the LPIPS linear layers .*--lpips-backbone"):
        LPIPS.create(files["vgg.pth"])
    with pytest.raises(CheckpointError, match=r"missing key 'lin0\.model\.1\.weight'"):
        LPIPS.create(files["vgg16.pth"], backbone=files["vgg16.pth"])
    state = torch.load(files["vgg.pth"], weights_only=True)
    state["lin2.model.1.weight"] = torch.rand(1, 3, 1, 1)
    torch.save(state, tmp_path / "bad.pth")
    with pytest.raises(
        CheckpointError, match=r"'lin2.model.1.weight' has shape \(1, 3, 1, 1\), expected \(1, 256, 1, 1\)"
    ):
        LPIPS.create(tmp_path / "bad.pth", backbone=files["vgg16.pth"])
    with pytest.raises(CheckpointError, match="no such"):
        LPIPS.create(tmp_path / "none.pth")
