"""Deliberately broken components: the shared mixin and shapes (see :mod:`.broken_components`)."""

from __future__ import annotations

from typing import ClassVar

__all__ = ["IMG", "VOL", "Broken"]

VOL = ("B", 2, 2, 4, 4)
IMG = ("B", 3, 8, 8)


class Broken:
    """Mixin: the checks a class breaks and its registry name."""

    breaks: ClassVar[tuple[str, ...]] = ()
    registry_name: ClassVar[str] = ""
