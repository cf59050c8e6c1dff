"""Files at the edges of ``emoportraits pipeline run``: reading inputs, drawing random ones, writing outputs.

Inputs: ``image`` / ``mask`` inputs are read from PNG/JPEG files as ``(1, 3, H, W)`` /
``(1, 1, H, W)`` float in ``[0, 1]``; other types from a ``.safetensors`` file (the tensor named
after the input, or its only tensor; a ``motion`` from tensors ``rotation``, ``translation``,
``expression`` and optionally ``scale``). A stream input given several times is stacked along the batch.

Outputs: ``.safetensors`` gets every output (``Motion`` / ``Appearance`` fields as ``name.field``,
lists as ``name.0``, ...); ``.png`` / ``.jpg`` gets the image and mask outputs, one file per output
and batch item, pixels ``floor(clamp(x, 0, 1) * 255 + 0.5)``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import attrs
import numpy as np
import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file
from torch import Tensor

from ..component import example_value
from ..errors import InputError, PipelineError, did_you_mean
from ..inference.runner import InferenceRunner
from ..io.atomic import atomic_output
from ..types import Appearance, Motion, concat_batches
from .resolved import ResolvedPipeline

__all__ = [
    "IMAGE_SUFFIXES",
    "check_output_path",
    "random_inputs",
    "read_image",
    "read_inputs",
    "summarize",
    "write_outputs",
]

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg")
_OUTPUT_SUFFIXES = (".safetensors", *IMAGE_SUFFIXES)


def read_image(path: str | Path, channels: int = 3) -> Tensor:
    """Read a PNG/JPEG as ``(1, channels, H, W)`` float32 in ``[0, 1]`` (``channels`` 3: RGB, 1: gray)."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as img:
            array = np.asarray(img.convert("RGB" if channels == 3 else "L"), dtype=np.float32) / 255.0
    except (OSError, UnidentifiedImageError) as exc:
        raise InputError(f"{path}: cannot read the image ({exc})") from None
    tensor = torch.from_numpy(array.copy())
    tensor = tensor.permute(2, 0, 1) if tensor.dim() == 3 else tensor[None]
    return tensor[None]


def _read_tensors(path: str, type_: str, name: str) -> Any:
    try:
        tensors = load_file(path)
    except (SafetensorError, OSError, ValueError, RuntimeError) as exc:
        raise InputError(f"{path}: cannot read a safetensors file for input '{name}' ({exc})") from None
    if type_ == "motion":
        fields = [f.name for f in attrs.fields(Motion)]
        missing = [f for f in fields[:3] if f not in tensors]
        if missing:
            raise InputError(
                f"{path}: a motion file needs tensors {', '.join(fields[:3])}; missing {missing[0]}"
            )
        return Motion(*(tensors.get(f) for f in fields))
    if name in tensors:
        return tensors[name]
    if len(tensors) == 1:
        return next(iter(tensors.values()))
    raise InputError(
        f"{path}: holds tensors {', '.join(sorted(tensors))}; expected one named '{name}' or a single one"
    )


def read_inputs(resolved: ResolvedPipeline, items: Sequence[str]) -> dict[str, Any]:
    """Read ``--input NAME=PATH`` items into pipeline input values."""
    paths: dict[str, list[str]] = {}
    inputs = resolved.inputs
    for item in items:
        name, sep, path = item.partition("=")
        if not sep or not name or not path:
            raise PipelineError(f"--input '{item}': expected NAME=PATH, e.g. --input source=photo.png")
        if name not in inputs:
            raise PipelineError(
                f"--input '{item}': {resolved.path} has no input '{name}'; inputs: "
                f"{', '.join(inputs) or '(none)'}{did_you_mean(name, inputs)}"
            )
        if paths.get(name) and not inputs[name].stream:
            raise PipelineError(f"--input '{item}': '{name}' is not a stream input, so give it only once")
        paths.setdefault(name, []).append(path)
    values: dict[str, Any] = {}
    for name, files in paths.items():
        type_ = inputs[name].type
        read = [_read_one(name, type_, p) for p in files]
        values[name] = read[0] if len(read) == 1 else concat_batches(read)
    return values


def _read_one(name: str, type_: str, path: str) -> Any:
    if not Path(path).is_file():
        raise InputError(f"--input {name}={path}: no such file")
    if type_ in ("image", "mask") and Path(path).suffix.lower() != ".safetensors":
        return read_image(path, 3 if type_ == "image" else 1)
    if Path(path).suffix.lower() != ".safetensors":
        raise InputError(f"--input {name}={path}: an input of type {type_} is read from a .safetensors file")
    return _read_tensors(path, type_, name)


