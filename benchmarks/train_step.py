"""Benchmark of a training step: seconds per iteration and peak memory, and the command's own figure.

Measures, in one run on one machine, for a training pipeline (default ``train_tiny``) on shards of
the sample videos (prepared here at the pipeline's size unless ``--data`` is given):

- seconds per iteration (median over ``--steps`` after ``--warmup``) of :class:`Trainer.step`, for
  each ``--precisions`` (``float32`` eager; ``bfloat16`` autocast; ``+compile`` with ``--compile``),
  and peak memory (CUDA max allocated on a GPU, peak resident memory on the CPU);
- ``emoportraits train`` itself on the same data (the median seconds per step of its summary line
  parsed), so that the benchmark and the command are shown to agree.

    python benchmarks/train_step.py                                    # train_tiny on the CPU
    python benchmarks/train_step.py --device cuda --pipeline train_tiny --precisions float32,bfloat16 --compile

On a GPU, the release's configuration at batch 2 is ``--pipeline train_tiny`` with its presets set to
``release`` once the full-size training pipeline ships (see benchmarks/README.md).
"""

from __future__ import annotations

import argparse
import json
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch

from emoportraits_core import get_registry
from emoportraits_core.allocator import keep_freed_memory
from emoportraits_core.cli import main as cli_main
from emoportraits_core.pipeline import resolve_pipeline
from emoportraits_core.training import DistributedContext, Trainer

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


def peak_memory_gb(device: torch.device) -> float:
    if device.type == "cuda":
        return torch.cuda.max_memory_allocated(device) / 2**30
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20


def measure(args: argparse.Namespace, data: Path, precision: str, compile_: bool, tmp: Path) -> dict:
    """Seconds per step of the trainer (median after warm-up) and peak memory."""
    registry = get_registry()
    sets = [f'data.train.config.root="{data}"', f"train.precision={precision}", *args.set]
    sets += ["train.compile=true"] if compile_ else []
    device = torch.device("cuda" if args.device == "cuda" else "cpu")
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
    trainer = Trainer(
        resolve_pipeline(args.pipeline, sets, registry),
        registry,
        tmp / f"run_{precision}_{compile_}",
        quiet=True,
        dist=DistributedContext(device=device),
    )
    times = []
    for i in range(args.warmup + args.steps):
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        start = time.perf_counter()
        trainer.step()
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        if i >= args.warmup:
            times.append(time.perf_counter() - start)
    return {
        "precision": precision + (" + compile" if compile_ else ""),
        "seconds_per_step": statistics.median(times),
        "peak_memory_gb": peak_memory_gb(device),
    }


def measure_cli(args: argparse.Namespace, data: Path, tmp: Path) -> float:
    """``emoportraits train`` on the same data, float32: the median seconds per step of its summary."""
    steps = args.warmup + args.steps
    cmd = [sys.executable, "-m", "emoportraits_core", "train", args.pipeline, "--data", str(data)]
    cmd += ["--out", str(tmp / "cli"), "--max-steps", str(steps), "-q", "--device", args.device]
    cmd += [arg for s in args.set for arg in ("--set", s)]
    done = subprocess.run(cmd, capture_output=True, text=True, check=False)
    match = re.search(r"median ([\d.]+) s/step", done.stdout)
    if done.returncode != 0 or match is None:
        raise RuntimeError(f"{' '.join(cmd)} failed: {done.stderr.strip()[-400:]}")
    return float(match.group(1))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--pipeline", default="train_tiny")
    ap.add_argument("--data", help="prepared shards (default: the sample videos, prepared here at --size)")
    ap.add_argument("--size", type=int, default=64, help="side of the shards prepared here")
    ap.add_argument("--steps", type=int, default=20)
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--precisions", default="float32,bfloat16")
    ap.add_argument("--compile", action="store_true", help="also measure with torch.compile")
    ap.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    ap.add_argument("--set", action="append", default=[], metavar="KEY=VALUE")
    ap.add_argument("--json", help="also write the results here")
    args = ap.parse_args()
    keep_freed_memory()  # as the command line does
    results: dict = {"pipeline": args.pipeline, "device": args.device, "rows": []}
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        data = Path(args.data) if args.data else tmp / "shards"
        if not args.data:
            argv = ["prepare", str(DATA / "videos"), "-o", str(data), "--size", str(args.size), "-q"]
            if cli_main(argv) != 0:
                raise RuntimeError("preparing the sample videos failed")
        for precision in args.precisions.split(","):
            for compile_ in (False, True) if args.compile else (False,):
                row = measure(args, data, precision, compile_, tmp)
                results["rows"].append(row)
                print(json.dumps(row), file=sys.stderr)
        results["cli_seconds_per_step"] = measure_cli(args, data, tmp)
    results["threads"] = torch.get_num_threads()
    results["torch"] = torch.__version__
    print(f"{args.pipeline} on {args.device} ({results['threads']} threads, torch {results['torch']}):")
    for row in results["rows"]:
        print(
            f"  {row['precision']:<20} {row['seconds_per_step']:.3f} s/step  peak memory {row['peak_memory_gb']:.2f} GB"
        )
    print(f"  emoportraits train (float32, its own summary): {results['cli_seconds_per_step']:.3f} s/step")
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
