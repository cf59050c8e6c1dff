"""Loss networks: published layouts and their explicit key maps (round trips through torch.save,
safetensors and numpy pickles), strict loading errors that name the file and the key, frozen state."""

from __future__ import annotations

import pickle
import warnings

import numpy as np
import pytest
import torch
from conftest import plugin_registry
from safetensors.torch import save_file
from torch import nn

from emoportraits_core import CheckpointError
from emoportraits_plugins import losses
from emoportraits_plugins.lossnets import (
    GazeVGG16,
    SENet50,
    VGG19Features,
    VGGFaceFeatures,
    dag_conv_names,
    read_state_dict,
)

TINY = (4, 8, 8, 16, 16)
#: torchvision vgg19 ``features`` indices of its 16 convolutions.
TV_VGG19_CONVS = (0, 2, 5, 7, 10, 12, 14, 16, 19, 21, 23, 25, 28, 30, 32, 34)
TV_VGG16_CONVS = (0, 2, 5, 7, 10, 12, 14, 17, 19, 21, 24, 26, 28)


@pytest.fixture(autouse=True)
def _quiet_random_weights():
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*no weights file configured.*")
        yield


def _tensors(net: nn.Module) -> dict[str, torch.Tensor]:
    return dict(net.named_parameters()) | {k: v for k, v in net.named_buffers() if "num_batches" not in k}


def _published(net: nn.Module, extra: dict[str, tuple[int, ...]] | None = None, seed: int = 1) -> dict:
    """A random state dict in ``net``'s published layout (every mapped key, plus ``extra`` keys)."""
    gen = torch.Generator().manual_seed(seed)
    ours = _tensors(net)
    state = {pub: torch.randn(ours[k].shape, generator=gen) for pub, k in net.key_map().keys.items()}
    for key, value in state.items():
        if key.endswith("running_var"):
            state[key] = value.abs() + 0.5
    return state | {k: torch.randn(s, generator=gen) for k, s in (extra or {}).items()}


def _assert_loaded(net: nn.Module, state: dict) -> None:
    ours = dict(net.named_buffers())
    for pub, key in net.key_map().keys.items():
        torch.testing.assert_close(ours[key], state[pub], rtol=0, atol=0, msg=f"{pub} -> {key}")


# -- published layouts at release size (no weights allocated) -------------------------------------------


def test_vgg19_layout_is_torchvisions():
    with torch.device("meta"):
        net = VGG19Features()
    km = net.key_map()
    assert set(km.keys) == {f"features.{i}.{p}" for i in TV_VGG19_CONVS[:13] for p in ("weight", "bias")}
    assert all(km.keys[k] == k for k in km.keys)  # torchvision names kept
    shapes = {k: tuple(v.shape) for k, v in _tensors(net).items()}
    assert shapes["features.0.weight"] == (64, 3, 3, 3) and shapes["features.28.weight"] == (512, 512, 3, 3)
    published = [f"features.{i}.{p}" for i in TV_VGG19_CONVS for p in ("weight", "bias")]
    published += [f"classifier.{i}.{p}" for i in (0, 3, 6) for p in ("weight", "bias")]
    assert all(k in km.keys or km.is_ignored(k) for k in published)
    assert km.is_ignored("features.34.weight") and not km.is_ignored("features.28.weight")


def test_vggface_dag_names_map_to_vgg16_indices():
    with torch.device("meta"):
        net = VGGFaceFeatures()
    km = net.key_map()
    assert dag_conv_names()[:3] == ["conv1_1", "conv1_2", "conv2_1"] and len(dag_conv_names()) == 13
    expected = dict(zip(dag_conv_names(), TV_VGG16_CONVS))
    for name in dag_conv_names()[:11]:  # conv1_1 .. conv5_1
        assert km.keys[f"{name}.weight"] == f"features.{expected[name]}.weight"
    for unused in ("conv5_2.weight", "conv5_3.bias", "fc6.weight", "fc8.bias"):
        assert unused not in km.keys and km.is_ignored(unused)
    assert tuple(_tensors(net)["features.24.weight"].shape) == (512, 512, 3, 3)


