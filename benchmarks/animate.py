"""Benchmark of `emoportraits animate`: ms per frame per stage, fps, FLOPs, peak memory.

Measures, in one run on one machine:

- FLOPs per frame of the source branch (once per source) and of the driver branch (per frame), with
  torch's flop counter, and the device's attainable peak (a large matmul in the same dtype);
- the streaming path (what `emoportraits animate` does) for several batch sizes and dtypes: ms per
  frame for decode + face tracking + crop, the motion encoder, warp (embedding + warp generator),
  render, and encode; end-to-end fps from the driver file to the encoded video; peak memory;
  the fraction of the device's peak that the networks reach;
- the naive baseline: one frame at a time, eager float32, the source re-encoded for every frame;
- the command a user runs (``emoportraits animate``, in a subprocess) on the same clip, whose own
  summary line is parsed, so that the benchmark and the CLI are shown to agree.

The process tunes CPU memory reuse exactly as the command line does
(:func:`emoportraits_core.allocator.keep_freed_memory`).

    python benchmarks/animate.py                                # random weights, CPU or GPU (auto)
    python benchmarks/animate.py --checkpoint model.safetensors --frames 64 --batch-sizes 8,16,32
    python benchmarks/animate.py --json results.json            # also write the numbers

Results and the machines they were measured on are in benchmarks/README.md.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import platform
import re
import resource
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

import numpy as np
import torch
from torch.utils.flop_counter import FlopCounterMode

from emoportraits_core.allocator import keep_freed_memory
from emoportraits_core.io import VideoWriter, iter_frame_arrays
from emoportraits_plugins.session import Session as Animator

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data"
STAGES = {"motion_encoder": "motion", "warp_embedder": "warp", "driver_warper": "warp", "renderer": "render"}


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def peak_flops(device: torch.device, dtype: torch.dtype) -> float:
    """Attainable FLOP/s in ``dtype``: the best of a large matmul and a 3x3 convolution like the
    renderer's (oneDNN reaches more on convolutions than on matmuls in bfloat16 on some CPUs)."""
    n, c, s = (8192, 256, 128) if device.type == "cuda" else (1024, 128, 128)
    a = torch.randn(n, n, device=device, dtype=dtype)
    b = torch.randn(n, n, device=device, dtype=dtype)
    x = torch.randn(4, c, s, s, device=device, dtype=dtype).to(memory_format=torch.channels_last)
    conv = (
        torch.nn.Conv2d(c, c, 3, padding=1, bias=False)
        .to(device, dtype)
        .to(memory_format=torch.channels_last)
    )
    candidates = ((lambda: a @ b, 2 * n**3), (lambda: conv(x), 2 * c * c * 9 * s * s * 4))
    best = 0.0
    with torch.inference_mode():
        for fn, flops in candidates:
            fn()
            for _ in range(3):
                sync(device)
                start = time.perf_counter()
                for _ in range(3):
                    fn()
                sync(device)
                best = max(best, 3 * flops / (time.perf_counter() - start))
    return best


def cut_clip(src: Path, dst: Path, frames: int) -> None:
    arrays = [a for _, a in zip(range(frames), iter_frame_arrays(src))]
    with VideoWriter(dst, 25, audio_from=src) as writer:
        writer.write(torch.from_numpy(np.stack(arrays)).permute(0, 3, 1, 2))


class StageTimer:
    """Wall time per stage from forward hooks on the driver-branch components."""

    def __init__(self, animator: Animator) -> None:
        self.device = animator.device
        self.seconds: dict[str, float] = defaultdict(float)
        self._start: dict[str, float] = {}
        self._handles = []
        for name, stage in STAGES.items():
            module = animator.runner.components[name]
            self._handles.append(module.register_forward_pre_hook(self._pre(name)))
            self._handles.append(module.register_forward_hook(self._post(name, stage)))
        self.active = False

    def _pre(self, name: str):
        def hook(*_):
            if self.active:
                sync(self.device)
                self._start[name] = time.perf_counter()

        return hook

    def _post(self, name: str, stage: str):
        def hook(*_):
            if self.active:
                sync(self.device)
                self.seconds[stage] += time.perf_counter() - self._start[name]

        return hook

    def remove(self) -> None:
        for h in self._handles:
            h.remove()


