"""The weightless graph operations (kind ``op``): values, and the generic conformance contract."""

from __future__ import annotations

import pytest
import torch

from emoportraits_conformance import conformance_tests
from emoportraits_core import Motion

pytestmark = pytest.mark.filterwarnings("ignore:.*no weights file configured")  # the face parser's

test_mask_image = conformance_tests("op", "mask_image", preset="tiny", registry="registry")
test_background = conformance_tests("op", "background", preset="tiny", registry="registry")
test_face_align = conformance_tests("op", "face_align", preset="tiny", registry="registry")
test_expression_latent = conformance_tests("op", "expression_latent", preset="tiny", registry="registry")
test_mixing_motion = conformance_tests("op", "mixing_motion", preset="tiny", registry="registry")
test_roll_batch = conformance_tests("op", "roll_batch", preset="tiny", registry="registry")
test_canonical_alignment = conformance_tests("op", "canonical_alignment", preset="tiny", registry="registry")
test_face_parser = conformance_tests("op", "face_parser", preset="tiny", registry="registry")


def test_background_puts_the_masked_image_on_green(registry):
    op = registry.create("op", "background", image_size=4)
    image, mask = torch.rand(2, 3, 4, 4), torch.zeros(2, 1, 4, 4)
    mask[..., :2] = 1
    out = op(image=image, mask=mask)
    assert torch.equal(out[..., :2], image[..., :2])
    assert torch.equal(out[:, :, :, 2:], torch.tensor([0.0, 1.0, 0.0]).view(1, 3, 1, 1).expand(2, 3, 4, 2))


def test_face_align_follows_the_pose(registry):
    """Identity pose, zoom 1: the image resampled on the release's grid (linspace corners sampled with
    align_corners=False: nearly the identity); a translation along +x moves the content along +x."""
    op = registry.create("op", "face_align", image_size=8, size=8, zoom=1.0, expression_dim=2)
    image = torch.zeros(1, 3, 8, 8)
    image[..., 5] = 1.0  # a bright column right of centre

    def centroid(motion: Motion) -> float:
        columns = op(image=image, motion=motion)[0, 0].sum(0)
        return float((columns * torch.arange(8)).sum() / columns.sum())

    still = Motion(torch.eye(3)[None], torch.zeros(1, 3), torch.zeros(1, 2))
    moved = Motion(torch.eye(3)[None], torch.tensor([[0.25, 0.0, 0.0]]), torch.zeros(1, 2))
    assert abs(centroid(still) - 5.0) < 0.3
    assert centroid(moved) > centroid(still) + 0.5


def test_expression_latent_keeps_gradients(registry):
    op = registry.create("op", "expression_latent", dim=3)
    z = torch.randn(2, 3, requires_grad=True)
    op(motion=Motion(torch.eye(3).expand(2, 3, 3), torch.zeros(2, 3), z)).sum().backward()
    assert torch.equal(z.grad, torch.ones(2, 3))


def _motion(b: int, z: torch.Tensor, t: float = 0.0, scale: float = 1.0) -> Motion:
    return Motion(torch.eye(3).expand(b, 3, 3), torch.full((b, 3), t), z, torch.full((b, 3), scale))


def test_mixing_motion_rolls_expressions_and_pools_poses(registry):
    op = registry.create("op", "mixing_motion", pool_batches=2, max_batch_size=2, expression_dim=2)
    z = torch.tensor([[1.0, 0.0], [0.0, 1.0]], requires_grad=True)
    driver, source = _motion(2, z, t=0.1, scale=2.0), _motion(2, torch.zeros(2, 2), scale=1.0)
    op.eval()
    out = op(driver=driver, source=source)
    assert torch.equal(out.expression, z.roll(1, 0)) and not out.expression.requires_grad
    assert torch.equal(out.translation, driver.translation)  # eval: no pool, the driver's pose
    assert torch.allclose(out.scale, torch.full((2, 3), 2.0))  # the source's scale to the target's mean
    assert int(op.pool_size) == 0
    op.train()
    for t in (0.2, 0.3, 0.4):
        op(driver=_motion(2, z, t=t), source=source)
    pooled = {round(v, 4) for v in op.pool[:, 9].tolist()}
    assert int(op.pool_size) == 4 and pooled == {0.3, 0.4}  # FIFO of the last 2 batches
    torch.manual_seed(0)
    drawn = op(driver=_motion(2, z, t=0.5), source=source).translation[:, 0]
    assert {round(v, 4) for v in drawn.tolist()} <= {0.4, 0.5}  # the pool (now 0.4, 0.5) or its own


def test_roll_batch_rolls_items(registry):
    op = registry.create("op", "roll_batch", shift=-1, dim=1)
    assert op(latent=torch.tensor([[1.0], [2.0], [3.0]])).flatten().tolist() == [2.0, 3.0, 1.0]


def _pose(batch: int, scale: float) -> Motion:
    from emoportraits_core.geometry import euler_to_matrix

    angles = (torch.rand(batch, 3) - 0.5) * 0.8
    return Motion(
        euler_to_matrix(angles),
        (torch.rand(batch, 3) - 0.5) * 0.3,
        torch.randn(batch, 16),
        torch.full((batch, 3), scale),
    )


def test_canonical_alignment_puts_the_driver_landmarks_on_the_source(registry):
    """The aligned driver pose maps the driver's landmarks onto the source's canonical ones (isotropic
    scale: exact), and a driver that is the source keeps its own pose with the source's scale."""
    from emoportraits_core.geometry import euler_to_matrix
    from emoportraits_core.geometry.affine import apply_affine, invert_affine, pose_to_affine

    op = registry.create("op", "canonical_alignment", preset="tiny")
    torch.manual_seed(0)
    source, driver = _pose(3, 1.1), _pose(3, 0.9)
    theta = lambda m: pose_to_affine(m.scale_or_ones(), m.rotation, m.translation)  # noqa: E731
    canonical = (torch.rand(3, 68, 3) - 0.5) * 1.5  # the source's landmarks in its canonical frame
    source_marks = apply_affine(invert_affine(theta(source)), canonical)
    # the driver's canonical landmarks: the source's under a similarity (another face shape would not fit)
    q = euler_to_matrix(torch.tensor([[0.1, -0.2, 0.05]] * 3))
    moved = 1.3 * canonical @ q.transpose(1, 2) + torch.tensor([0.05, -0.1, 0.02])
    with_source_scale = Motion(driver.rotation, driver.translation, driver.expression, source.scale)
    driver_marks = apply_affine(invert_affine(theta(with_source_scale)), moved)
    out = op(driver=driver, source=source, driver_landmarks=driver_marks, source_landmarks=source_marks)
    assert torch.allclose(apply_affine(theta(out), driver_marks), canonical, atol=1e-4)
    assert torch.equal(out.expression, driver.expression)
    out.check_rotation()
    same = op(driver=source, source=source, driver_landmarks=source_marks, source_landmarks=source_marks)
    assert torch.allclose(theta(same), theta(source), atol=1e-5)
