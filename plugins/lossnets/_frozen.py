"""The base of the frozen loss networks: built, loaded (or drawn), then frozen into buffers.

A loss network (VGG19, VGG-Face, the gaze VGG16, SENet50) is a pretrained helper that is never
trained. :meth:`FrozenNet.create` builds it, loads the user's weights file through the network's
explicit :class:`~.weights.KeyMap` (or, with no file, draws random weights for tests and smoke runs,
with a one-time warning), then :func:`freeze` turns every parameter and buffer into a
*non-persistent buffer*:

- nothing is a parameter: the optimizer never sees it, and a loss component holding one has no
  trainable parameters (the conformance gradient check has nothing to exempt);
- nothing is in the state dict: a checkpoint does not carry 0.5 GB of VGG weights; they come from
  the configured file on every build;
- everything still follows ``.to(device, dtype)``.

The network always runs in eval mode (BatchNorm uses its running statistics), like
:class:`~emoportraits_plugins.encoders.head_pose.HeadPoseRegressor`. Random weights are drawn from a
generator with a fixed seed, so two builds of the same config compute the same loss.
"""

from __future__ import annotations

import os
import warnings
from typing import ClassVar, Self

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .weights import KeyMap, load_published

__all__ = ["RANDOM_SEED", "FrozenNet", "freeze", "warn_once"]

#: seed of the random weights used when no file is given.
RANDOM_SEED = 0

_warned: set[str] = set()


class _FrozenBatchNorm(nn.Module):
    """Batch norm with fixed statistics and affine (what a BatchNorm in eval mode computes), without
    BatchNorm's state-dict versioning, which re-adds a ``num_batches_tracked`` key on every load."""

    def __init__(self, bn: nn.modules.batchnorm._BatchNorm) -> None:
        super().__init__()
        self.eps = bn.eps
        for name in ("weight", "bias", "running_mean", "running_var"):
            self.register_buffer(name, getattr(bn, name).detach())

    def forward(self, x: Tensor) -> Tensor:
        return F.batch_norm(
            x, self.running_mean, self.running_var, self.weight, self.bias, False, 0.0, self.eps
        )


def warn_once(key: str, message: str, *, stacklevel: int = 2) -> None:
    """``warnings.warn(message, stacklevel=...)`` (as if called where this is called) the first time
    ``key`` comes in this process: the one-time notes that a network runs with random weights."""
    if key not in _warned:
        _warned.add(key)
        warnings.warn(message, stacklevel=stacklevel + 1)


def freeze(module: nn.Module) -> nn.Module:
    """Turn every parameter and buffer of ``module`` into a non-persistent buffer (in place), BatchNorms
    into fixed normalisations (no ``num_batches_tracked``); eval mode."""
    for m in list(module.modules()):
        for name, child in list(m.named_children()):
            if isinstance(child, nn.modules.batchnorm._BatchNorm):
                setattr(m, name, _FrozenBatchNorm(child))
    for m in module.modules():
        for name, param in list(m._parameters.items()):
            if param is None:
                continue
            delattr(m, name)
            m.register_buffer(name, param.detach(), persistent=False)
        for name, buf in list(m._buffers.items()):
            if buf is not None and name not in m._non_persistent_buffers_set:
                del m._buffers[name]
                m.register_buffer(name, buf, persistent=False)
    return module.eval()


def _random_init(module: nn.Module, seed: int) -> None:
    """He-normal (fan-in) convolutions and linears with zero bias; identity norms; fixed seed."""
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for m in module.modules():
            if isinstance(m, nn.Conv2d | nn.Linear):
                fan_in = m.weight[0].numel()
                m.weight.copy_(torch.randn(m.weight.shape, generator=gen) * (2.0 / fan_in) ** 0.5)
                if m.bias is not None:
                    m.bias.zero_()
            elif isinstance(m, nn.BatchNorm2d | nn.BatchNorm1d):
                m.weight.fill_(1.0)
                m.bias.zero_()
                m.running_mean.zero_()
                m.running_var.fill_(1.0)


class FrozenNet(nn.Module):
    """A frozen, always-eval loss network. Subclasses define ``description`` and :meth:`key_map`."""

    #: what the weights are, for messages and the random-weights warning.
    description: ClassVar[str] = "loss network"

    def key_map(self) -> KeyMap:
        """The published layout of this network's weights (published key -> our key)."""
        raise NotImplementedError

    @classmethod
    def create(cls, weights: str | os.PathLike[str] = "", **kwargs: object) -> Self:
        """Build the network with ``kwargs``, load ``weights`` (a file path; ``""``: fixed-seed random
        weights, with a one-time warning) and freeze it.

        Raises:
            CheckpointError: the file is missing, unreadable, or not this network's weights (see
                :func:`~.weights.load_published`).
        """
        net = cls(**kwargs)
        if weights:
            load_published(net, weights, net.key_map(), cls.description)
        else:
            _random_init(net, RANDOM_SEED)
            warn_once(
                cls.__name__,
                f"{cls.description}: no weights file configured, using random weights (only for "
                "tests and smoke runs; set the loss's 'weights' to the published file)",
                stacklevel=3,
            )
        return freeze(net)

    def train(self, mode: bool = True) -> Self:
        """Ignore ``mode``: a frozen loss network always runs in eval mode."""
        return super().train(False)

    @property
    def dtype(self) -> torch.dtype:
        """The dtype of the network's (first floating) tensors."""
        for buf in self.buffers():
            if buf.is_floating_point():
                return buf.dtype
        return torch.float32
