"""Streaming Whisper states: audio in chunks of any size -> the states (or per-frame rows) that are final.

How: :class:`WhisperStream` buffers audio until the next window of the encoder's fixed grid
(:class:`~emoportraits_plugins.audio.WhisperWindows`) is complete, encodes it once, and yields the
states that no later window touches: window ``k`` finalises the states ``[k * hop, (k + 1) * hop)``
and keeps its cross-fade tail for window ``k + 1``. :meth:`~WhisperStream.flush` encodes the last,
partial window. Every window is the one :meth:`WhisperAudioEncoder.encode` uses, encoded alone, so
the concatenation of what a stream yields equals the whole-clip result whatever the chunk sizes
(the same computation, the same order: in practice bit for bit).

Look-ahead: a state at time ``t`` is final once the audio has reached between ``t + overlap`` and
``t + window`` seconds (``t + window`` at most: :attr:`WhisperStream.lookahead_seconds`; one state,
20 ms, more for a frame row, which interpolates its two neighbouring states). With the default
30 s windows that is up to 30 s: fine for files, too slow for a live microphone. Live use takes short
windows, e.g. ``WhisperWindows(window_seconds=3, overlap_seconds=1)``: 1 .. 3 s of look-ahead,
at one 30 s encoder pass (Whisper always pads to 30 s) per 2 s of audio, 12 times the default's cost;
the states then also differ from the 30 s windows' (less context), identically in stream and batch.
Memory: one window of audio and one window of states.
"""

from __future__ import annotations

import math
from fractions import Fraction

import torch
from torch import Tensor

from emoportraits_core.errors import InputError
from emoportraits_core.io.video_writer import as_rate

from .align import frames_for, interpolate_frames
from .whisper import WhisperAudioEncoder

__all__ = ["WhisperStream"]


class WhisperStream:
    """Push audio chunks, get the final encoder states, or rows aligned to ``fps``.

    Args:
        encoder: the Whisper wrapper (its :class:`WhisperWindows` decide the grid and the look-ahead).
        fps: frame rate of the rows to yield, or None for the raw states (50 per second).

    Example:
        >>> stream = WhisperStream(encoder, fps=25)  # doctest: +SKIP
        >>> rows = [stream.push(chunk) for chunk in iter_audio("speech.wav", 0.2)] + [stream.flush()]
        >>> torch.cat(rows)  # == align_to_fps(encoder.encode(wave), 25, frames_for(len(wave), 25))
    """

    def __init__(self, encoder: WhisperAudioEncoder, fps: float | Fraction | None = None):
        self.encoder = encoder
        self.fps = fps
        self._rate = Fraction(encoder.sample_rate, encoder.samples_per_state)  # states per second
        self._per_frame = None if fps is None else self._rate / as_rate(fps)  # states per frame
        self._device = encoder._tensor().device
        self.reset()

    @property
    def lookahead_seconds(self) -> float:
        """The most audio past a row's time needed before it is yielded (window + one state)."""
        return (self.encoder.window_states + 1) / self.encoder.states_per_second

    @property
    def received_samples(self) -> int:
        """Samples pushed so far."""
        return self._received

    def reset(self) -> None:
        """Start a new clip."""
        self._received = 0
        self._window = 0  # index of the next window to encode
        self._audio: list[Tensor] = []  # audio from the start of that window
        self._buffered = 0
        self._tail: Tensor | None = None  # previous window's cross-faded tail, states from the window's start
        self._states = self._empty()  # final states not yet turned into rows
        self._offset = 0  # index of _states[0]
        self._next_row = 0
        self._closed = False

    def push(self, audio: Tensor) -> Tensor:
        """Add ``audio (n,)`` float32 in ``[-1, 1]`` at the encoder's rate (any n, also 0).

        Returns:
            ``(k, C)`` float32: the rows (or states) that became final, maybe none.
        """
        if self._closed:
            raise RuntimeError("WhisperStream: push after flush; call reset() to start a new clip")
        if audio.dim() != 1:
            raise InputError(f"audio: expected a mono chunk, a (n,) tensor, got shape {tuple(audio.shape)}")
        self._audio.append(audio.detach().float().cpu())
        self._buffered += audio.numel()
        self._received += audio.numel()
        enc = self.encoder
        window = enc.window_states * enc.samples_per_state
        finals = []
        while self._buffered >= window:
            buffered = torch.cat(self._audio)
            finals.append(self._encode(buffered[:window], enc.hop_states))
            rest = buffered[enc.hop_states * enc.samples_per_state :]
            self._audio, self._buffered = [rest], rest.numel()
            self._window += 1
        return self._rows(finals, done=False)

    def flush(self) -> Tensor:
        """Encode what is left (the last, partial window) and return the remaining rows ``(k, C)``."""
        if self._closed:
            raise RuntimeError("WhisperStream: flush twice; call reset() to start a new clip")
        finals = []
        if self._buffered > 0:
            finals.append(self._encode(torch.cat(self._audio), None))
        self._audio, self._buffered, self._closed = [], 0, True
        return self._rows(finals, done=True)

    def _encode(self, audio: Tensor, keep: int | None) -> Tensor:
        """Encode the current window; return its final states (the first ``keep``, or all)."""
        enc = self.encoder
        states = enc.encode_window(audio)
        states = states * enc.fade(self._window, len(states))[:, None]
        if self._tail is not None:
            n = min(len(self._tail), len(states))
            states[:n] += self._tail[:n]
        keep = len(states) if keep is None else keep
        self._tail = states[keep:]
        return states[:keep]

    def _empty(self) -> Tensor:
        return torch.zeros(0, self.encoder.hidden_size, device=self._device)

    def _rows(self, finals: list[Tensor], *, done: bool) -> Tensor:
        """Turn newly final states into the rows that can now be computed."""
        empty = self._empty()
        if self.fps is None:
            return torch.cat(finals) if finals else empty
        self._states = torch.cat([self._states, *finals])
        known = self._offset + len(self._states)  # states final so far
        if done:
            end = frames_for(self._received, self.fps, sample_rate=self.encoder.sample_rate)
        else:  # rows i whose centre (i + 1/2) * per_frame lies before the last final state: both neighbours final
            end = max(self._next_row, math.ceil((known - 1) / self._per_frame - Fraction(1, 2)))
        if end <= self._next_row:
            return empty
        if known == 0:
            raise InputError(f"audio: {self._received} samples give no states to align to frames")
        rows = torch.arange(self._next_row, end)
        out = interpolate_frames(self._states, self._offset, rows, known - 1, self.fps, rate=self._rate)
        self._next_row = end
        needed = min(
            math.floor((end + Fraction(1, 2)) * self._per_frame), known - 1
        )  # next row's first state
        drop = max(0, needed - self._offset)
        self._states, self._offset = self._states[drop:], self._offset + drop
        return out
