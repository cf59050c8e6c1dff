"""The component kinds and their contracts (one module per kind)."""

from .discriminator import Discriminator
from .driver import Driver, StreamInfo
from .encoder import Encoder
from .loss import Loss
from .renderer import Renderer
from .volume import VolumeProcessor
from .warper import Warper

__all__ = [
    "Discriminator",
    "Driver",
    "Encoder",
    "Loss",
    "Renderer",
    "StreamInfo",
    "VolumeProcessor",
    "Warper",
]
