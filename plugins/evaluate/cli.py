"""``emoportraits evaluate``: command-line adapter of :func:`.evaluate.evaluate`."""

from __future__ import annotations

import argparse
import sys
import time

from emoportraits_core.cli.options import add_device_options, add_pipeline_options
from emoportraits_core.errors import InputError
from emoportraits_core.validators import is_fraction_window

__all__ = ["add_parser", "run"]

DESCRIPTION = """\
Measure self-reenactment on held-out (source, driver) pairs of prepared shards (`emoportraits
prepare`): per pair the model animates the source crop x its matte with the driver crop, and its
output is compared with the driver. Beside the model's numbers the same metrics are given for the
trivial "copy the source" output (the source on the green background), so that a number means
something.

Metrics: PSNR, SSIM, L1 inside the driver's head matte (*_mask) and on the whole image against the
driver on green (the release's training target); AKD, the distance in crop pixels between the
mediapipe keypoints of the output and of the driver, and face_found; CSIM, dlib's identity
cosine to the source (with `pip install "emoportraits[eval]"`, else skipped with a note); LPIPS with
--lpips weights. Definitions: emoportraits_plugins.evaluate.evaluate.

CHECKPOINT is a project checkpoint (model.safetensors) or a training run directory (its
checkpoints/last); the pipeline (default animate) is built with the checkpoint's own component
configs, so a train_tiny run is evaluated in the tiny form of the released graph.

examples:
  emoportraits evaluate runs/tiny --data shards --pairs 64
  emoportraits evaluate model.safetensors --data shards --split val --json eval.json
  emoportraits evaluate runs/tiny/checkpoints/step_0002000 --data shards --split train --pairs 16
  emoportraits evaluate runs/tiny --data shards --split train --frames 0.8:1   # held-out frames
"""


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "evaluate",
        help="measure self-reenactment on held-out pairs against the copy-the-source baseline",
        description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("checkpoint", metavar="CHECKPOINT", help="model.safetensors or a training run directory")
    p.add_argument("--data", required=True, metavar="DIR", help="shards written by `emoportraits prepare`")
    p.add_argument(
        "--split", choices=("val", "train"), default="val", help="which videos to pair (default: val)"
    )
    p.add_argument("--pairs", type=int, default=64, metavar="N", help="number of pairs (default 64)")
    p.add_argument(
        "--frames",
        type=frame_window,
        default=(0.0, 1.0),
        metavar="A:B",
        help="draw only from the frames in this time window of each video, as fractions of its frames "
        "(default 0:1); e.g. --split train --frames 0.8:1 for the frames a run trained with "
        "data.train.config.frames=[0, 0.8] never saw",
    )
    p.add_argument("--seed", type=int, default=0, help="seed of the pairs (default 0)")
    p.add_argument("--json", metavar="FILE", help="also write the results as JSON")
    p.add_argument(
        "--batch-size", type=int, default=8, metavar="N", help="pairs per network call (default 8)"
    )
    p.add_argument("--no-akd", action="store_true", help="skip the mediapipe keypoints (akd, face_found)")
    p.add_argument("--no-csim", action="store_true", help="skip dlib's identity similarity")
    p.add_argument("--lpips", metavar="FILE", help="LPIPS (VGG, v0.1) weights: enables the lpips metric")
    p.add_argument(
        "--lpips-backbone",
        metavar="FILE",
        help="torchvision's vgg16 weights, when --lpips holds only the linear layers (lpips' vgg.pth)",
    )
    add_pipeline_options(p, default="animate")
    add_device_options(p)
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from .evaluate import evaluate
    from .load import checkpoint_file, load_model
    from .pairs import EvalSet
    from .report import format_table, write_json
    from .scorers import Scorers

    if args.batch_size < 1:
        raise InputError(f"--batch-size {args.batch_size}: expected a positive number of pairs")
    if args.lpips_backbone and not args.lpips:
        raise InputError("--lpips-backbone: give --lpips (the LPIPS weights) too")
    start = time.perf_counter()
    pairs = EvalSet.from_shards(
        args.data, split=args.split, count=args.pairs, seed=args.seed, frames=args.frames
    )
    path = checkpoint_file(args.checkpoint)
    runner = load_model(
        path, pipeline=args.pipeline, overrides=args.overrides, device=args.device, dtype=args.dtype
    )
    scorers = Scorers.create(
        keypoints=not args.no_akd,
        identity=not args.no_csim,
        lpips=args.lpips,
        lpips_backbone=args.lpips_backbone,
    )
    result = evaluate(runner, pairs, scorers=scorers, batch_size=args.batch_size, progress=_bar(args.quiet))
    result["checkpoint"] = str(path)
    seconds = time.perf_counter() - start
    result["seconds"] = round(seconds, 2)
    videos = pairs.videos
    header = (
        f"evaluated {path} on {len(pairs)} pairs of the '{args.split}' split of {args.data}"
        f"{'' if args.frames == (0.0, 1.0) else f' (frames {args.frames[0]:g}:{args.frames[1]:g})'} "
        f"({len(videos)} video{'s' if len(videos) != 1 else ''}: {', '.join(videos[:4])}"
        f"{', ...' if len(videos) > 4 else ''}) at {result['image_size']}x{result['image_size']} in {seconds:.1f} s"
    )
    print(format_table(result, header=header))
    if args.json:
        write_json(args.json, result)
        print(f"wrote {args.json}")
    return 0


def frame_window(text: str) -> tuple[float, float]:
    """``"A:B"`` -> ``(A, B)`` with ``0 <= A < B <= 1`` (argparse type of ``--frames``)."""
    try:
        a, b = (float(x) for x in text.split(":"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r}: expected A:B, e.g. 0.8:1") from None
    if not is_fraction_window((a, b)):
        raise argparse.ArgumentTypeError(f"{text!r}: expected 0 <= A < B <= 1")
    return a, b


def _bar(quiet: bool):
    if quiet:
        return None
    from tqdm import tqdm

    return lambda total: tqdm(total=total, unit="pair", desc="evaluate", file=sys.stderr)
