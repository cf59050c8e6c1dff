"""``emoportraits pipeline list|show|validate|run``: thin adapters over :mod:`emoportraits_core.pipeline`."""

from __future__ import annotations

import argparse
import time
from typing import TYPE_CHECKING

from ..errors import PipelineError
from .options import add_device_options, add_set_option, add_weights_options, device_of, dtype_of

if TYPE_CHECKING:
    from ..pipeline import ResolvedPipeline
    from ..registry import Registry

__all__ = ["add_parser"]

DESCRIPTION = """\
A pipeline is a TOML file that names components (kind, registry name, config), wires them into
a graph of nodes, and names its inputs and outputs (see `emoportraits pipeline show animate`).
FILE may be a path or the name of a shipped pipeline (`emoportraits pipeline list`).
"""


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "pipeline",
        help="show, validate or run a declarative pipeline (TOML)",
        description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.set_defaults(func=lambda args: p.print_help() or 2)
    cmds = p.add_subparsers(dest="pipeline_command", metavar="SUBCOMMAND")

    ls = cmds.add_parser("list", help="list the shipped pipelines", description="List the shipped pipelines.")
    ls.set_defaults(func=_list)

    show = cmds.add_parser(
        "show",
        help="print the resolved graph: components, configs, wiring, stages",
        description="Check a pipeline and print it resolved: each component's kind, registry name, "
        "providing distribution and full config (defaults filled in, preset applied); each node's "
        "stage (static: once per source; stream: per frame batch) and wiring with port types; the "
        "outputs; and the training sections. Builds nothing and loads no weights.",
    )
    _add_common(show)
    show.add_argument("--json", action="store_true", help="machine-readable JSON instead of text")
    show.set_defaults(func=_show)

    val = cmds.add_parser(
        "validate",
        help="check a pipeline without building it",
        description="Check a pipeline against the installed plugins (names, configs, wiring, port "
        "types, cycles, training sections) and print 'ok' or the first problem.",
    )
    _add_common(val)
    val.set_defaults(func=_validate)

    _add_run(cmds)


def _add_run(cmds: argparse._SubParsersAction) -> None:
    run = cmds.add_parser(
        "run",
        help="run a pipeline once on input files (or random inputs) and save its outputs",
        description="Build a pipeline, feed it inputs and write its outputs. Image and mask inputs "
        "are PNG/JPEG files; other inputs are .safetensors files. Without --checkpoint the "
        "components have random weights (useful to check a pipeline end to end).",
    )
    _add_common(run)
    run.add_argument(
        "--input",
        "-i",
        action="append",
        default=[],
        metavar="NAME=PATH",
        help="a pipeline input from a file, e.g. --input source=photo.png; a stream input given "
        "several times is stacked into one batch (repeatable)",
    )
    run.add_argument(
        "--random-inputs",
        action="store_true",
        help="draw every input not given with --input at random, in the shape its first node expects",
    )
    run.add_argument("--batch", type=int, default=1, help="batch size of random stream inputs (default: 1)")
    add_weights_options(run, required=False)
    add_device_options(run, default_device="cpu")
    run.add_argument(
        "-o",
        "--output",
        required=True,
        metavar="OUT",
        help="where to save: OUT.safetensors (every output) or OUT.png / OUT.jpg (image outputs; "
        "several images get _<output>_<index> suffixes)",
    )
    run.set_defaults(func=_run)


def _add_common(p: argparse.ArgumentParser) -> None:
    p.add_argument("pipeline", metavar="FILE", help="a pipeline file, or the name of a shipped pipeline")
    add_set_option(p)


def _resolve(args: argparse.Namespace) -> tuple[Registry, ResolvedPipeline]:
    from ..pipeline import load_pipeline, validate_pipeline
    from ..plugin_manager import get_registry

    registry = get_registry()
    return registry, validate_pipeline(load_pipeline(args.pipeline, args.overrides), registry)


def _list(args: argparse.Namespace) -> int:
    import emoportraits_pipelines

    names = emoportraits_pipelines.available()
    for name in names:
        print(f"{name:<20} {emoportraits_pipelines.path(name)}")
    if not names:
        print("(no shipped pipelines)")
    return 0


def _show(args: argparse.Namespace) -> int:
    from ..pipeline import format_pipeline, pipeline_json

    _, resolved = _resolve(args)
    print(pipeline_json(resolved) if args.json else format_pipeline(resolved))
    return 0


def _validate(args: argparse.Namespace) -> int:
    _, resolved = _resolve(args)
    print(f"ok: {resolved.path}: {len(resolved.components)} components, {len(resolved.nodes)} nodes")
    return 0


def _run(args: argparse.Namespace) -> int:
    import torch

    from ..pipeline import build
    from ..pipeline.files import check_output_path, random_inputs, read_inputs, summarize, write_outputs

    if args.batch < 1:
        raise PipelineError(f"--batch {args.batch}: expected a batch size >= 1")
    device = device_of(args)
    registry, resolved = _resolve(args)
    check_output_path(resolved, args.output)
    inputs = read_inputs(resolved, args.input)
    missing = [name for name in resolved.inputs if name not in inputs]
    if missing and not args.random_inputs:
        listing = ", ".join(f"{n} ({resolved.inputs[n].type})" for n in missing)
        raise PipelineError(
            f"{resolved.path}: missing input{'s' if len(missing) > 1 else ''} {listing}; give --input {missing[0]}=PATH or --random-inputs"
        )
    dtype = dtype_of(args)
    torch.manual_seed(args.seed)  # random weights (no --checkpoint, or --random-weights) are seeded
    checkpoint = None if args.random_weights else args.checkpoint
    runner = build(resolved, registry, device=device, dtype=dtype, checkpoint=checkpoint)
    inputs.update(random_inputs(runner, missing, batch=args.batch, seed=args.seed))
    start = time.perf_counter()
    outputs = runner.run_all(**inputs)
    elapsed = time.perf_counter() - start
    written = write_outputs(outputs, resolved.output_types, args.output, metadata={"pipeline": resolved.path})
    where = str(written[0]) if len(written) == 1 else f"{len(written)} files ({written[0]}, ...)"
    print(f"ok: {resolved.path}: {summarize(outputs)} -> {where} in {elapsed:.2f} s")
    return 0
