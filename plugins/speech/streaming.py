"""E_aud over a session's stream: the frames of a batch are consecutive time steps of one clip.

A session feeds a pipeline's stream nodes batches of frames (batch dim = time). This component is
E_aud (:class:`~.audio_expression_encoder.MLPAudioExpressionEncoder`: the same config, submodules and
checkpoint keys, so weights trained as ``emoportraits_audio_expression_encoder`` load into it) read
that way:

- ``audio (F, C)``: the next F frames' audio embeddings; ``z0 (F, D)``: the first frame's expression
  latent, broadcast by the session (only row 0 of the first batch of a stream is read);
- ``latents (F, D)``: the next F predicted latents;
- the state (z_base, the last latent) carries over to the next batch; the runner resets it before
  every stream (``stateful_stream``). Any split of a stream into batches gives the latents of the
  whole clip at once (the recurrence runs frame by frame either way).
"""

from __future__ import annotations

from typing import Any, ClassVar

import torch
from torch import Tensor

from emoportraits_core import PortSpec

from .audio_expression_encoder import AudioExpressionState, MLPAudioExpressionEncoder

__all__ = ["StreamingAudioExpressionEncoder"]


class StreamingAudioExpressionEncoder(MLPAudioExpressionEncoder):
    """``audio (F, C)``, ``z0 (F, D)`` -> ``latents (F, D)``, continuing the current stream."""

    stateful_stream: ClassVar[bool] = True
    conformance_batch_coupled: ClassVar[bool] = True  # the batch is time: frame n reads frame n - 1

    def __init__(self, config: Any = None) -> None:
        super().__init__(config)
        self._state: AudioExpressionState | None = None

    def reset_stream(self) -> None:
        self._state = None

    def input_specs(self) -> dict[str, PortSpec]:
        return {
            "audio": PortSpec("audio_features", ("B", self.config.audio_dim)),
            "z0": PortSpec("descriptor", ("B", self.config.latent_dim)),
        }

    def output_specs(self) -> dict[str, PortSpec]:
        return {"latents": PortSpec("descriptor", ("B", self.config.latent_dim))}

    def example_inputs(
        self,
        batch: int = 2,
        *,
        generator: torch.Generator | None = None,
        dtype: torch.dtype = torch.float32,
        device: torch.device | str = "cpu",
    ) -> dict[str, Tensor]:
        """Standard-normal ``audio (B, C)`` and one ``z0`` repeated over the batch (as broadcast)."""
        c = self.config
        audio = torch.randn(batch, c.audio_dim, generator=generator, dtype=dtype)
        z0 = torch.randn(1, c.latent_dim, generator=generator, dtype=dtype).expand(batch, -1)
        return {"audio": audio.to(device), "z0": z0.contiguous().to(device)}

    def forward(self, audio: Tensor, z0: Tensor) -> Tensor:
        state = self._state if self._state is not None else self.start(z0[:1])
        latents, state = self.step(audio[None], state)
        self._state = AudioExpressionState(state.base.detach(), state.previous.detach(), state.frames)
        return latents[0]
