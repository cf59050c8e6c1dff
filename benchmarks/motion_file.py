"""Benchmark of motion files: animating from a motion file vs from the driving video it came from.

One run, one machine, the same weights for both paths (a checkpoint, or random weights saved once):

- ``extract``: ``emoportraits extract-motion`` on the clip (decode, face tracking, crop, motion encoder);
- ``video``: ``emoportraits animate`` from the clip (the same, then the driver branch and encoding);
- ``motion``: ``emoportraits animate`` from the motion file (rows read, then the driver branch and
  encoding; no decoding, no face tracking, no motion encoder);

each as ms per frame end to end (the session's own report, the source already encoded), and the
largest difference between the two outputs' frames (lossless H.264 with 4:2:0 chroma, 8-bit levels; up to 3 expected for outputs 1 level apart).

    python benchmarks/motion_file.py                       # tiny networks: the driver side dominates
    python benchmarks/motion_file.py --preset release      # the released networks (random weights)
    python benchmarks/motion_file.py --checkpoint model.safetensors --frames 64 --device cuda

Figures and machines are in benchmarks/README.md.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from emoportraits_core.allocator import keep_freed_memory
from emoportraits_core.checkpoint import save_components
from emoportraits_core.io import VideoWriter, iter_frame_arrays
from emoportraits_core.pipeline.presets import preset_overrides
from emoportraits_plugins.motion.cli import model_description
from emoportraits_plugins.motion.sink import MotionFileSink
from emoportraits_plugins.session import Session

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


def cut_clip(src: Path, dst: Path, frames: int) -> None:
    arrays = [a for _, a in zip(range(frames), iter_frame_arrays(src))]
    with VideoWriter(dst, 25, audio_from=src) as writer:
        writer.write(torch.from_numpy(np.stack(arrays)).permute(0, 3, 1, 2))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--checkpoint", help="converted weights (default: random weights, saved once)")
    ap.add_argument("--preset", default="tiny", choices=["tiny", "release"], help="network sizes")
    ap.add_argument("--source", default=str(DATA / "images" / "photo_woman.jpg"))
    ap.add_argument("--driver", default=str(DATA / "videos" / "drive_talking_a.mp4"))
    ap.add_argument("--frames", type=int, default=25)
    ap.add_argument("--batch-size", type=int, default=2)
    ap.add_argument("--device", default="auto")
    ap.add_argument("--dtype", default="float32")
    ap.add_argument("--json", help="also write the results here")
    args = ap.parse_args()
    keep_freed_memory()  # as the command line does

    def load(pipeline: str, checkpoint: Path | None, **kw) -> Session:
        sets = [] if args.preset == "release" else preset_overrides(pipeline, args.preset)
        weights = {"checkpoint": checkpoint} if checkpoint else {"random_weights": True}
        return Session.load(
            pipeline=pipeline, overrides=sets, device=args.device, dtype=args.dtype, **weights, **kw
        )

    results: dict = {"preset": args.preset, "frames": args.frames, "batch": args.batch_size}
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        clip = tmp / "clip.mp4"
        cut_clip(Path(args.driver), clip, args.frames)
        video = load("animate", Path(args.checkpoint) if args.checkpoint else None)
        checkpoint = Path(args.checkpoint) if args.checkpoint else tmp / "weights.safetensors"
        if not args.checkpoint:
            save_components(checkpoint, video.runner.components)
        extract = load("extract_motion", checkpoint, subset_of_checkpoint=True)
        perf = tmp / "perf.motion.safetensors"
        start = time.perf_counter()
        report = extract.run(
            clip,
            MotionFileSink(perf, model_description(extract, checkpoint.name)),
            batch_size=args.batch_size,
        )
        results["extract_ms"] = 1e3 * (time.perf_counter() - start) / report.frames
        motion = load("animate_motion", checkpoint)
        outs = {}
        for name, session, driver in (("video", video, clip), ("motion", motion, perf)):
            session.set_source(args.source)
            out = tmp / f"{name}.mp4"
            rep = session.animate(args.source, driver, out, batch_size=args.batch_size, crf=0)
            results[f"{name}_ms"] = 1e3 * rep.seconds_per_frame
            outs[name] = np.stack(list(iter_frame_arrays(out))).astype(np.int16)
        results["max_level_difference"] = int(np.abs(outs["video"] - outs["motion"]).max())
    results["speedup"] = results["video_ms"] / results["motion_ms"]
    results["machine"] = f"{torch.get_num_threads()} threads, torch {torch.__version__}, {video.device}"
    print(
        f"{args.preset} networks, {args.frames} frames, batch {args.batch_size}, {results['machine']}: "
        f"extract-motion {results['extract_ms']:.0f} ms/frame; animate from the video "
        f"{results['video_ms']:.0f} ms/frame, from the motion file {results['motion_ms']:.0f} ms/frame "
        f"({results['speedup']:.2f}x); outputs differ by at most {results['max_level_difference']} level(s)"
    )
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
