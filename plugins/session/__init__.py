"""The modality-agnostic session: a pipeline loaded once, any driver streamed through it into a sink."""

from .report import SessionReport
from .session import Session, image_size
from .sinks import PictureSink, Sink

__all__ = ["PictureSink", "Session", "SessionReport", "Sink", "image_size"]
