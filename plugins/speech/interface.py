"""Kind ``audio_expression_encoder``: per-frame audio embeddings + the first frame's expression latent ->
one expression latent per frame (E_aud, supplementary section 2.1).

Registered by this plugin package (not one of the core's kinds) through :func:`register_kinds`, which
the package's ``emoportraits_register_kinds`` hook calls. It is not an ``encoder``: that kind takes one
image batch (port ``image``) and gives one representation per image, while this one reads a sequence
and a latent and is autoregressive.

Contract:
    inputs  ``audio``: ``(B, T, C)`` float per-frame audio embeddings (e.g. Whisper encoder states
            resampled to the video's frame rate; computed elsewhere), port type ``audio_features``
            (the type the audio-to-pose networks of :mod:`emoportraits_plugins.audio_pose` read, so
            one Whisper node can feed both);
            ``z0``: ``(B, D)`` the first frame's expression latent (the motion encoder's, 128-d for
            the release), port type ``descriptor``.
    output  ``latents``: ``(B, T, D)`` the predicted latent of every frame, port type ``descriptor``.
            A per-frame latent sequence is a descriptor with a time dim: it wires to the latent losses
            (e.g. ``mouth_pca``, whose inputs are ``(B, ..., D)`` descriptors) without a new port type.
    Streaming: :meth:`AudioExpressionEncoder.start` gives a state from ``z0``, and
    :meth:`AudioExpressionEncoder.step` over consecutive chunks of the audio gives exactly (bit for
    bit) the latents of the whole clip; ``forward`` is ``start`` then one ``step``. Items of a batch are
    independent in eval mode.
"""

from __future__ import annotations

from abc import abstractmethod
from typing import Any, ClassVar

import torch
from torch import Tensor

from emoportraits_core import Component, Registry

__all__ = ["AudioExpressionEncoder", "register_kinds"]

KIND = "audio_expression_encoder"

#: frames of the clips :meth:`AudioExpressionEncoder.example_inputs` draws.
EXAMPLE_FRAMES = 6


class AudioExpressionEncoder(Component):
    """Abstract E_aud: ``audio (B, T, C)``, ``z0 (B, D)`` -> ``latents (B, T, D)``, streamable.

    Subclasses implement :meth:`start` and :meth:`step` (the state is theirs to define, e.g. an attrs
    class of tensors) and declare ``input_specs`` / ``output_specs`` with their C and D.
    """

    kind: ClassVar[str] = KIND
    inputs: ClassVar[dict[str, str]] = {"audio": "audio_features", "z0": "descriptor"}
    outputs: ClassVar[dict[str, str]] = {"latents": "descriptor"}

    @abstractmethod
    def start(self, z0: Tensor) -> Any:
        """``z0 (B, D)`` -> the state before the first frame."""

    @abstractmethod
    def step(self, audio: Tensor, state: Any) -> tuple[Tensor, Any]:
        """``audio (B, t, C)`` (the next ``t >= 0`` frames), ``state`` -> ``latents (B, t, D)`` and the
        state after them."""

    def forward(self, audio: Tensor, z0: Tensor) -> Tensor:
        """``audio (B, T, C)``, ``z0 (B, D)`` -> ``latents (B, T, D)`` (the whole clip in one step)."""
        latents, _ = self.step(audio, self.start(z0))
        return latents

    def example_inputs(
        self,
        batch: int = 2,
        *,
        generator: torch.Generator | None = None,
        dtype: torch.dtype = torch.float32,
        device: torch.device | str = "cpu",
    ) -> dict[str, Tensor]:
        """Standard-normal ``audio (B, 6, C)`` and ``z0 (B, D)`` (C, D from :meth:`input_specs`)."""
        specs = self.input_specs()
        channels, dim = specs["audio"].shape[-1], specs["z0"].shape[-1]
        kw: dict[str, Any] = {"generator": generator, "dtype": dtype}
        audio = torch.randn(batch, EXAMPLE_FRAMES, channels, **kw)
        return {"audio": audio.to(device), "z0": torch.randn(batch, dim, **kw).to(device)}


def register_kinds(registry: Registry) -> None:
    """Add the ``audio_expression_encoder`` kind to ``registry`` (idempotent)."""
    registry.register_kind(
        KIND,
        AudioExpressionEncoder,
        "per-frame audio embeddings + first expression latent -> latent per frame",
    )