def test_gaze_layouts():
    with torch.device("meta"):
        fwd = GazeVGG16("forward_sum")
        rt = GazeVGG16("rt_gene")
    km = fwd.key_map()
    assert km.keys["eyes_encoder.new_first.weight"] == "left.0.weight"
    assert km.keys["eyes_encoder.sub_model.0.running_mean"] == "left.1.running_mean"  # BN of conv1_1
    assert km.keys["eyes_encoder.sub_model.23.weight"] == "left.24.weight"  # conv4_1 of vgg16_bn
    assert fwd.right is None and isinstance(fwd.left[1], nn.Module)
    for unused in ("eyes_encoder.linear.weight", "keypoints_encoder.net.0.weight", "final_model.1.weight",
                   "final_model_blink.3.weight", "eyes_encoder.classifier.0.bias", "eyes_encoder.sub_model.26.weight"):  # fmt: skip
        assert km.is_ignored(unused), unused
    km = rt.key_map()
    assert km.keys["left_features.24.weight"] == "left.24.weight"
    assert km.keys["right_features.0.bias"] == "right.0.bias"
    assert all(km.is_ignored(k) for k in ("xl.0.weight", "xr.1.running_var", "concat.0.bias", "fc.2.weight"))
    assert km.is_ignored("left_features.26.weight") and "left_features.24.weight" in km.keys


def test_senet50_layout_matches_the_vggface2_port():
    with torch.device("meta"):
        net = SENet50()
    km = net.key_map()
    shapes = {k: tuple(v.shape) for k, v in _tensors(net).items() if k != "mean_bgr"}
    assert set(km.keys) == set(shapes)
    assert shapes["conv1.weight"] == (64, 3, 7, 7)
    assert shapes["layer1.0.conv1.weight"] == (64, 64, 1, 1)
    assert shapes["layer2.0.conv1.weight"] == (128, 256, 1, 1)  # the stride sits on conv1 (Caffe)
    assert shapes["layer4.2.conv4.weight"] == (128, 2048, 1, 1) and shapes["layer4.2.conv5.bias"] == (2048,)
    assert shapes["layer3.0.downsample.0.weight"] == (1024, 512, 1, 1)
    assert km.is_ignored("fc.weight") and not any("num_batches" in k for k in km.keys)


# -- round trips ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["torch", "safetensors"])
def test_vgg19_round_trip(tmp_path, fmt):
    net = VGG19Features(channels=TINY)
    state = _published(net, {"classifier.0.weight": (3, 5), "features.34.weight": (2,)})
    path = tmp_path / ("vgg19.pth" if fmt == "torch" else "vgg19.safetensors")
    torch.save(state, path) if fmt == "torch" else save_file(state, str(path))
    loaded = VGG19Features.create(path, channels=TINY)
    _assert_loaded(loaded, state)


def test_vggface_round_trip_nested_and_dataparallel(tmp_path):
    net = VGGFaceFeatures(channels=TINY)
    state = _published(net, {"conv5_3.weight": (2, 2), "fc8.bias": (7,)})
    torch.save({"state_dict": {f"module.{k}": v for k, v in state.items()}}, tmp_path / "vgg_face_dag.pth")
    _assert_loaded(VGGFaceFeatures.create(tmp_path / "vgg_face_dag.pth", channels=TINY), state)


@pytest.mark.parametrize("layout", ["forward_sum", "rt_gene"])
def test_gaze_round_trip(tmp_path, layout):
    net = GazeVGG16(layout, channels=TINY)
    extra = {"fc.0.weight": (2, 3)} if layout == "rt_gene" else {"keypoints_encoder.net.0.weight": (2, 3)}
    state = _published(net, extra)
    state |= {
        k.replace("running_mean", "num_batches_tracked"): torch.tensor(5)
        for k in state
        if "running_mean" in k
    }
    torch.save(state, tmp_path / "gaze.pt")
    loaded = GazeVGG16.create(tmp_path / "gaze.pt", layout=layout, channels=TINY)
    _assert_loaded(loaded, state)
    x = torch.rand(2, 3, 16, 24)
    left, right = loaded(x, x)
    same = all(torch.equal(a, b) for a, b in zip(left, right))
    assert same == (layout == "forward_sum")  # one shared trunk vs two trunks


