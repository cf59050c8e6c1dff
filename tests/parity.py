"""Comparison with the official reference, with the tolerance that its README states.

``check(ref, name, ours)``: ``ours`` laid out as in the reference table; compares ``.full`` tensors
whole and others at the stored ``.idx``: max|ours - ref| <= 5e-4 * max|ref|, and ``.stats``
mean/std within 1e-4 relative (+1e-6 absolute).
"""

from __future__ import annotations

from torch import Tensor

REL_MAX = 5e-4


def relative_error(ref: dict, name: str, ours: Tensor) -> float:
    ours = ours.detach().double().reshape(-1)
    if name + ".full" in ref:
        want = ref[name + ".full"].double().reshape(-1)
        got = ours
    else:
        want = ref[name + ".val"].double()
        got = ours[ref[name + ".idx"]]
    assert got.shape == want.shape, (name, got.shape, want.shape)
    return ((got - want).abs().max() / want.abs().max().clamp_min(1e-12)).item()


def check(ref: dict, name: str, ours: Tensor) -> None:
    shape = tuple(ref[name + ".shape"].tolist())
    assert tuple(ours.shape) == shape, f"{name}: shape {tuple(ours.shape)}, reference {shape}"
    err = relative_error(ref, name, ours)
    assert err <= REL_MAX, f"{name}: max relative error {err:.3g} > {REL_MAX}"
    mean, std = ours.double().mean().item(), ours.double().std().item()
    rmean, rstd = ref[name + ".stats"][:2].tolist()
    for what, a, b in (("mean", mean, rmean), ("std", std, rstd)):
        assert abs(a - b) <= 1e-4 * abs(b) + 1e-6, f"{name}: {what} {a:.8g}, reference {b:.8g}"


def reference_tensor(ref: dict, name: str) -> Tensor:
    """A ``.full`` reference tensor (inputs and small intermediates)."""
    return ref[name + ".full"].clone()


__all__ = ["REL_MAX", "check", "reference_tensor", "relative_error"]
