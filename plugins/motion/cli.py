"""``emoportraits extract-motion``: a driving video -> a motion file (see :mod:`.format`)."""

from __future__ import annotations

import argparse
import hashlib
import logging
from pathlib import Path
from typing import Any

from emoportraits_core.cli.options import (
    add_device_options,
    add_pipeline_options,
    add_weights_options,
)
from emoportraits_core.config import config_to_dict
from emoportraits_core.errors import InputError

from ..session.cli import add_run_options, load_session, run_options, summary_line

__all__ = ["add_parser", "model_description"]

DESCRIPTION = """\
Extract a driving performance as per-frame motion (head rotation, translation, scale and the
expression latent), once, without the performer's face: `emoportraits animate PHOTO
perf.motion.safetensors -o out.mp4` then animates any photo with it, with no face tracking and no
motion encoder (the same result as animating from the video itself, and faster). The driver's
audio is copied into the file (cut to the frames kept), so the file is all a performance needs.

The motion is what the model of --checkpoint sees: a motion file plays back only on a model with
the same expression-latent size (another one is refused with a message).

examples:
  emoportraits extract-motion driving.mp4 -o perf.motion.safetensors --checkpoint model.safetensors
  emoportraits extract-motion driving.mp4 -o first5s.motion.safetensors --random-weights --duration 5
"""


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "extract-motion",
        help="save a driving video's motion (pose + expression) to a motion file",
        description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("driver", metavar="DRIVER", help="a driving video (or picture)")
    p.add_argument(
        "-o", "--output", required=True, metavar="OUT.motion.safetensors", help="the motion file to write"
    )
    add_weights_options(p)
    add_pipeline_options(p, default="extract_motion")
    add_device_options(p)
    add_run_options(p)
    p.add_argument(
        "--no-crop", action="store_true", help="resize whole frames instead of cropping around the face"
    )
    p.set_defaults(func=run)


def model_description(session: Any, weights: str) -> dict[str, Any]:
    """What a motion file records of the model: the pipeline, its networks (registry name and config)
    and a fingerprint of their weights (SHA-256 of every parameter and buffer, first 16 hex digits)."""
    resolved = session.runner.resolved
    digest = hashlib.sha256()
    networks = {}
    for key, comp in resolved.components.items():
        if comp.kind == "driver":
            continue
        networks[key] = {"name": comp.entry.name, "config": config_to_dict(comp.config)}
        for name, tensor in sorted(session.runner.components[key].state_dict().items()):
            digest.update(f"{key}.{name}".encode())
            digest.update(tensor.detach().float().cpu().contiguous().numpy().tobytes())
    return {
        "pipeline": Path(resolved.path).name,
        "weights": weights,
        "networks": networks,
        "fingerprint": digest.hexdigest()[:16],
    }


def run(args: argparse.Namespace) -> int:
    from emoportraits_core import get_registry

    from .sink import MotionFileSink

    logging.basicConfig(level=logging.WARNING, format="%(message)s")
    if not Path(args.driver).is_file():
        raise InputError(f"{args.driver}: no such file; expected the driving video")
    session = load_session(args, args.pipeline, get_registry(), subset_of_checkpoint=True)
    weights = f"random weights (seed {args.seed})" if args.random_weights else Path(args.checkpoint).name
    sink = MotionFileSink(args.output, model_description(session, weights), Path(args.driver).name)
    report = session.run(args.driver, sink, **run_options(args, session, "extract-motion"))
    print(summary_line(report, session, args))
    return 0
