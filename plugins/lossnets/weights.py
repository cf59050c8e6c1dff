"""Reading published weight files and mapping their keys onto a loss network, strictly.

A loss network's weights are a file the user passes. :func:`read_state_dict` reads it without running
code from it (``torch.load(weights_only=True)``, safetensors, or a pickle of numpy arrays through a
restricted unpickler that only rebuilds arrays: the published VGGFace2 SENet50 ``.pkl``), and
:func:`load_published` maps its keys through an explicit :class:`KeyMap` (published key -> our key,
plus the published keys this network does not use) onto the network. Anything else is a
:class:`~emoportraits_core.CheckpointError` that names the file, the key and, for a wrong shape, both
shapes; it is raised when the loss component is built, so before the first training step.
"""

from __future__ import annotations

import difflib
import os
import pickle
import re
import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import attrs
import numpy as np
import torch
from torch import Tensor, nn

from emoportraits_core.errors import CheckpointError

__all__ = ["KeyMap", "load_published", "read_state_dict"]


@attrs.frozen
class KeyMap:
    """How a published weights layout maps onto a network.

    Attributes:
        layout: the published layout, for messages (e.g. ``"torchvision VGG19 (features.N.weight)"``).
        keys: published key -> our key (every parameter and buffer the network needs).
        ignored: regexes (``re.fullmatch``) of published keys the network does not use (classifier
            heads, layers past the last one a loss reads); any other unmapped key is an error.
    """

    layout: str
    keys: Mapping[str, str]
    ignored: tuple[str, ...] = ()

    def is_ignored(self, key: str) -> bool:
        return any(re.fullmatch(p, key) for p in self.ignored)


# -- reading -------------------------------------------------------------------------------------------

_NUMPY_GLOBALS = {
    ("numpy.core.multiarray", "_reconstruct"),
    ("numpy._core.multiarray", "_reconstruct"),
    ("numpy.core.multiarray", "scalar"),
    ("numpy._core.multiarray", "scalar"),
    ("numpy", "ndarray"),
    ("numpy", "dtype"),
    ("collections", "OrderedDict"),
}


class _NumpyOnlyUnpickler(pickle.Unpickler):
    """Rebuilds dicts of numpy arrays and nothing else (no other global can be loaded)."""

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) in _NUMPY_GLOBALS:
            return super().find_class(module, name)
        raise pickle.UnpicklingError(f"global '{module}.{name}' is not allowed in a weights pickle")


def _read_numpy_pickle(path: Path) -> dict[str, Any]:
    with open(path, "rb") as f:
        data = _NumpyOnlyUnpickler(f, encoding="latin1").load()
    if not isinstance(data, dict):
        raise pickle.UnpicklingError(f"a {type(data).__name__}, not a dict")
    return {
        k: torch.from_numpy(np.ascontiguousarray(v)) if isinstance(v, np.ndarray) else v
        for k, v in data.items()
    }


def _torch_or_numpy_pickle(path: Path) -> Any:
    """``torch.load(weights_only=True)``; a plain pickle of numpy arrays (a renamed ``.pkl``) as a fallback."""
    try:
        with warnings.catch_warnings():  # a plain pickle's protocol is not torch's: irrelevant here
            warnings.filterwarnings("ignore", message="Detected pickle protocol")
            return torch.load(path, map_location="cpu", weights_only=True)
    except Exception:
        try:
            return _read_numpy_pickle(path)
        except Exception:
            pass
        raise