def count_flops(animator: Animator, source: torch.Tensor, driver: torch.Tensor) -> tuple[float, float]:
    """(source-branch FLOPs, driver-branch FLOPs per frame)."""
    runner = animator.runner
    with FlopCounterMode(display=False) as fc:
        runner.prepare(source=source)
    source_flops = fc.get_total_flops()
    with FlopCounterMode(display=False) as fc:
        runner(driver=driver)
    return source_flops, fc.get_total_flops() / driver.shape[0]


def measure_stream(animator: Animator, source: Path, clip: Path, batch: int, frames: int, tmp: Path) -> dict:
    """One streaming run with stage timing, then one plain run for end-to-end fps."""
    device = animator.device
    animator.set_source(source)
    # decode + face tracking + crop alone
    start = time.perf_counter()
    crops = [b["driver"] for b in animator.driver.stream(clip, batch)]
    decode = time.perf_counter() - start
    # networks, per stage (hooks synchronise; warm-up batch first)
    timer = StageTimer(animator)
    outputs = []
    animator.animate_frames(crops[0].to(device))
    timer.active = True
    sync(device)
    start = time.perf_counter()
    for c in crops:
        outputs.append(animator.animate_frames(c.to(device)).cpu())
    sync(device)
    networks = time.perf_counter() - start
    timer.remove()
    # encode alone
    start = time.perf_counter()
    with VideoWriter(tmp / "encode.mp4", 25) as writer:
        for out in outputs:
            writer.write(out)
    encode = time.perf_counter() - start
    # end to end, as the command runs it (prefetch + background encode), stage hooks off
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
    report = animator.animate(source, clip, tmp / f"e2e_{batch}.mp4", batch_size=batch)
    per_frame = {k: 1e3 * v / frames for k, v in timer.seconds.items()}
    return {
        "batch": batch,
        "decode_crop_ms": 1e3 * decode / frames,
        **{f"{k}_ms": v for k, v in sorted(per_frame.items())},
        "networks_ms": 1e3 * networks / frames,
        "encode_ms": 1e3 * encode / frames,
        "end_to_end_fps": report.fps,
        "end_to_end_ms": 1e3 * report.seconds_per_frame,
        "networks_fps": frames / networks,
        "peak_memory_gb": report.peak_memory_gb,
    }


def measure_cli(args: argparse.Namespace, clip: Path, batch: int, dtype: str, tmp: Path) -> dict:
    """Run ``emoportraits animate`` on ``clip`` in a subprocess and read its own summary line."""
    out = tmp / f"cli_{dtype}_{batch}.mp4"
    weights = ["--checkpoint", args.checkpoint] if args.checkpoint else ["--random-weights"]
    cmd = [sys.executable, "-m", "emoportraits_core", "animate", args.source, str(clip), "-o", str(out), "-q"]
    cmd += [
        *weights,
        "--pipeline",
        args.pipeline,
        "--batch-size",
        str(batch),
        "--dtype",
        dtype,
        "--device",
        args.device,
    ]
    cmd += ["--compile"] if args.compile else []
    done = subprocess.run(cmd, capture_output=True, text=True, check=False)
    match = re.search(r": (\d+) frames? .* in ([\d.]+) s \(", done.stdout)
    if done.returncode != 0 or match is None:
        raise RuntimeError(f"{' '.join(cmd)} failed ({done.returncode}): {done.stderr.strip()[-400:]}")
    frames, seconds = int(match.group(1)), float(match.group(2))
    return {"cli_ms_per_frame": 1e3 * seconds / frames, "cli_summary": done.stdout.strip()}


def measure_naive(animator: Animator, source: Path, clip: Path, frames: int) -> float:
    """ms per frame: one frame at a time, the source re-encoded every frame (float32, eager)."""
    from emoportraits_plugins.face.source import prepare_source

    device = animator.device
    total = 0.0
    crops = [b["driver"] for _, b in zip(range(frames), animator.driver.stream(clip, 1))]
    for crop in crops:
        sync(device)
        start = time.perf_counter()
        src = prepare_source(source, size=animator.image_size)
        animator.runner.prepare(source=src.masked)
        animator.runner(driver=crop.to(device))
        sync(device)
        total += time.perf_counter() - start
    animator.reset_source()  # the runner now holds the last frame's source state
    return 1e3 * total / len(crops)


