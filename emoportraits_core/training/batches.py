"""Batches from several datasets mixed by ratio, deterministic from a seed, sharded per process.

Each step fills ``batch_size`` slots. Slot n (counted over the run, per process) takes its dataset
by the *largest deficit* rule: the dataset whose count so far falls furthest behind ``ratio *
(n + 1)``, ties to the smaller ratio. For two datasets at 0.75 / 0.25 and batches of 2 this gives
``[a, b], [a, a], [a, b], [a, a], ...``: item 1 from the second dataset every second step, as the
release does (TRAINING_FACTS section 1). Within a dataset, items follow a permutation drawn from
(seed, dataset, epoch of that dataset); process r of W takes positions r, r + W, r + 2W... of it,
so processes see disjoint items. Each item's random choices (which frames form a pair, the
augmentation) come from a generator seeded by (seed, process, slot); what a batch's items share (e.g.
a clip length) from one seeded by (seed, process, the batch's first slot, dataset), given to each
dataset's ``begin_batch`` before the batch. :meth:`state_dict` holds the position, so a resumed run
continues the same sequence.

Besides the items' fields, a batch can carry ``data_index`` (:data:`DATA_INDEX`): ``(B,)`` float, the
index of the dataset each item came from, in the order of the pipeline's ``[data.*]`` tables (with
VoxCeleb2 then FEED, the release's FEED flag). A pipeline that wants it declares
``[inputs.data_index] type = "flags"``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import torch

from ..errors import InputError
from ..interfaces import Dataset

__all__ = ["DATA_INDEX", "MixedBatches"]

#: the batch field naming each item's dataset (see the module docstring).
DATA_INDEX = "data_index"

_MIX = 0x9E3779B1  # odd constant to spread seeds


def _seed(*parts: int) -> int:
    value = 0
    for part in parts:
        value = (value * _MIX + part + 1) % (2**63 - 1)
    return value


class MixedBatches:
    """``next(batches) -> {field: (B, ...)}``, mixed from ``datasets`` by ``ratios``.

    Args:
        datasets: name -> dataset, in the pipeline's order.
        ratios: name -> share of the items (summing to 1).
        batch_size: items per step (per process).
        seed: the run's seed.
        rank, world_size: this process and the number of processes.
        fields: the fields to batch (the pipeline's inputs); other item fields are dropped.
    """

    def __init__(
        self,
        datasets: Mapping[str, Dataset],
        ratios: Mapping[str, float],
        batch_size: int,
        *,
        seed: int = 0,
        rank: int = 0,
        world_size: int = 1,
        fields: Sequence[str] | None = None,
    ) -> None:
        self.names = list(datasets)
        self.datasets = dict(datasets)
        for name, data in self.datasets.items():
            if len(data) < world_size:
                raise InputError(
                    f"dataset '{name}' has {len(data)} items, fewer than the {world_size} processes"
                )
        self.ratios = [float(ratios[n]) for n in self.names]
        self.batch_size, self.seed, self.rank, self.world_size = batch_size, seed, rank, world_size
        self.fields = list(fields) if fields is not None else None
        self.slot = 0
        self.counts = [0] * len(self.names)
        self._orders: dict[tuple[int, int], torch.Tensor] = {}

    def _pick(self) -> int:
        n = self.slot
        deficits = [(r * (n + 1) - c, -r, i) for i, (r, c) in enumerate(zip(self.ratios, self.counts))]
        return max(deficits)[2]

    def _index(self, which: int) -> int:
        data = self.datasets[self.names[which]]
        per_epoch = len(data) // self.world_size
        epoch, pos = divmod(self.counts[which], per_epoch)
        key = (which, epoch)
        if key not in self._orders:
            self._orders = {k: v for k, v in self._orders.items() if k[0] != which}
            g = torch.Generator().manual_seed(_seed(self.seed, which, epoch))
            self._orders[key] = torch.randperm(len(data), generator=g)
        return int(self._orders[key][pos * self.world_size + self.rank])

    def __iter__(self) -> MixedBatches:
        return self

    def __next__(self) -> dict[str, torch.Tensor]:
        items, sources = [], []
        for which, data in enumerate(self.datasets.values()):  # what the batch's items share
            data.begin_batch(
                torch.Generator().manual_seed(_seed(self.seed, 2000 + self.rank, self.slot, which))
            )
        for _ in range(self.batch_size):
            which = self._pick()
            index = self._index(which)
            generator = torch.Generator().manual_seed(_seed(self.seed, 1000 + self.rank, self.slot))
            item = self.datasets[self.names[which]].item(index, generator)
            wanted = self.fields if self.fields is not None else list(item)
            items.append({k: item[k] for k in wanted if k != DATA_INDEX})
            sources.append(float(which))
            self.counts[which] += 1
            self.slot += 1
        batch = {k: torch.stack([it[k] for it in items]) for k in items[0]}
        if self.fields is not None and DATA_INDEX in self.fields:
            batch[DATA_INDEX] = torch.tensor(sources)
        return batch

    def state_dict(self) -> dict[str, Any]:
        return {"slot": self.slot, "counts": list(self.counts)}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        self.slot, self.counts = int(state["slot"]), [int(c) for c in state["counts"]]
