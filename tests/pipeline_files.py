"""The toy pipeline files of the pipeline tests, and edited copies of them."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from emoportraits_core import Registry

PIPES = Path(__file__).parent / "pipelines"
ANIMATE = PIPES / "toy_animate.toml"
TRAIN = PIPES / "toy_train.toml"


def variant(tmp_path: Path, old: str, new: str, source: Path = ANIMATE) -> Path:
    """A copy of ``source`` with the first ``old`` replaced by ``new``."""
    text = source.read_text()
    assert old in text, old
    path = tmp_path / source.name
    path.write_text(text.replace(old, new, 1))
    return path


def tiny_overrides(name: str, registry: Registry | None = None) -> list[str]:
    """``--set`` overrides that put every component of shipped pipeline ``name`` at its ``tiny``
    preset: the shipped graph, at test speed. The presets are read from ``registry``: pass the unit
    tests' fixture; None (the end-to-end tests) reads them from the installed plugins."""
    from emoportraits_core.pipeline.presets import preset_overrides

    return preset_overrides(name, "tiny", registry)