def test_senet50_numpy_pickle_round_trip(tmp_path):
    kwargs = {"layers": (1, 1, 1, 1), "widths": (4, 8, 8, 16), "stem_channels": 8}
    net = SENet50(**kwargs)
    state = _published(net, {"fc.weight": (5, 64), "fc.bias": (5,)})
    with open(tmp_path / "senet50_ft_weight.pkl", "wb") as f:
        pickle.dump({k: v.numpy() for k, v in state.items()}, f)
    loaded = SENet50.create(tmp_path / "senet50_ft_weight.pkl", **kwargs)
    _assert_loaded(loaded, state)
    (tmp_path / "senet50.pth").write_bytes((tmp_path / "senet50_ft_weight.pkl").read_bytes())  # renamed
    _assert_loaded(SENet50.create(tmp_path / "senet50.pth", **kwargs), state)
    assert loaded(torch.rand(2, 3, 32, 32)).shape == (2, 64)


def test_frozen_batchnorm_computes_what_eval_batchnorm_does(tmp_path):
    net = GazeVGG16("forward_sum", channels=TINY)
    state = _published(net)
    torch.save(state, tmp_path / "gaze.pt")
    reference = GazeVGG16("forward_sum", channels=TINY)
    reference.load_state_dict({k: state[p] for p, k in reference.key_map().keys.items()}, strict=False)
    reference.eval()
    frozen = GazeVGG16.create(tmp_path / "gaze.pt", layout="forward_sum", channels=TINY)
    x = torch.rand(2, 3, 16, 24)
    for a, b in zip(frozen(x, x)[0], reference(x, x)[0]):
        torch.testing.assert_close(a, b)


# -- errors ---------------------------------------------------------------------------------------------


def _vgg19_file(tmp_path, **changes) -> tuple[dict, object]:
    state = _published(VGG19Features(channels=TINY))
    for old, new in changes.items():
        state[new] = state.pop(old) if not isinstance(new, torch.Tensor) else new
    path = tmp_path / "vgg19.pth"
    torch.save(state, path)
    return state, path


def test_missing_file(tmp_path):
    with pytest.raises(CheckpointError, match=r"nothere\.pth: no such VGG19"):
        VGG19Features.create(tmp_path / "nothere.pth", channels=TINY)


