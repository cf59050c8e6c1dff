"""The 468 -> 68 landmark table and the release's normalisation (emoportraits_plugins.data.landmarks)."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import DATA

from emoportraits_plugins.data.landmarks import (
    IBUG68_MIRROR,
    IBUG68_PARTS,
    MESH_TO_IBUG68,
    mesh_to_ibug68,
    normalize_landmarks,
)


def _mesh_part(name: str) -> set[int]:
    import mediapipe as mp

    edges = getattr(mp.solutions.face_mesh_connections, name)
    return {i for edge in edges for i in edge}


def test_table_is_68_distinct_mesh_vertices():
    assert len(MESH_TO_IBUG68) == 68
    assert len(set(MESH_TO_IBUG68)) == 68
    assert all(0 <= i < 468 for i in MESH_TO_IBUG68)
    assert sorted(i for part in IBUG68_PARTS.values() for i in part) == list(range(68))


def test_parts_lie_on_mediapipe_contours():
    """Eyes and lips are points of mediapipe's eye and lip contours (the subject's right eye is
    mediapipe's RIGHT_EYE), the jaw of the face oval, the brows of the brow contours (ends excepted)."""
    table = np.array(MESH_TO_IBUG68)
    assert set(table[list(IBUG68_PARTS["right_eye"])]) <= _mesh_part("FACEMESH_RIGHT_EYE")
    assert set(table[list(IBUG68_PARTS["left_eye"])]) <= _mesh_part("FACEMESH_LEFT_EYE")
    lips = list(IBUG68_PARTS["outer_lips"]) + list(IBUG68_PARTS["inner_lips"])
    assert set(table[lips]) <= _mesh_part("FACEMESH_LIPS")
    assert set(table[list(IBUG68_PARTS["jaw"])]) <= _mesh_part("FACEMESH_FACE_OVAL")
    assert set(table[18:22]) <= _mesh_part("FACEMESH_RIGHT_EYEBROW")
    assert set(table[22:26]) <= _mesh_part("FACEMESH_LEFT_EYEBROW")


def test_mirror_table_is_an_involution_that_swaps_sides():
    mirror = np.array(IBUG68_MIRROR)
    assert (mirror[mirror] == np.arange(68)).all()
    for right, left in (("right_eye", "left_eye"), ("right_brow", "left_brow")):
        assert set(mirror[list(IBUG68_PARTS[right])]) == set(IBUG68_PARTS[left])


def test_normalisation_matches_the_release_formula():
    """((p - crop) / size - 0.5) * 2 for x, y and z * 2 / (w + h) * 2 with w = h = the crop side."""
    rng = np.random.default_rng(0)
    side, x0, y0 = 300.0, 40.0, 17.0
    pixels = rng.uniform(0, side, (68, 3)) + np.array([x0, y0, -side / 2])
    mp_units = np.stack(
        [(pixels[:, 0] - x0) / side, (pixels[:, 1] - y0) / side, pixels[:, 2] / side], axis=1
    )  # what mediapipe returns for the crop
    ours = normalize_landmarks(mp_units)
    ref = np.stack(
        [
            ((pixels[:, 0] - x0) / side - 0.5) * 2,
            ((pixels[:, 1] - y0) / side - 0.5) * 2,
            pixels[:, 2] / (side + side) * 2 * 2,
        ],
        axis=1,
    )
    assert ours.dtype == np.float32
    np.testing.assert_allclose(ours, ref, atol=1e-5)
    np.testing.assert_allclose(normalize_landmarks(np.array([[0.0, 1.0, 0.0]])), [[-1.0, 1.0, 0.0]])


def test_mesh_to_ibug68_selects_rows():
    mesh = np.arange(478 * 3, dtype=np.float32).reshape(478, 3)
    out = mesh_to_ibug68(mesh)
    assert out.shape == (68, 3)
    assert (out[:, 0] == np.array(MESH_TO_IBUG68) * 3).all()
    with pytest.raises(ValueError, match="468"):
        mesh_to_ibug68(np.zeros((68, 3)))


@pytest.fixture(scope="module")
def frontal_landmarks() -> np.ndarray:
    """The 68 landmarks of the frontal sample photo, in pixels of the photo."""
    import mediapipe as mp
    from PIL import Image

    image = np.asarray(Image.open(DATA / "images" / "photo_woman.jpg").convert("RGB"))
    with mp.solutions.face_mesh.FaceMesh(static_image_mode=True, max_num_faces=1) as mesh:
        result = mesh.process(image).multi_face_landmarks
    assert result, "the face mesh found no face on the frontal sample photo"
    h, w = image.shape[:2]
    points = np.array([(p.x * w, p.y * h, p.z * w) for p in result[0].landmark])
    return mesh_to_ibug68(points)


def test_symmetric_pairs_are_mirrored_on_a_frontal_face(frontal_landmarks):
    """Each mirror pair's midpoint lies on the face's mid-line and its members at the same height."""
    lm = frontal_landmarks
    width = lm[16, 0] - lm[0, 0]
    assert width > 50
    mid = lm[[27, 28, 29, 30, 33, 51, 57, 8], 0].mean()  # points on the mid-line
    mirror = np.array(IBUG68_MIRROR)
    sides = mirror != np.arange(68)
    centres = (lm[sides, 0] + lm[mirror[sides], 0]) / 2
    assert np.abs(centres - mid).max() < 0.06 * width
    assert np.abs(lm[sides, 1] - lm[mirror[sides], 1]).max() < 0.06 * width
    right = [i for i in range(68) if sides[i] and lm[i, 0] < mid]
    assert set(right) >= set(range(0, 8)) | set(range(17, 22)) | set(range(36, 42)) | {31, 32, 48, 49, 50}


def test_eye_points_surround_the_eyes(frontal_landmarks):
    """36-41 ring the image-left eye, 42-47 the other: corners 36, 39, 42, 45 from left to right in the
    image (outer, inner, inner, outer), upper lids above and lower lids below the corners' line."""
    lm = frontal_landmarks
    assert lm[36, 0] < lm[39, 0] < lm[42, 0] < lm[45, 0]
    for first in (36, 42):
        ring = lm[first : first + 6]
        corner_a, corner_b = ring[0], ring[3]
        centre_y = (corner_a[1] + corner_b[1]) / 2
        assert (ring[1:3, 1] < centre_y).all() and (ring[4:6, 1] > centre_y).all()  # upper, lower lid
        lo, hi = sorted((corner_a[0], corner_b[0]))
        assert ((ring[[1, 2, 4, 5], 0] > lo) & (ring[[1, 2, 4, 5], 0] < hi)).all()
    assert lm[36:42, 1].mean() < lm[30, 1] < lm[51, 1] < lm[8, 1]  # eyes, nose tip, lip, chin
