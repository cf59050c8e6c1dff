"""User-facing errors.

Every error that a user can cause (a bad file, a bad config, an unknown name) is an
:class:`EmoportraitsError`. Its message is one line that names the input, what was seen and what
was expected; the CLI prints it as ``error: <message>`` and exits non-zero, without a traceback.
Programming errors stay ordinary Python exceptions.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable

__all__ = [
    "CheckpointError",
    "ConfigError",
    "EmoportraitsError",
    "InputError",
    "PipelineError",
    "RegistryError",
    "did_you_mean",
]


class EmoportraitsError(Exception):
    """Base class of all errors whose message is meant for the user (one line, no traceback)."""


class ConfigError(EmoportraitsError, ValueError):
    """A component or pipeline configuration is invalid (unknown key, wrong type, bad value)."""


class RegistryError(EmoportraitsError, KeyError):
    """An unknown component kind or name, or a conflicting registration."""

    def __str__(self) -> str:  # KeyError would repr() the message
        return str(self.args[0]) if self.args else ""


class PipelineError(EmoportraitsError, ValueError):
    """A pipeline file is invalid (unknown key, missing wire, type mismatch, cycle)."""


class InputError(EmoportraitsError, ValueError):
    """An input file or tensor is unreadable, corrupt or of the wrong kind or size."""


class CheckpointError(EmoportraitsError, ValueError):
    """A checkpoint is missing keys, has unexpected or wrongly shaped keys, or is not a checkpoint."""


def did_you_mean(name: str, choices: Iterable[str]) -> str:
    """Return ``"; did you mean 'x'?"`` for the closest choice, or ``""`` if nothing is close."""
    close = difflib.get_close_matches(name, sorted(choices), n=1, cutoff=0.6)
    return f"; did you mean '{close[0]}'?" if close else ""
