"""The audio input of speech mode: read any media file's audio (whole or in chunks) as 16 kHz mono."""

from .read import AudioSource, iter_audio, read_audio

__all__ = ["AudioSource", "iter_audio", "read_audio"]
