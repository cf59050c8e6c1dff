"""What a run reports: TensorBoard scalars and image grids under ``OUT/tb``, and a progress bar.

Only rank 0 writes. Scalars: every loss term (``loss/<term>``, unweighted), each optimizer's
weighted total (``total/<optimizer>``), learning rates (``lr/<optimizer>``) and speed
(``speed/steps_per_second``). Images: for each image-typed pipeline input and output (e.g. source,
driver, the prediction, the cross-reenactment), the first items of the batch side by side.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch
from torch import Tensor

__all__ = ["RunLogger", "image_grid"]


def image_grid(images: Mapping[str, Tensor], items: int = 4) -> Tensor:
    """``(3, rows * H, n * W)``: one row per batch item (at most ``items``), one column per image
    name (resized to the first one's size), values clamped to [0, 1]."""
    first = next(iter(images.values()))
    h, w = first.shape[-2:]
    cols = []
    for value in images.values():
        x = value[:items].detach().float().cpu().clamp(0, 1)
        if x.shape[-2:] != (h, w):
            x = torch.nn.functional.interpolate(x, size=(h, w), mode="bilinear", align_corners=False)
        cols.append(x)
    rows = torch.cat(cols, dim=-1)  # (n, 3, H, cols * W)
    return torch.cat(list(rows), dim=-2)


class RunLogger:
    """TensorBoard writer and tqdm bar of rank 0 (no-ops elsewhere, or when ``quiet``)."""

    def __init__(self, out_dir: Path, *, enabled: bool, total: int | None, initial: int, quiet: bool) -> None:
        self.enabled = enabled
        self.writer = None
        self.bar = None
        if enabled:
            from torch.utils.tensorboard import SummaryWriter
            from tqdm import tqdm

            self.writer = SummaryWriter(str(out_dir / "tb"))
            if not quiet:
                self.bar = tqdm(total=total, initial=initial, unit="step", desc="train", file=sys.stderr)

    def scalars(self, values: Mapping[str, float], step: int) -> None:
        if self.writer is not None:
            for name, value in values.items():
                self.writer.add_scalar(name, value, step)

    def images(self, images: Mapping[str, Tensor], step: int) -> None:
        if self.writer is not None and images:
            self.writer.add_image("batch/" + "|".join(images), image_grid(images), step)

    def progress(self, losses: Mapping[str, float], steps_per_second: float) -> None:
        if self.bar is not None:
            shown = {k.split("/")[-1]: f"{v:.3g}" for k, v in list(losses.items())[:6]}
            self.bar.set_postfix(shown | {"it/s": f"{steps_per_second:.2f}"}, refresh=False)
            self.bar.update(1)

    def note(self, text: str) -> None:
        if self.enabled:
            (self.bar.write if self.bar is not None else print)(text)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
        if self.writer is not None:
            self.writer.close()

    def __enter__(self) -> RunLogger:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()
