"""Per-kind checks for the module kinds: encoder, warper, volume, renderer, discriminator.

Each adds to the generic checks what its interface in :mod:`emoportraits_core.interfaces` promises.
"""

from __future__ import annotations

import torch
from torch import Tensor

from emoportraits_core import Motion
from emoportraits_core.interfaces.encoder import ENCODER_OUTPUT_TYPES

from ._base import CheckContext, ContractViolation, NotApplicable, check
from ._values import EXTREME_CASES, assert_same, call, extreme_inputs, inputs_for, leaves, map_tensors
from ._weights import WEIGHT_VARIANTS, build_variant
from .generic_ports import check_motion_rotation, specs_of

__all__ = [
    "DISCRIMINATOR_CHECKS",
    "ENCODER_CHECKS",
    "RENDERER_CHECKS",
    "VOLUME_CHECKS",
    "WARPER_CHECKS",
]


# -- encoder ------------------------------------------------------------------------------------


@check("encoder_ports", "encoder")
def encoder_ports(ctx: CheckContext) -> None:
    """Exactly one input, `image` (type image, shape (B, 3, H, W), range (0, 1)), and exactly one output,
    of type volume, descriptor, motion or appearance."""
    comp = ctx.build(0)
    ins, outs = specs_of(comp)
    if list(ins) != ["image"]:
        raise ContractViolation(f"an encoder has exactly one input port 'image', got {sorted(ins)}")
    spec = ins["image"]
    if spec.type != "image" or spec.range != (0.0, 1.0):
        raise ContractViolation(f"input 'image' must be of type image in (0, 1), declared {spec.describe()}")
    if spec.shape is None or len(spec.shape) != 4 or spec.shape[:2] != ("B", 3):
        raise ContractViolation(f"input 'image' must be declared (B, 3, H, W), got {spec.describe()}")
    if len(outs) != 1 or next(iter(outs.values())).type not in ENCODER_OUTPUT_TYPES:
        got = {p: s.type for p, s in outs.items()}
        raise ContractViolation(
            f"an encoder has exactly one output of a type in {ENCODER_OUTPUT_TYPES}, got {got}"
        )


@check("encoder_motion_rotation", "encoder")
def encoder_motion_rotation(ctx: CheckContext) -> None:
    """An encoder whose output is a Motion returns proper rotations (orthonormal, det +1; no reflection)
    on drawn and extreme images, with initial, perturbed and scaled weights (items whose rotation
    overflows to non-finite values on scaled weights are skipped)."""
    comp = ctx.build(0)
    _, outs = specs_of(comp)
    ports = [p for p, s in outs.items() if s.type == "motion"]
    if not ports:
        raise NotApplicable("the encoder's output is not a motion")
    base = inputs_for(comp, 2, 0)
    ins, _ = specs_of(comp)
    if set(base) != {"image"}:
        raise NotApplicable(f"inputs {sorted(base)} are not the encoder's one 'image' (see encoder_ports)")
    cases = [base] + [extreme_inputs(base, ins, case) for case in EXTREME_CASES]
    images = {"image": torch.cat([c["image"] for c in cases])}  # one call per weight variant
    for variant in WEIGHT_VARIANTS:
        component = comp if variant == "initial" else build_variant(ctx, variant)
        weights = WEIGHT_VARIANTS[variant]
        result = call(component, images, f"run() on drawn and extreme images ({weights})")
        for port in ports:
            motion = result[port]
            if not isinstance(motion, Motion):
                raise ContractViolation(f"output '{port}' must be a Motion, got {type(motion).__name__}")
            where = f"output '{port}' on drawn and extreme images ({weights})"
            check_motion_rotation(where, motion, skip_non_finite=variant == "scaled")


# -- warper ---------------------------------------------------------------------------------------


@check("warper_ports", "warper")
def warper_ports(ctx: CheckContext) -> None:
    """`volume` is both an input and an output port (type volume), and the output keeps the input's
    batch and channel count."""
    comp = ctx.build(0)
    ins, outs = specs_of(comp)
    for what, specs in (("input", ins), ("output", outs)):
        if "volume" not in specs or specs["volume"].type != "volume":
            raise ContractViolation(f"a warper has an {what} port 'volume' of type volume")
    inputs = inputs_for(comp, 2, 0)
    out = call(comp, inputs, "run()")["volume"]
    src = inputs["volume"]
    if not isinstance(out, Tensor) or out.dim() != 5 or out.shape[:2] != src.shape[:2]:
        shape = tuple(out.shape) if isinstance(out, Tensor) else type(out).__name__
        raise ContractViolation(
            f"warped volume {shape} must be (B, C, D, H, W) with B, C of the input {tuple(src.shape)}"
        )