def machine(device: torch.device) -> str:
    if device.type == "cuda":
        return f"{torch.cuda.get_device_name(device)}, torch {torch.__version__}"
    cpu = platform.processor() or platform.machine()
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    return f"{cpu}, {torch.get_num_threads()} threads, torch {torch.__version__}"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--checkpoint", help="converted weights (default: random weights)")
    ap.add_argument("--pipeline", default="animate")
    ap.add_argument("--source", default=str(DATA / "images" / "photo_woman.jpg"))
    ap.add_argument("--driver", default=str(DATA / "videos" / "drive_talking_a.mp4"))
    ap.add_argument("--frames", type=int, default=4, help="driver frames per measurement")
    ap.add_argument("--batch-sizes", default="1,2,4")
    ap.add_argument("--dtypes", default="float32,bfloat16")
    ap.add_argument("--naive-frames", type=int, default=2, help="frames of the naive baseline (0: skip)")
    ap.add_argument("--device", default="auto")
    ap.add_argument("--compile", action="store_true", help="torch.compile the per-frame networks")
    ap.add_argument("--json", help="also write the results here")
    ap.add_argument("--no-cli", action="store_true", help="skip running the command line for comparison")
    args = ap.parse_args()
    keep_freed_memory()  # as the command line does

    results: dict = {"rows": []}
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        clip = tmp / "clip.mp4"
        cut_clip(Path(args.driver), clip, args.frames)
        for dtype in args.dtypes.split(","):
            animator = Animator.load(
                args.checkpoint, random_weights=args.checkpoint is None, pipeline=args.pipeline,
                device=args.device, dtype=dtype, compile_networks=args.compile,
            )  # fmt: skip
            device = animator.device
            results["machine"] = machine(device)
            if "flops" not in results:
                src = animator.set_source(args.source)
                crop = next(iter(animator.driver.stream(clip, 1)))["driver"].to(device)
                source_flops, driver_flops = count_flops(animator, src.masked, crop)
                animator.reset_source()
                results["flops"] = {
                    "source_tflop": source_flops / 1e12,
                    "driver_tflop_per_frame": driver_flops / 1e12,
                }
            peak = peak_flops(device, animator.dtype)
            for batch in map(int, args.batch_sizes.split(",")):
                row = measure_stream(animator, Path(args.source), clip, batch, args.frames, tmp)
                if not args.no_cli:
                    row.update(measure_cli(args, clip, batch, dtype, tmp))
                row.update(dtype=dtype, device=device.type, peak_tflops=peak / 1e12)
                row["fraction_of_peak"] = (
                    results["flops"]["driver_tflop_per_frame"] * 1e12 * row["networks_fps"] / peak
                )
                results["rows"].append(row)
                print(json.dumps(row), file=sys.stderr)
            if dtype == "float32" and args.naive_frames:
                results["naive_ms_per_frame"] = measure_naive(
                    animator, Path(args.source), clip, args.naive_frames
                )
            del animator
    results["peak_rss_gb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
    print_table(results)
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2))
    return 0


def _cell(value: object) -> str:
    """Floats with 3 significant digits, without exponents (5370, 22.7, 0.193)."""
    if not isinstance(value, float):
        return str(value)
    return f"{value:.0f}" if abs(value) >= 100 else f"{value:.3g}"


def print_table(results: dict) -> None:
    f = results["flops"]
    print(f"machine: {results['machine']}")
    print(
        f"FLOPs: source branch {f['source_tflop']:.2f} TFLOP (once), driver branch {f['driver_tflop_per_frame']:.2f} TFLOP/frame"
    )
    cols = [
        "dtype",
        "batch",
        "decode_crop_ms",
        "motion_ms",
        "warp_ms",
        "render_ms",
        "encode_ms",
        "networks_fps",
        "end_to_end_fps",
        "end_to_end_ms",
        "cli_ms_per_frame",
        "fraction_of_peak",
        "peak_memory_gb",
    ]
    print("| " + " | ".join(cols) + " |")
    print("|" + "---|" * len(cols))
    for row in results["rows"]:
        cells = [_cell(row.get(c, "")) for c in cols]
        print("| " + " | ".join(cells) + " |")
    if "naive_ms_per_frame" in results:
        naive = results["naive_ms_per_frame"]
        best32 = max(
            (r for r in results["rows"] if r["dtype"] == "float32"), key=lambda r: r["end_to_end_fps"]
        )
        print(
            f"naive baseline (1 frame at a time, float32, source re-encoded per frame): {naive:.0f} ms/frame; "
            f"streaming float32 batch {best32['batch']}: {1e3 / best32['end_to_end_fps']:.0f} ms/frame "
            f"-> {naive * best32['end_to_end_fps'] / 1e3:.1f}x"
        )


if __name__ == "__main__":
    sys.exit(main())
