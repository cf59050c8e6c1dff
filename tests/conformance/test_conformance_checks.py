"""What the hardened conformance checks see that fresh weights, CPU-only runs or unvalidated hooks
hid: each test shows the bug hidden without the new part of the check, then caught with it.

(Every check failing on its broken component is tested in test_conformance_contracts.py.)
"""

from __future__ import annotations

import math
from typing import ClassVar

import pytest
import torch
import torch.nn.functional as F
from torch import Tensor

from emoportraits_conformance.broken_drivers import ReadAllDriver
from emoportraits_conformance.broken_losses import CorrelationLoss, EuclideanLoss
from emoportraits_conformance.broken_modules import (
    CpuCoordinateVolume,
    GatedNoiseRenderer,
    LazyCalibrationVolume,
    StretchedSigmoidRenderer,
    UnusedParameterVolume,
    _TinyVolume,
)
from emoportraits_conformance.broken_warpers import NegatedTranslationWarper, _TinyWarper
from emoportraits_conformance.contracts import ContractViolation, NotApplicable, checks_for
from emoportraits_conformance.contracts._base import CheckContext
from emoportraits_conformance.contracts._values import EXTREME_CASES, extreme_inputs, inputs_for
from emoportraits_conformance.contracts._weights import perturb_parameters, scale_parameters
from emoportraits_conformance.contracts.generic_device import DeviceWatch, compare_on, run_on
from emoportraits_core import InputError, Motion


def _check(kind: str, name: str):
    (found,) = [c for c in checks_for(kind) if c.name == name]
    return found


# -- 1. weights beyond initialisation ---------------------------------------------------------------


def test_zero_gate_noise_is_deterministic_until_the_weights_move():
    torch.manual_seed(0)
    renderer = GatedNoiseRenderer().eval()
    volume = inputs_for(renderer, 2, 0)["volume"]
    with torch.no_grad():
        assert torch.equal(renderer(volume), renderer(volume))  # the fresh gate hides the noise
        perturb_parameters(renderer)
        assert renderer.noise_gate.abs().item() > 0
        assert not torch.equal(renderer(volume), renderer(volume))
    with pytest.raises(ContractViolation, match=r"determinism failed on GatedNoiseRenderer: .*perturbed"):
        _check("renderer", "determinism").run(GatedNoiseRenderer)


def test_stretched_sigmoid_is_in_range_until_the_weights_grow():
    torch.manual_seed(0)
    renderer = StretchedSigmoidRenderer().eval()
    base = inputs_for(renderer, 2, 0)
    specs = renderer.input_specs()
    with torch.no_grad():
        for case in EXTREME_CASES:  # the old check: initial weights, extreme inputs
            image = renderer(**extreme_inputs(base, specs, case))
            assert float(image.min()) >= 0 and float(image.max()) <= 1, case
        scale_parameters(renderer)
        image = renderer(**base)
    assert float(image.min()) < 0 and float(image.max()) > 1
    with pytest.raises(ContractViolation, match=r"output_range failed on .*scaled weights.*\[-0\.1"):
        _check("renderer", "output_range").run(StretchedSigmoidRenderer)


def test_perturbation_moves_zero_parameters_and_keeps_the_others_close():
    torch.manual_seed(0)
    renderer = GatedNoiseRenderer()
    before = {n: p.detach().clone() for n, p in renderer.named_parameters()}
    perturb_parameters(renderer, seed=3)
    for name, p in renderer.named_parameters():
        delta = (p - before[name]).abs().max().item()
        assert delta > 0, name
        if before[name].any():
            assert delta < 0.6 * before[name].abs().max().item() + 1e-6, name


# -- 2. state -------------------------------------------------------------------------------------------


