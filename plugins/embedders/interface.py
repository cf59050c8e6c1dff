"""Kind ``embedder``: motion + global descriptor -> conditioning embedding.

Registered by this plugin package (it is not one of the core's kinds) through
:func:`register_kinds`, which the package's ``emoportraits_register_kinds`` hook calls.

Contract:
    inputs  ``motion``: :class:`~emoportraits_core.types.Motion` (an embedder may read only some of
            its fields, e.g. the expression latent ``(B, Z)``);
            ``descriptor``: ``(B, E, ...)`` global identity descriptor.
    output  ``embedding``: ``(B, ...)`` float tensor that conditions another component (for
            EMOPortraits the warp generators' adaptive norms), shape as declared by
            :meth:`~emoportraits_core.component.Component.output_specs`.
    Items of a batch are independent in eval mode; a batch-1 ``descriptor`` (one source) broadcasts
    against a batch-B ``motion`` (B driver frames).
"""

from __future__ import annotations

from abc import abstractmethod
from typing import ClassVar

from torch import Tensor

from emoportraits_core import Component, Motion, Registry

__all__ = ["Embedder", "register_kinds"]


class Embedder(Component):
    """Abstract embedder: ``(motion, descriptor) -> embedding``."""

    kind: ClassVar[str] = "embedder"
    inputs: ClassVar[dict[str, str]] = {"motion": "motion", "descriptor": "descriptor"}
    outputs: ClassVar[dict[str, str]] = {"embedding": "embedding"}

    @abstractmethod
    def forward(self, motion: Motion, descriptor: Tensor) -> Tensor:
        """``motion`` (batch B), ``descriptor (B or 1, E, ...)`` -> ``embedding (B, ...)``."""


def register_kinds(registry: Registry) -> None:
    """Add the ``embedder`` kind to ``registry`` (idempotent)."""
    registry.register_kind("embedder", Embedder, "motion + global descriptor -> conditioning embedding")
