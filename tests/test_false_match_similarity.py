"""Face model 2.1's Similarity is a false-match rate: the map's shape, and its calibration on held-out LFW people."""

from __future__ import annotations

from collections import defaultdict

import lfw
import numpy as np
import pytest

from rekollect.vision.analyzer import mean_vector
from rekollect.vision.calibrated_pack import SIMILARITY, user_vector
from rekollect.vision.similarity import decades_of_similarity, similarity_of_decades


def test_similarity_stands_for_the_documented_false_match_rates():
    assert similarity_of_decades(np.array([5.0, 6.0, 8.0, 10.0, 12.0])) == pytest.approx([80, 90, 99, 99.9, 99.99])
    for decades, knot in enumerate(SIMILARITY.knots, start=1):
        assert SIMILARITY.similarity(knot) == pytest.approx(similarity_of_decades(decades), abs=1e-9)
    for similarity in (16.0, 80.0, 90.0, 99.0, 99.9):
        assert SIMILARITY.false_match_rate(similarity) == pytest.approx(10.0 ** -decades_of_similarity(similarity))
    assert SIMILARITY.false_match_rate(80.0) == pytest.approx(1e-5)


def test_similarity_falls_strictly_never_reaches_100_and_keeps_its_resolution():
    distances = np.linspace(0.0, 2.0, 200_001)
    similarity = SIMILARITY.similarity(distances)
    assert np.all(np.diff(similarity) < 0), "not strictly decreasing in float64"
    assert similarity[0] < 100.0 and similarity[-1] == 0.0
    # Down to FMR 1e-12 (Similarity 99.99), every 0.01 of distance moves Similarity by at least 0.001.
    steps = SIMILARITY.similarity(np.arange(SIMILARITY.distance_at(99.99), 2.0, 0.01))
    assert np.all(-np.diff(steps) >= 0.001)


@pytest.mark.parametrize("similarity", [1.0, 16.0, 50.0, 79.5, 80.0, 85.0, 90.0, 95.0, 99.0, 99.5, 99.9, 99.99])
def test_distance_at_inverts_the_map(similarity):
    assert SIMILARITY.similarity(SIMILARITY.distance_at(similarity)) == pytest.approx(similarity, rel=1e-9)


def test_thresholds_outside_the_scale():
    assert SIMILARITY.distance_at(0.0) == float("inf")
    assert SIMILARITY.distance_at(100.0) == 0.0


@pytest.fixture(scope="module")
def report_people() -> tuple[np.ndarray, list[str]]:
    """Face vectors of the LFW report identities (folds 6–10: no choice of 2.1 was made on them)."""
    images = [image for image in lfw.images() if not image.calibration]
    vectors = lfw.embeddings([image.path for image in images])
    found = ~np.isnan(vectors).any(axis=1)
    assert found.all(), "2.0's detector found a face in every LFW image when 2.1 was calibrated"
    return vectors, [image.identity for image in images]


def false_match_rate_at(distances: np.ndarray, similarity: float) -> float:
    return float((distances <= SIMILARITY.distance_at(similarity)).mean())


def user_vs_face_impostors(vectors, names, faces_per_user: int, make_user) -> np.ndarray:
    """Distances from users of ``faces_per_user`` faces (each person's first ones) to other people's faces."""
    rows: dict[str, list[int]] = defaultdict(list)
    for row, name in enumerate(names):
        rows[name].append(row)
    owners = [name for name, mine in rows.items() if len(mine) >= faces_per_user]
    users = np.stack([make_user(vectors[rows[name][:faces_per_user]]) for name in owners]).astype(np.float64)
    faces = vectors.astype(np.float64)
    distances = np.sqrt(
        np.maximum((faces**2).sum(1)[:, None] + (users**2).sum(1)[None, :] - 2 * faces @ users.T, 0.0)
    )
    return distances[np.array(names)[:, None] != np.array(owners)[None, :]]


def test_similarity_80_is_a_false_match_rate_of_1e_5_on_held_out_people(report_people):
    vectors, names = report_people
    faces = lfw.impostor_distances(vectors, names)
    assert len(faces) > 7_000_000
    assert 5e-6 <= false_match_rate_at(faces, 80.0) <= 2e-5
    # Users of 3 faces sit on the same scale; plain means (face model 2.0's users) would not.
    users = user_vs_face_impostors(vectors, names, 3, user_vector)
    assert 5e-6 <= false_match_rate_at(users, 80.0) <= 2e-5
    assert false_match_rate_at(user_vs_face_impostors(vectors, names, 3, mean_vector), 80.0) > 1e-4
