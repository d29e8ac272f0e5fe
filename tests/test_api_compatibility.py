"""``docs/api-compatibility.md`` is what ``rekollect.operations.compatibility`` makes of botocore's model:
every Rekognition operation served or not, and every member it names is in the model and left out as
it says."""

from __future__ import annotations

from support import REPO, image_bytes

from rekollect.operations.compatibility import GAPS, document, member_shape, served
from rekollect.wire.service_model import rekognition_model


def test_the_document_is_generated_from_the_model():
    shown = (REPO / "docs" / "api-compatibility.md").read_text()
    assert shown == document(), "regenerate it: python -m rekollect.operations.compatibility > docs/api-compatibility.md"


def test_every_member_named_is_in_the_model():
    model = rekognition_model()
    assert set(served()) <= set(model.operation_names)
    assert set(GAPS) <= set(served())
    for name, gaps in GAPS.items():
        operation = model.operation_model(name)
        for path in gaps.ignored:
            assert member_shape(operation.input_shape, path) is not None, f"{name} request: {path}"
        for path in gaps.omitted:
            assert member_shape(operation.output_shape, path) is not None, f"{name} response: {path}"
    assert member_shape(model.operation_model("IndexFaces").output_shape, "FaceRecords[].Nothing") is None


def test_the_members_said_to_be_left_out_are_left_out(rekognition, collection):
    """The answers of IndexFaces, DetectFaces and CompareFaces (with every attribute asked for) hold none of
    the members the document says are never sent."""
    photo = {"Bytes": image_bytes("groups/two_people.jpg")}
    answers = {
        "IndexFaces": rekognition.index_faces(CollectionId=collection, Image=photo, DetectionAttributes=["ALL"]),
        "DetectFaces": rekognition.detect_faces(Image=photo, Attributes=["ALL"]),
        "CompareFaces": rekognition.compare_faces(SourceImage=photo, TargetImage=photo, SimilarityThreshold=50),
    }

    def present(value: object, parts: list[str]) -> bool:
        if not parts:
            return True
        name, items = parts[0].removesuffix("[]"), parts[0].endswith("[]")
        if not isinstance(value, dict) or name not in value:
            return False
        inner = value[name]
        return any(present(item, parts[1:]) for item in inner) if items else present(inner, parts[1:])

    for name, answer in answers.items():
        assert answer.get("FaceRecords") or answer.get("FaceDetails") or answer.get("FaceMatches"), name
        for path in GAPS[name].omitted:
            assert not present(answer, path.split(".")), f"{name} sent {path}"
