"""``emoportraits fit-mouth-pca``: command-line adapter of :func:`.fit_mouth_pca.fit_mouth_pca_from_shards`."""

from __future__ import annotations

import argparse
from pathlib import Path

from emoportraits_core.cli.options import add_weights_options
from emoportraits_core.devices import resolve_device
from emoportraits_core.errors import InputError

__all__ = ["add_parser", "run"]

DESCRIPTION = """\
Fit the mouth PCA of the speech mode's L_PCA loss: the expression latents of prepared frames
(`emoportraits prepare`), given by the image model's motion encoder, go through a PCA, and the
principal components that move with the mouth are kept. A component's mouth score is the larger of
|corr(component score, mouth opening)| and |corr(component score, mouth width)| over the frames, with
opening = |p62 - p66| and width = |p48 - p54| (68 landmarks of the shards) divided by the inter-ocular
distance |p36 - p45|. The K best (--components) are saved, best first, with the mean, every
component's score and variance, in a safetensors file (the loss `mouth_pca` reads it).

Fit it with the motion encoder of the model the speech encoder will drive: a PCA of 128-d latents
does not fit a 16-d tiny model (the loss refuses it).

examples:
  emoportraits fit-mouth-pca shards/ -o mouth_pca.safetensors --checkpoint model.safetensors
  emoportraits fit-mouth-pca vox/ feed/ -o mouth_pca.safetensors --checkpoint model.safetensors --max-frames 50000
  emoportraits fit-mouth-pca shards/ -o demo_pca.safetensors --random-weights --preset tiny
"""


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1, got {value}")
    return value


def _non_negative(text: str) -> int:
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be >= 0, got {value}")
    return value


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "fit-mouth-pca",
        help="fit the mouth PCA of the speech mode (expression latents of prepared frames)",
        description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("data", nargs="+", metavar="DATA", help="shard directories of `emoportraits prepare`")
    p.add_argument("-o", "--output", required=True, metavar="OUT.safetensors", help="the PCA file to write")
    add_weights_options(p)
    p.add_argument(
        "--preset",
        choices=("release", "tiny"),
        default=None,
        help="the motion encoder's config (default: the checkpoint's recorded one, else release)",
    )
    p.add_argument(
        "--max-frames",
        type=_non_negative,
        default=0,
        metavar="N",
        help="use at most N frames, evenly spaced over all videos (default 0: every frame with landmarks)",
    )
    p.add_argument(
        "--components", type=_positive, default=8, metavar="K", help="mouth components to keep (default 8)"
    )
    p.add_argument(
        "--batch-size", type=_positive, default=16, metavar="B", help="frames per batch (default 16)"
    )
    p.add_argument("--device", default="cpu", metavar="DEVICE", help="auto, cpu, cuda, cuda:N (default: cpu)")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from emoportraits_core import get_registry

    from .fit_mouth_pca import fit_mouth_pca_from_shards

    output = Path(args.output)
    if output.is_dir():
        raise InputError(
            f"{output}: is a directory; expected the PCA file to write (e.g. mouth_pca.safetensors)"
        )
    report = fit_mouth_pca_from_shards(
        args.data,
        output,
        registry=get_registry(),
        checkpoint=None if args.random_weights else args.checkpoint,
        preset=args.preset,
        components=args.components,
        max_frames=args.max_frames,
        batch_size=args.batch_size,
        device=resolve_device(args.device),
        seed=args.seed,
        progress=not args.quiet,
    )
    pca = report.pca
    scores = ", ".join(f"{float(pca.scores[i]):.2f}" for i in pca.order)
    print(
        f"fit the mouth PCA of {report.frames} frames ({report.videos} video(s)) of {pca.dim}-d latents in "
        f"{report.seconds:.1f} s: kept {pca.num_components} of {len(pca.scores)} components "
        f"(mouth scores {scores}) -> {output}"
    )
    return 0
