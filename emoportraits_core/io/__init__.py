"""Input and output at the edges: atomic files, images, video and audio streams.

Media names are imported lazily (PEP 562), so that ``import emoportraits_core.io.atomic`` (used by
checkpoints) does not load PyAV and Pillow.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from .atomic import atomic_output

if TYPE_CHECKING:
    from .audio import check_audio_file, load_audio
    from .image import IMAGE_SUFFIXES, is_image_file, pil_to_tensor, read_image, to_uint8, write_image
    from .video import VideoInfo, iter_frame_arrays, iter_frames, probe_video, rotate_array
    from .video_writer import VideoWriter, as_rate, audio_track_bytes

_LAZY = {
    "check_audio_file": "audio",
    "load_audio": "audio",
    "IMAGE_SUFFIXES": "image",
    "is_image_file": "image",
    "pil_to_tensor": "image",
    "read_image": "image",
    "to_uint8": "image",
    "write_image": "image",
    "VideoInfo": "video",
    "iter_frame_arrays": "video",
    "iter_frames": "video",
    "probe_video": "video",
    "rotate_array": "video",
    "VideoWriter": "video_writer",
    "as_rate": "video_writer",
    "audio_track_bytes": "video_writer",
}

__all__ = [
    "IMAGE_SUFFIXES",
    "VideoInfo",
    "VideoWriter",
    "as_rate",
    "atomic_output",
    "audio_track_bytes",
    "check_audio_file",
    "is_image_file",
    "iter_frame_arrays",
    "iter_frames",
    "load_audio",
    "pil_to_tensor",
    "probe_video",
    "read_image",
    "rotate_array",
    "to_uint8",
    "write_image",
]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        value = getattr(importlib.import_module(f".{_LAZY[name]}", __name__), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))
