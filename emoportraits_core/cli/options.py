"""The options every command that builds a pipeline shares, defined once.

::

    add_pipeline_options(p, default="animate")   # --pipeline FILE, --set KEY=VALUE
    add_weights_options(p)                        # --checkpoint / --random-weights, --seed
    add_device_options(p)                         # --device, --dtype

and, in the command, ``device_of(args)`` / ``dtype_of(args)`` resolve them with the core's one
device resolver and dtype table (:mod:`emoportraits_core.devices`).
"""

from __future__ import annotations

import argparse

import torch

from ..devices import DTYPES, resolve_device, resolve_dtype

__all__ = [
    "SET_HELP",
    "add_device_options",
    "add_pipeline_options",
    "add_set_option",
    "add_weights_options",
    "device_of",
    "dtype_of",
]

SET_HELP = (
    "override one value of the pipeline file before it is checked, as a dotted key and a TOML value, "
    "e.g. --set components.renderer.name=my_renderer --set components.driver.config.smoothing=0 "
    "--set losses.vgg19.weight=20 (repeatable)"
)


def add_set_option(p: argparse.ArgumentParser) -> None:
    """``--set KEY=VALUE`` (repeatable), into ``args.overrides``."""
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", dest="overrides", help=SET_HELP)


def add_pipeline_options(p: argparse.ArgumentParser, *, default: str | None) -> None:
    """``--pipeline FILE`` (a path or a shipped name) and ``--set``."""
    shown = f"default: {default}" if default else "default: chosen from the driver input"
    p.add_argument(
        "--pipeline", default=default, metavar="FILE", help=f"pipeline file or shipped name ({shown})"
    )
    add_set_option(p)


def add_weights_options(p: argparse.ArgumentParser, *, required: bool = True) -> None:
    """``--checkpoint FILE`` or ``--random-weights`` (one of them when ``required``), and ``--seed``."""
    weights = p.add_mutually_exclusive_group(required=required)
    weights.add_argument(
        "--checkpoint",
        metavar="MODEL.safetensors",
        help="converted weights (`emoportraits convert`), keys <component>.<param>",
    )
    weights.add_argument(
        "--random-weights",
        action="store_true",
        help="untrained networks, for demos and tests"
        + ("" if required else " (the default without --checkpoint)"),
    )
    p.add_argument(
        "--seed", type=int, default=0, help="seed of random weights and random inputs (default: 0)"
    )


def add_device_options(p: argparse.ArgumentParser, *, default_device: str = "auto") -> None:
    """``--device auto|cpu|cuda|cuda:N`` and ``--dtype float32|bfloat16|float16``."""
    p.add_argument(
        "--device",
        default=default_device,
        metavar="DEVICE",
        help=f"where the networks run: auto, cpu, cuda, cuda:N (default: {default_device})",
    )
    p.add_argument(
        "--dtype",
        default="float32",
        choices=list(DTYPES),
        help="compute precision; bfloat16/float16 run under autocast (default: float32, exact)",
    )


def device_of(args: argparse.Namespace) -> torch.device:
    """The resolved ``--device`` (InputError: unknown, or CUDA without a GPU)."""
    return resolve_device(args.device)


def dtype_of(args: argparse.Namespace) -> torch.dtype:
    """The resolved ``--dtype``."""
    return resolve_dtype(args.dtype)
