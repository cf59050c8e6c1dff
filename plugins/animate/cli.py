"""``emoportraits animate``: command-line adapter of :class:`~emoportraits_plugins.session.Session`."""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from emoportraits_core.cli.options import add_device_options, add_pipeline_options, add_weights_options
from emoportraits_core.errors import InputError

from ..session.cli import add_run_options, load_session, run_options, summary_line

__all__ = ["add_parser"]

DESCRIPTION = """\
Animate one photo (SOURCE) with a driving video, picture or motion file (DRIVER), with the
EMOPortraits networks. The source is cropped around its face, masked and encoded once; the driver
is read in a stream, batch by batch (a video is decoded, face-tracked and cropped; a motion file
is read row by row); the result is written as it comes.

  DRIVER is a video        -> OUT must be .mp4 (H.264, the driver's frame rate, frame count, audio)
  DRIVER is a picture      -> OUT must be .png
  DRIVER is a motion file  -> OUT must be .mp4 (`emoportraits extract-motion` writes them)

The pipeline is chosen from DRIVER (`animate` for pictures and videos, `animate_motion` for motion
files) unless --pipeline names one. Weights: --checkpoint takes a file written by `emoportraits
convert` (the released model); --random-weights builds untrained networks (for demos and tests: the
output is not a face).

examples:
  emoportraits animate photo.jpg driving.mp4 -o out.mp4 --checkpoint model.safetensors
  emoportraits animate photo.jpg driving.mp4 -o first5s.mp4 --random-weights --duration 5
  emoportraits animate photo.jpg perf.motion.safetensors -o out.mp4 --checkpoint model.safetensors
  emoportraits animate photo.jpg driving.mp4 -o out.mp4 --checkpoint model.safetensors --audio voice.wav
  emoportraits animate photo.jpg frame.png -o out.png --checkpoint model.safetensors --paste-back
"""


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "animate",
        help="animate a photo with a driving video, picture or motion file",
        description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument(
        "source", metavar="SOURCE", help="the photo to animate (any image with one clearly visible face)"
    )
    p.add_argument("driver", metavar="DRIVER", help="a driving video, picture or .motion.safetensors file")
    p.add_argument(
        "-o", "--output", required=True, metavar="OUT", help=".mp4 (video or motion driver) or .png (picture)"
    )
    add_weights_options(p)
    add_pipeline_options(p, default=None)
    add_device_options(p)
    add_run_options(p)
    p.add_argument(
        "--no-crop",
        action="store_true",
        help="resize whole pictures to the network size instead of cropping around the face "
        "(the source, and the driver frames when the driver crops)",
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
    p.add_argument(
        "--crf",
        type=int,
        default=18,
        metavar="Q",
        help="H.264 quality of a video output: 0 lossless, 18 visually lossless (default), 51 worst",
    )
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from emoportraits_core import get_registry

    from ..session.select import pipeline_for

    logging.basicConfig(level=logging.WARNING, format="%(message)s")
    for path, what in ((args.source, "source image"), (args.driver, "driver input")):
        if not Path(path).is_file():
            raise InputError(f"{path}: no such file; expected the {what}")
    registry = get_registry()
    session = load_session(args, args.pipeline or pipeline_for(args.driver, "animate", registry), registry)
    source = {"crop": not args.no_crop, "face_parser": args.face_parser, "source_mask": args.source_mask}
    session.prepare_source(args.source, **source)  # a bad source fails here (the result is kept)
    if args.random_weights:
        print(
            "note: --random-weights: the networks are untrained, so the result is not a face", file=sys.stderr
        )
    report = session.animate(
        args.source,
        args.driver,
        args.output,
        **source,
        paste=args.paste_back,
        side_by_side=args.side_by_side,
        crf=args.crf,
        **run_options(args, session, "animate"),
    )
    print(summary_line(report, session, args))
    return 0
