"""QualityFilter on IndexFaces, SearchFacesByImage and CompareFaces, on real photos and degraded copies."""

from __future__ import annotations

import io

import pytest
from botocore.exceptions import ClientError
from PIL import Image, ImageEnhance, ImageFilter
from support import FACES, image_bytes

OBAMA = "people/Barack_Obama/obama.jpg"
OBAMA_2 = "people/Barack_Obama/obama2.jpg"


def _jpeg(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=92)
    return buffer.getvalue()


@pytest.fixture(scope="module")
def copies() -> dict[str, bytes]:
    """``obama.jpg`` blurred (Gaussian, radius 6 px on a 250 px face), darkened to 12 %, and shrunk 5×."""
    photo = Image.open(FACES / OBAMA).convert("RGB")
    return {
        "blurred": _jpeg(photo.filter(ImageFilter.GaussianBlur(6))),
        "dark": _jpeg(ImageEnhance.Brightness(photo).enhance(0.12)),
        "small": _jpeg(photo.resize((photo.width // 5, photo.height // 5))),
    }


def _index(rekognition, collection, data, **kwargs):
    return rekognition.index_faces(CollectionId=collection, Image={"Bytes": data}, **kwargs)


def test_auto_keeps_good_faces_and_rejects_bad_ones(rekognition, collection, copies):
    assert len(_index(rekognition, collection, image_bytes(OBAMA))["FaceRecords"]) == 1
    blurred = _index(rekognition, collection, copies["blurred"])
    assert blurred["FaceRecords"] == []
    (unindexed,) = blurred["UnindexedFaces"]
    assert unindexed["Reasons"] == ["LOW_SHARPNESS"] and unindexed["FaceDetail"]["Quality"]["Sharpness"] < 10
    dark = _index(rekognition, collection, copies["dark"])
    assert "LOW_BRIGHTNESS" in dark["UnindexedFaces"][0]["Reasons"] and not dark["FaceRecords"]


def test_none_indexes_everything(rekognition, collection, copies):
    result = _index(rekognition, collection, copies["blurred"], QualityFilter="NONE")
    assert len(result["FaceRecords"]) == 1 and result["UnindexedFaces"] == []


def test_levels_are_ordered(rekognition, collection, copies):
    small = {
        level: _index(rekognition, collection, copies["small"], QualityFilter=level, ExternalImageId=level)
        for level in ("LOW", "MEDIUM", "HIGH")
    }
    assert len(small["LOW"]["FaceRecords"]) == len(small["MEDIUM"]["FaceRecords"]) == 1
    assert small["HIGH"]["UnindexedFaces"][0]["Reasons"] == ["SMALL_BOUNDING_BOX"]


def test_high_rejects_group_faces_with_reasons(rekognition, collection):
    result = _index(rekognition, collection, image_bytes("groups/t1.jpg"), QualityFilter="HIGH", MaxFaces=1)
    reasons = [face["Reasons"] for face in result["UnindexedFaces"]]
    assert len(result["FaceRecords"]) + len(reasons) == 6
    assert any("LOW_SHARPNESS" in reason for reason in reasons)
    assert all(reason == ["EXCEEDS_MAX_FACES"] or "EXCEEDS_MAX_FACES" not in reason for reason in reasons)
    for face in result["UnindexedFaces"]:
        if "LOW_SHARPNESS" in face["Reasons"]:
            assert face["FaceDetail"]["Quality"]["Sharpness"] < 40
        if "EXTREME_POSE" in face["Reasons"]:
            assert max(abs(face["FaceDetail"]["Pose"][axis]) for axis in ("Yaw", "Pitch")) > 40


def test_search_by_image_filters_the_searched_face(rekognition, collection, copies):
    _index(rekognition, collection, image_bytes(OBAMA_2), ExternalImageId="obama")
    matches = rekognition.search_faces_by_image(CollectionId=collection, Image={"Bytes": copies["dark"]})
    assert matches["SearchedFaceConfidence"] > 50
    with pytest.raises(ClientError) as caught:
        rekognition.search_faces_by_image(
            CollectionId=collection, Image={"Bytes": copies["dark"]}, QualityFilter="MEDIUM"
        )
    assert caught.value.response["Error"]["Code"] == "InvalidParameterException"


def test_compare_faces_drops_filtered_target_faces(rekognition, copies):
    source = {"Bytes": image_bytes(OBAMA_2)}
    unfiltered = rekognition.compare_faces(SourceImage=source, TargetImage={"Bytes": copies["small"]})
    assert len(unfiltered["FaceMatches"]) == 1
    filtered = rekognition.compare_faces(
        SourceImage=source, TargetImage={"Bytes": copies["small"]}, QualityFilter="HIGH"
    )
    assert filtered["FaceMatches"] == [] and filtered["UnmatchedFaces"] == []
    with pytest.raises(ClientError) as caught:
        rekognition.compare_faces(SourceImage={"Bytes": copies["blurred"]}, TargetImage=source, QualityFilter="LOW")
    assert caught.value.response["Error"]["Code"] == "InvalidParameterException"
