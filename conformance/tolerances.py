"""One table of tolerances per dtype, and one gradcheck helper, used by every check."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch
from torch import Tensor

__all__ = ["INTERPOLATION_SAFETY", "TOLERANCES", "assert_close", "gradcheck", "tolerance"]

#: dtype -> (rtol, atol) for comparing two computations that should agree up to rounding.
TOLERANCES: dict[torch.dtype, tuple[float, float]] = {
    torch.float64: (1e-9, 1e-10),
    torch.float32: (1e-4, 1e-5),
    torch.bfloat16: (2e-2, 2e-2),
    torch.float16: (5e-3, 5e-3),
}

#: Interpolation allowance of the geometry warp checks, on top of the dtype tolerance. Trilinear
#: resampling is exact on affine and multilinear fields; on a C^2 field over [-1, 1] sampled on n_i
#: voxels per axis it errs by at most sum_i (h_i^2 / 8) max|d^2 f / dx_i^2| with h_i = 2 / n_i. The
#: checks compute that bound for their smooth test volumes, per resampling stage, and allow this
#: many times it (a margin for the bound's own estimates, e.g. of the Lipschitz constant of a warp).
INTERPOLATION_SAFETY: float = 2.0


def tolerance(dtype: torch.dtype) -> tuple[float, float]:
    """(rtol, atol) for ``dtype``."""
    return TOLERANCES[dtype]


def assert_close(actual: Tensor, expected: Tensor, *, scale: float = 1.0, msg: str = "") -> None:
    """``torch.testing.assert_close`` with this table's tolerance (times ``scale``)."""
    rtol, atol = tolerance(expected.dtype)
    torch.testing.assert_close(actual, expected, rtol=rtol * scale, atol=atol * scale, msg=msg or None)


def gradcheck(fn: Callable[..., Tensor], inputs: Sequence[Tensor], **kwargs) -> bool:
    """``torch.autograd.gradcheck`` on float64 copies of ``inputs`` (requires_grad set)."""
    inputs64 = tuple(t.detach().to(torch.float64).requires_grad_(True) for t in inputs)
    return torch.autograd.gradcheck(fn, inputs64, **kwargs)
