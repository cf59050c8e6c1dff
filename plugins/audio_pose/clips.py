"""Ground-truth pose sequences for the audio -> head-pose GAN, from the head-pose regressor's output.

A training clip stores, per frame, the released regressor's raw 9 outputs (``prepare --head-pose``,
:mod:`emoportraits_plugins.data.head_pose`): ``scale (3), yaw, pitch, roll (radians, not clamped),
translation (3)``. :func:`pose_targets` turns them into the GAN's representation (:mod:`.pose`): the
angles clamped as the model does (:func:`~emoportraits_plugins.encoders.head_pose.split_pose`), the
rotation built in the released Euler convention (``R = Rz(yaw) Ry(pitch) Rx(roll)``,
:func:`~emoportraits_core.geometry.euler_to_matrix`), then rotation and translation made relative to the
first frame. The scale is dropped (the sequence carries no scale).
"""

from __future__ import annotations

from torch import Tensor

from emoportraits_core import InputError
from emoportraits_core.geometry import euler_to_matrix

from ..encoders.head_pose import DEFAULT_ANGLE_RANGE, split_pose
from .pose import relative_to_first

__all__ = ["pose_targets"]


def pose_targets(head_pose: Tensor, angle_range: tuple[float, float] = DEFAULT_ANGLE_RANGE) -> Tensor:
    """Raw regressor outputs ``head_pose (..., T, 9)`` -> ``(..., T, 9)`` relative 6D rotation +
    translation, frame 0 exactly the identity.

    Args:
        head_pose: per frame ``(scale (3), yaw, pitch, roll, translation (3))``, angles in radians.
        angle_range: clamp of the angles before the rotation is built (the release's ``[-pi/2, pi]``).

    Returns:
        ``(..., T, 9)`` in ``head_pose``'s dtype (the stored raw poses are float32).
    """
    if not isinstance(head_pose, Tensor) or head_pose.dim() < 2 or head_pose.shape[-1] != 9:
        got = tuple(head_pose.shape) if isinstance(head_pose, Tensor) else type(head_pose).__name__
        raise InputError(f"pose_targets: head_pose must be (..., T, 9) raw regressor outputs, got {got}")
    if head_pose.shape[-2] < 1:
        raise InputError("pose_targets: head_pose holds no frame")
    _scale, angles, translation = split_pose(head_pose, angle_range)
    return relative_to_first(euler_to_matrix(angles), translation)
