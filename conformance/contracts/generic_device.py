"""Generic check that a component follows ``.to(device)``: no tensor pinned to a fixed device.

``device_move`` moves the component and its inputs to the ``meta`` device (shapes without data; no
accelerator needed) and runs forward under a :class:`DeviceWatch`, a ``TorchFunctionMode`` that
records every torch call that mixes the target device with another one (a non-scalar CPU tensor
made in forward, e.g. ``torch.linspace(...)`` without ``device=``) or moves a tensor off it
(``.cpu()``, ``.to("cpu")``, ``.numpy()``). How a failure is told apart from a component that
legitimately cannot run on meta:

- any recorded mix or move is a violation, whether or not the call then raised (meta kernels do
  not all check devices; conv2d accepts CPU weights on meta);
- outputs must all be on the target device;
- an exception with nothing recorded means the component cannot run on meta (an op without a meta
  kernel): not applicable, with the exception as the reason.

Data-dependent reads of meta tensors (``bool(t)``, ``t.item()``, ``t.tolist()``), e.g. a validation
``if not torch.isfinite(x).all(): raise``, have no value on meta; the watch answers them as a
valid input would (the result of ``all()`` is True, anything else zero / False: ``if x.any():
raise`` passes too), at most :data:`FAKE_READS` times per call (then the run is not applicable),
so that such checks do not stop the run. Where CUDA is available the component also runs on it, and its
outputs must match the CPU ones (TF32 off) within :data:`DEVICE_RELATIVE_RMS`.
"""

from __future__ import annotations

import weakref
from collections.abc import Iterator, Mapping
from typing import Any

import torch
from torch import Tensor
from torch.overrides import TorchFunctionMode

from ._base import CheckContext, ContractViolation, NotApplicable, check
from ._values import floating_leaves, fresh_run, inputs_for, leaves, map_tensors

__all__ = ["DEVICE_RELATIVE_RMS", "FAKE_READS", "GENERIC_DEVICE_CHECKS", "DeviceWatch", "device_move"]

#: data-dependent reads answered with zeros per run on meta before giving up (not applicable).
FAKE_READS = 256
#: CUDA vs CPU outputs: largest allowed ``||a - b|| / (||b|| + 1e-3 sqrt(n))`` per tensor.
DEVICE_RELATIVE_RMS = 1e-3

_READS = {"__bool__", "item", "tolist", "__float__", "__int__", "__index__", "__complex__"}
_MOVES = {"cpu": "cpu", "cuda": "cuda", "numpy": "cpu"}


def _tensors(value: Any) -> Iterator[Tensor]:
    if isinstance(value, Tensor):
        yield value
    elif isinstance(value, list | tuple):
        for v in value:
            yield from _tensors(v)
    elif isinstance(value, Mapping):
        for v in value.values():
            yield from _tensors(v)


def _name(func: Any) -> str:
    return getattr(func, "__qualname__", None) or getattr(func, "__name__", None) or repr(func)


def _move_target(name: str, args: tuple, kwargs: dict) -> torch.device | None:
    """The device a ``Tensor.cpu/cuda/numpy/to`` call moves to, or None (not a move)."""
    short = name.rsplit(".", 1)[-1]
    if short in _MOVES:
        return torch.device(_MOVES[short])
    if short != "to":
        return None
    for value in (kwargs.get("device"), *args[1:]):
        if isinstance(value, torch.device):
            return value
        if isinstance(value, str):
            try:
                return torch.device(value)
            except RuntimeError:
                continue
        if isinstance(value, Tensor):
            return value.device
    return None


def _fake_read(name: str, tensor: Tensor, from_all: bool) -> Any:
    short = name.rsplit(".", 1)[-1]
    if short == "__bool__":
        return from_all
    if short == "tolist":
        return torch.zeros(tensor.shape, dtype=tensor.dtype).tolist()
    if short == "__float__" or (short == "item" and tensor.is_floating_point()):
        return 0.0
    return False if tensor.dtype == torch.bool else 0


