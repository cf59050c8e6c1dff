"""The release's augmentations (emoportraits_plugins.data.augment): identities, determinism, formulas."""

from __future__ import annotations

import colorsys

import pytest
import torch
import torch.nn.functional as F

from emoportraits_core.geometry import euler_to_matrix
from emoportraits_plugins.data import augment as A


def _image(seed: int = 0, size: int = 32) -> torch.Tensor:
    coarse = torch.rand(1, 3, 6, 6, generator=torch.Generator().manual_seed(seed))
    return F.interpolate(coarse, size=(size, size), mode="bilinear", align_corners=False)[0]


def _gen(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def test_flip_twice_is_identity_for_images_landmarks_and_poses():
    image, mask = _image(), _image(1)[:1]
    marks = torch.rand(68, 3) * 2 - 1
    pose = torch.randn(9)
    (im2, m2), (l2,), (p2,) = A.joint_hflip([image, mask], [marks], _gen(), p=1.0, poses=[pose])
    assert not torch.equal(im2, image)
    torch.testing.assert_close(l2[:, 0], -marks[:, 0])
    (im3, m3), (l3,), (p3,) = A.joint_hflip([im2, m2], [l2], _gen(), p=1.0, poses=[p2])
    assert torch.equal(im3, image) and torch.equal(m3, mask)
    assert torch.equal(l3, marks) and torch.equal(p3, pose)


def test_flip_moves_landmarks_with_the_pixels():
    """A bright pixel at a landmark stays under the landmark after the flip (normalised x, pixel edges)."""
    size, col, row = 16, 3, 5
    image = torch.zeros(3, size, size)
    image[:, row, col] = 1.0
    marks = torch.tensor([[(col + 0.5) / size * 2 - 1, (row + 0.5) / size * 2 - 1, 0.3]]).expand(68, 3)
    (flipped,), (fm,), _ = A.joint_hflip([image], [marks], _gen(), p=1.0)
    x = round(((fm[0, 0].item() + 1) / 2) * size - 0.5)
    assert flipped[0, row, x] == 1.0 and fm[0, 2] == marks[0, 2]


def test_pose_flip_is_the_mirrored_rotation():
    """M R(yaw, pitch, roll) M == R(flipped angles) with M = diag(-1, 1, 1); tx changes sign."""
    pose = torch.tensor([1.1, 0.9, 1.0, 0.3, -0.2, 0.5, 0.1, -0.05, 0.2], dtype=torch.float64)
    flipped = A.hflip_pose(pose)
    m = torch.diag(torch.tensor([-1.0, 1.0, 1.0], dtype=torch.float64))
    torch.testing.assert_close(m @ euler_to_matrix(pose[3:6]) @ m, euler_to_matrix(flipped[3:6]))
    torch.testing.assert_close(flipped[6:], m @ pose[6:])
    torch.testing.assert_close(flipped[:3], pose[:3])


def test_flip_probability_zero_keeps_everything():
    image = _image()
    (out,), _, _ = A.joint_hflip([image], [], _gen(), p=0.0)
    assert out is image


def test_color_jitter_with_zero_ranges_is_identity():
    image = _image()
    out = A.joint_color_jitter([image, image * 0.5], _gen(), p=1.0, ranges=(0.0, 0.0, 0.0, 0.0))
    assert torch.equal(out[0], image) and torch.equal(out[1], image * 0.5)


def test_joint_color_jitter_uses_one_draw_for_all_images():
    image = _image()
    for seed in range(5):
        a, b = A.joint_color_jitter([image, image.clone()], _gen(seed), p=1.0)
        assert torch.equal(a, b)
        assert not torch.equal(a, image)


def test_color_jitter_probability():
    image = _image()
    changed = sum(
        not torch.equal(A.joint_color_jitter([image], _gen(seed), p=0.8)[0], image) for seed in range(300)
    )
    assert 0.72 < changed / 300 < 0.88


def test_same_generator_same_result():
    image = _image()
    for fn in (
        lambda g: A.joint_color_jitter([image], g)[0],
        lambda g: A.elastic_warp(image, g),
        lambda g: A.expression_copy(image, g),
        lambda g: A.random_grayscale(image, g, p=0.5),
    ):
        assert torch.equal(fn(_gen(7)), fn(_gen(7)))
    assert not torch.equal(A.expression_copy(image, _gen(1)), A.expression_copy(image, _gen(2)))


def test_sampled_factors_lie_in_their_ranges():
    for seed in range(50):
        p = A.sample_color_jitter(_gen(seed), 0.3, 0.3, 0.3, 0.3)
        assert sorted(p.order) == [0, 1, 2, 3]
        for factor in (p.brightness, p.contrast, p.saturation):
            assert 0.7 <= factor <= 1.3
        assert -0.3 <= p.hue <= 0.3
    with pytest.raises(ValueError, match="hue"):
        A.sample_color_jitter(_gen(), hue=0.6)


def test_hue_matches_colorsys():
    image = torch.rand(3, 4, 5, generator=_gen(3), dtype=torch.float64)
    shift = 0.27
    out = A.apply_color_jitter(image, A.JitterParams(hue=shift))
    for y in range(4):
        for x in range(5):
            h, s, v = colorsys.rgb_to_hsv(*image[:, y, x].tolist())
            ref = colorsys.hsv_to_rgb((h + shift) % 1.0, s, v)
            torch.testing.assert_close(out[:, y, x], torch.tensor(ref, dtype=torch.float64))


def test_brightness_contrast_saturation_formulas():
    image = _image()
    gray = A.rgb_to_grayscale(image)
    torch.testing.assert_close(A.apply_color_jitter(image, A.JitterParams(brightness=0.5)), image * 0.5)
    torch.testing.assert_close(
        A.apply_color_jitter(image, A.JitterParams(contrast=0.0)), gray.mean().expand_as(image)
    )
    torch.testing.assert_close(
        A.apply_color_jitter(image, A.JitterParams(saturation=0.0)), gray.expand_as(image)
    )


def test_elastic_warp_with_zero_jitter_is_identity():
    image = _image(size=64)
    torch.testing.assert_close(A.elastic_warp(image, _gen(), sigma=0.0), image, atol=1e-5, rtol=0)
    batch = torch.stack([image, image.flip(-1)])
    torch.testing.assert_close(A.elastic_warp(batch, _gen(), sigma=0.0), batch, atol=1e-5, rtol=0)


def test_elastic_warp_moves_pixels_by_about_the_release_jitter():
    """At 512 px the control points move by N(0, 6.4 px): a warped copy differs, keeps the borders
    fixed (the outer control points do not move), and a smooth image stays close."""
    image = _image(size=512)
    out = A.elastic_warp(image, _gen(1))
    assert out.shape == image.shape and out.min() >= 0 and out.max() <= 1
    diff = (out - image).abs()
    assert diff.mean() > 1e-4
    assert diff[:, :, 0].max() < 0.05 and diff[:, 0, :].max() < 0.05
    assert diff.mean() < 0.02


def test_expression_copy_grayscale_probability():
    image = _image()
    gray = sum(
        bool(torch.equal(c[0], c[1]) and torch.equal(c[1], c[2]))
        for c in (A.expression_copy(image, _gen(seed), jitter=0.0) for seed in range(600))
    )
    assert 10 <= gray <= 55  # p = 0.05: 30 expected


def test_masking_helpers():
    image, mask = _image(), (_image(1)[:1] > 0.5).float()
    torch.testing.assert_close(A.mask_source(image, mask), image * mask)
    green = A.on_green(image, mask)
    outside = mask[0] == 0
    assert torch.equal(green[:, outside], torch.tensor(A.GREEN).view(3, 1).expand(3, int(outside.sum())))
    assert torch.equal(green[:, ~outside], image[:, ~outside])
    half = A.on_green(image, torch.full_like(mask, 0.5))
    torch.testing.assert_close(half, 0.5 * image + 0.5 * torch.tensor(A.GREEN).view(3, 1, 1))
