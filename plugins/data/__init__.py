"""Training data: ``emoportraits prepare`` (videos -> shards), the ``pairs`` dataset and the release's
augmentations. Batches mixed from several datasets by ratio (the release's 75/25) are the trainer's
:class:`emoportraits_core.training.MixedBatches`.

- :mod:`.format` documents the shard format (``index.json`` + one directory per video);
- :mod:`.prepare` / :mod:`.video_job` / :mod:`.annotate` / :mod:`.landmarks` / :mod:`.head_pose` write it;
- :mod:`.shard` reads and writes one video's shard; :mod:`.pairs` is the dataset over it;
- :mod:`.augment` holds the release's augmentations.

Registered through its own entry point (:mod:`.plugin`), like a third party's.
"""

from __future__ import annotations

from emoportraits_core import Registry

from .format import FORMAT, FORMAT_VERSION, read_index
from .landmarks import MESH_TO_IBUG68
from .pairs import PairsConfig, PairsDataset

__all__ = [
    "FORMAT",
    "FORMAT_VERSION",
    "MESH_TO_IBUG68",
    "PairsConfig",
    "PairsDataset",
    "read_index",
    "register",
]


def register(registry: Registry) -> None:
    """Registers the dataset ``pairs``."""
    registry.register("dataset", "pairs", PairsDataset, config=PairsConfig)