class DeviceWatch(TorchFunctionMode):
    """Records torch calls that mix ``device`` with another device (non-scalar tensors) or move a
    tensor off it; with ``fake_reads``, answers data-dependent reads of meta tensors with zeros."""

    def __init__(self, device: torch.device | str, *, fake_reads: bool = False) -> None:
        super().__init__()
        self.device = torch.device(device)
        self.fake_reads = fake_reads
        self.problems: list[str] = []
        self.reads = 0
        self._all_results: dict[int, weakref.ref[Tensor]] = {}  # results of all(): read as True

    def _on(self, t: Tensor) -> bool:
        return t.device.type == self.device.type

    def __torch_function__(self, func: Any, types: Any, args: tuple = (), kwargs: dict | None = None) -> Any:
        kwargs = kwargs or {}
        name = _name(func)
        scan = args[:1] if name.endswith(("__getitem__", "__setitem__")) else (args, kwargs)
        found = list(_tensors(scan))
        on = [t for t in found if self._on(t)]
        off = {str(t.device) for t in found if not self._on(t) and t.dim() > 0}
        if on and off:
            self.problems.append(f"{name} mixes {self.device.type} tensors with tensors on {sorted(off)}")
        target = _move_target(name, args, kwargs) if on else None
        if target is not None and target.type != self.device.type:
            self.problems.append(f"{name} moves a {self.device.type} tensor to {target}")
        short = name.rsplit(".", 1)[-1]
        if self.fake_reads and short in _READS and on and on[0].is_meta:
            self.reads += 1
            if self.reads > FAKE_READS:
                raise NotApplicable(f"more than {FAKE_READS} data-dependent reads (e.g. {name}) on meta")
            ref = self._all_results.get(id(on[0]))
            return _fake_read(name, on[0], ref is not None and ref() is on[0])
        result = func(*args, **kwargs)
        if self.fake_reads and short == "all" and isinstance(result, Tensor) and result.is_meta:
            self._all_results[id(result)] = weakref.ref(result)
        return result


def run_on(comp: Any, inputs: Mapping[str, Any], device: torch.device | str) -> dict[str, Any]:
    """Move ``comp`` and ``inputs`` to ``device`` and run it under a :class:`DeviceWatch`; raise
    ContractViolation on a recorded mix or move or an output elsewhere, NotApplicable if it raised
    with nothing recorded."""
    device = torch.device(device)
    moved = map_tensors(dict(inputs), lambda t: t.to(device))
    watch = DeviceWatch(device, fake_reads=device.type == "meta")
    error: Exception | None = None
    result: dict[str, Any] = {}
    try:
        comp.to(device)
        with torch.no_grad(), watch:
            result = fresh_run(comp, moved)
    except Exception as exc:  # NotApplicable (too many fake reads) included: problems come first
        error = exc
    if watch.problems:
        shown = "; ".join(dict.fromkeys(watch.problems[:3]))
        raised = f" (then raised {type(error).__name__})" if error is not None else ""
        raise ContractViolation(
            f"after .to('{device}') with inputs on {device}: {shown}{raised}; create tensors with "
            f"device=<an input>.device and keep them there"
        )
    if isinstance(error, NotApplicable):
        raise error
    if error is not None:
        raise NotApplicable(f"cannot run on {device}: {type(error).__name__}: {error}")
    elsewhere = {p: str(t.device) for p, t in leaves(result).items() if t.device.type != device.type}
    if elsewhere:
        raise ContractViolation(f"after .to('{device}'): outputs on another device: {elsewhere}")
    return result


def compare_on(ctx: CheckContext, device: torch.device | str) -> None:
    """Outputs on ``device`` match the CPU outputs (float32, TF32 off) within DEVICE_RELATIVE_RMS."""
    comp = ctx.build(0)
    inputs = inputs_for(comp, 2, 0)
    with torch.no_grad():
        reference = fresh_run(comp, inputs)
    matmul, cudnn = torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32
    torch.backends.cuda.matmul.allow_tf32 = torch.backends.cudnn.allow_tf32 = False
    try:
        moved = run_on(comp, inputs, device)
    finally:
        torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32 = matmul, cudnn
    want = floating_leaves(reference)
    for path, t in floating_leaves(moved).items():
        ref = want[path].double()
        err = torch.linalg.vector_norm(t.detach().cpu().double() - ref)
        rel = float(err / (torch.linalg.vector_norm(ref) + 1e-3 * ref.numel() ** 0.5))
        if not rel <= DEVICE_RELATIVE_RMS:
            raise ContractViolation(
                f"output '{path}' on {device} vs cpu: relative error {rel:.3g} > {DEVICE_RELATIVE_RMS}"
            )


@check("device_move")
def device_move(ctx: CheckContext) -> None:
    """After .to(device) with inputs on that device, forward creates and keeps every tensor there and
    returns its outputs there: on the meta device always (no tensor made on a fixed device, no .cpu()),
    and on CUDA with outputs matching the CPU ones where CUDA is available."""
    comp = ctx.build(0)
    run_on(comp, inputs_for(comp, 2, 0), "meta")
    if torch.cuda.is_available():
        compare_on(ctx, "cuda")


GENERIC_DEVICE_CHECKS = [device_move]
