"""Whisper's audio encoder as a frozen feature extractor: a mono waveform -> hidden states, 50 per second.

Conventions (fixed here, used by :mod:`.align` and :mod:`.stream`):

- Input: ``(N,)`` float32 mono in ``[-1, 1]`` at the feature extractor's rate (16 kHz for every
  Whisper size; :func:`~emoportraits_plugins.audio.read_audio` gives it).
- States: the encoder's last hidden state (after its final layer norm), ``(T_enc, C)`` with
  ``C = config.d_model`` and ``T_enc = ceil(N / 320)``: one state per 20 ms (``hop_length * 2``
  samples, the stride of the mel frames times that of the second convolution). State ``j`` is
  centred on the time ``j / 50`` s (mel frames are centred STFT frames; the strided convolution
  keeps every other one). Whisper pads every input to its window (30 s); the states of the padded
  tail are cut.
- Windows (:class:`WhisperWindows`): audio is encoded in windows of ``window_seconds`` (at most the
  model's 30 s) placed on a fixed grid, ``hop = window - overlap``: window ``k`` covers the states
  ``[k * hop, k * hop + window)`` and exists if it holds at least one state. Each window is encoded
  alone, as Whisper does (zero-padded to 30 s, log-mel normalised over the window). In the overlap
  of windows ``k`` and ``k + 1`` the two results are cross-faded linearly (state ``i`` of the
  overlap of ``O`` states takes weight ``(i + 0.5) / O`` from window ``k + 1``), so there is no seam,
  and each window's poorly-contexted edge gets the small weight. Audio of one window or less is
  one plain Whisper pass. The grid does not depend on the length of the audio, so
  :class:`~emoportraits_plugins.audio.WhisperStream` reproduces :meth:`WhisperAudioEncoder.encode`.
- Cost: one encoder pass (of 30 s of mel frames, whatever the window) per ``hop`` seconds of audio.
- Whisper is frozen: no gradients, always in eval mode, feature dithering off (deterministic).

Weights are never downloaded: :meth:`WhisperAudioEncoder.from_directory` reads a local directory of
any Whisper size (``config.json``, the weights, ``preprocessor_config.json``, as written by
``save_pretrained``); :func:`tiny_whisper_config` and :func:`save_random_whisper` make a random one
for ``--random-weights`` and tests.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import math
import os
from collections.abc import Iterator
from pathlib import Path

import attrs
import torch
from torch import Tensor, nn

from emoportraits_core.errors import ConfigError, InputError

__all__ = [
    "WhisperAudioEncoder",
    "WhisperWindows",
    "save_random_whisper",
    "tiny_whisper_config",
]

_EXPECTED_DIR = "expected a Whisper model directory (config.json, model weights, preprocessor_config.json)"


def _positive(_instance, attribute, value) -> None:
    if not value > 0:
        raise ConfigError(f"WhisperWindows.{attribute.name}: must be > 0, got {value}")


@attrs.frozen
class WhisperWindows:
    """How audio longer than one window is encoded (module docstring); rounded to whole states (20 ms).

    Attributes:
        window_seconds: length of a window, 0 < window <= the model's window (30 s).
        overlap_seconds: cross-faded overlap of neighbouring windows, 0 <= overlap <= window / 2.
            A stream yields a frame between ``overlap`` and ``window`` seconds after it (its look-ahead).
    """

    window_seconds: float = attrs.field(default=30.0, converter=float, validator=_positive)
    overlap_seconds: float = attrs.field(default=6.0, converter=float)

    @overlap_seconds.validator
    def _check_overlap(self, _attribute, value: float) -> None:
        if not 0 <= value <= self.window_seconds / 2:
            raise ConfigError(
                f"WhisperWindows.overlap_seconds: must be in [0, window_seconds / 2 = "
                f"{self.window_seconds / 2:g}], got {value:g}"
            )


class WhisperAudioEncoder(nn.Module):
    """A waveform -> Whisper encoder states (module docstring for the conventions).

    Args:
        whisper: the Whisper encoder (``transformers`` ``WhisperEncoder``).
        feature_extractor: its ``WhisperFeatureExtractor`` (its ``dither`` is set to 0).
        windows: how long audio is cut into windows.

    Raises:
        InputError: a feature extractor that does not match the encoder (mel bins, window length).
        ConfigError: windows longer than the model's, or an overlap that rounds above half a window.
    """

    def __init__(self, whisper: nn.Module, feature_extractor, windows: WhisperWindows = WhisperWindows()):
        super().__init__()
        config = whisper.config
        strides = whisper.conv1.stride[0] * whisper.conv2.stride[0]
        if feature_extractor.feature_size != config.num_mel_bins:
            raise InputError(
                f"Whisper feature extractor: {feature_extractor.feature_size} mel bins, the encoder expects "
                f"{config.num_mel_bins}; expected the preprocessor_config.json of the same model"
            )
        if feature_extractor.nb_max_frames != config.max_source_positions * strides:
            raise InputError(
                f"Whisper feature extractor: windows of {feature_extractor.nb_max_frames} mel frames, the encoder "
                f"expects {config.max_source_positions * strides}; expected the preprocessor_config.json of the "
                "same model"
            )
        feature_extractor.dither = 0.0
        self.whisper = whisper.eval().requires_grad_(False)
        mel = torch.as_tensor(feature_extractor.mel_filters, dtype=torch.float32)
        self.register_buffer("mel_filters", mel, persistent=False)  # (n_fft / 2 + 1, mel bins)
        self.feature_extractor = feature_extractor
        self.samples_per_state = feature_extractor.hop_length * strides
        self.model_window_states = config.max_source_positions
        self.windows = windows
        self.window_states = round(windows.window_seconds * self.states_per_second)
        self.overlap_states = round(windows.overlap_seconds * self.states_per_second)
        if not 1 <= self.window_states <= self.model_window_states:
            raise ConfigError(
                f"WhisperWindows.window_seconds: {windows.window_seconds:g} s is not within this model's window "
                f"(0.02 .. {self.model_window_states / self.states_per_second:g} s)"
            )
        if 2 * self.overlap_states > self.window_states:
            raise ConfigError(
                f"WhisperWindows.overlap_seconds: {windows.overlap_seconds:g} s rounds to more than half a "
                f"window ({self.window_states} states of 20 ms)"
            )

    # ---------------------------------------------------------------- construction

    @classmethod
    def from_directory(
        cls, path: str | os.PathLike[str], *, windows: WhisperWindows = WhisperWindows()
    ) -> WhisperAudioEncoder:
        """Load the encoder and feature extractor of a local Whisper directory (any size; the decoder is dropped).

        Raises:
            InputError: a missing directory, files or encoder weights, or a model that is not Whisper.
        """
        from transformers import WhisperConfig, WhisperFeatureExtractor, WhisperModel

        root = Path(path)
        if not root.is_dir():
            raise InputError(f"{root}: no such directory; {_EXPECTED_DIR}")
        for name in ("config.json", "preprocessor_config.json"):
            if not (root / name).is_file():
                raise InputError(f"{root}: no {name}; {_EXPECTED_DIR}")
        try:
            model_type = json.loads((root / "config.json").read_text()).get("model_type")
            WhisperConfig.from_pretrained(root, local_files_only=True)
            extractor = WhisperFeatureExtractor.from_pretrained(root, local_files_only=True)
        except (OSError, ValueError, TypeError, KeyError, AttributeError) as exc:
            raise InputError(
                f"{root}: unreadable Whisper config ({_first_line(exc)}); {_EXPECTED_DIR}"
            ) from None
        if model_type != "whisper":
            raise InputError(
                f"{root}: config.json has model_type {model_type!r}, not 'whisper'; {_EXPECTED_DIR}"
            )
        try:
            with _quiet():
                model, info = WhisperModel.from_pretrained(
                    root, local_files_only=True, output_loading_info=True, dtype=torch.float32
                )
        except (OSError, ValueError, RuntimeError) as exc:
            raise InputError(
                f"{root}: unreadable Whisper weights ({_first_line(exc)}); {_EXPECTED_DIR}"
            ) from None
        missing = sorted(k for k in info.get("missing_keys", ()) if k.startswith("encoder."))
        if missing:
            raise InputError(
                f"{root}: the weights lack {len(missing)} encoder tensors (e.g. {missing[0]}); {_EXPECTED_DIR}"
            )
        try:
            return cls(model.encoder, extractor, windows)
        except InputError as exc:  # a feature extractor of another model
            raise InputError(f"{root}: {exc}") from None

    @classmethod
    def from_config(
        cls, config=None, *, seed: int = 0, windows: WhisperWindows = WhisperWindows()
    ) -> WhisperAudioEncoder:
        """A randomly initialised encoder of ``config`` (default :func:`tiny_whisper_config`), with the
        standard feature extractor for it; the same weights as ``from_directory(save_random_whisper(
        dir, config, seed=seed))``. The global RNG is untouched."""
        config = tiny_whisper_config() if config is None else config
        return cls(_random_model(config, seed).encoder, _feature_extractor(config), windows)

    def with_windows(self, windows: WhisperWindows) -> WhisperAudioEncoder:
        """The same model (shared, not copied) with other windows."""
        return type(self)(self.whisper, self.feature_extractor, windows)

    # ---------------------------------------------------------------- properties

    @property
    def sample_rate(self) -> int:
        """Rate of the input audio in Hz (16000)."""
        return int(self.feature_extractor.sampling_rate)

    @property
    def states_per_second(self) -> float:
        """Encoder states per second of audio (50)."""
        return self.sample_rate / self.samples_per_state

    @property
    def hidden_size(self) -> int:
        """C, the size of a state (``config.d_model``: 384 for whisper-tiny, 1280 for large)."""
        return int(self.whisper.config.d_model)

    @property
    def hop_states(self) -> int:
        """States between the starts of neighbouring windows."""
        return self.window_states - self.overlap_states

    def states_for(self, num_samples: int) -> int:
        """``T_enc = ceil(num_samples / 320)``: the states of ``num_samples`` of audio."""
        return -(-int(num_samples) // self.samples_per_state)

    def num_windows(self, num_samples: int) -> int:
        """How many windows ``num_samples`` of audio take (1 for up to a window, 0 for none)."""
        states = self.states_for(num_samples)
        return 0 if states == 0 else 1 + max(0, -(-(states - self.window_states) // self.hop_states))

    # ---------------------------------------------------------------- encoding

    def encode_window(self, audio: Tensor) -> Tensor:
        """One Whisper pass: ``audio (n,)`` with ``n <= 30 s`` -> ``(ceil(n / 320), C)`` float32 states."""
        audio = self._check_audio(audio)
        if audio.numel() > self.model_window_states * self.samples_per_state:
            raise InputError(
                f"audio: {audio.numel()} samples, more than one Whisper window "
                f"({self.model_window_states * self.samples_per_state}); use encode()"
            )
        parameter = self._tensor()
        with torch.no_grad():
            features = self.log_mel(audio.to(parameter.device))
            hidden = self.whisper(features[None].to(parameter.dtype)).last_hidden_state[0]
        return hidden[: self.states_for(audio.numel())].float()

    def log_mel(self, audio: Tensor) -> Tensor:
        """``audio (n,)`` (one window at most) -> Whisper's input ``(mel bins, frames)`` on the audio's
        device: zero-padded to the model's window, power STFT (Hann, ``n_fft`` 400, hop 160; the last
        frame dropped), the extractor's mel filters, ``log10`` (floor 1e-10), clamped to 8 below the
        maximum, then ``(x + 4) / 4``: what ``WhisperFeatureExtractor`` computes, without leaving the
        device (a test compares the two)."""
        fe = self.feature_extractor
        audio = audio.float()
        padded = torch.zeros(fe.n_samples, dtype=torch.float32, device=audio.device)
        padded[: audio.numel()] = audio[: fe.n_samples]
        window = torch.hann_window(fe.n_fft, device=audio.device)
        stft = torch.stft(padded, fe.n_fft, fe.hop_length, window=window, return_complex=True)
        power = (stft[..., :-1].abs() ** 2).contiguous()
        mel = self.mel_filters.to(audio.device, torch.float32).T @ power
        log = mel.clamp(min=1e-10).log10()
        log = torch.maximum(log, log.max() - 8.0)
        return (log + 4.0) / 4.0

    def encode(self, audio: Tensor) -> Tensor:
        """``audio (N,)`` float32 in ``[-1, 1]`` at :attr:`sample_rate` -> states ``(T_enc, C)`` float32.

        Windows and cross-fades as in the module docstring; empty audio gives ``(0, C)``.
        """
        audio = self._check_audio(audio)
        total = self.states_for(audio.numel())
        out = torch.zeros(total, self.hidden_size, device=self._tensor().device)
        for k in range(self.num_windows(audio.numel())):
            start = k * self.hop_states
            states = self._window(audio, k)
            out[start : start + len(states)] += states
        return out

    def forward(self, audio: Tensor) -> Tensor:
        """Same as :meth:`encode`."""
        return self.encode(audio)

    def _tensor(self) -> Tensor:
        """One of Whisper's weights (its device and dtype), a parameter or, once frozen into buffers
        (:func:`emoportraits_plugins.lossnets._frozen.freeze`), a buffer."""
        return next(itertools.chain(self.whisper.parameters(), self.whisper.buffers()))

    def train(self, mode: bool = True) -> WhisperAudioEncoder:
        """Whisper stays in eval mode (it is frozen)."""
        super().train(mode)
        self.whisper.eval()
        return self

    def _window(self, audio: Tensor, k: int) -> Tensor:
        """Window ``k``'s states, weighted for the cross-fades; ``audio`` starts at the grid's origin."""
        first = k * self.hop_states * self.samples_per_state
        states = self.encode_window(audio[first : first + self.window_states * self.samples_per_state])
        return states * self.fade(k, len(states))[:, None]

    def fade(self, k: int, num_states: int) -> Tensor:
        """``(num_states,)`` cross-fade weights of window ``k``: a ramp up over its first ``overlap`` states
        (``k > 0``), a ramp down over its last ``overlap`` states of a full window, 1 between."""
        weights = torch.ones(num_states, device=self._tensor().device)
        overlap = self.overlap_states
        if overlap == 0:
            return weights
        ramp = (torch.arange(overlap, dtype=torch.float32, device=weights.device) + 0.5) / overlap
        if k > 0:
            weights[:overlap] = ramp[:num_states]
        tail = weights[self.hop_states :]
        tail *= 1.0 - ramp[: len(tail)]
        return weights

    @staticmethod
    def _check_audio(audio: Tensor) -> Tensor:
        if not isinstance(audio, Tensor) or audio.dim() != 1 or not audio.is_floating_point():
            seen = tuple(audio.shape) if isinstance(audio, Tensor) else type(audio).__name__
            raise InputError(f"audio: expected a mono waveform, a (N,) float tensor, got {seen}")
        return audio.float()


def tiny_whisper_config():
    """A ``WhisperConfig`` small enough for tests and ``--random-weights`` (d_model 64, 2 encoder layers)
    with Whisper's real audio geometry (80 mel bins, 30 s windows, 50 states per second)."""
    from transformers import WhisperConfig

    return WhisperConfig(
        vocab_size=64,
        num_mel_bins=80,
        d_model=64,
        encoder_layers=2,
        encoder_attention_heads=4,
        encoder_ffn_dim=128,
        decoder_layers=1,
        decoder_attention_heads=4,
        decoder_ffn_dim=128,
        max_source_positions=1500,
        max_target_positions=32,
        pad_token_id=0,
        bos_token_id=1,
        eos_token_id=2,
        decoder_start_token_id=3,
        begin_suppress_tokens=None,
    )


