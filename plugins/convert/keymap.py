"""The explicit key map from the released EMOPortraits checkpoint to this project's components.

A rule maps one official key (after spectral-norm and weight-standardisation resolution, see
:mod:`.reparam`: ``X.weight_orig`` has become ``X.weight``, ``X.weight_u/v`` are gone) to one key of
ours, ``<component>.<parameter>``, where ``<component>`` is the component's name in
``pipelines/animate.toml``. Rules are ``(official regex, our template)`` pairs matched with
``re.fullmatch`` in order; the template may use ``\\1``-style groups. The tables per network live
beside this module (``keymap_*.py``) and are collected in :data:`RULES`; a test checks that every
key of ``keys.tsv`` maps to exactly one key of ours, with the same shape.

Official keys that inference does not need are listed in :data:`IGNORED` (training-only networks,
BatchNorm statistics of the unused top-level ``bn``) or :data:`DERIVED` (buffers whose values
follow from the architecture, such as identity grids and ImageNet mean/std: our components compute
them). Anything else that no rule maps is an error.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence

import attrs
from torch import Tensor

from emoportraits_core.errors import CheckpointError

__all__ = [
    "DERIVED",
    "IGNORED",
    "KeyRule",
    "MappedState",
    "apply_rules",
    "is_ignored",
    "resblock_rules",
]


@attrs.frozen
class KeyRule:
    """``official`` (regex, fullmatch) -> ``ours`` (template with ``\\1`` groups); ``source`` is the file."""

    official: str
    ours: str
    source: str = "main"  # "main" (the released model file) or "head_pose" (head_pose_regressor.pth)

    def match(self, key: str) -> str | None:
        m = re.fullmatch(self.official, key)
        return m.expand(self.ours) if m else None


#: Prefixes (regex, fullmatch on the key) of official keys that inference never uses.
IGNORED: tuple[str, ...] = (
    r"bn\..*",  # BatchNorm1d(512, affine=False) of the training model
    r"discriminator.*\..*",  # training-only discriminators
    r"(vgg|gaze|face_idt|idt_loss|perc|loss|modnet|face_parsing|retinaface|rtnet)[a-z0-9_]*\..*",  # loss/helper nets
    r"expression_embedder_nw\.aligned_keypoints",  # training-time landmark fitting only
)

#: Official buffers that our components compute from the architecture (values are checked equal).
DERIVED: tuple[str, ...] = (
    r"expression_embedder_nw\.identity_grid(_512)?",
    r"expression_embedder_nw\.net_face\.(mean|std)",
    r"idt_embedder_nw\.(mean|std)",
    r"(xy|uv)_generator_nw\.identity_grid",
)


def resblock_rules(official_prefix: str, ours_prefix: str, source: str = "main") -> list[KeyRule]:
    """Rules for one res block: ``block_feats.0/2/3``, ``block.0``, ``skip.0`` ->
    ``norm1``, ``conv1``, ``norm2``, ``conv2``, ``skip`` (see :class:`~emoportraits_plugins.blocks.ResBlock`).

    ``official_prefix`` is a regex (may hold groups, e.g. ``r"decoder_nw\\.res_decoder\\.(\\d+)"``),
    ``ours_prefix`` a template using them.
    """
    parts = (("block_feats\\.0", "norm1"), ("block_feats\\.2", "conv1"), ("block_feats\\.3", "norm2"),
             ("block\\.0", "conv2"), ("skip\\.0", "skip"))  # fmt: skip
    n = re.compile(official_prefix).groups
    return [
        KeyRule(rf"{official_prefix}\.{off}\.(weight|bias)", rf"{ours_prefix}.{ours}.\{n + 1}", source)
        for off, ours in parts
    ]


@attrs.frozen
class MappedState:
    """Result of :func:`apply_rules`: our flat state, and the official keys ignored or derived."""

    tensors: dict[str, Tensor]
    ignored: list[str]
    derived: dict[str, Tensor]
    unmatched: list[str]


def apply_rules(
    state: Mapping[str, Tensor], rules: Sequence[KeyRule], *, source: str, where: str
) -> MappedState:
    """Map every key of ``state`` (from file ``source``) through ``rules``.

    Keys that no rule maps and that are neither ignored nor derived are returned in
    ``unmatched`` (the caller reports them together with what is missing).

    Raises:
        CheckpointError: two official keys that map to the same key of ours.
    """
    rules = [r for r in rules if r.source == source]
    out: dict[str, Tensor] = {}
    origin: dict[str, str] = {}
    ignored: list[str] = []
    derived: dict[str, Tensor] = {}
    unmatched: list[str] = []
    for key, value in state.items():
        if source == "main" and is_ignored(key):
            ignored.append(key)
            continue
        if source == "main" and _any_match(DERIVED, key):
            derived[key] = value
            continue
        ours = next((m for m in (r.match(key) for r in rules) if m is not None), None)
        if ours is None:
            unmatched.append(key)
            continue
        if ours in out:
            raise CheckpointError(f"{where}: keys '{origin[ours]}' and '{key}' both map to '{ours}'")
        out[ours], origin[ours] = value, key
    return MappedState(out, ignored, derived, unmatched)


def is_ignored(key: str) -> bool:
    """Whether an official main-checkpoint key is training-only (see :data:`IGNORED`)."""
    return _any_match(IGNORED, key)


def _any_match(patterns: Iterable[str], key: str) -> bool:
    return any(re.fullmatch(p, key) for p in patterns)
