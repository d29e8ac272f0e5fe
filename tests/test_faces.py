"""IndexFaces, ListFaces, DeleteFaces, SearchFaces and SearchFacesByImage on real photos."""

from __future__ import annotations

import io
import shutil

import pytest
from botocore.exceptions import ClientError
from PIL import Image
from support import FACES, image_bytes

OBAMA = "people/Barack_Obama/obama.jpg"
OBAMA_2 = "people/Barack_Obama/obama2.jpg"
BIDEN = "people/Joe_Biden/biden.jpg"
GROUP = "groups/t1.jpg"


def error_code(caught: pytest.ExceptionInfo[ClientError]) -> str:
    return caught.value.response["Error"]["Code"]


def test_index_faces_returns_uuids_boxes_and_details(rekognition, collection):
    response = rekognition.index_faces(
        CollectionId=collection, Image={"Bytes": image_bytes(OBAMA)}, ExternalImageId="obama.jpg"
    )
    (record,) = response["FaceRecords"]
    face, detail = record["Face"], record["FaceDetail"]
    assert len(face["FaceId"]) == 36 and len(face["ImageId"]) == 36
    assert face["ExternalImageId"] == "obama.jpg"
    box = face["BoundingBox"]
    # The face sits in the upper middle of this portrait.
    assert 0.3 < box["Left"] < 0.5 and 0.05 < box["Top"] < 0.3 and 0.15 < box["Width"] < 0.45
    assert face["Confidence"] > 95
    assert [mark["Type"] for mark in detail["Landmarks"]] == ["eyeLeft", "eyeRight", "mouthLeft", "mouthRight", "nose"]
    assert response["UnindexedFaces"] == []
    assert response["FaceModelVersion"]


def test_max_faces_keeps_the_largest(rekognition, collection):
    response = rekognition.index_faces(CollectionId=collection, Image={"Bytes": image_bytes(GROUP)}, MaxFaces=2)
    kept = [record["Face"]["BoundingBox"] for record in response["FaceRecords"]]
    dropped = [face["FaceDetail"]["BoundingBox"] for face in response["UnindexedFaces"]]
    assert len(kept) == 2 and len(dropped) == 4
    assert all(face["Reasons"] == ["EXCEEDS_MAX_FACES"] for face in response["UnindexedFaces"])

    def area(box):
        return box["Width"] * box["Height"]

    assert min(map(area, kept)) >= max(map(area, dropped))
    assert area(kept[0]) >= area(kept[1])
    assert rekognition.describe_collection(CollectionId=collection)["FaceCount"] == 2


def test_same_image_and_external_id_is_not_stored_twice(rekognition, collection):
    first = rekognition.index_faces(CollectionId=collection, Image={"Bytes": image_bytes(OBAMA)}, ExternalImageId="a")
    again = rekognition.index_faces(CollectionId=collection, Image={"Bytes": image_bytes(OBAMA)}, ExternalImageId="a")
    assert [r["Face"]["FaceId"] for r in again["FaceRecords"]] == [r["Face"]["FaceId"] for r in first["FaceRecords"]]
    other = rekognition.index_faces(CollectionId=collection, Image={"Bytes": image_bytes(OBAMA)}, ExternalImageId="b")
    assert other["FaceRecords"][0]["Face"]["FaceId"] != first["FaceRecords"][0]["Face"]["FaceId"]
    assert rekognition.describe_collection(CollectionId=collection)["FaceCount"] == 2


def test_same_image_without_external_id_is_indexed_again(rekognition, collection):
    """AWS promises no duplicates only for the same ExternalImageId: without one, each call indexes."""
    first = rekognition.index_faces(CollectionId=collection, Image={"Bytes": image_bytes(OBAMA)})
    again = rekognition.index_faces(CollectionId=collection, Image={"Bytes": image_bytes(OBAMA)})
    assert first["FaceRecords"][0]["Face"]["FaceId"] != again["FaceRecords"][0]["Face"]["FaceId"]
    assert first["FaceRecords"][0]["Face"]["ImageId"] != again["FaceRecords"][0]["Face"]["ImageId"]
    assert rekognition.describe_collection(CollectionId=collection)["FaceCount"] == 2


def test_list_and_delete_faces(rekognition, collection):
    indexed = rekognition.index_faces(CollectionId=collection, Image={"Bytes": image_bytes(GROUP)})
    ids = [record["Face"]["FaceId"] for record in indexed["FaceRecords"]]
    listed, token = [], None
    while True:
        page = rekognition.list_faces(CollectionId=collection, MaxResults=4, **({"NextToken": token} if token else {}))
        listed += [face["FaceId"] for face in page["Faces"]]
        token = page.get("NextToken")
        if not token:
            break
    assert listed == ids
    only = rekognition.list_faces(CollectionId=collection, FaceIds=ids[:2])["Faces"]
    assert [face["FaceId"] for face in only] == ids[:2]
    assert all(face["IndexFacesModelVersion"] for face in only)

    missing = "00000000-0000-0000-0000-000000000000"
    deleted = rekognition.delete_faces(CollectionId=collection, FaceIds=[ids[0], missing])
    assert deleted["DeletedFaces"] == [ids[0]]
    assert rekognition.describe_collection(CollectionId=collection)["FaceCount"] == len(ids) - 1
    with pytest.raises(ClientError) as caught:
        rekognition.search_faces(CollectionId=collection, FaceId=ids[0])
    assert error_code(caught) == "InvalidParameterException"