def save_random_whisper(directory: str | os.PathLike[str], config=None, *, seed: int = 0) -> Path:
    """Write a random Whisper (``config``, default :func:`tiny_whisper_config`) to ``directory`` as
    ``save_pretrained`` does (config, safetensors weights, feature extractor), for
    :meth:`WhisperAudioEncoder.from_directory`; return the directory."""
    config = tiny_whisper_config() if config is None else config
    root = Path(directory)
    with _quiet():
        _random_model(config, seed).save_pretrained(root)
    _feature_extractor(config).save_pretrained(root)
    return root


def _random_model(config, seed: int):
    """A seeded random ``WhisperModel`` (encoder and decoder, so that both paths init alike)."""
    from transformers import WhisperModel

    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return WhisperModel(config).eval()


def _feature_extractor(config):
    """The standard Whisper feature extractor for ``config`` (16 kHz, 10 ms hop, its mel bins and window)."""
    from transformers import WhisperFeatureExtractor

    seconds = config.max_source_positions * 2 * 160 / 16000
    return WhisperFeatureExtractor(feature_size=config.num_mel_bins, chunk_length=math.ceil(seconds))


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    """No progress bars or warnings from transformers (our own errors say what is wrong)."""
    from transformers.utils import logging

    bar, verbosity = logging.is_progress_bar_enabled(), logging.get_verbosity()
    logging.disable_progress_bar()
    logging.set_verbosity_error()
    try:
        yield
    finally:
        logging.set_verbosity(verbosity)
        if bar:
            logging.enable_progress_bar()


def _first_line(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0]
