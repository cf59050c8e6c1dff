"""``emoportraits lipsync``: command-line adapter of :func:`.lipsync.lip_sync` (and, with
``--syncnet``, :func:`.syncnet.lse`)."""

from __future__ import annotations

import argparse
import json
import math
from pathlib import Path
from typing import TYPE_CHECKING

from emoportraits_core.errors import InputError

if TYPE_CHECKING:
    from .syncnet import SyncNet

__all__ = ["add_parser"]

DESCRIPTION = """\
Measure lip sync without downloaded weights: the correlation between the mouth opening of the face
in VIDEO (mediapipe's face mesh: inner-lip gap over the eye-corner distance, per frame) and the
loudness of its audio (RMS per frame), at lags up to --max-lag-ms (positive: the mouth moves after
the sound). Talking faces with their own sound correlate clearly above 0 near lag 0; a mouth that
ignores the audio correlates about 0. It measures synchrony of opening with loudness, not phonemes.
Definitions: emoportraits_plugins.evaluate.lipsync.

With --syncnet FILE (SyncNet's weights, joonson/syncnet_python's syncnet_v2.model) it also reports
the learned measures of talking-head papers: LSE-D (the minimum over offsets of -15..+15 frames of
the mean SyncNet distance between 5-frame face crops and 0.2 s of MFCC; lower is better) and LSE-C
(the median minus that minimum; higher is better), with SyncNet's AV offset. The face crops come
from mediapipe, not syncnet_python's S3FD tracker, so values can differ from the official
pipeline's: compare runs measured with this command. Definitions and differences:
emoportraits_plugins.evaluate.syncnet.

examples:
  emoportraits lipsync out.mp4
  emoportraits lipsync out.mp4 --audio speech.wav --json sync.json
  emoportraits lipsync out.mp4 --syncnet syncnet_v2.model
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
    p.add_argument(
        "--syncnet",
        metavar="FILE",
        help="SyncNet weights (syncnet_v2.model, a state dict): also report LSE-D and LSE-C",
    )
    p.add_argument("--json", metavar="FILE", help="also write the result as JSON")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from emoportraits_core.io.atomic import atomic_output

    from .lipsync import lip_sync

    for path, what in ((args.video, "video"), (args.audio, "audio"), (args.syncnet, "SyncNet weights")):
        if path is not None and not Path(path).is_file():
            raise InputError(f"{path}: no such file; expected the {what}")
    if args.max_lag_ms < 0:
        raise InputError(f"--max-lag-ms {args.max_lag_ms}: expected a non-negative number of milliseconds")
    if args.max_frames is not None and args.max_frames < 3:
        raise InputError(f"--max-frames {args.max_frames}: expected at least 3 frames")
    net = None
    if args.syncnet is not None:
        from .syncnet import load_syncnet

        net = load_syncnet(args.syncnet)  # before any video work: a wrong file fails at once
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
    if net is not None:
        result.update(_syncnet_scores(args, net))
    if args.json:
        plain = {k: (None if isinstance(v, float) and math.isnan(v) else v) for k, v in result.items()}
        with atomic_output(args.json) as tmp:
            tmp.write_text(json.dumps(plain, indent=1) + "\n")
        print(f"wrote {args.json}")
    return 0


def _syncnet_scores(args: argparse.Namespace, net: SyncNet) -> dict[str, object]:
    """Score with SyncNet, print the two lines, return the JSON keys (``lse_d``, ``lse_c``, ...)."""
    from .syncnet import lse

    scores = lse(args.video, args.audio, weights=net, max_frames=args.max_frames)
    print(f"SyncNet LSE-D: {scores['lse_d']:.3f} (lower is better)")
    print(
        f"SyncNet LSE-C: {scores['lse_c']:.3f} (higher is better; AV offset {scores['offset_frames']:+d} "
        f"frames at 25 fps, + = mouth after sound; {scores['windows']} windows, "
        f"{scores['frames_with_face']} of {scores['frames']} frames with a face)"
    )
    return {
        "syncnet": str(args.syncnet),
        "lse_d": scores["lse_d"],
        "lse_c": scores["lse_c"],
        "syncnet_offset_frames": scores["offset_frames"],
        "syncnet_windows": scores["windows"],
        "syncnet_frames_with_face": scores["frames_with_face"],
    }
