"""Each person's other photos find that person first, across all identities of the shared set."""

from __future__ import annotations

from collections import defaultdict

import pytest
from support import manifest


def _photos_by_identity() -> dict[str, list]:
    photos = defaultdict(list)
    for row in manifest():
        if row.kind == "person" and not row.is_edge_case and row.is_jpeg_or_png:
            photos[row.identity].append(row)
    return dict(photos)


PHOTOS = _photos_by_identity()
PROBES = [(identity, row) for identity, rows in PHOTOS.items() for row in rows[1:]]


@pytest.fixture(scope="module")
def gallery(rekognition):
    """One collection holding the first photo of every identity, ExternalImageId = identity."""
    rekognition.create_collection(CollectionId="identification")
    for identity, rows in PHOTOS.items():
        indexed = rekognition.index_faces(
            CollectionId="identification",
            Image={"Bytes": rows[0].file.read_bytes()},
            ExternalImageId=identity,
            MaxFaces=1,
        )
        assert len(indexed["FaceRecords"]) == 1, rows[0].path
    yield "identification"
    rekognition.delete_collection(CollectionId="identification")


@pytest.mark.parametrize(("identity", "row"), PROBES, ids=[row.path for _, row in PROBES])
def test_other_photo_finds_the_person_first(rekognition, gallery, identity, row):
    matches = rekognition.search_faces_by_image(
        CollectionId=gallery, Image={"Bytes": row.file.read_bytes()}, FaceMatchThreshold=0, MaxFaces=3
    )["FaceMatches"]
    assert matches[0]["Face"]["ExternalImageId"] == identity
    assert matches[0]["Similarity"] >= 80