@check("warper_deformation", "warper")
def warper_deformation(ctx: CheckContext) -> None:
    """deformation(**conditions) (when the warper has it) returns a finite (B, D, H, W, 3) sampling grid
    whose D, H, W are the warped volume's."""
    comp = ctx.build(0)
    if not callable(getattr(comp, "deformation", None)):
        raise NotApplicable("the warper has no deformation() method")
    ins, _ = specs_of(comp)
    base = inputs_for(comp, 2, 0)
    for case in EXTREME_CASES:
        inputs = extreme_inputs(base, ins, case)
        conditions = {k: v for k, v in inputs.items() if k != "volume"}
        try:
            grid = comp.deformation(**conditions)
        except Exception as exc:
            raise ContractViolation(f"deformation(**conditions) raised {type(exc).__name__}: {exc}") from exc
        out = call(comp, inputs, "run()")["volume"]
        want = (out.shape[0], *out.shape[2:], 3)
        if not isinstance(grid, Tensor) or tuple(grid.shape) != want:
            shape = tuple(grid.shape) if isinstance(grid, Tensor) else type(grid).__name__
            raise ContractViolation(
                f"deformation() returned {shape}, expected a grid (B, D, H, W, 3) = {want}"
            )
        if not grid.is_floating_point() or not torch.isfinite(grid).all():
            raise ContractViolation(f"deformation() on '{case}' inputs is not a finite float grid")


@check("warper_applies_deformation", "warper")
def warper_applies_deformation(ctx: CheckContext) -> None:
    """forward() equals warp_volume(volume, deformation(**conditions)): the grid it exposes is the one
    it applies, under the project's single sampling convention (bilinear, zeros, align_corners=False)."""
    from emoportraits_core.geometry import warp_volume

    comp = ctx.build(0)
    if not callable(getattr(comp, "deformation", None)):
        raise NotApplicable("the warper has no deformation() method")
    ins, _ = specs_of(comp)
    base = inputs_for(comp, 2, 0)
    for case, inputs in ({"drawn": base} | {"low": extreme_inputs(base, ins, "low")}).items():
        try:
            grid = comp.deformation(**{k: v for k, v in inputs.items() if k != "volume"})
            expected = warp_volume(inputs["volume"], grid.to(inputs["volume"].dtype))
        except Exception as exc:
            raise ContractViolation(
                f"deformation() / warp_volume raised {type(exc).__name__}: {exc}"
            ) from exc
        got = call(comp, inputs, "run()")["volume"]
        assert_same(got, expected, f"forward() vs warp_volume(volume, deformation()) on {case} inputs")


# -- volume ---------------------------------------------------------------------------------------


@check("volume_ports", "volume")
def volume_ports(ctx: CheckContext) -> None:
    """Input and output port `volume` of type volume, declared and returned 5-D (B, C, D, H, W)."""
    comp = ctx.build(0)
    ins, outs = specs_of(comp)
    for what, specs in (("input", ins), ("output", outs)):
        spec = specs.get("volume")
        if spec is None or spec.type != "volume":
            raise ContractViolation(f"a volume processor has an {what} port 'volume' of type volume")
        if spec.shape is not None and (len(spec.shape) != 5 or spec.shape[0] != "B"):
            raise ContractViolation(
                f"{what} 'volume' must be declared (B, C, D, H, W), got {spec.describe()}"
            )
    out = call(comp, inputs_for(comp, 2, 0), "run()")["volume"]
    if not isinstance(out, Tensor) or out.dim() != 5:
        raise ContractViolation(
            f"output 'volume' must be a 5-D tensor, got {getattr(out, 'shape', type(out))}"
        )


# -- renderer ---------------------------------------------------------------------------------------


