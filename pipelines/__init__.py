"""The shipped pipeline files (TOML), as package data: ``path("animate")`` -> the file's path."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

__all__ = ["available", "path"]


def available() -> list[str]:
    """Names of the shipped pipelines (file stems)."""
    return sorted(p.name[:-5] for p in resources.files(__name__).iterdir() if p.name.endswith(".toml"))


def path(name: str) -> Path:
    """Path of the shipped pipeline ``name`` (with or without ``.toml``)."""
    stem = name[:-5] if name.endswith(".toml") else name
    return Path(str(resources.files(__name__).joinpath(f"{stem}.toml")))