def read_state_dict(path: str | os.PathLike[str], what: str) -> dict[str, Tensor]:
    """Read a weights file into a flat ``{key: tensor}`` dict, running no code from it.

    Formats: safetensors (by the ``.safetensors`` suffix), a ``torch.save`` file (read with
    ``weights_only=True``), or a pickle of numpy arrays (``.pkl``, the VGGFace2 models; also tried
    when ``torch.load`` refuses a file). A state dict
    nested under ``"state_dict"`` or ``"model"`` is unwrapped and ``module.`` prefixes (DataParallel)
    are removed.

    Raises:
        CheckpointError: no such file, a truncated or foreign file, or not a dict of tensors; the
            message names the file and ``what`` was expected.
    """
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"{path}: no such {what} weights file")
    try:
        if path.suffix == ".safetensors":
            from safetensors.torch import load_file

            state: Any = load_file(str(path))
        elif path.suffix == ".pkl":
            state = _read_numpy_pickle(path)
        else:
            state = _torch_or_numpy_pickle(path)
    except Exception as exc:
        raise CheckpointError(
            f"{path}: not a readable {what} weights file (truncated or not a weights file: "
            f"{type(exc).__name__}: {str(exc).splitlines()[0][:160] if str(exc) else ''})"
        ) from None
    for key in ("state_dict", "model"):
        if isinstance(state, dict) and isinstance(state.get(key), dict):
            state = state[key]
    if not isinstance(state, dict) or not state or not all(isinstance(v, Tensor) for v in state.values()):
        raise CheckpointError(f"{path}: not a state dict of tensors; expected {what} weights")
    return {str(k).removeprefix("module."): v for k, v in state.items()}


# -- mapping -------------------------------------------------------------------------------------------


def _expected(net: nn.Module) -> dict[str, Tensor]:
    """Every parameter and persistent buffer the network needs from a file (BatchNorm counters
    excepted; non-persistent buffers are constants the network computes)."""
    state = net.state_dict(keep_vars=True)
    return {k: v for k, v in state.items() if not k.endswith("num_batches_tracked")}


def load_published(net: nn.Module, path: str | os.PathLike[str], key_map: KeyMap, what: str) -> None:
    """Load the file at ``path`` (published layout ``key_map.layout``) into ``net``, strictly.

    Every tensor ``net`` needs must come from the file through ``key_map.keys`` with the same shape;
    every key of the file must be mapped or listed in ``key_map.ignored`` (BatchNorm
    ``num_batches_tracked`` counters are optional).

    Raises:
        CheckpointError: see :func:`read_state_dict`; a missing, unexpected or wrongly shaped key
            (named, with both shapes), or a key map that names a tensor the network lacks.
    """
    state = read_state_dict(path, what)
    expected = _expected(net)
    inverse = {ours: published for published, ours in key_map.keys.items()}
    bad_map = sorted(set(inverse) - set(expected))
    if bad_map:
        raise CheckpointError(f"{what}: the key map names tensors the network lacks: {bad_map[:3]}")
    loaded: dict[str, Tensor] = {}
    unexpected: list[str] = []
    for key, value in state.items():
        if key.endswith("num_batches_tracked"):
            continue
        ours = key_map.keys.get(key)
        if ours is None:
            if not key_map.is_ignored(key):
                unexpected.append(key)
            continue
        want = expected[ours]
        if tuple(value.shape) != tuple(want.shape):
            raise CheckpointError(
                f"{path}: key '{key}' has shape {tuple(value.shape)}, expected {tuple(want.shape)} "
                f"(our '{ours}'; {what}, {key_map.layout})"
            )
        loaded[ours] = value
    missing = [inverse[k] for k in expected if k not in loaded]
    if missing or unexpected:
        parts = []
        if missing:
            parts.append(
                f"missing key '{missing[0]}' (shape {tuple(expected[key_map.keys[missing[0]]].shape)})"
            )
        if unexpected:
            close = difflib.get_close_matches(unexpected[0], list(key_map.keys), n=1)
            hint = f", did you mean '{close[0]}'?" if close else ""
            parts.append(f"unexpected key '{unexpected[0]}'{hint}")
        raise CheckpointError(
            f"{path}: not {what} weights in the {key_map.layout} layout: {'; '.join(parts)} "
            f"({len(missing)} missing, {len(unexpected)} unexpected)"
        )
    with torch.no_grad():
        for ours, value in loaded.items():
            target = expected[ours]
            target.copy_(value.to(dtype=target.dtype) if value.is_floating_point() else value)
