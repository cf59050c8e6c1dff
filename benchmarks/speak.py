"""Benchmark of the speech mode (``emoportraits speak``), per stage, against ``animate`` per frame.

One run, one machine, random weights (the same code runs trained ones):

- ``whisper``: the speech driver's Whisper rows for the whole audio (streamed, windows of 30 s), as
  seconds per second of audio;
- ``pose``: the audio-to-pose generator over the frames (windows of ``pose_window``), ms per frame;
- ``e_aud``: the streaming E_aud, ms per frame;
- ``speak``: the session end to end (audio file -> H.264 with the audio; the source encoded
  before), ms per frame and real-time factor (seconds of video per second of work);
- ``cli``: ``emoportraits speak`` itself in a subprocess on the same audio, as its own summary
  line reports it (must agree with ``speak``);
- ``animate``: ``animate`` end to end on as many frames of the sample driving video, ms per frame,
  and the ratio speak / animate.

    python benchmarks/speak.py                                  # release networks, 8 frames, CPU
    python benchmarks/speak.py --preset tiny --frames 120       # tiny networks: the audio side shows
    python benchmarks/speak.py --device cuda --dtype bfloat16 --frames 250 --batch-size 16

Figures and machines are in benchmarks/README.md.
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch

from emoportraits_core.allocator import keep_freed_memory
from emoportraits_core.pipeline.presets import preset_overrides
from emoportraits_plugins.audio import frames_for, read_audio
from emoportraits_plugins.session import Session

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--preset", default="release", choices=["tiny", "release"], help="network sizes")
    ap.add_argument("--source", default=str(DATA / "images" / "photo_woman.jpg"))
    ap.add_argument("--audio", default=str(DATA / "audio" / "speech_en_gb_22k.wav"))
    ap.add_argument("--driver", default=str(DATA / "videos" / "drive_talking_a.mp4"))
    ap.add_argument("--frames", type=int, default=8, help="output frames for the end-to-end runs")
    ap.add_argument("--batch-size", type=int, default=2)
    ap.add_argument("--device", default="auto")
    ap.add_argument("--dtype", default="float32")
    ap.add_argument("--no-cli", action="store_true", help="skip the command-line run")
    ap.add_argument("--json", help="also write the results here")
    args = ap.parse_args()
    keep_freed_memory()  # as the command line does

    def load(pipeline: str) -> Session:
        sets = [] if args.preset == "release" else preset_overrides(pipeline, args.preset)
        return Session.load(
            random_weights=True, pipeline=pipeline, overrides=sets, device=args.device, dtype=args.dtype
        )

    speak = load("speak")
    device = speak.device
    driver = speak.driver
    audio = read_audio(args.audio)
    seconds = len(audio) / 16000
    results: dict = {
        "preset": args.preset,
        "frames": args.frames,
        "batch": args.batch_size,
        "audio_s": seconds,
    }

    # -- the audio side, alone -------------------------------------------------------------------------
    start = time.perf_counter()
    rows = torch.cat(list(driver._rows(args.audio)))
    results["whisper_s_per_audio_s"] = (time.perf_counter() - start) / seconds
    frames = len(rows)
    assert frames == frames_for(len(audio), driver.config.fps)
    window = driver.config.pose_window
    noise = torch.Generator().manual_seed(0)
    start = time.perf_counter()
    with torch.inference_mode():
        for first in range(0, frames, window):
            driver.generator.generate(rows[None, first : first + window].float(), generator=noise)
    results["pose_ms"] = 1e3 * (time.perf_counter() - start) / frames
    batches = list(driver.stream(args.audio, args.batch_size))
    e_aud = speak.runner.components["audio_expression"]
    z0 = torch.zeros(1, e_aud.config.latent_dim, device=device)
    e_aud.reset_stream()
    start = time.perf_counter()
    with torch.inference_mode():
        for batch in batches:
            e_aud(batch["audio"].to(device), z0.expand(len(batch["audio"]), -1))
    _sync(device)
    results["e_aud_ms"] = 1e3 * (time.perf_counter() - start) / frames

    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        # -- speak end to end (the session), the source encoded first --------------------------------
        speak.set_source(args.source)
        report = speak.animate(
            args.source, args.audio, tmp / "speak.mp4", batch_size=args.batch_size, max_frames=args.frames
        )
        results["speak_ms"] = 1e3 * report.seconds_per_frame
        results["speak_realtime"] = (1 / driver.config.fps) / report.seconds_per_frame
        # -- the command line ---------------------------------------------------------------------------
        if not args.no_cli:
            exe = Path(sys.executable).parent / "emoportraits"
            argv = [
                str(exe),
                "speak",
                args.source,
                args.audio,
                "-o",
                str(tmp / "cli.mp4"),
                "--random-weights",
            ]
            argv += ["--max-frames", str(args.frames), "--batch-size", str(args.batch_size), "-q"]
            argv += ["--device", args.device, "--dtype", args.dtype]
            argv += [
                x
                for s in ([] if args.preset == "release" else preset_overrides("speak", "tiny"))
                for x in ("--set", s)
            ]
            done = subprocess.run(argv, capture_output=True, text=True, check=True)
            m = re.search(r"\(([\d.]+) (ms|s)/frame", done.stdout)
            assert m, done.stdout
            results["cli_ms"] = float(m.group(1)) * (1.0 if m.group(2) == "ms" else 1e3)
        # -- animate, the same number of frames -----------------------------------------------------------
        animate = load("animate")
        animate.set_source(args.source)
        report = animate.animate(
            args.source, args.driver, tmp / "animate.mp4", batch_size=args.batch_size, max_frames=args.frames
        )
        results["animate_ms"] = 1e3 * report.seconds_per_frame
    results["speak_over_animate"] = results["speak_ms"] / results["animate_ms"]
    results["machine"] = (
        f"{torch.get_num_threads()} threads, torch {torch.__version__}, {device}, {args.dtype}"
    )
    cli = f", CLI {results['cli_ms']:.0f} ms/frame" if "cli_ms" in results else ""
    print(
        f"{args.preset} networks, {args.frames} frames, batch {args.batch_size}, {results['machine']}: "
        f"Whisper {results['whisper_s_per_audio_s']:.3f} s per s of audio, pose generator {results['pose_ms']:.1f} "
        f"ms/frame, E_aud {results['e_aud_ms']:.2f} ms/frame; speak {results['speak_ms']:.0f} ms/frame "
        f"({results['speak_realtime']:.2f}x real time){cli}; animate {results['animate_ms']:.0f} ms/frame "
        f"(speak/animate {results['speak_over_animate']:.2f})"
    )
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