def random_inputs(
    runner: InferenceRunner, names: Sequence[str], *, batch: int, seed: int = 0
) -> dict[str, Any]:
    """Valid random values for pipeline inputs ``names``, drawn from the first node reading each.

    Non-stream inputs get batch 1, stream inputs ``batch``. Uses the node's component's
    ``example_inputs`` (or, failing that, its ``input_specs``).
    """
    resolved = runner.resolved
    generator = torch.Generator().manual_seed(seed)
    out: dict[str, Any] = {}
    for name in names:
        consumers = resolved.consumers(name)
        if not consumers:
            raise PipelineError(
                f"{resolved.path}: cannot draw a random '{name}': no node reads it; give --input {name}=PATH"
            )
        node_key, port = consumers[0]
        module = runner.components[resolved.nodes[node_key].component]
        n = batch if resolved.inputs[name].stream else 1
        kw = {"generator": generator, "dtype": runner.dtype, "device": runner.device}
        try:
            out[name] = module.example_inputs(n, **kw)[port]
        except (ValueError, TypeError, KeyError, NotImplementedError):
            try:
                out[name] = example_value(module.input_specs()[port], n, **kw)
            except (ValueError, KeyError) as exc:
                raise PipelineError(
                    f"{resolved.path}: cannot draw a random '{name}' from node '{node_key}' ({exc}); "
                    f"give --input {name}=PATH"
                ) from None
    return out


def check_output_path(resolved: ResolvedPipeline, out: str | Path) -> None:
    """Fail early (before building) on an output file type that cannot hold the outputs."""
    suffix = Path(out).suffix.lower()
    if suffix not in _OUTPUT_SUFFIXES:
        raise PipelineError(
            f"-o {out}: unknown output file type '{suffix}'; valid: {', '.join(_OUTPUT_SUFFIXES)}"
        )
    if suffix in IMAGE_SUFFIXES and not _image_outputs(resolved.output_types):
        types = ", ".join(f"{k} ({t})" for k, t in resolved.output_types.items())
        raise PipelineError(
            f"-o {out}: {resolved.path} has no image or mask output ({types}); use -o OUT.safetensors"
        )


def _image_outputs(types: Mapping[str, str]) -> list[str]:
    return [k for k, t in types.items() if t in ("image", "mask")]


def write_outputs(
    outputs: Mapping[str, Any],
    types: Mapping[str, str],
    out: str | Path,
    *,
    metadata: Mapping[str, str] | None = None,
) -> list[Path]:
    """Write ``outputs`` to ``out`` (see the module docstring); returns the files written."""
    out = Path(out)
    if out.suffix.lower() == ".safetensors":
        flat: dict[str, Tensor] = {}
        for name, value in outputs.items():
            _flatten(name, value, flat)
        meta = {"outputs": json.dumps(dict(types)), **(metadata or {})}
        with atomic_output(out) as tmp:
            save_file(
                {
                    k: v.detach().float().cpu().contiguous()
                    if v.is_floating_point()
                    else v.detach().cpu().contiguous()
                    for k, v in flat.items()
                },
                str(tmp),
                metadata=meta,
            )
        return [out]
    names = _image_outputs(types)
    written = []
    for name in names:
        images = outputs[name]
        for i in range(images.shape[0]):
            stem = (
                out.stem
                + (f"_{name}" if len(names) > 1 else "")
                + (f"_{i:04d}" if images.shape[0] > 1 else "")
            )
            path = out.with_name(stem + out.suffix)
            _write_image(images[i], path)
            written.append(path)
    return written


def _write_image(image: Tensor, path: Path) -> None:
    pixels = torch.floor(image.detach().float().cpu().clamp(0, 1) * 255 + 0.5).to(torch.uint8)
    array = pixels.permute(1, 2, 0).numpy()
    from PIL import Image

    img = Image.fromarray(array[..., 0] if array.shape[-1] == 1 else array)
    with atomic_output(path) as tmp:
        img.save(tmp, format="JPEG" if path.suffix.lower() in (".jpg", ".jpeg") else "PNG")


def _flatten(name: str, value: Any, flat: dict[str, Tensor]) -> None:
    if isinstance(value, Tensor):
        flat[name] = value
    elif isinstance(value, Motion | Appearance):
        for field in attrs.fields(type(value)):
            if getattr(value, field.name) is not None:
                flat[f"{name}.{field.name}"] = getattr(value, field.name)
    elif isinstance(value, list | tuple):
        for i, item in enumerate(value):
            _flatten(f"{name}.{i}", item, flat)


def summarize(outputs: Mapping[str, Any]) -> str:
    """``"image (4, 3, 32, 32), motion Motion(B=4)"``."""
    parts = []
    for name, value in outputs.items():
        if isinstance(value, Tensor):
            parts.append(f"{name} {tuple(value.shape)}")
        elif isinstance(value, Motion | Appearance):
            parts.append(f"{name} {type(value).__name__}(B={value.batch_size})")
        else:
            parts.append(f"{name} {type(value).__name__}")
    return ", ".join(parts)
