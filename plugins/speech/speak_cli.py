"""``emoportraits speak`` and ``emoportraits blend``: command-line adapters of the session for the
speech pipelines (``speak``: a photo animated by an audio file; ``blend``: a driving video's pose and
upper face with the mouth from speech)."""

from __future__ import annotations

import argparse
import logging
import sys
import tempfile
from pathlib import Path
from typing import Any

from emoportraits_core.cli.options import add_device_options, add_pipeline_options, add_weights_options
from emoportraits_core.errors import InputError

from ..evaluate.overrides import toml_value
from ..session.cli import add_run_options, progress_bar, run_options, summary_line

__all__ = ["add_parsers"]

SPEAK = """\
Animate one photo (SOURCE) with speech (AUDIO: wav, flac, mp3, m4a, ogg, or a video's sound): the
mouth and face from the audio through Whisper and the audio expression encoder (E_aud), the head
motion from the audio-to-pose generator (--still keeps the source's pose; --pose-from takes it from
a video or a motion file). The output is an H.264 video at --fps with as many frames as the audio
lasts, carrying that audio. The audio is read and encoded in a stream: any length, flat memory.

Weights: --checkpoint (the image model, `emoportraits convert`), --speech-checkpoint (a
train_speech run: E_aud), --pose-checkpoint (a train_audio_pose run: the pose generator) and
--whisper (the local Whisper directory they were trained with). --random-weights builds everything
untrained (a random Whisper of whisper-tiny's size too): nothing to download, the result is not a
face.

examples:
  emoportraits speak photo.jpg speech.wav -o out.mp4 --random-weights
  emoportraits speak photo.jpg speech.wav -o out.mp4 --checkpoint model.safetensors \\
      --speech-checkpoint speech.safetensors --pose-checkpoint pose.safetensors --whisper whisper-tiny/
  emoportraits speak photo.jpg speech.mp3 -o calm.mp4 ... --pose-scale 0.5 --seed 3
  emoportraits speak photo.jpg speech.wav -o still.mp4 ... --still
  emoportraits speak photo.jpg speech.wav -o out.mp4 ... --pose-from performance.motion.safetensors
"""

BLEND = """\
Animate one photo (SOURCE) with a driving video (DRIVER) for the head pose and upper face and speech
(AUDIO) for the mouth: the mouth components of the expression (the mouth PCA's first axes,
`emoportraits fit-mouth-pca`) come from the audio, the rest from the video. The output has the
video's frames and rate and carries AUDIO (padded with silence or cut to the video's length).

examples:
  emoportraits blend photo.jpg driving.mp4 speech.wav -o out.mp4 --random-weights
  emoportraits blend photo.jpg driving.mp4 speech.wav -o out.mp4 --checkpoint model.safetensors \\
      --speech-checkpoint speech.safetensors --whisper whisper-tiny/ --mouth-pca mouth_pca.safetensors
"""