def test_search_faces_finds_the_same_person_only(rekognition, collection):
    obama = rekognition.index_faces(CollectionId=collection, Image={"Bytes": image_bytes(OBAMA)}, ExternalImageId="o1")
    rekognition.index_faces(CollectionId=collection, Image={"Bytes": image_bytes(OBAMA_2)}, ExternalImageId="o2")
    rekognition.index_faces(CollectionId=collection, Image={"Bytes": image_bytes(BIDEN)}, ExternalImageId="b")
    face_id = obama["FaceRecords"][0]["Face"]["FaceId"]
    result = rekognition.search_faces(CollectionId=collection, FaceId=face_id)
    assert result["SearchedFaceId"] == face_id
    assert [match["Face"]["ExternalImageId"] for match in result["FaceMatches"]] == ["o2"]
    assert result["FaceMatches"][0]["Similarity"] >= 80
    everyone = rekognition.search_faces(CollectionId=collection, FaceId=face_id, FaceMatchThreshold=0)
    similarities = [match["Similarity"] for match in everyone["FaceMatches"]]
    assert similarities == sorted(similarities, reverse=True) and len(similarities) == 2
    assert similarities[-1] < 80
    assert (
        len(
            rekognition.search_faces(CollectionId=collection, FaceId=face_id, MaxFaces=1, FaceMatchThreshold=0)[
                "FaceMatches"
            ]
        )
        == 1
    )


def test_search_faces_by_image_uses_the_largest_face(rekognition, collection):
    rekognition.index_faces(CollectionId=collection, Image={"Bytes": image_bytes(OBAMA)}, ExternalImageId="obama")
    rekognition.index_faces(CollectionId=collection, Image={"Bytes": image_bytes(BIDEN)}, ExternalImageId="biden")
    result = rekognition.search_faces_by_image(CollectionId=collection, Image={"Bytes": image_bytes(OBAMA_2)})
    assert [match["Face"]["ExternalImageId"] for match in result["FaceMatches"]] == ["obama"]
    assert result["SearchedFaceConfidence"] > 90
    assert 0 < result["SearchedFaceBoundingBox"]["Width"] < 1


def test_search_by_image_without_a_face_is_invalid_parameter(rekognition, collection):
    with pytest.raises(ClientError) as caught:
        rekognition.search_faces_by_image(CollectionId=collection, Image={"Bytes": image_bytes("nonfaces/coffee.png")})
    assert error_code(caught) == "InvalidParameterException"


def test_operations_on_a_missing_collection(rekognition):
    for call in (
        lambda: rekognition.index_faces(CollectionId="missing", Image={"Bytes": image_bytes(OBAMA)}),
        lambda: rekognition.list_faces(CollectionId="missing"),
        lambda: rekognition.search_faces_by_image(CollectionId="missing", Image={"Bytes": image_bytes(OBAMA)}),
    ):
        with pytest.raises(ClientError) as caught:
            call()
        assert error_code(caught) == "ResourceNotFoundException"


def _jpeg_of_size(size: int) -> bytes:
    buffer = io.BytesIO()
    Image.open(FACES / OBAMA).save(buffer, format="JPEG", quality=95)
    data = buffer.getvalue()
    return data + b"\0" * (size - len(data))


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (image_bytes("people/deepface_person_03/img47.jpg"), "InvalidImageFormatException"),  # WebP named .jpg
        (b"GIF89a" + b"\0" * 64, "InvalidImageFormatException"),
        (image_bytes(OBAMA)[:2000], "InvalidImageFormatException"),  # truncated JPEG
        (_jpeg_of_size(5 * 1024 * 1024 + 1), "ImageTooLargeException"),
    ],
    ids=["webp", "gif", "truncated", "over-5MB"],
)
def test_bad_images(rekognition, collection, data, expected):
    with pytest.raises(ClientError) as caught:
        rekognition.index_faces(CollectionId=collection, Image={"Bytes": data})
    assert error_code(caught) == expected
    assert rekognition.describe_collection(CollectionId=collection)["FaceCount"] == 0


def test_exif_orientation_is_applied(rekognition):
    upright = rekognition.detect_faces(Image={"Bytes": image_bytes(OBAMA)})["FaceDetails"][0]["BoundingBox"]
    buffer = io.BytesIO()
    image = Image.open(FACES / OBAMA)
    exif = image.getexif()
    exif[0x0112] = 6  # stored rotated: a viewer turns it 90° clockwise to show it upright
    image.transpose(Image.Transpose.ROTATE_90).save(buffer, format="JPEG", quality=95, exif=exif)
    rotated = rekognition.detect_faces(Image={"Bytes": buffer.getvalue()})["FaceDetails"][0]["BoundingBox"]
    for key in ("Left", "Top", "Width", "Height"):
        assert rotated[key] == pytest.approx(upright[key], abs=0.03)


def test_s3_objects_from_the_local_root(rekognition, collection, buckets):
    (buckets / "photos" / "people").mkdir(parents=True, exist_ok=True)
    shutil.copy(FACES / OBAMA, buckets / "photos" / "people" / "obama.jpg")
    response = rekognition.index_faces(
        CollectionId=collection, Image={"S3Object": {"Bucket": "photos", "Name": "people/obama.jpg"}}
    )
    assert len(response["FaceRecords"]) == 1
    (buckets / "secret.jpg").write_bytes(image_bytes(OBAMA))
    for name in ("missing.jpg", "../secret.jpg", "people/../../secret.jpg"):
        with pytest.raises(ClientError) as caught:
            rekognition.detect_faces(Image={"S3Object": {"Bucket": "photos", "Name": name}})
        assert error_code(caught) == "InvalidS3ObjectException", name
