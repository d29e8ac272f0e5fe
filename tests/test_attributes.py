"""Face attributes: selection by ``Attributes``/``DetectionAttributes``, and values checked against labels.

The labelled set is ``tests/data/attribute_labels.tsv`` (84 JPEG/PNG photos, labelled by looking at them).
Bars, as the share of labelled faces the service gets right: Gender 95 %, AgeRange overlapping
the labelled bracket 80 %, Smile 90 %, MouthOpen 90 %, EyesOpen 95 %, dominant Emotion 75 %.
"""

from __future__ import annotations

import io
from typing import Any

import numpy as np
import pytest
from attribute_eval import SCORED, accuracy, labels, score
from PIL import Image
from support import FACES, image_bytes

BARS = {"Gender": 0.95, "AgeRange": 0.8, "Smile": 0.9, "MouthOpen": 0.9, "EyesOpen": 0.95, "Emotions": 0.75}
COMPUTED = {"AgeRange", "Gender", "Emotions", "EyesOpen", "MouthOpen", "Smile", "EyeDirection"}
UNSUPPORTED = {"Beard", "Mustache", "Eyeglasses", "Sunglasses", "FaceOccluded"}
OBAMA = "people/Barack_Obama/obama.jpg"


def _largest(rekognition, data: bytes, attributes: list[str]) -> dict[str, Any]:
    return rekognition.detect_faces(Image={"Bytes": data}, Attributes=attributes)["FaceDetails"][0]


@pytest.fixture(scope="module")
def labelled_details(rekognition) -> list[tuple[Any, dict[str, Any]]]:
    """``(label, FaceDetail of the largest face with ALL)`` for every labelled photo."""
    return [(label, _largest(rekognition, (FACES / label.path).read_bytes(), ["ALL"])) for label in labels()]


@pytest.mark.parametrize("attribute", SCORED)
def test_attribute_agrees_with_labels(labelled_details, attribute):
    right, total = accuracy([score(detail, label) for label, detail in labelled_details], attribute)
    assert total >= 40
    assert right / total >= BARS[attribute], f"{attribute}: {right}/{total}"


def test_default_gives_no_attributes(rekognition):
    for attributes in ([], ["DEFAULT"]):
        detail = _largest(rekognition, image_bytes(OBAMA), attributes)
        assert not (COMPUTED | UNSUPPORTED) & set(detail)
        assert len(detail["Landmarks"]) == 5


def test_single_attribute_adds_only_that_attribute(rekognition):
    detail = _largest(rekognition, image_bytes(OBAMA), ["SMILE", "AGE_RANGE"])
    assert {"Smile", "AgeRange"} == (COMPUTED | UNSUPPORTED) & set(detail)
    assert {"BoundingBox", "Confidence", "Pose", "Quality"} <= set(detail) and len(detail["Landmarks"]) == 5
    assert detail["Smile"]["Value"] is True and 50 <= detail["Smile"]["Confidence"] <= 100
    assert detail["AgeRange"]["Low"] <= detail["AgeRange"]["High"]


def test_all_with_default_gives_every_supported_attribute(rekognition):
    detail = _largest(rekognition, image_bytes(OBAMA), ["ALL", "DEFAULT"])
    assert set(detail) >= COMPUTED and not UNSUPPORTED & set(detail)
    types = [mark["Type"] for mark in detail["Landmarks"]]
    assert len(types) == len(set(types)) == 30
    assert detail["Gender"] == {"Value": "Male", "Confidence": pytest.approx(detail["Gender"]["Confidence"])}
    assert detail["Gender"]["Confidence"] > 90
    assert detail["Emotions"][0]["Type"] == "HAPPY"
    confidences = [emotion["Confidence"] for emotion in detail["Emotions"]]
    assert confidences == sorted(confidences, reverse=True) and sum(confidences) == pytest.approx(100, abs=0.1)
    assert 0 <= detail["EyeDirection"]["Confidence"] <= 100


def _left_out(response: dict[str, Any]) -> str | None:
    return response["ResponseMetadata"]["HTTPHeaders"].get("x-rekollect-unsupported-attributes")


def test_unsupported_single_attributes_are_absent_and_named_in_a_header(rekognition):
    response = rekognition.detect_faces(
        Image={"Bytes": image_bytes(OBAMA)}, Attributes=["BEARD", "MUSTACHE", "EYEGLASSES", "SUNGLASSES", "FACE_OCCLUDED"]
    )
    assert not (COMPUTED | UNSUPPORTED) & set(response["FaceDetails"][0])
    assert _left_out(response) == "Beard,Mustache,Eyeglasses,Sunglasses,FaceOccluded"


@pytest.mark.parametrize(
    ("attributes", "expected"),
    [
        (["ALL"], "Beard,Mustache,Eyeglasses,Sunglasses,FaceOccluded,Emotions.CONFUSED"),
        (["EMOTIONS", "SMILE"], "Emotions.CONFUSED"),
        (["SUNGLASSES", "DEFAULT"], "Sunglasses"),
        (["SMILE"], None),
        (["DEFAULT"], None),
    ],
)
def test_the_header_names_what_a_selection_leaves_out(rekognition, collection, attributes, expected):
    image = {"Bytes": image_bytes("people/Barack_Obama/obama_small.jpg")}
    assert _left_out(rekognition.detect_faces(Image=image, Attributes=attributes)) == expected
    indexed = rekognition.index_faces(CollectionId=collection, Image=image, DetectionAttributes=attributes)
    assert _left_out(indexed) == expected


def test_pupils_lie_inside_the_eyes(labelled_details):
    inside = 0
    for _, detail in labelled_details:
        marks = {mark["Type"]: mark for mark in detail["Landmarks"]}
        for side in ("left", "right"):
            pupil, outer, inner = marks[f"{side}Pupil"], marks[f"{side}EyeLeft"], marks[f"{side}EyeRight"]
            up, down = marks[f"{side}EyeUp"], marks[f"{side}EyeDown"]
            inside += outer["X"] < pupil["X"] < inner["X"] and up["Y"] - 0.01 < pupil["Y"] < down["Y"] + 0.01
    assert inside >= 0.95 * 2 * len(labelled_details)


def test_eye_direction_follows_a_mirrored_gaze(rekognition):
    """Mirroring the photo mirrors the gaze: yaw changes sign, pitch stays."""
    photo = Image.open(FACES / "people/Barack_Obama/obama2.jpg").convert("RGB")
    mirrored = io.BytesIO()
    photo.transpose(Image.Transpose.FLIP_LEFT_RIGHT).save(mirrored, format="JPEG", quality=95)
    original = _largest(rekognition, image_bytes("people/Barack_Obama/obama2.jpg"), ["EYE_DIRECTION"])["EyeDirection"]
    flipped = _largest(rekognition, mirrored.getvalue(), ["EYE_DIRECTION"])["EyeDirection"]
    assert abs(original["Yaw"]) > 10
    assert np.sign(original["Yaw"]) == -np.sign(flipped["Yaw"])
    assert abs(original["Yaw"] + flipped["Yaw"]) < 6 and abs(original["Pitch"] - flipped["Pitch"]) < 6


def test_index_faces_returns_detection_attributes(rekognition, collection):
    result = rekognition.index_faces(
        CollectionId=collection, Image={"Bytes": image_bytes(OBAMA)}, DetectionAttributes=["GENDER", "EMOTIONS"]
    )
    (record,) = result["FaceRecords"]
    assert record["FaceDetail"]["Gender"]["Value"] == "Male"
    assert record["FaceDetail"]["Emotions"][0]["Type"] == "HAPPY"
    assert "Smile" not in record["FaceDetail"]
