"""``emoportraits lipsync``: command-line adapter of :func:`.lipsync.lip_sync`."""

from __future__ import annotations

import argparse
import json
import math
from pathlib import Path

from emoportraits_core.errors import InputError

__all__ = ["add_parser"]

DESCRIPTION = """\
Measure lip sync without downloaded weights: the correlation between the mouth opening of the face
in VIDEO (mediapipe's face mesh: inner-lip gap over the eye-corner distance, per frame) and the
loudness of its audio (RMS per frame), at lags up to --max-lag-ms (positive: the mouth moves after
the sound). Talking faces with their own sound correlate clearly above 0 near lag 0; a mouth that
ignores the audio correlates about 0. It measures synchrony of opening with loudness, not phonemes
(SyncNet's LSE-C / LSE-D are the learned measures and need SyncNet's weights). Definitions:
emoportraits_plugins.evaluate.lipsync.

examples:
  emoportraits lipsync out.mp4
  emoportraits lipsync out.mp4 --audio speech.wav --json sync.json
"""


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "lipsync",
        help="lip sync of a video: mouth opening vs audio loudness (no weights needed)",
        description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("video", metavar="VIDEO", help="a video with a face (e.g. the output of speak)")
    p.add_argument("--audio", metavar="FILE", help="the audio to compare with (default: the video's own)")
    p.add_argument(
        "--max-lag-ms", type=float, default=200.0, metavar="MS", help="lags searched (default 200)"
    )
    p.add_argument("--max-frames", type=int, metavar="N", help="only the first N frames")
    p.add_argument("--json", metavar="FILE", help="also write the result as JSON")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from emoportraits_core.io.atomic import atomic_output

    from .lipsync import lip_sync

    for path, what in ((args.video, "video"), (args.audio, "audio")):
        if path is not None and not Path(path).is_file():
            raise InputError(f"{path}: no such file; expected the {what}")
    if args.max_lag_ms < 0:
        raise InputError(f"--max-lag-ms {args.max_lag_ms}: expected a non-negative number of milliseconds")
    if args.max_frames is not None and args.max_frames < 3:
        raise InputError(f"--max-frames {args.max_frames}: expected at least 3 frames")
    result = lip_sync(args.video, audio=args.audio, max_lag_ms=args.max_lag_ms, max_frames=args.max_frames)
    silent = math.isnan(result["correlation"]) and math.isnan(result["best_correlation"])
    print(
        f"lip sync of {args.video} with {result['audio']}: {result['frames_with_face']} of "
        f"{result['frames']} frames with a face at {result['fps']:g} fps"
    )
    if silent:
        print("correlation: n/a (the audio is silent or the mouth does not move)")
    else:
        print(f"correlation at lag 0: {result['correlation']:.3f}")
        print(
            f"best correlation: {result['best_correlation']:.3f} at {result['best_lag_ms']:+g} ms "
            f"({result['best_lag_frames']:+d} frames; + = mouth after sound)"
        )
    if args.json:
        plain = {k: (None if isinstance(v, float) and math.isnan(v) else v) for k, v in result.items()}
        with atomic_output(args.json) as tmp:
            tmp.write_text(json.dumps(plain, indent=1) + "\n")
        print(f"wrote {args.json}")
    return 0