def add_parsers(sub: argparse._SubParsersAction) -> None:
    """Adds ``speak`` and ``blend``."""
    p = sub.add_parser(
        "speak",
        help="animate a photo with speech (audio file)",
        description=SPEAK,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("source", metavar="SOURCE", help="the photo to animate")
    p.add_argument("audio_file", metavar="AUDIO", help="the speech: an audio file or a video with sound")
    _common(p)
    p.add_argument("--fps", type=float, default=25.0, help="frames per second of the output (default 25)")
    pose = p.add_mutually_exclusive_group()
    pose.add_argument("--still", action="store_true", help="keep the source's head pose (no head motion)")
    pose.add_argument(
        "--pose-from",
        metavar="VIDEO_OR_MOTION",
        help="take the head motion from a video or a motion file (`extract-motion`) instead of the generator",
    )
    p.add_argument(
        "--pose-checkpoint",
        metavar="FILE",
        help="the pose generator (a train_audio_pose run's model.safetensors)",
    )
    p.add_argument(
        "--pose-scale",
        type=float,
        default=1.0,
        metavar="S",
        help="damp the head motion: 0 still .. 1 as generated (default 1)",
    )
    p.set_defaults(func=run_speak)

    b = sub.add_parser(
        "blend",
        help="animate a photo with a driving video, the mouth from speech",
        description=BLEND,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    b.add_argument("source", metavar="SOURCE", help="the photo to animate")
    b.add_argument("driver", metavar="DRIVER", help="the driving video (head pose, upper face)")
    b.add_argument(
        "audio_file", metavar="AUDIO", help="the speech (mouth): an audio file or a video with sound"
    )
    _common(b)
    b.add_argument("--mouth-pca", metavar="FILE", help="the mouth PCA (`emoportraits fit-mouth-pca`)")
    b.add_argument(
        "--mouth-components",
        type=int,
        default=8,
        metavar="N",
        help="mouth axes taken from speech (default 8)",
    )
    b.set_defaults(func=run_blend)


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("-o", "--output", required=True, metavar="OUT.mp4", help="the video to write")
    add_weights_options(p)
    p.add_argument(
        "--speech-checkpoint", metavar="FILE", help="E_aud (a train_speech run's model.safetensors)"
    )
    p.add_argument("--whisper", metavar="DIR", help="the local Whisper model directory (any size)")
    add_pipeline_options(p, default=None)
    add_device_options(p)
    add_run_options(p)
    p.add_argument("--crf", type=int, default=18, metavar="Q", help="H.264 quality (default 18)")


def _check_files(args: argparse.Namespace, *pairs: tuple[str | None, str]) -> None:
    for path, what in pairs:
        if path is not None and not Path(path).is_file():
            raise InputError(f"{path}: no such file; expected the {what}")
    if args.whisper is not None and not Path(args.whisper).is_dir():
        raise InputError(f"--whisper {args.whisper}: no such directory; expected a local Whisper model")
    if not args.random_weights:
        missing = [
            f
            for f, v in (("--speech-checkpoint", args.speech_checkpoint), ("--whisper", args.whisper))
            if not v
        ]
        if missing:
            raise InputError(
                f"{' and '.join(missing)}: needed with --checkpoint (or use --random-weights for untrained networks)"
            )


def _session(
    args: argparse.Namespace, pipeline: str, driver: dict[str, Any], **configs: dict[str, Any]
) -> Any:
    """The session of ``pipeline`` with the joined weights, the driver's config values and those of
    the other components in ``configs`` (component key -> values), after the user's ``--set``."""
    from emoportraits_core import get_registry

    from ..session import Session
    from .weights import speech_weights

    registry = get_registry()
    sets = [
        f"components.{key}.config.{k}={toml_value(v)}"
        for key, values in {"driver": driver, **configs}.items()
        for k, v in values.items()
    ]
    checkpoint: Any = None
    ckpt_sets: list[str] = []
    if not args.random_weights:
        checkpoint, ckpt_sets = speech_weights(args.checkpoint, args.speech_checkpoint)
    return Session.load(
        checkpoint,
        random_weights=args.random_weights,
        pipeline=args.pipeline or pipeline,
        overrides=[*ckpt_sets, *args.overrides, *sets],  # the command's flags last: they win
        device=args.device,
        dtype=args.dtype,
        seed=args.seed,
        compile_networks=args.compile,
        registry=registry,
        subset_of_checkpoint=True,
    )


def _animate(args: argparse.Namespace, session: Any, driver_path: str, desc: str) -> int:
    session.prepare_source(args.source)  # a bad source fails here, before the stream
    if args.random_weights:
        print(
            "note: --random-weights: the networks are untrained, so the result is not a face", file=sys.stderr
        )
    if Path(args.output).suffix.lower() != ".mp4":
        raise InputError(f"-o {args.output}: expected an .mp4 output")
    options = run_options(args, session, desc)
    options["progress"] = progress_bar(args.quiet, desc)
    report = session.animate(args.source, driver_path, args.output, crf=args.crf, **options)
    print(summary_line(report, session, args))
    return 0


def run_speak(args: argparse.Namespace) -> int:
    logging.basicConfig(level=logging.WARNING, format="%(message)s")
    _check_files(
        args,
        (args.source, "source image"),
        (args.audio_file, "speech audio"),
        (args.pose_checkpoint, "pose generator checkpoint"),
        (args.pose_from, "video or motion file to take the head motion from"),
    )
    if not 0.0 <= args.pose_scale <= 1.0:
        raise InputError(f"--pose-scale {args.pose_scale}: expected a value in [0, 1]")
    if not 1.0 <= args.fps <= 240.0:
        raise InputError(f"--fps {args.fps}: expected 1 .. 240 frames per second")
    driver: dict[str, Any] = {"fps": args.fps, "pose_scale": args.pose_scale, "seed": args.seed}
    if args.whisper:
        driver["whisper"] = str(args.whisper)
    with tempfile.TemporaryDirectory(prefix="emoportraits-speak-") as tmp:
        if args.still:
            driver["pose"] = "still"
        elif args.pose_from:
            driver["pose"], driver["pose_file"] = "file", _motion_file(args, Path(tmp))
        else:
            if not args.random_weights and not args.pose_checkpoint:
                raise InputError(
                    "--pose-checkpoint: needed for the head motion (or --still, or --pose-from VIDEO_OR_MOTION)"
                )
            if args.pose_checkpoint:
                driver["pose_weights"] = str(args.pose_checkpoint)
        session = _session(args, "speak", driver)
        return _animate(args, session, args.audio_file, "speak")


def run_blend(args: argparse.Namespace) -> int:
    logging.basicConfig(level=logging.WARNING, format="%(message)s")
    _check_files(
        args,
        (args.source, "source image"),
        (args.driver, "driving video"),
        (args.audio_file, "speech audio"),
        (args.mouth_pca, "mouth PCA file"),
    )
    if args.mouth_components < 1:
        raise InputError(f"--mouth-components {args.mouth_components}: expected a positive number")
    driver: dict[str, Any] = {"speech": str(args.audio_file)}
    if args.whisper:
        driver["whisper"] = str(args.whisper)
    mouth = {"n": args.mouth_components}
    if args.mouth_pca:
        mouth["pca"] = str(args.mouth_pca)
    session = _session(args, "blend", driver, mouth=mouth)
    return _animate(args, session, args.driver, "blend")


def _motion_file(args: argparse.Namespace, tmp: Path) -> str:
    """``--pose-from``: a motion file as is; a video's motion extracted with the image model first."""
    from ..motion.format import is_motion_file

    if is_motion_file(args.pose_from):
        return str(args.pose_from)
    from emoportraits_core import get_registry

    from ..motion.sink import MotionFileSink
    from ..session import Session

    print(f"extracting the head motion of {args.pose_from} ...", file=sys.stderr)
    session = Session.load(
        args.checkpoint,
        random_weights=args.random_weights,
        pipeline="extract_motion",
        device=args.device,
        dtype=args.dtype,
        seed=args.seed,
        registry=get_registry(),
        subset_of_checkpoint=True,
    )
    out = tmp / "pose.motion.safetensors"
    session.run(args.pose_from, MotionFileSink(out), progress=progress_bar(args.quiet, "head motion"))
    return str(out)