def test_truncated_and_foreign_files(tmp_path):
    _, path = _vgg19_file(tmp_path)
    data = path.read_bytes()
    (tmp_path / "cut.pth").write_bytes(data[: len(data) // 2])
    with pytest.raises(CheckpointError, match=r"cut\.pth: not a readable VGG19 .* weights file"):
        VGG19Features.create(tmp_path / "cut.pth", channels=TINY)
    (tmp_path / "notes.pth").write_text("hello")
    with pytest.raises(CheckpointError, match=r"notes\.pth: not a readable"):
        VGG19Features.create(tmp_path / "notes.pth", channels=TINY)
    torch.save([1, 2, 3], tmp_path / "list.pth")
    with pytest.raises(CheckpointError, match=r"list\.pth: not a state dict of tensors"):
        VGG19Features.create(tmp_path / "list.pth", channels=TINY)
    # the face parser's file is not VGG19
    torch.save({"cp.resnet.conv1.weight": torch.zeros(64, 3, 7, 7)}, tmp_path / "bisenet.pth")
    with pytest.raises(
        CheckpointError, match=r"missing key 'features.0.weight'.*unexpected key 'cp.resnet.conv1"
    ):
        VGG19Features.create(tmp_path / "bisenet.pth", channels=TINY)


def test_renamed_key_is_named_with_a_suggestion(tmp_path):
    state = _published(VGG19Features(channels=TINY))
    state["features.5.weights"] = state.pop("features.5.weight")
    torch.save(state, tmp_path / "vgg19.pth")
    with pytest.raises(CheckpointError) as err:
        VGG19Features.create(tmp_path / "vgg19.pth", channels=TINY)
    msg = str(err.value)
    assert "vgg19.pth" in msg and "missing key 'features.5.weight'" in msg
    assert "unexpected key 'features.5.weights', did you mean 'features.5.weight'?" in msg


def test_wrong_shape_names_the_key_and_both_shapes(tmp_path):
    state = _published(VGG19Features(channels=TINY))
    state["features.2.weight"] = torch.zeros(4, 4, 1, 1)
    torch.save(state, tmp_path / "vgg19.pth")
    with pytest.raises(
        CheckpointError,
        match=r"vgg19\.pth: key 'features.2.weight' has shape \(4, 4, 1, 1\), expected \(4, 4, 3, 3\)",
    ):
        VGG19Features.create(tmp_path / "vgg19.pth", channels=TINY)
    # the release-size network refuses tiny weights at the first layer
    torch.save(_published(VGG19Features(channels=TINY)), tmp_path / "tiny.pth")
    with pytest.raises(
        CheckpointError, match=r"'features.0.weight' has shape \(4, 3, 3, 3\), expected \(64, 3, 3, 3\)"
    ):
        VGG19Features.create(tmp_path / "tiny.pth")


def test_pickle_with_code_is_refused_without_running_it(tmp_path):
    class Evil:
        def __reduce__(self):
            return (print, ("ran",))

    with open(tmp_path / "evil.pkl", "wb") as f:
        pickle.dump({"conv1.weight": Evil()}, f)
    with pytest.raises(CheckpointError, match=r"evil\.pkl: not a readable .*builtins.print.* is not allowed"):
        read_state_dict(tmp_path / "evil.pkl", "SENet50")
    with open(tmp_path / "ok.pkl", "wb") as f:
        pickle.dump({"a": np.ones((2, 3), np.float32)}, f)
    assert read_state_dict(tmp_path / "ok.pkl", "SENet50")["a"].shape == (2, 3)


def test_a_loss_with_a_bad_weights_file_fails_when_built(tmp_path):
    registry = plugin_registry(losses)
    with pytest.raises(CheckpointError, match="no such VGG-Face"):
        registry.create("loss", "vggface_perceptual", preset="tiny", weights=str(tmp_path / "missing.pth"))
    torch.save({"x": torch.zeros(1)}, tmp_path / "foreign.pth")
    with pytest.raises(CheckpointError, match=r"foreign\.pth: not gaze VGG16"):
        registry.create("loss", "gaze", preset="tiny", weights=str(tmp_path / "foreign.pth"))


# -- frozen ---------------------------------------------------------------------------------------------


def test_frozen_nets_have_no_parameters_no_state_and_stay_in_eval():
    registry = plugin_registry(losses)
    for name in ("vgg19_perceptual", "vggface_perceptual", "gaze", "identity_cosine"):
        loss = registry.create("loss", name, preset="tiny")
        assert list(loss.parameters()) == [] and loss.state_dict() == {}, name
        assert sum(b.numel() for b in loss.buffers()) > 0
        loss.train()
        assert not any(m.training for m in loss.modules() if m is not loss), name
        loss.to(torch.float64)
        assert all(b.dtype == torch.float64 for b in loss.buffers() if b.is_floating_point())


def test_random_weights_are_fixed_and_warned_once():
    from emoportraits_plugins.lossnets import _frozen

    _frozen._warned.discard("VGGFaceFeatures")
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        a = VGGFaceFeatures.create(channels=TINY)
        b = VGGFaceFeatures.create(channels=TINY)
    assert sum("no weights file configured" in str(w.message) for w in seen) == 1
    for (ka, va), (kb, vb) in zip(a.named_buffers(), b.named_buffers()):
        assert ka == kb and torch.equal(va, vb)