def test_lazy_calibration_reloads_alike_on_the_inputs_it_saw_first():
    """The old round trip (the copy run on the original's first inputs) passes; unseen ones do not."""
    torch.manual_seed(0)
    original = LazyCalibrationVolume().eval()
    a, b = inputs_for(original, 2, 0)["volume"], inputs_for(original, 2, 1)["volume"]
    with torch.no_grad():
        original(a)  # calibrates on a
        copy, other = LazyCalibrationVolume().eval(), LazyCalibrationVolume().eval()
        copy.load_state_dict(original.state_dict())
        other.load_state_dict(original.state_dict())
        assert torch.allclose(original(a), copy(a))
        assert not torch.allclose(original(b), other(b))
    with pytest.raises(ContractViolation, match="on inputs the copy sees first"):
        _check("volume", "state_dict_roundtrip").run(LazyCalibrationVolume)


class _UpdatesInTrainingOnly(_TinyVolume):
    """A running mean updated in training mode only: allowed."""

    def __init__(self, config=None) -> None:
        super().__init__(config)
        self.register_buffer("running_mean", torch.zeros(2))

    def forward(self, volume: Tensor) -> Tensor:
        if self.training:
            with torch.no_grad():
                self.running_mean.mul_(0.9).add_(0.1 * volume.mean((0, 2, 3, 4)))
        return super().forward(volume)


def test_state_updates_in_training_mode_only_are_fine():
    _check("volume", "eval_state_unchanged").run(_UpdatesInTrainingOnly)  # raises on a violation
    comp = _UpdatesInTrainingOnly().train()
    comp(inputs_for(comp, 2, 0)["volume"])
    assert comp.running_mean.any()  # the state does change, in training mode


# -- 3. devices -----------------------------------------------------------------------------------------


class _CpuWeightVolume(_TinyVolume):
    """Convolves with a kernel made on the CPU: meta's conv3d does not complain, the watch does."""

    def forward(self, volume: Tensor) -> Tensor:
        kernel = torch.ones(2, 2, 1, 1, 1, dtype=volume.dtype)
        return super().forward(volume) + F.conv3d(volume, kernel)


class _ValidatingVolume(_TinyVolume):
    """Validates its input with data-dependent reads, then builds every tensor on the input's device."""

    def forward(self, volume: Tensor) -> Tensor:
        if not torch.isfinite(volume).all():
            raise ValueError("non-finite volume")
        if (volume.abs() > 1e6).any():
            raise ValueError("huge volume")
        ramp = torch.linspace(-1, 1, volume.shape[-1], dtype=volume.dtype, device=volume.device)
        return super().forward(volume) + ramp * volume.abs().max().item() * 0


class _NoMetaKernelVolume(_TinyVolume):
    """Uses an op whose output shape depends on the data: it cannot run on meta, for no device reason."""

    def forward(self, volume: Tensor) -> Tensor:
        count = torch.nonzero(volume > 0).shape[0]
        return super().forward(volume) + 0 * count


def test_device_mix_is_caught_even_where_meta_accepts_it():
    assert F.conv2d(torch.zeros(1, 3, 4, 4, device="meta"), torch.zeros(2, 3, 1, 1)).is_meta  # no error
    with pytest.raises(ContractViolation, match=r"conv3d mixes meta tensors with tensors on \['cpu'\]"):
        _check("volume", "device_move").run(_CpuWeightVolume)
    with pytest.raises(ContractViolation, match=r"add mixes meta tensors"):
        _check("volume", "device_move").run(CpuCoordinateVolume)


def test_data_dependent_reads_do_not_stop_the_meta_run(monkeypatch):
    reads = []
    original = DeviceWatch.__exit__

    def exit_and_count(self, *exc):
        reads.append(self.reads)
        return original(self, *exc)

    monkeypatch.setattr(DeviceWatch, "__exit__", exit_and_count)
    _check("volume", "device_move").run(_ValidatingVolume)  # raises on a violation or not-applicable
    assert reads == [3]  # all() read as True, any() as False, item() as 0


def test_a_component_that_cannot_run_on_meta_is_not_applicable():
    with pytest.raises(NotApplicable, match="cannot run on meta"):
        _check("volume", "device_move").run(_NoMetaKernelVolume)


