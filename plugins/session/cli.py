"""What the commands that run a session share: their run options, loading the session from the
parsed options, the progress bar and the summary line (``animate``, ``extract-motion``, and the
speech commands to come)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from emoportraits_core.cli.options import device_of
from emoportraits_core.registry import Registry

__all__ = [
    "add_run_options",
    "driver_overrides",
    "load_session",
    "progress_bar",
    "run_options",
    "summary_line",
]


def add_run_options(p: argparse.ArgumentParser) -> None:
    """The options of a session run: batch size, compile, trimming, audio, quiet."""
    p.add_argument(
        "--batch-size",
        type=int,
        default=None,
        metavar="N",
        help="driver frames per network call (default: 16 on a GPU, 2 on the CPU)",
    )
    p.add_argument(
        "--compile",
        action="store_true",
        help="torch.compile the per-frame networks (CUDA graphs on a GPU); costs compile time up front",
    )
    trim = p.add_mutually_exclusive_group()
    trim.add_argument(
        "--max-frames",
        type=int,
        metavar="N",
        help="stop after the first N driver frames (audio cut to match)",
    )
    trim.add_argument(
        "--duration",
        type=float,
        metavar="SECONDS",
        help="stop after the first SECONDS of the driver (audio cut to match)",
    )
    p.add_argument(
        "--audio",
        metavar="FILE",
        help="mux the audio of FILE (WAV, MP3, M4A, a video...) instead of the driver's",
    )
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar; only the summary and errors")


def driver_overrides(pipeline: str, overrides: list[str], no_crop: bool, registry: Registry) -> list[str]:
    """``--no-crop`` passed on to the pipeline's driver when its config has a ``crop`` field."""
    from emoportraits_core.pipeline import resolve_pipeline

    if not no_crop:
        return overrides
    resolved = resolve_pipeline(pipeline, overrides, registry)
    extra = [
        f"components.{key}.config.crop=false"
        for key, comp in resolved.components.items()
        if comp.kind == "driver" and hasattr(comp.config, "crop")
    ]
    return [*overrides, *extra]


def load_session(args: argparse.Namespace, pipeline: str, registry: Registry, **options: Any) -> Any:
    """The :class:`~emoportraits_plugins.session.Session` of the parsed weights, pipeline, device and
    run options (``--no-crop`` passed on to the driver); ``options`` go to ``Session.load``."""
    from . import Session

    return Session.load(
        args.checkpoint,
        random_weights=args.random_weights,
        pipeline=pipeline,
        overrides=driver_overrides(pipeline, args.overrides, getattr(args, "no_crop", False), registry),
        device=device_of(args),
        dtype=args.dtype,
        seed=args.seed,
        compile_networks=args.compile,
        registry=registry,
        **options,
    )


def run_options(args: argparse.Namespace, session: Any, desc: str) -> dict[str, Any]:
    """The keyword arguments of ``Session.run`` from the parsed run options."""
    batch = args.batch_size if args.batch_size is not None else (16 if session.device.type == "cuda" else 2)
    return {
        "batch_size": batch,
        "max_frames": args.max_frames,
        "duration": args.duration,
        "audio": args.audio,
        "progress": progress_bar(args.quiet, desc),
    }


def progress_bar(quiet: bool, desc: str):
    """``progress(total) -> tqdm`` on stderr (frames, speed, time left), or None when quiet."""
    if quiet:
        return None
    from tqdm import tqdm

    return lambda total: tqdm(total=total, unit="frame", desc=desc, dynamic_ncols=True, file=sys.stderr)


def summary_line(report: Any, session: Any, args: argparse.Namespace) -> str:
    """The report's summary, the device, dtype and weights: the line a command prints last."""
    weights = (
        "random weights (untrained networks: the result is not a face)"
        if args.random_weights
        else Path(args.checkpoint).name
    )
    return f"{report.summary()}; {session.device.type}, {args.dtype}, {weights}"
