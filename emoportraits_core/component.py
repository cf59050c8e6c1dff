"""The base class of every component (an ``nn.Module`` with a typed config and declared ports).

A component:

- is built from a frozen attrs config instance, kept on ``self.config``;
- declares its ports at class level (``inputs`` / ``outputs``: port name -> port type), so that a
  pipeline can be checked before anything is built, and per instance with shapes and ranges
  (:meth:`input_specs` / :meth:`output_specs`);
- computes in :meth:`forward` with keyword arguments named after its input ports and returns either
  the single output value or a mapping ``output port -> value``; :meth:`run` always returns the
  mapping;
- may carry state from one stream batch to the next (an autoregressive model fed a stream's frames
  in order): it then sets ``stateful_stream = True`` and forgets its state in :meth:`reset_stream`,
  which the inference runner calls before every stream (:meth:`InferenceRunner.start_stream`).

The kind interfaces in :mod:`emoportraits_core.interfaces` fix the ports of each kind.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

import torch
from torch import Tensor, nn

from .ports import PortSpec
from .types import Motion

__all__ = ["Component", "example_value"]


class Component(nn.Module):
    """Base of all components. Subclasses set ``kind``, ``inputs``, ``outputs`` and ``forward``."""

    kind: ClassVar[str] = ""
    inputs: ClassVar[Mapping[str, str]] = {}
    outputs: ClassVar[Mapping[str, str]] = {}
    #: Run in float32 even under autocast (the pipeline runner disables autocast around it and casts
    #: its floating inputs to float32). For cheap networks whose compact outputs (codes, poses)
    #: steer everything after them and lose too much in bfloat16.
    full_precision: ClassVar[bool] = False
    #: Carries state across the stream batches of one stream (frames in order, batch dim = time);
    #: :meth:`reset_stream` starts afresh. Sessions feed the frames in order (a compiled run pads only
    #: the last batch, after its real frames).
    stateful_stream: ClassVar[bool] = False

    def __init__(self, config: Any = None) -> None:
        super().__init__()
        self.config = config

    def reset_stream(self) -> None:
        """Forget what earlier stream batches left (components with ``stateful_stream``); a no-op here."""

    # -- declared ports -------------------------------------------------------------------------
    def input_specs(self) -> dict[str, PortSpec]:
        """Per-port spec of the inputs for this config; override to give shapes and ranges."""
        return {name: PortSpec(type_) for name, type_ in self.inputs.items()}

    def output_specs(self) -> dict[str, PortSpec]:
        """Per-port spec of the outputs for this config; override to give shapes and ranges."""
        return {name: PortSpec(type_) for name, type_ in self.outputs.items()}

    def example_inputs(
        self,
        batch: int = 2,
        *,
        generator: torch.Generator | None = None,
        dtype: torch.dtype = torch.float32,
        device: torch.device | str = "cpu",
    ) -> dict[str, Any]:
        """Valid random inputs for every input port (used by the conformance suite and benchmarks).

        The default draws from :meth:`input_specs`; components whose inputs need structure (for
        example a plausible head pose) override it.
        """
        return {
            name: example_value(spec, batch, generator=generator, dtype=dtype, device=device)
            for name, spec in self.input_specs().items()
        }

    # -- calling ---------------------------------------------------------------------------------
    def run(self, **inputs: Any) -> dict[str, Any]:
        """Call :meth:`forward` and return ``{output port: value}``."""
        return self.output_dict(self(**inputs))

    def output_dict(self, out: Any) -> dict[str, Any]:
        """:meth:`forward`'s result as ``{output port: value}`` (what :meth:`run` returns)."""
        if isinstance(out, Mapping):
            return dict(out)
        if len(self.outputs) != 1:
            raise TypeError(
                f"{type(self).__name__}.forward returned one value but declares outputs {list(self.outputs)}"
            )
        return {next(iter(self.outputs)): out}

    def extra_repr(self) -> str:
        return f"kind={self.kind!r}"


def _concrete(shape: tuple, batch: int) -> tuple[int, ...]:
    dims = []
    for d in shape:
        if d == "B":
            dims.append(batch)
        elif isinstance(d, int):
            dims.append(d)
        else:
            raise ValueError(
                f"cannot draw an example for a free size {d!r} in {shape}; override example_inputs"
            )
    return tuple(dims)


def example_value(
    spec: PortSpec,
    batch: int,
    *,
    generator: torch.Generator | None = None,
    dtype: torch.dtype = torch.float32,
    device: torch.device | str = "cpu",
) -> Any:
    """A random value that satisfies ``spec`` (uniform in its range, or standard normal)."""
    if spec.type == "motion":
        from .geometry import rotation_6d_to_matrix

        z = spec.shape[-1] if spec.shape else 16
        kw: dict[str, Any] = {"generator": generator, "dtype": dtype}
        rot = rotation_6d_to_matrix(torch.randn(batch, 6, **kw))
        return Motion(
            rot.to(device),
            (0.05 * torch.randn(batch, 3, **kw)).to(device),
            torch.randn(batch, z, **kw).to(device),
            (1 + 0.05 * torch.randn(batch, 3, **kw)).to(device),
        )
    if spec.shape is None:
        raise ValueError(f"port of type {spec.type!r} declares no shape; override example_inputs")
    shape = _concrete(spec.shape, batch)
    if spec.range is not None:
        lo, hi = spec.range
        value: Tensor = torch.rand(shape, generator=generator, dtype=dtype) * (hi - lo) + lo
    else:
        value = torch.randn(shape, generator=generator, dtype=dtype)
    return value.to(device)
