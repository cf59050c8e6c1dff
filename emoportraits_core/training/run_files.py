"""A training run on disk: checkpoints written atomically, the latest always at ``checkpoints/last``.

Layout of ``OUT/checkpoints/step_000100/`` (one directory per checkpoint)::

    model.safetensors       every network's weights, keys <component>.<param>: a project
                            checkpoint (`emoportraits animate --checkpoint` reads it as is)
    optimizers.safetensors  every optimizer's tensors, keys <optimizer>.<param index>.<name>
    rng.safetensors         torch's generator states
    trainer.json            step, epoch, the optimizers' other state and param groups, the
                            schedules, the sampler, Python's random state, the pipeline and versions

A checkpoint is written into a hidden temporary directory and renamed when complete, then
``last`` (a symbolic link) is switched to it atomically: an interrupted write leaves the previous
``last`` intact and no half-written checkpoint. The oldest step checkpoints beyond ``keep`` are
deleted. :func:`load_run` reads one back into the same statefuls.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load_file, save_file
from torch import nn

from ..checkpoint import save_components
from ..errors import CheckpointError

__all__ = ["find_checkpoint", "load_run", "save_run"]

LAST = "last"


def save_run(
    out_dir: str | os.PathLike[str],
    step: int,
    networks: Mapping[str, nn.Module],
    optimizers: Mapping[str, torch.optim.Optimizer],
    state: Mapping[str, Any],
    *,
    components: Mapping[str, Any] | None = None,
    keep: int = 3,
) -> Path:
    """Write checkpoint ``step`` under ``out_dir/checkpoints/`` and point ``last`` at it.

    Args:
        networks: component key -> module (its state dict is saved; drivers have none).
        optimizers: optimizer key -> torch optimizer.
        state: JSON-able statefuls' states (trainer, schedules, sampler...) and tensors under
            ``state["rng"]`` (saved to ``rng.safetensors``).
        components: the components' ``{"kind", "name", "config"}`` for the model's metadata.
        keep: step checkpoints kept (older ones are deleted).

    Returns:
        The checkpoint directory.
    """
    root = Path(out_dir) / "checkpoints"
    root.mkdir(parents=True, exist_ok=True)
    final = root / f"step_{step:07d}"
    tmp = root / f".{final.name}.tmp-{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    try:
        save_components(tmp / "model.safetensors", networks, components)
        opt_tensors, opt_meta = _flatten_optimizers(optimizers)
        save_file(opt_tensors, str(tmp / "optimizers.safetensors"))
        rng = dict(state.get("rng", {}))
        save_file(_rng_tensors(rng), str(tmp / "rng.safetensors"))
        meta = {k: v for k, v in state.items() if k != "rng"}
        meta["optimizers"] = opt_meta
        meta["python_random"] = rng.get("python")
        (tmp / "trainer.json").write_text(json.dumps(meta, indent=1, default=_json_default))
        if final.exists():
            shutil.rmtree(final)
        os.replace(tmp, final)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    _point_last(root, final.name)
    _prune(root, keep, final.name)
    return final


def find_checkpoint(path: str | os.PathLike[str]) -> Path:
    """The checkpoint directory of ``path``: a run directory (its ``checkpoints/last``), a
    ``checkpoints`` directory, or a checkpoint directory itself. CheckpointError if none."""
    path = Path(path)
    for candidate in (path / "checkpoints" / LAST, path / LAST, path):
        if (candidate / "trainer.json").is_file():
            return candidate.resolve()
    raise CheckpointError(
        f"{path}: no training checkpoint here; expected a run directory written by `emoportraits train` "
        "(with checkpoints/last/trainer.json)"
    )


def load_run(
    path: str | os.PathLike[str],
    networks: Mapping[str, nn.Module],
    optimizers: Mapping[str, torch.optim.Optimizer],
) -> dict[str, Any]:
    """Load a checkpoint into ``networks`` and ``optimizers`` (strictly); return the other state
    (trainer, schedules, sampler, ``rng``) for their owners to load."""
    from ..checkpoint import load_into, read_checkpoint, split_by_component

    ckpt = find_checkpoint(path)
    model = read_checkpoint(ckpt / "model.safetensors")
    states = split_by_component(model.tensors)
    for key, module in networks.items():
        if module.state_dict() or key in states:
            load_into(module, states.get(key, {}), where=f"{ckpt / 'model.safetensors'} [component {key}]")
    meta = json.loads((ckpt / "trainer.json").read_text())
    _load_optimizers(
        optimizers, load_file(str(ckpt / "optimizers.safetensors")), meta.pop("optimizers"), ckpt
    )
    rng = _rng_from_tensors(load_file(str(ckpt / "rng.safetensors")))
    rng["python"] = meta.pop("python_random")
    meta["rng"] = rng
    return meta


# -- optimizers ---------------------------------------------------------------------------------------


def _flatten_optimizers(optimizers: Mapping[str, torch.optim.Optimizer]) -> tuple[dict, dict]:
    tensors: dict[str, torch.Tensor] = {}
    meta: dict[str, Any] = {}
    for key, opt in optimizers.items():
        sd = opt.state_dict()
        other: dict[str, dict[str, Any]] = {}
        for index, pstate in sd["state"].items():
            for name, value in pstate.items():
                if isinstance(value, torch.Tensor):
                    tensors[f"{key}.{index}.{name}"] = value.detach().cpu().contiguous()
                else:
                    other.setdefault(str(index), {})[name] = value
        meta[key] = {"param_groups": sd["param_groups"], "other": other}
    return tensors, meta


def _load_optimizers(
    optimizers: Mapping[str, torch.optim.Optimizer], tensors: dict, meta: dict, where: Path
) -> None:
    for key, opt in optimizers.items():
        if key not in meta:
            raise CheckpointError(f"{where}: no state for optimizer '{key}'; it has {', '.join(meta)}")
        state: dict[int, dict[str, Any]] = {}
        prefix = f"{key}."
        for name, value in tensors.items():
            if name.startswith(prefix):
                index, field = name[len(prefix) :].split(".", 1)
                state.setdefault(int(index), {})[field] = value
        for index, fields in meta[key]["other"].items():
            state.setdefault(int(index), {}).update(fields)
        try:
            opt.load_state_dict({"state": state, "param_groups": meta[key]["param_groups"]})
        except (ValueError, KeyError) as exc:
            raise CheckpointError(f"{where}: optimizer '{key}' does not fit this pipeline ({exc})") from None


# -- rng and files ------------------------------------------------------------------------------------


def _rng_tensors(rng: Mapping[str, Any]) -> dict[str, torch.Tensor]:
    out = {"torch": rng["torch"]} if "torch" in rng else {}
    for i, state in enumerate(rng.get("cuda", [])):
        out[f"cuda.{i}"] = state
    return out


def _rng_from_tensors(tensors: Mapping[str, torch.Tensor]) -> dict[str, Any]:
    rng: dict[str, Any] = {"torch": tensors["torch"]}
    cuda = sorted((k for k in tensors if k.startswith("cuda.")), key=lambda k: int(k.split(".")[1]))
    if cuda:
        rng["cuda"] = [tensors[k] for k in cuda]
    return rng


def _json_default(value: Any) -> Any:
    if isinstance(value, torch.Tensor):
        return value.tolist()
    if isinstance(value, tuple | set):
        return list(value)
    raise TypeError(f"cannot save {type(value).__name__} in trainer.json")


def _point_last(root: Path, name: str) -> None:
    tmp = root / f".{LAST}.tmp-{os.getpid()}"
    if tmp.is_symlink() or tmp.exists():
        tmp.unlink()
    tmp.symlink_to(name, target_is_directory=True)
    os.replace(tmp, root / LAST)


def _prune(root: Path, keep: int, current: str) -> None:
    steps = sorted(p for p in root.glob("step_*") if p.is_dir())
    for old in steps[:-keep]:
        if old.name != current:
            shutil.rmtree(old, ignore_errors=True)
