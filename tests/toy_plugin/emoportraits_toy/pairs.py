"""A toy dataset: (source, driver) pairs of smooth random images, drawn from the generator it is given."""

from __future__ import annotations

import attrs
import torch
import torch.nn.functional as F

from emoportraits_core.interfaces import Dataset


@attrs.frozen
class ToyPairsConfig:
    """Config of :class:`ToyPairsDataset`: number of items and image side."""

    items: int = 8
    size: int = 32


class ToyPairsDataset(Dataset):
    """Items ``{"source": (3, S, S), "driver": (3, S, S)}`` in [0, 1]: item i's images are smooth noise
    seeded by i, the driver a shifted copy of the source (its shift drawn from the generator)."""

    outputs = {"source": "image", "driver": "image"}

    def __len__(self) -> int:
        return self.config.items

    def item(self, index: int, generator: torch.Generator) -> dict[str, torch.Tensor]:
        s = self.config.size
        base = torch.rand(1, 3, s // 4, s // 4, generator=torch.Generator().manual_seed(index))
        image = F.interpolate(base, size=(s, s), mode="bilinear", align_corners=False)[0]
        shift = int(torch.randint(-2, 3, (1,), generator=generator))
        return {"source": image, "driver": torch.roll(image, shift, dims=-1)}
