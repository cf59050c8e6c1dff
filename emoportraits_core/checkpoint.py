"""The project's checkpoint format: one safetensors file with per-component key prefixes.

Keys are ``<component>.<parameter>``, where ``<component>`` is the component's name in the
pipeline (``[components.<name>]``). The safetensors header's metadata holds:

- ``format``: ``"emoportraits/1"``;
- ``components``: JSON ``{component: {"kind", "name", "config"}}``, the configs the weights imply;
- any further string entries given by the writer (e.g. ``converted_from``).

Saving is atomic; loading never unpickles and is strict: a missing, unexpected or wrongly shaped
key raises :class:`CheckpointError` naming the key and both shapes.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import attrs
import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, safe_open, save_file
from torch import Tensor, nn

from .errors import CheckpointError
from .io.atomic import atomic_output

__all__ = [
    "FORMAT",
    "Checkpoint",
    "load_into",
    "read_checkpoint",
    "save_checkpoint",
    "save_components",
    "split_by_component",
]

FORMAT = "emoportraits/1"


@attrs.frozen
class Checkpoint:
    """A read checkpoint: flat tensors and the decoded metadata."""

    tensors: dict[str, Tensor]
    components: dict[str, dict[str, Any]]
    metadata: dict[str, str]

    def component_state(self, name: str) -> dict[str, Tensor]:
        return split_by_component(self.tensors).get(name, {})


def save_checkpoint(
    path: str | os.PathLike[str],
    tensors: Mapping[str, Tensor],
    components: Mapping[str, Mapping[str, Any]],
    metadata: Mapping[str, str] | None = None,
) -> None:
    """Write ``tensors`` (flat ``component.param`` keys) atomically with the component configs."""
    meta = {"format": FORMAT, "components": json.dumps(components, sort_keys=True)}
    meta.update({k: str(v) for k, v in (metadata or {}).items()})
    flat = {k: v.detach().contiguous().cpu() for k, v in tensors.items()}
    with atomic_output(path) as tmp:
        save_file(flat, str(tmp), metadata=meta)


def save_components(
    path: str | os.PathLike[str],
    modules: Mapping[str, nn.Module],
    components: Mapping[str, Mapping[str, Any]] | None = None,
    metadata: Mapping[str, str] | None = None,
) -> None:
    """Write the state dicts of ``modules`` (pipeline component key -> module) as one checkpoint;
    modules without parameters or buffers (drivers) are left out. ``components``: their
    ``{"kind", "name", "config"}`` for the metadata."""
    tensors = {f"{key}.{name}": t for key, m in modules.items() for name, t in m.state_dict().items()}
    save_checkpoint(path, tensors, components or {}, metadata)


def read_checkpoint(path: str | os.PathLike[str], *, device: str = "cpu") -> Checkpoint:
    """Read a checkpoint written by :func:`save_checkpoint` (or ``emoportraits convert``)."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"{path}: no such checkpoint file")
    try:
        with safe_open(str(path), framework="pt") as f:
            meta = dict(f.metadata() or {})
        tensors = load_file(str(path), device=device)
    except (SafetensorError, OSError, ValueError, RuntimeError) as exc:
        raise CheckpointError(
            f"{path}: not a readable safetensors checkpoint ({exc}); expected a file written by "
            "`emoportraits convert` or the training code"
        ) from None
    if meta.get("format") != FORMAT:
        raise CheckpointError(
            f"{path}: safetensors file without emoportraits metadata (format={meta.get('format')!r}); "
            f"expected format '{FORMAT}' (convert released .pth files with `emoportraits convert`)"
        )
    try:
        components = json.loads(meta.get("components", "{}"))
    except json.JSONDecodeError as exc:
        raise CheckpointError(f"{path}: corrupt 'components' metadata ({exc})") from None
    return Checkpoint(tensors, components, meta)


def split_by_component(tensors: Mapping[str, Tensor]) -> dict[str, dict[str, Tensor]]:
    """``{"a.x.y": t}`` -> ``{"a": {"x.y": t}}``."""
    out: dict[str, dict[str, Tensor]] = {}
    for key, value in tensors.items():
        head, _, rest = key.partition(".")
        out.setdefault(head, {})[rest] = value
    return out


def load_into(module: nn.Module, state: Mapping[str, Tensor], *, where: str) -> None:
    """Strictly load ``state`` into ``module``; errors name the key and the shapes.

    Args:
        module: the component.
        state: its parameters and persistent buffers, without the component prefix.
        where: how to name the source in errors (e.g. ``"model.safetensors [component warp]"``).
    """
    expected = module.state_dict()
    missing = [k for k in expected if k not in state]
    unexpected = [k for k in state if k not in expected]
    if missing:
        more = f" (and {len(missing) - 1} more)" if len(missing) > 1 else ""
        raise CheckpointError(
            f"{where}: missing key '{missing[0]}'{more}, expected shape {tuple(expected[missing[0]].shape)}"
        )
    if unexpected:
        more = f" (and {len(unexpected) - 1} more)" if len(unexpected) > 1 else ""
        raise CheckpointError(
            f"{where}: unexpected key '{unexpected[0]}'{more} with shape {tuple(state[unexpected[0]].shape)}"
        )
    for key, want in expected.items():
        got = state[key]
        if tuple(got.shape) != tuple(want.shape):
            raise CheckpointError(
                f"{where}: key '{key}' has shape {tuple(got.shape)}, expected {tuple(want.shape)}"
            )
    with torch.no_grad():
        module.load_state_dict(dict(state), strict=True)
