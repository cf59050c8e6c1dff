"""``emoportraits train``: thin adapter over :class:`emoportraits_core.training.Trainer`."""

from __future__ import annotations

import argparse
import statistics
import sys
import time

from ..errors import PipelineError
from .options import add_set_option, device_of

__all__ = ["add_parser"]

DESCRIPTION = """\
Train the components of a training pipeline (a TOML file with [losses.*], [optimizers.*],
[schedules.*], [data.*] and [train]). Checkpoints go to OUT/checkpoints/ (the latest always at
OUT/checkpoints/last/: the networks as a project checkpoint, every optimizer, schedule, the data
position and every random state), written atomically every [train] checkpoint_every steps and on
exit, Ctrl-C included; TensorBoard logs to OUT/tb. --resume continues a run so that the following
steps are the same as without the interruption (bit for bit on a CPU in float32).

Distributed: start it with torchrun, one process per GPU (or CPU process with gloo), e.g.
  torchrun --nproc-per-node 2 --no-python emoportraits train PIPELINE --out OUT

examples:
  emoportraits train pipelines/train_tiny.toml --out runs/tiny --data shards/ --max-steps 200
  emoportraits train my_train.toml --out runs/a --set losses.vgg19.weight=20 --set train.batch_size=4
  emoportraits train my_train.toml --out runs/a --resume runs/a
  emoportraits train my_train.toml --out runs/ft --init model.safetensors
  emoportraits train train_tiny --out runs/t --data shards --set train.eval_every=500   # eval/* in TensorBoard
"""


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "train",
        help="train a pipeline's components (checkpoints, resume, TensorBoard, torchrun)",
        description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("pipeline", metavar="PIPELINE", help="a training pipeline file or shipped name")
    p.add_argument("--out", required=True, metavar="DIR", help="run directory: checkpoints/ and tb/")
    p.add_argument(
        "--data",
        nargs="+",
        default=[],
        metavar="DIR",
        help="data directories, in the order of the [data.*] tables (sets each one's config.root)",
    )
    add_set_option(p)
    p.add_argument("--max-steps", type=int, default=None, metavar="N", help="stop after N steps in all")
    resume = p.add_mutually_exclusive_group()
    resume.add_argument("--resume", metavar="DIR", help="continue the run in DIR (its checkpoints/last)")
    resume.add_argument(
        "--init", metavar="MODEL.safetensors", help="start from these weights (e.g. the converted release)"
    )
    p.add_argument(
        "--device",
        default="auto",
        metavar="DEVICE",
        help="auto, cpu, cuda (default: auto; torchrun: one GPU per process)",
    )
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=run)


def data_overrides(pipeline: str, dirs: list[str], overrides: list[str]) -> list[str]:
    """``--data DIR...`` as ``data.<key>.config.root=DIR`` overrides, in the order of the tables."""
    from ..pipeline import load_pipeline

    if not dirs:
        return overrides
    keys = list(load_pipeline(pipeline, overrides).data)
    if len(dirs) > len(keys):
        raise PipelineError(
            f"--data: {len(dirs)} directories for {len(keys)} [data.*] tables ({', '.join(keys) or 'none'})"
        )
    return [*overrides, *(f'data.{k}.config.root="{d}"' for k, d in zip(keys, dirs))]


def run(args: argparse.Namespace) -> int:
    from ..pipeline import resolve_pipeline
    from ..plugin_manager import get_plugin_manager, get_registry
    from ..training import DistributedContext, Trainer

    if args.max_steps is not None and args.max_steps < 1:
        raise PipelineError(f"--max-steps {args.max_steps}: expected a positive number of steps")
    registry = get_registry()
    resolved = resolve_pipeline(
        args.pipeline, data_overrides(args.pipeline, args.data, args.overrides), registry
    )
    if resolved.spec.mode != "train":
        raise PipelineError(
            f'{resolved.path}: not a training pipeline ([pipeline] mode = "{resolved.spec.mode}")'
        )
    evaluator = None
    if resolved.spec.train.eval_every:
        evaluator = get_plugin_manager().hook.emoportraits_training_evaluator(
            resolved=resolved, registry=registry
        )
        if evaluator is None:
            raise PipelineError(
                f"{resolved.path}: [train] eval_every = {resolved.spec.train.eval_every} but no installed "
                "plugin evaluates training runs (hook emoportraits_training_evaluator)"
            )
    with DistributedContext.from_env(device_of(args)).session() as dist:
        trainer = Trainer(
            resolved,
            registry,
            args.out,
            resume=args.resume,
            init=args.init,
            quiet=args.quiet,
            dist=dist,
            evaluator=evaluator if dist.is_main else None,
        )
        first = trainer.state.step
        start = time.perf_counter()
        state = trainer.fit(args.max_steps)
        seconds = time.perf_counter() - start
    if dist.is_main:
        done = state.step - first
        times = getattr(trainer, "step_seconds", [])
        rate = f"median {statistics.median(times):.3f} s/step" if times else "no step"
        print(
            f"trained to step {state.step} (epoch {state.epoch}): {done} steps in {seconds:.1f} s ({rate}); "
            f"checkpoints in {args.out}/checkpoints/last",
            file=sys.stdout,
        )
    return 0
