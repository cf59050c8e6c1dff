"""Weight variants: the behavioural checks run on fresh, perturbed and scaled weights.

Fresh weights hide bugs: a gate initialised to zero hides the noise it multiplies, and a sigmoid
that stays in [0.2, 0.8] at initialisation hides an output that leaves its declared range once the
weights grow. So the checks of determinism, batch independence and finiteness also run on
*perturbed* weights, and the range checks also on *scaled* weights:

- ``initial``: the component as built (torch seed 0).
- ``perturbed``: every floating-point parameter ``p`` gets Gaussian noise of standard deviation
  :data:`PERTURB_RELATIVE` ``* rms(p)``; an all-zero parameter (a zero-initialised gate, a zero
  last layer) gets :data:`PERTURB_ABSOLUTE` instead. Still a plausible trained network.
- ``scaled``: every floating-point parameter multiplied by :data:`SCALE`, which drives squashing
  outputs (sigmoid, tanh) to saturation. Overflow there is no contract violation: the range checks
  look at the finite values only (finiteness is checked on the other two variants).

Buffers (running statistics, fixed grids) are left alone.
"""

from __future__ import annotations

from typing import Any

import torch

from ._base import CheckContext

__all__ = [
    "PERTURB_ABSOLUTE",
    "PERTURB_RELATIVE",
    "SCALE",
    "WEIGHT_VARIANTS",
    "build_variant",
    "perturb_parameters",
    "scale_parameters",
]

#: relative noise (times the parameter's RMS) of the perturbed variant.
PERTURB_RELATIVE = 0.1
#: absolute noise of the perturbed variant for all-zero parameters.
PERTURB_ABSOLUTE = 0.1
#: factor of every parameter in the scaled variant.
SCALE = 8.0

#: variant -> how its weights are made (used in messages).
WEIGHT_VARIANTS: dict[str, str] = {
    "initial": "initial weights",
    "perturbed": f"perturbed weights (each parameter + {PERTURB_RELATIVE:g} x its RMS of noise)",
    "scaled": f"scaled weights (each parameter x {SCALE:g})",
}


def _floating_parameters(module: Any) -> list[tuple[str, torch.Tensor]]:
    named = getattr(module, "named_parameters", None)
    if not callable(named):
        return []
    return [(n, p) for n, p in named() if p.is_floating_point()]


def perturb_parameters(module: Any, seed: int = 1) -> None:
    """Add seeded noise to every floating-point parameter of ``module`` in place (see the module
    docstring); the noise of a parameter depends only on ``seed`` and the parameter's name order."""
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for _, p in _floating_parameters(module):
            rms = float(p.detach().double().pow(2).mean().sqrt()) if p.numel() else 0.0
            sigma = PERTURB_RELATIVE * rms if rms > 0 else PERTURB_ABSOLUTE
            noise = torch.randn(p.shape, generator=gen, dtype=torch.float64) * sigma
            p.add_(noise.to(dtype=p.dtype, device=p.device))


def scale_parameters(module: Any, factor: float = SCALE) -> None:
    """Multiply every floating-point parameter of ``module`` by ``factor`` in place."""
    with torch.no_grad():
        for _, p in _floating_parameters(module):
            p.mul_(factor)


def build_variant(ctx: CheckContext, variant: str, *, seed: int = 0, train: bool = False) -> Any:
    """A fresh component (``ctx.build(seed)``) with the weights of ``variant`` (a key of
    :data:`WEIGHT_VARIANTS`)."""
    comp = ctx.build(seed, train=train)
    if variant == "perturbed":
        perturb_parameters(comp, seed + 1)
    elif variant == "scaled":
        scale_parameters(comp)
    elif variant != "initial":
        raise ValueError(f"unknown weight variant {variant!r}; available: {list(WEIGHT_VARIANTS)}")
    return comp