def test_device_watch_records_moves_and_ignores_cpu_scalars():
    x = torch.zeros(2, 3, device="meta")
    with DeviceWatch("meta") as watch:
        _ = x * torch.tensor(2.0)  # a CPU scalar mixes with any device
        _ = x.to(torch.float64)
    assert watch.problems == []
    with DeviceWatch("meta") as watch, pytest.raises(NotImplementedError):
        x.to("cpu")
    assert len(watch.problems) == 1 and watch.problems[0].endswith("to moves a meta tensor to cpu")


def test_the_accelerator_comparison_runs_on_any_device():
    """The CUDA branch of device_move (compare_on), exercised with the CPU as the other device."""
    ctx = CheckContext(_TinyVolume, tmp_dir=None)  # type: ignore[arg-type]
    compare_on(ctx, "cpu")
    comp = _TinyVolume().eval()
    comp.forward = lambda volume: torch.zeros(volume.shape, device="meta")  # type: ignore[method-assign]
    with pytest.raises(ContractViolation, match="outputs on another device"):
        run_on(comp, inputs_for(comp, 2, 0), "cpu")


@pytest.mark.gpu
def test_the_accelerator_comparison_passes_on_cuda():
    """The CUDA branch of device_move on a GPU: a component that keeps its tensors on its input's
    device gives the CPU outputs there (TF32 off)."""
    compare_on(CheckContext(_TinyVolume, tmp_dir=None), "cuda")  # type: ignore[arg-type]


# -- 5. motions -----------------------------------------------------------------------------------------


def _motion(rotation: Tensor) -> Motion:
    b = rotation.shape[0]
    return Motion(rotation, torch.zeros(b, 3), torch.zeros(b, 4))


def test_motion_check_rotation():
    angle = torch.tensor(0.3)
    c, s = math.cos(angle), math.sin(angle)
    rot = torch.tensor([[[c, -s, 0.0], [s, c, 0.0], [0.0, 0.0, 1.0]]]).repeat(3, 1, 1)
    _motion(rot).check_rotation()
    reflection = rot.clone()
    reflection[1, :, 2] *= -1
    with pytest.raises(InputError, match=r"rotation\[1\] is not a rotation: det -1"):
        _motion(reflection).check_rotation()
    stretched = rot.clone()
    stretched[2] *= 1.01
    with pytest.raises(InputError, match=r"rotation\[2\].*R\^T R - I"):
        _motion(stretched).check_rotation()
    with pytest.raises(InputError, match=r"rotation\[0\]"):
        _motion(torch.full((1, 3, 3), float("nan"))).check_rotation()
    _motion(rot.to(torch.bfloat16)).check_rotation(atol=1e-2)
    _motion(torch.zeros(0, 3, 3)).check_rotation()


def test_motion_construction_reads_no_values():
    Motion(torch.zeros(2, 3, 3, device="meta"), torch.zeros(2, 3), torch.zeros(2, 4))  # no data: no check


# -- 6. losses ------------------------------------------------------------------------------------------


def test_euclidean_loss_gradient_is_nan_only_at_identical_inputs():
    torch.manual_seed(0)
    loss = EuclideanLoss()
    inputs = inputs_for(loss, 2, 0)
    _check("loss", "loss_differentiable").run(EuclideanLoss)  # distinct inputs: fine
    pred = inputs["pred"].clone().requires_grad_(True)
    loss(pred, pred.detach().clone()).backward()
    assert torch.isnan(pred.grad).all()


def test_nan_is_not_zero():
    with pytest.raises(ContractViolation, match=r"\(low inputs\) is nan, expected 0"):
        _check("loss", "loss_zero_on_identical").run(CorrelationLoss)


# -- 4. warps -------------------------------------------------------------------------------------------


def test_warper_motion_checks_pass_without_deformation():
    class NoDeformation(_TinyWarper):
        conformance_warp_identity = True
        deformation = None  # type: ignore[assignment]

        def forward(self, volume: Tensor, motion: Motion) -> Tensor:
            theta = torch.cat([motion.rotation, self.shift(motion)[..., None]], -1)
            grid = F.affine_grid(theta, [motion.batch_size, 1, *volume.shape[2:]], align_corners=False)
            return F.grid_sample(volume, grid.to(volume.dtype), align_corners=False)

    for name in ("warper_identity_motion", "warper_motion_axes", "warper_motion_direction"):
        _check("warper", name).run(NoDeformation)
    with pytest.raises(NotApplicable):
        _check("warper", "warper_deformation").run(NoDeformation)


