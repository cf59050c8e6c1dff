"""``emoportraits prepare``: command-line adapter of :func:`.prepare.prepare`."""

from __future__ import annotations

import argparse
import logging
import os
from pathlib import Path

from emoportraits_core.errors import InputError

__all__ = ["add_parser", "default_workers", "run"]

DESCRIPTION = """\
Turn talking-head videos (VoxCeleb2, FEED, your own) into training shards: per frame the
inference crop (mediapipe face box, the release's square, smoothed over time), a soft foreground
matte, 68 landmarks (x, y, z; from mediapipe's face mesh) and, with --head-pose, the released
regressor's head pose; per video its 16 kHz mono audio. The format is documented in
emoportraits_plugins.data.format (index.json, one directory per video).

Runs over the videos in parallel, writes each video's shard under a hidden name and renames it
when done, and resumes: run the same command again after an interruption and only the videos not
yet done are prepared. Videos that cannot be read, show no face or are too short are skipped and
listed with the reason.

examples:
  emoportraits prepare ../shared/data/videos -o shards
  emoportraits prepare vox2/dev/mp4 feed/ -o shards --size 512 --workers 8 --head-pose head_pose_regressor.pth
"""


def default_workers() -> int:
    """``min(4, usable cores)``."""
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover (not Linux)
        cores = os.cpu_count() or 1
    return max(1, min(4, cores))


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "prepare",
        help="turn talking-head videos into training shards (crops, mattes, landmarks, audio)",
        description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument(
        "inputs", nargs="+", metavar="VIDEOS", help="video files or folders (searched recursively)"
    )
    p.add_argument("-o", "--output", required=True, metavar="DIR", help="the shard directory (created)")
    p.add_argument("--size", type=int, default=512, help="side of the stored crops in pixels (default 512)")
    p.add_argument(
        "--image-format",
        choices=("jpeg", "png"),
        default="jpeg",
        help="frames as JPEG (quality --jpeg-quality, 4:4:4; default) or lossless PNG (3.5x larger)",
    )
    p.add_argument("--jpeg-quality", type=int, default=95, metavar="Q", help="JPEG quality (default 95)")
    p.add_argument(
        "--matte",
        choices=("head", "person"),
        default="head",
        help="soft matte restricted to the head (face, hair, ears, neck; default) or the whole person",
    )
    p.add_argument(
        "--head-pose",
        metavar="HPR.pth",
        help="head_pose_regressor.pth (or a converted model); 'random': untrained, for smoke runs only",
    )
    p.add_argument(
        "--smoothing", type=int, default=3, metavar="N", help="box smoothing, +-N frames (default 3)"
    )
    p.add_argument("--stride", type=int, default=1, metavar="K", help="keep every K-th frame (default 1)")
    p.add_argument("--max-frames", type=int, default=0, metavar="N", help="at most N frames a video (0: all)")
    p.add_argument(
        "--min-frames", type=int, default=2, metavar="N", help="skip videos with fewer frames with a face (2)"
    )
    p.add_argument(
        "--val-fraction",
        type=float,
        default=0.05,
        metavar="F",
        help="fraction of the videos held out as the validation split (default 0.05)",
    )
    p.add_argument("--seed", type=int, default=0, help="seed of the validation split (default 0)")
    p.add_argument("--workers", type=int, default=None, metavar="N", help="processes (default min(4, cores))")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar; print only the summary")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from .head_pose import RANDOM, file_fingerprint, load_head_pose_regressor
    from .prepare import prepare
    from .video_job import PrepareOptions

    logging.basicConfig(level=logging.WARNING, format="%(message)s")
    if not 0.0 <= args.val_fraction < 1.0:
        raise InputError(f"--val-fraction: must be in [0, 1), got {args.val_fraction}")
    workers = default_workers() if args.workers is None else args.workers
    if workers < 1:
        raise InputError(f"--workers: must be >= 1, got {workers}")
    head_pose, sha = None, None
    if args.head_pose:
        load_head_pose_regressor(args.head_pose)  # a wrong file stops here, before any video
        if args.head_pose == RANDOM:
            head_pose, sha = RANDOM, RANDOM
        else:
            head_pose, sha = str(Path(args.head_pose).resolve()), file_fingerprint(args.head_pose)
    try:
        options = PrepareOptions(
            size=args.size,
            image_format=args.image_format,
            jpeg_quality=args.jpeg_quality,
            matte=args.matte,
            smoothing=args.smoothing,
            stride=args.stride,
            max_frames=args.max_frames,
            min_frames=args.min_frames,
            head_pose=head_pose,
            head_pose_sha=sha,
        )
    except ValueError as exc:
        option = str(exc).split("'")[1] if "'" in str(exc) else ""
        raise InputError(f"--{option.replace('_', '-')}: {exc}") from None
    report = prepare(
        args.inputs,
        args.output,
        options,
        workers=workers,
        val_fraction=args.val_fraction,
        seed=args.seed,
        progress=not args.quiet,
    )
    print(summary(report, workers, options.size))
    return 0


def summary(report, workers: int, size: int) -> str:
    """The lines printed at the end: written, resumed, skipped with reasons, frames per second."""
    index = report.index
    splits = {s: sum(v["split"] == s for v in index["videos"]) for s in ("train", "val")}
    rate = report.frames / report.seconds if report.seconds > 0 else 0.0
    lines = [
        f"prepared {len(report.written)} video(s), {report.frames} frames at {size}x{size} in "
        f"{report.seconds:.1f} s ({rate:.1f} frames/s, {workers} worker(s)) into {report.root}",
    ]
    if report.resumed:
        lines.append(f"already prepared (kept): {len(report.resumed)} video(s)")
    lines.append(
        f"the directory holds {len(index['videos'])} video(s): {splits['train']} train, {splits['val']} val"
    )
    if report.skipped:
        lines.append(f"skipped {len(report.skipped)} video(s):")
        lines += [f"  {r['source']}: {r['reason']}" for r in report.skipped]
    return "\n".join(lines)
