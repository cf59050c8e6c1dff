"""Key map of the encoders: released identity / expression embedders and the head-pose file.

===========================================================  ==============================================
official (after :mod:`.reparam`)                             ours
===========================================================  ==============================================
``idt_embedder_nw.net.{conv1,bn1,layerN.i.*}``                ``identity_encoder.backbone.<same>``
``idt_embedder_nw.net.fc.weight`` (1x1 conv 2048->512)        ``identity_encoder.fc.weight``
``expression_embedder_nw.net_face.net.{conv1,bn1,layerN.i.*}``  ``motion_encoder.expression.backbone.<same>``
``expression_embedder_nw.net_face.net.fc.weight``              ``motion_encoder.expression.fc.weight``
``expression_embedder_nw.net_face.pose_head.weight``           ``motion_encoder.expression.head.weight``
head-pose file ``<torchvision ResNet-18 key>``                ``motion_encoder.head_pose.<same>``
===========================================================  ==============================================

``idt_embedder_nw.{mean,std}``, ``expression_embedder_nw.net_face.{mean,std}`` and the
``identity_grid`` buffers are DERIVED (our modules compute them); ``aligned_keypoints`` is IGNORED.
"""

from __future__ import annotations

from .keymap import KeyRule

__all__ = ["RULES", "resnet_rules"]

_PARAM = r"(?:weight|bias)"
_BN_STATS = r"(?:weight|bias|running_mean|running_var|num_batches_tracked)"


def resnet_rules(
    official_prefix: str, ours_prefix: str, *, source: str = "main", batch_norm: bool = False
) -> list[KeyRule]:
    """Rules for a torchvision-layout ResNet trunk (``conv1``, ``bn1``, ``layerN.i.*``) under
    ``official_prefix`` (a regex without groups; empty for a bare file) -> ``ours_prefix`` (same sub-keys).

    With ``batch_norm`` the norms also carry running statistics and ``num_batches_tracked``.
    """
    norm = _BN_STATS if batch_norm else _PARAM
    parts = (
        r"conv1\.weight",
        rf"bn1\.{norm}",
        rf"layer[1-9]\.\d+\.conv[1-3]\.{_PARAM}",
        rf"layer[1-9]\.\d+\.bn[1-3]\.{norm}",
        r"layer[1-9]\.\d+\.downsample\.0\.weight",
        rf"layer[1-9]\.\d+\.downsample\.1\.{norm}",
    )
    head = rf"{official_prefix}\." if official_prefix else ""
    return [KeyRule(rf"{head}({part})", rf"{ours_prefix}.\1", source) for part in parts]


RULES: list[KeyRule] = [
    # identity encoder (ResNet-50, GroupNorm)
    *resnet_rules(r"idt_embedder_nw\.net", "identity_encoder.backbone"),
    KeyRule(r"idt_embedder_nw\.net\.fc\.weight", "identity_encoder.fc.weight"),
    # expression net of the motion encoder (ResNet-18, GroupNorm)
    *resnet_rules(r"expression_embedder_nw\.net_face\.net", "motion_encoder.expression.backbone"),
    KeyRule(r"expression_embedder_nw\.net_face\.net\.fc\.weight", "motion_encoder.expression.fc.weight"),
    KeyRule(r"expression_embedder_nw\.net_face\.pose_head\.weight", "motion_encoder.expression.head.weight"),
    # head-pose regressor (its own file; torchvision ResNet-18, BatchNorm, fc 512 -> 9)
    *resnet_rules("", "motion_encoder.head_pose", source="head_pose", batch_norm=True),
    KeyRule(rf"(fc\.{_PARAM})", r"motion_encoder.head_pose.\1", "head_pose"),
]