def test_a_negated_rotation_is_as_wrong_as_a_negated_translation():
    class NegatedRotation(_TinyWarper):
        def deformation(self, motion: Motion) -> Tensor:
            return super().deformation(
                Motion(motion.rotation.transpose(-1, -2), motion.translation, motion.expression)
            )

    with pytest.raises(ContractViolation, match="mixed senses"):
        _check("warper", "warper_motion_direction").run(NegatedRotation)
    with pytest.raises(
        ContractViolation, match=r"translation along \+x: forward.*quarter turn about x: inverse"
    ):
        _check("warper", "warper_motion_direction").run(NegatedTranslationWarper)


# -- 7. drivers -----------------------------------------------------------------------------------------


def test_a_driver_without_a_long_source_is_not_applicable():
    class Short(ReadAllDriver):
        conformance_long_source = None  # type: ignore[assignment]

    with pytest.raises(NotApplicable, match="conformance_long_source"):
        _check("driver", "driver_bounded_memory").run(Short)


# -- 8. opt-outs ----------------------------------------------------------------------------------------


def test_misspelt_or_unmatched_opt_outs_are_named():
    class Typo(UnusedParameterVolume):
        conformance_nograd: ClassVar[frozenset[str]] = frozenset({"unused."})

    class Unmatched(UnusedParameterVolume):
        conformance_no_grad: ClassVar[frozenset[str]] = frozenset({"unused.", "encoder.head"})

    class AString(UnusedParameterVolume):
        conformance_no_grad = "unused."

    hooks = _check("volume", "conformance_hooks")
    with pytest.raises(
        ContractViolation, match="unknown hook 'conformance_nograd'; did you mean 'conformance_no_grad'"
    ):
        hooks.run(Typo)
    with pytest.raises(ContractViolation, match=r"'encoder.head' \(closest: .*\)"):
        hooks.run(Unmatched)
    with pytest.raises(ContractViolation, match="must be a collection of parameter-name prefixes"):
        hooks.run(AString)

    class Coupled(UnusedParameterVolume):
        conformance_batch_coupled = "yes"

    with pytest.raises(ContractViolation, match="conformance_batch_coupled must be True or False"):
        hooks.run(Coupled)


def test_batch_coupled_components_skip_batch_independence_only_when_they_say_so():
    """A component that rolls its batch fails batch independence; declaring it makes the check not
    applicable (and nothing else changes)."""
    import torch

    from emoportraits_conformance.contracts import NotApplicable

    class Rolled(UnusedParameterVolume):
        def forward(self, volume):
            return torch.roll(super().forward(volume), 1, dims=0)

    class Declared(Rolled):
        conformance_batch_coupled = True

    check = _check("volume", "batch_independence")
    with pytest.raises(ContractViolation, match="alone vs in a batch"):
        check.run(Rolled)
    with pytest.raises(NotApplicable, match="conformance_batch_coupled"):
        check.run(Declared)


def test_a_motion_file_reader_refuses_reflections(toy_plugin, tmp_path):
    """File readers call Motion.check_rotation: a mirrored frame in a file stops the stream."""
    from emoportraits_toy.motion_file import ToyMotionFileConfig, ToyMotionFileDriver
    from safetensors.torch import save_file

    rotation = torch.eye(3).repeat(3, 1, 1)
    rotation[2, 2, 2] = -1  # frame 2 is a reflection
    path = tmp_path / "mirrored.safetensors"
    save_file(
        {"rotation": rotation, "translation": torch.zeros(3, 3), "expression": torch.zeros(3, 8)}, str(path)
    )
    stream = ToyMotionFileDriver(ToyMotionFileConfig()).stream(path, 2)
    assert len(next(stream)["motion"]) == 2
    with pytest.raises(
        InputError, match=r"mirrored.safetensors: frames 2-2: Motion.rotation\[0\] is not a rotation"
    ):
        next(stream)
