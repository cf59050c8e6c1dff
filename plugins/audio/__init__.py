"""The audio input of speech mode: read any media file's audio, encode it with Whisper, align it to frames.

- :func:`read_audio` / :func:`iter_audio`: a file (or its bytes) -> mono float32 at 16 kHz, whole or
  in chunks.
- :class:`WhisperAudioEncoder`: a local Whisper directory (any size) or a random config -> encoder
  states ``(T_enc, C)``, 50 per second, long audio in cross-faded windows (:class:`WhisperWindows`).
- :func:`frames_for` / :func:`align_to_fps`: states -> one row per video frame.
- :class:`WhisperStream`: the same, fed in chunks, yielding what is final (documented look-ahead).

Nothing is downloaded: weights come from a directory the user gives, or are random
(:func:`tiny_whisper_config`, :func:`save_random_whisper`).
"""

from .align import align_to_fps, frames_for
from .read import AudioSource, iter_audio, read_audio
from .stream import WhisperStream
from .whisper import WhisperAudioEncoder, WhisperWindows, save_random_whisper, tiny_whisper_config

__all__ = [
    "AudioSource",
    "WhisperAudioEncoder",
    "WhisperStream",
    "WhisperWindows",
    "align_to_fps",
    "frames_for",
    "iter_audio",
    "read_audio",
    "save_random_whisper",
    "tiny_whisper_config",
]
