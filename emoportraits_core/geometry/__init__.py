"""Geometry of the core: rotations, affine transforms, sampling grids and volume warps.

Pure torch, differentiable, float32 and float64, batched over any leading dims. One set of
conventions, stated at the top of each module and summarised here:

- vectors are COLUMN vectors (``p' = R @ p``), in the volume grid frame
  ``(u, v, w) = (x -> width W, y -> height H, z -> depth D)``, normalised to ``[-1, 1]``;
- 6D rotations are the first two columns of R, Gram-Schmidt back (Zhou et al. 2019,
  arXiv:1812.07035) -- :mod:`.rotation`;
- Euler angles are ``(yaw, pitch, roll)`` in radians with ``R = Rz(yaw) Ry(pitch) Rx(roll)``, the
  released checkpoint's convention -- :mod:`.euler`;
- affine transforms are homogeneous ``(..., 4, 4)``, ``compose_affine(a, b) = a @ b`` applies b
  first, the released head pose is ``theta = S R T`` -- :mod:`.affine`;
- grids are ``(..., D, H, W, 3)`` of (u, v, w); ``identity_grid(align_corners=True)`` is the
  released model's ``linspace(-1, 1)`` grid, ``align_corners=False`` the voxel centres -- :mod:`.grids`;
- warping always samples with ``grid_sample(bilinear, zeros, align_corners=False)`` (the torch
  defaults, as in the released model) -- :mod:`.warp`.

Functions that can meet degenerate input (``rotation_6d_to_matrix``, ``invert_affine``) check it by
default at the cost of one host-device sync; pass ``check=False`` in hot paths. Bad shapes raise
:class:`~emoportraits_core.errors.InputError` (a ``ValueError``) naming the argument and the shape.
Property-based checks of all of this live in :mod:`emoportraits_conformance.geometry`.
"""

from .affine import apply_affine, compose_affine, invert_affine, make_affine, pose_to_affine
from .euler import euler_to_matrix, matrix_to_euler
from .grids import grid_to_volume, identity_grid, transform_grid, volume_to_grid
from .rotation import geodesic_angle, matrix_to_rotation_6d, rotation_6d_to_matrix
from .warp import compose_warps, warp_volume

__all__ = [
    "apply_affine",
    "compose_affine",
    "compose_warps",
    "euler_to_matrix",
    "geodesic_angle",
    "grid_to_volume",
    "identity_grid",
    "invert_affine",
    "make_affine",
    "matrix_to_euler",
    "matrix_to_rotation_6d",
    "pose_to_affine",
    "rotation_6d_to_matrix",
    "transform_grid",
    "volume_to_grid",
    "warp_volume",
]
