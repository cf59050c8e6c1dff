"""The component kinds and their contracts (one module per kind)."""

from .dataset import Dataset
from .discriminator import Discriminator
from .driver import Driver, StreamInfo
from .encoder import Encoder
from .loss import Loss
from .optimizer import Optimizer
from .renderer import Renderer
from .schedule import Schedule
from .volume import VolumeProcessor
from .warper import Warper

__all__ = [
    "Dataset",
    "Discriminator",
    "Driver",
    "Encoder",
    "Loss",
    "Optimizer",
    "Renderer",
    "Schedule",
    "StreamInfo",
    "VolumeProcessor",
    "Warper",
]