@check("renderer_image", "renderer")
def renderer_image(ctx: CheckContext) -> None:
    """Output `image` is a (B, 3, H, W) float tensor with values in [0, 1], on drawn and extreme volumes
    (whatever range the renderer declares), with the initial weights and with scaled weights (a head
    that saturates must still be clamped or squashed into [0, 1])."""
    for variant, batch in (("initial", 2), ("scaled", 1)):
        comp = build_variant(ctx, variant)
        ins, _ = specs_of(comp)
        base = inputs_for(comp, batch, 0)
        weights = WEIGHT_VARIANTS[variant]
        cases = {"drawn": base} | {case: extreme_inputs(base, ins, case) for case in EXTREME_CASES}
        for case, inputs in cases.items():
            image = call(comp, inputs, f"run() on '{case}' inputs ({weights})").get("image")
            if not isinstance(image, Tensor) or image.dim() != 4 or image.shape[:2] != (batch, 3):
                shape = tuple(image.shape) if isinstance(image, Tensor) else type(image).__name__
                raise ContractViolation(f"output 'image' must be (B, 3, H, W) with B={batch}, got {shape}")
            finite = image.detach()[torch.isfinite(image.detach())]  # overflow: finite_outputs' business
            if finite.numel() == 0:
                continue
            lo, hi = float(finite.min()), float(finite.max())
            if not (lo >= 0.0 and hi <= 1.0):
                raise ContractViolation(
                    f"output 'image' on '{case}' inputs ({weights}) has values in [{lo:.4g}, {hi:.4g}], "
                    "not in [0, 1]"
                )


# -- discriminator ------------------------------------------------------------------------------------


def _batch_tensors(value: object, what: str, batch: int) -> list[Tensor]:
    if not isinstance(value, list | tuple) or not value:
        raise ContractViolation(f"'{what}' must be a non-empty list, got {type(value).__name__}")
    found = leaves(list(value), what)
    for path, t in found.items():
        if t.dim() == 0 or t.shape[0] != batch:
            raise ContractViolation(
                f"{path} has shape {tuple(t.shape)}; its first dim must be the batch ({batch})"
            )
    return list(found.values())


@check("discriminator_outputs", "discriminator")
def discriminator_outputs(ctx: CheckContext) -> None:
    """`scores` is a non-empty list of (B, 1, ...) score maps, one per scale; `features` is a list with one
    entry per scale, each a list of (B, ...) feature maps."""
    comp = ctx.build(0)
    result = call(comp, inputs_for(comp, 2, 0), "run()")
    scores = result.get("scores")
    for t in _batch_tensors(scores, "scores", 2):
        if t.dim() < 2 or t.shape[1] != 1:
            raise ContractViolation(f"each score map must be (B, 1, ...), got {tuple(t.shape)}")
    features = result.get("features")
    _batch_tensors(features, "features", 2)
    if len(features) != len(scores) or not all(isinstance(f, list | tuple) for f in features):
        raise ContractViolation(
            f"'features' must hold one list per scale ({len(scores)} scales), got {[type(f).__name__ for f in features]}"
        )


@check("discriminator_input_gradient", "discriminator")
def discriminator_input_gradient(ctx: CheckContext) -> None:
    """The scores are differentiable w.r.t. the input image: a finite, not-all-zero gradient reaches it
    (the generator's adversarial loss needs it)."""
    comp = ctx.build(0, train=True)
    inputs = map_tensors(
        inputs_for(comp, 2, 0), lambda t: t.detach().requires_grad_(True) if t.is_floating_point() else t
    )
    scores = call(comp, inputs, "run() in train mode", grad=True).get("scores")
    tensors = [t for t in leaves(scores).values() if t.requires_grad]
    if not tensors:
        raise ContractViolation("no score depends on the input image (nothing requires grad)")
    torch.stack([t.sum() for t in tensors]).sum().backward()
    grad = inputs["image"].grad
    if grad is None or not torch.isfinite(grad).all() or not grad.any():
        raise ContractViolation(
            f"the input image gets {'no' if grad is None else 'a zero or non-finite'} gradient"
        )


ENCODER_CHECKS = [encoder_ports, encoder_motion_rotation]
WARPER_CHECKS = [warper_ports, warper_deformation, warper_applies_deformation]
VOLUME_CHECKS = [volume_ports]
RENDERER_CHECKS = [renderer_image]
DISCRIMINATOR_CHECKS = [discriminator_outputs, discriminator_input_gradient]
