"""The released head-pose regressor for ``prepare --head-pose``: loading it and regressing crops.

Accepted files: the release's ``head_pose_regressor.pth`` (a torch pickle read with
``weights_only=True`` and mapped with the same key rules as ``emoportraits convert``), or a checkpoint
written by ``emoportraits convert`` (its ``motion_encoder.head_pose.*`` tensors). The network is the
motion encoder's (:class:`~emoportraits_plugins.encoders.HeadPoseRegressor`, release configuration);
its input is the crop bilinearly resized to 128 x 128 (``align_corners=False``, values in [0, 1], no
normalisation), exactly as :meth:`MotionEncoder.pose_input` feeds it.

Stored per frame: the raw 9 outputs ``(scale (3), yaw, pitch, roll (radians, NOT clamped), translation
(3))``; :func:`~emoportraits_plugins.encoders.head_pose.split_pose` clamps the angles as the model does.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import Tensor

from emoportraits_core.checkpoint import load_into, read_checkpoint, split_by_component
from emoportraits_core.errors import CheckpointError

from ..backbones.resnet import ResNetConfig
from ..convert.keymap import apply_rules
from ..convert.keymap_encoders import RULES
from ..convert.official import read_state_dict
from ..encoders.head_pose import HeadPoseRegressor
from ..encoders.motion_encoder import MotionEncoderConfig

__all__ = ["PoseRegressor", "file_fingerprint", "load_head_pose_regressor"]

_PREFIX = "motion_encoder.head_pose."
_WHAT = "the released head-pose regressor (head_pose_regressor.pth) or a converted model.safetensors"


def _release_regressor() -> HeadPoseRegressor:
    c = MotionEncoderConfig()
    return HeadPoseRegressor(
        ResNetConfig(
            block="basic",
            layers=c.pose_layers,
            widths=c.pose_widths,
            stem_channels=c.pose_stem_channels,
            norm="batch",
            conv_bias_after_norm=False,
            num_classes=9,
        )
    )


#: ``--head-pose random``: a seeded random regressor (smoke runs of pose training; the poses mean nothing).
RANDOM = "random"


def _random_regressor() -> HeadPoseRegressor:
    import warnings

    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        net = _release_regressor()
    warnings.warn(
        "--head-pose random: a random head-pose regressor (only for smoke runs: the poses mean nothing)",
        stacklevel=3,
    )
    return net.eval()


def load_head_pose_regressor(path: str | os.PathLike[str]) -> HeadPoseRegressor:
    """Build the release-configured regressor and load ``path`` strictly (module docstring);
    ``"random"``: :data:`RANDOM`.

    Raises:
        CheckpointError: missing, unreadable or foreign file; missing, unexpected or misshaped keys.
    """
    if str(path) == RANDOM:
        return _random_regressor()
    path = Path(path)
    net = _release_regressor()
    if path.suffix == ".safetensors":
        state = split_by_component(read_checkpoint(path).tensors).get("motion_encoder", {})
        state = {k.removeprefix("head_pose."): v for k, v in state.items() if k.startswith("head_pose.")}
        if not state:
            raise CheckpointError(f"{path}: holds no '{_PREFIX}*' tensors; expected {_WHAT}")
    else:
        raw = read_state_dict(path, what=_WHAT)
        mapped = apply_rules(raw, RULES, source="head_pose", where=str(path))
        if mapped.unmatched:
            raise CheckpointError(
                f"{path}: unexpected key '{mapped.unmatched[0]}' ({len(mapped.unmatched)} unmatched); "
                f"expected {_WHAT}"
            )
        state = {k.removeprefix(_PREFIX): v for k, v in mapped.tensors.items()}
    state = {k: (v.float() if v.is_floating_point() else v) for k, v in state.items()}
    load_into(net, state, where=str(path))
    return net.eval()


def file_fingerprint(path: str | os.PathLike[str]) -> str:
    """First 16 hex digits of the file's SHA-256 (recorded in the shard index)."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()[:16]


class PoseRegressor:
    """Crops -> raw head pose. ``__call__(crops (B, 3, S, S) float in [0, 1]) -> (B, 9) float32``."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.net = load_head_pose_regressor(path)
        self.input_size = MotionEncoderConfig().pose_input_size

    @torch.inference_mode()
    def __call__(self, crops: Tensor) -> Tensor:
        s = self.input_size
        x = F.interpolate(crops.float(), size=(s, s), mode="bilinear", align_corners=False)
        return self.net.regress(x).float()
