"""Distributed training as torchrun sets it up: one process per device, its rank in the environment.

``torchrun --nproc-per-node 2 --no-python emoportraits train ...`` (or ``--nnodes``/``--rdzv-*`` for
several machines) starts the processes and sets ``RANK``, ``LOCAL_RANK``, ``WORLD_SIZE``,
``MASTER_ADDR`` and ``MASTER_PORT``; :meth:`DistributedContext.from_env` reads them and joins the
process group (NCCL on GPUs, gloo on CPUs). There is no process management of our own. Trained
components are wrapped in ``DistributedDataParallel`` (gradients averaged across processes during
backward; parameters broadcast from rank 0 when wrapped); only rank 0 logs and writes checkpoints.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager

import attrs
import torch
import torch.distributed as dist
from torch import nn
from torch.nn.parallel import DistributedDataParallel

__all__ = ["DistributedContext", "PlainOutputs", "from_plain"]


class PlainOutputs(nn.Module):
    """A component whose outputs are turned into dicts and lists of tensors, the structures
    ``DistributedDataParallel`` looks into (it cannot see the tensors inside a ``Motion``, and would
    then not synchronise the gradients they carry). :func:`from_plain` turns them back."""

    def __init__(self, component: nn.Module) -> None:
        super().__init__()
        self.component = component

    def forward(self, **inputs: object) -> dict:
        return {k: _to_plain(v) for k, v in self.component.output_dict(self.component(**inputs)).items()}


def _to_plain(value: object) -> object:
    from ..types import Appearance, Motion

    if isinstance(value, Motion | Appearance):
        fields = {f.name: getattr(value, f.name) for f in attrs.fields(type(value))}
        return {"__type__": type(value).__name__, **{k: v for k, v in fields.items() if v is not None}}
    if isinstance(value, list | tuple):
        return type(value)(_to_plain(v) for v in value)
    return value


def from_plain(value: object) -> object:
    """The inverse of :class:`PlainOutputs`' conversion (for one output value or a dict of them)."""
    from ..types import Appearance, Motion

    if isinstance(value, dict):
        kind = value.get("__type__")
        if kind is not None:
            cls = {"Motion": Motion, "Appearance": Appearance}[kind]
            return cls(**{k: v for k, v in value.items() if k != "__type__"})
        return {k: from_plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return type(value)(from_plain(v) for v in value)
    return value


@attrs.define
class DistributedContext:
    """This process's place in the run.

    Attributes:
        rank, world_size, local_rank: as torchrun set them (0, 1, 0 without torchrun).
        device: this process's device (``cuda:<local_rank>`` on GPUs).
        initialised: whether this object joined a process group (and must leave it).
    """

    rank: int = 0
    world_size: int = 1
    local_rank: int = 0
    device: torch.device = attrs.field(factory=lambda: torch.device("cpu"))
    initialised: bool = False

    @property
    def enabled(self) -> bool:
        return self.world_size > 1

    @property
    def is_main(self) -> bool:
        """Rank 0: the process that logs and saves."""
        return self.rank == 0

    @classmethod
    def from_env(cls, device: torch.device) -> DistributedContext:
        """Read torchrun's environment; join the process group when there are several processes.

        ``device``: the requested device; with CUDA each process takes ``cuda:<LOCAL_RANK>``.
        """
        world = int(os.environ.get("WORLD_SIZE", "1"))
        rank, local = int(os.environ.get("RANK", "0")), int(os.environ.get("LOCAL_RANK", "0"))
        if world <= 1:
            return cls(device=device)
        if device.type == "cuda":
            device = torch.device("cuda", local)
            torch.cuda.set_device(device)
        if not dist.is_initialized():
            dist.init_process_group("nccl" if device.type == "cuda" else "gloo")
        return cls(rank, world, local, device, True)

    def wrap(self, module: nn.Module) -> nn.Module:
        """``DistributedDataParallel(module)`` when distributed (a component may run several times a
        step: ``static_graph``), else ``module``."""
        if not self.enabled or not any(p.requires_grad for p in module.parameters()):
            return module
        ids = [self.device.index] if self.device.type == "cuda" else None
        return DistributedDataParallel(PlainOutputs(module), device_ids=ids, static_graph=True)

    def all_mean(self, value: float) -> float:
        """The mean of ``value`` over the processes (for logging)."""
        if not self.enabled:
            return value
        t = torch.tensor([value], dtype=torch.float64, device=self.device)
        dist.all_reduce(t)
        return float(t) / self.world_size

    def barrier(self) -> None:
        if self.enabled:
            dist.barrier()

    def close(self) -> None:
        if self.initialised and dist.is_initialized():
            dist.destroy_process_group()
            self.initialised = False

    @contextmanager
    def session(self) -> Iterator[DistributedContext]:
        """``with ctx.session():`` leaves the process group on exit, errors included."""
        try:
            yield self
        finally:
            self.close()
