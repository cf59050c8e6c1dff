"""Training: the loop (:mod:`.trainer`), the run's state and checkpoints (:mod:`.state`,
:mod:`.run_files`), mixed batches (:mod:`.batches`), torchrun set-up (:mod:`.distributed`) and
logging (:mod:`.logger`). Optimizers, schedules, datasets, losses and discriminators are plugins."""

from .batches import MixedBatches
from .distributed import DistributedContext
from .run_files import find_checkpoint, load_run, save_run
from .state import RngState, TrainState
from .trainer import Trainer

__all__ = [
    "DistributedContext",
    "MixedBatches",
    "RngState",
    "TrainState",
    "Trainer",
    "find_checkpoint",
    "load_run",
    "save_run",
]
