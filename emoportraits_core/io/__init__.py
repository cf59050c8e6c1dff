"""Input and output at the edges: atomic files, images, video and audio streams."""

from .atomic import atomic_output

__all__ = ["atomic_output"]
