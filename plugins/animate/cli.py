"""``emoportraits animate``: command-line adapter of :class:`.animator.Animator`."""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from emoportraits_core.errors import InputError

__all__ = ["add_parser"]

DESCRIPTION = """\
Animate one photo (SOURCE) with a driving video or picture (DRIVER), with the EMOPortraits
networks. The source is cropped around its face, masked and encoded once; the driver is decoded,
face-tracked and cropped in a stream, batch by batch; the result is written as it comes.

  DRIVER is a video  -> OUT must be .mp4 (H.264, the driver's frame rate, frame count and audio)
  DRIVER is an image -> OUT must be .png

Weights: --checkpoint takes a file written by `emoportraits convert` (the released model);
--random-weights builds untrained networks (for demos and tests: the output is not a face).

examples:
  emoportraits animate photo.jpg driving.mp4 -o out.mp4 --checkpoint model.safetensors
  emoportraits animate photo.jpg driving.mp4 -o out.mp4 --random-weights --side-by-side
  emoportraits animate photo.jpg frame.png -o out.png --checkpoint model.safetensors --paste-back
  emoportraits animate src.png drv.png -o out.png --checkpoint model.safetensors --no-crop --source-mask mask.png
"""


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "animate",
        help="animate a photo with a driving video or picture",
        description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument(
        "source", metavar="SOURCE", help="the photo to animate (any image with one clearly visible face)"
    )
    p.add_argument("driver", metavar="DRIVER", help="a driving video (.mp4, .mov, ...) or picture")
    p.add_argument(
        "-o",
        "--output",
        required=True,
        metavar="OUT",
        help=".mp4 for a video driver, .png for an image driver",
    )
    weights = p.add_mutually_exclusive_group(required=True)
    weights.add_argument(
        "--checkpoint", metavar="MODEL.safetensors", help="converted weights (see `emoportraits convert`)"
    )
    weights.add_argument(
        "--random-weights", action="store_true", help="untrained networks, for demos and tests"
    )
    p.add_argument("--seed", type=int, default=0, help="seed of --random-weights (default 0)")
    p.add_argument(
        "--pipeline",
        default="animate",
        metavar="FILE",
        help="pipeline file or shipped name (default: animate)",
    )
    p.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override a pipeline value, e.g. components.renderer.name=my_renderer (repeatable)",
    )
    p.add_argument(
        "--batch-size",
        type=int,
        default=None,
        metavar="N",
        help="driver frames per network call (default: 16 on a GPU, 2 on the CPU)",
    )
    p.add_argument(
        "--device",
        default="auto",
        choices=["auto", "cpu", "cuda"],
        help="where the networks run (default: auto)",
    )
    p.add_argument(
        "--dtype",
        default="float32",
        choices=["float32", "bfloat16", "float16"],
        help="compute precision; bfloat16/float16 use autocast (default: float32, exact)",
    )
    p.add_argument(
        "--compile",
        action="store_true",
        help="torch.compile the per-frame networks (CUDA graphs on a GPU); costs compile time up front",
    )
    p.add_argument(
        "--no-crop",
        action="store_true",
        help="resize whole frames to 512x512 instead of cropping around the face",
    )
    mask = p.add_mutually_exclusive_group()
    mask.add_argument(
        "--source-mask", metavar="MASK.png", help="use this binary mask of the source face (white = face)"
    )
    mask.add_argument(
        "--face-parser",
        metavar="BISENET.pth",
        help="compute the source mask with these BiSeNet face-parsing weights (default: mediapipe)",
    )
    p.add_argument(
        "--paste-back", action="store_true", help="put the animated face back into the whole source picture"
    )
    p.add_argument("--side-by-side", action="store_true", help="write source | driver | result in each frame")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar; only the summary and errors")
    p.set_defaults(func=run)


def _progress(quiet: bool):
    if quiet:
        return None
    from tqdm import tqdm

    return lambda info: tqdm(
        total=info.num_frames, unit="frame", desc="animate", dynamic_ncols=True, file=sys.stderr
    )


def run(args: argparse.Namespace) -> int:
    from ..face.source import prepare_source
    from .animator import Animator, resolve_device

    logging.basicConfig(level=logging.WARNING, format="%(message)s")
    for path, what in ((args.source, "source image"), (args.driver, "driver")):
        if not Path(path).is_file():
            raise InputError(f"{path}: no such file; expected the {what}")
    # Fail fast on a bad source (unreadable, too small, no face) before the networks load.
    prepare_source(args.source, crop=not args.no_crop, size=64, source_mask=args.source_mask)
    device = resolve_device(args.device)
    batch = args.batch_size if args.batch_size is not None else (16 if device.type == "cuda" else 2)
    animator = Animator.load(
        args.checkpoint,
        random_weights=args.random_weights,
        pipeline=args.pipeline,
        overrides=args.overrides,
        device=str(device),
        dtype=args.dtype,
        crop=not args.no_crop,
        seed=args.seed,
        compile=args.compile,
    )
    if args.random_weights:
        print(
            "note: --random-weights: the networks are untrained, so the result is not a face", file=sys.stderr
        )
    report = animator.animate(
        args.source,
        args.driver,
        args.output,
        batch_size=batch,
        crop=not args.no_crop,
        face_parser=args.face_parser,
        source_mask=args.source_mask,
        paste=args.paste_back,
        side_by_side=args.side_by_side,
        progress=_progress(args.quiet),
    )
    weights = (
        "random weights (untrained networks: the result is not a face)"
        if args.random_weights
        else Path(args.checkpoint).name
    )
    print(f"{report.summary()}; {device.type}, {args.dtype}, {weights}")
    return 0
