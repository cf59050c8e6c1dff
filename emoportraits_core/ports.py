"""Port types: what flows along a pipeline wire.

A component declares its input and output ports as ``name -> type`` (class level, so that a
pipeline can be validated before any component is built) and, per instance, a :class:`PortSpec`
per port with the shape and value range that its config implies (used by the conformance suite
and by :meth:`Component.example_inputs`).

Standard port types (a plugin may use others; wires only need equal type strings):

============  ===========================================================================
type          value
============  ===========================================================================
image         ``(B, 3, H, W)`` float RGB in ``[0, 1]``
mask          ``(B, 1, H, W)`` float in ``[0, 1]`` (binary for hard masks)
volume        ``(B, C, D, H, W)`` float feature volume
descriptor    ``(B, E, ...)`` float global descriptor (e.g. identity embedding)
embedding     ``(B, ...)`` float conditioning embedding (e.g. warp embedding)
warp          ``(B, D, H, W, 3)`` sampling grid in normalised ``[-1, 1]`` (u, v, w) coordinates
motion        :class:`~emoportraits_core.types.Motion`
appearance    :class:`~emoportraits_core.types.Appearance`
scalar        ``()`` float tensor (a loss value)
flags         ``(B,)`` float per-item flags or indices (e.g. which dataset an item came from)
features      list of float tensors (e.g. discriminator features)
============  ===========================================================================
"""

from __future__ import annotations

import attrs

from .shapes import Pattern, format_pattern

__all__ = ["PORT_TYPES", "PortSpec"]

PORT_TYPES: dict[str, str] = {
    "image": "(B, 3, H, W) float RGB in [0, 1]",
    "mask": "(B, 1, H, W) float in [0, 1]",
    "volume": "(B, C, D, H, W) float feature volume",
    "descriptor": "(B, E, ...) float global descriptor",
    "embedding": "(B, ...) float conditioning embedding",
    "warp": "(B, D, H, W, 3) sampling grid, (u, v, w) in [-1, 1]",
    "motion": "Motion(rotation (B,3,3), translation (B,3), expression (B,Z), scale (B,3))",
    "appearance": "Appearance(volume (B,C,D,H,W), descriptor (B,E,...))",
    "scalar": "() float tensor",
    "flags": "(B,) float per-item flags or indices",
    "features": "list of float tensors",
}


@attrs.frozen
class PortSpec:
    """The declared form of one port of one component instance.

    Attributes:
        type: port type (a key of :data:`PORT_TYPES` or a plugin's own).
        shape: shape pattern with ``"B"`` for the batch (see :mod:`emoportraits_core.shapes`); for
            ``motion`` ports it is the expression shape ``("B", Z)``; None when not fixed.
        range: closed value range ``(low, high)`` the values lie in, or None.
    """

    type: str
    shape: Pattern | None = attrs.field(default=None, converter=lambda s: None if s is None else tuple(s))
    range: tuple[float, float] | None = None

    def describe(self) -> str:
        parts = [self.type]
        if self.shape is not None:
            parts.append(format_pattern(self.shape))
        if self.range is not None:
            parts.append(f"in [{self.range[0]:g}, {self.range[1]:g}]")
        return " ".join(parts)
