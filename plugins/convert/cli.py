"""``emoportraits convert``: command-line adapter of :func:`.converter.convert`."""

from __future__ import annotations

import argparse
import time

from emoportraits_core.errors import InputError

__all__ = ["add_parser"]

DESCRIPTION = """\
Convert the released EMOPortraits checkpoint (a torch pickle) into one safetensors file that
`emoportraits animate --checkpoint` loads strictly and fast.

The release ships two files: the model (logs/<run>/checkpoints/328_model.pth in logs.zip) and
the head-pose regressor (head_pose_regressor.pth in repos.zip). Pickles are read with
weights_only=True (no code runs). Spectral norm and weight standardisation are folded into plain
weights; training-only keys (discriminator, BatchNorm statistics) are listed and ignored.

example:
  emoportraits convert 328_model.pth --head-pose head_pose_regressor.pth -o model.safetensors
"""


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "convert",
        help="convert the released EMOPortraits checkpoint to safetensors",
        description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("released", metavar="RELEASED.pth", help="the released model file (e.g. 328_model.pth)")
    p.add_argument(
        "--head-pose", required=True, metavar="HPR.pth", help="head_pose_regressor.pth from the release"
    )
    p.add_argument(
        "-o", "--output", required=True, metavar="OUT.safetensors", help="where to write the checkpoint"
    )
    p.add_argument("-q", "--quiet", action="store_true", help="print only errors")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from emoportraits_core import get_registry

    from .converter import convert

    if not str(args.output).endswith(".safetensors"):
        raise InputError(f"{args.output}: the output must end in .safetensors")
    start = time.perf_counter()
    log = (lambda _m: None) if args.quiet else print
    report = convert(args.released, args.head_pose, args.output, registry=get_registry(), log=log)
    if not args.quiet:
        if report.ignored:
            print(
                f"ignored {len(report.ignored)} training-only keys: {', '.join(report.ignored[:6])}"
                + (" ..." if len(report.ignored) > 6 else "")
            )
        print(
            f"computed by the components (not copied): {len(report.derived)} buffers ({', '.join(report.derived)})"
        )
        print(
            f"wrote {report.output}: {report.num_tensors} tensors, {report.num_values / 1e6:.1f} M values "
            f"in {time.perf_counter() - start:.1f} s"
        )
    return 0
