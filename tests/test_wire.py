"""The AWS JSON 1.1 wire protocol: targets, errors, validation messages and headers."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from email.message import Message

import pytest

from rekollect.errors import InvalidParameterException
from rekollect.wire.scalars import check_scalar_values
from rekollect.wire.service_model import rekognition_model
from rekollect.wire.validation import parse_request


def post(url: str, target: str | None, body: bytes) -> tuple[int, Message, dict]:
    headers = {"Content-Type": "application/x-amz-json-1.1"}
    if target is not None:
        headers["X-Amz-Target"] = target
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, response.headers, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, error.headers, json.loads(error.read())


def test_unknown_target_is_unknown_operation(server):
    status, headers, body = post(server.url, "RekognitionService.NoSuchThing", b"{}")
    assert status == 400
    assert body["__type"] == "UnknownOperationException"
    assert headers["x-amzn-ErrorType"] == "UnknownOperationException"
    assert headers["x-amzn-RequestId"]


def test_missing_target_is_unknown_operation(server):
    status, _, body = post(server.url, None, b"{}")
    assert (status, body["__type"]) == (400, "UnknownOperationException")


def test_malformed_json_is_serialization_error(server):
    status, _, body = post(server.url, "RekognitionService.ListCollections", b"{not json")
    assert (status, body["__type"]) == (400, "SerializationException")


def test_validation_names_each_bad_field(server):
    body = json.dumps({"CollectionId": "bad id!", "Tags": {"aws:reserved": "x"}}).encode()
    status, headers, payload = post(server.url, "RekognitionService.CreateCollection", body)
    assert status == 400
    assert payload["__type"] == "InvalidParameterException" == headers["x-amzn-ErrorType"]
    assert payload["message"].startswith("2 validation errors detected")
    assert "'CollectionId'" in payload["message"] and "regular expression" in payload["message"]
    assert "'Tags.key'" in payload["message"]


def test_successful_response_has_request_id_and_json_type(server):
    status, headers, body = post(server.url, "RekognitionService.ListCollections", b"{}")
    assert status == 200
    assert headers["Content-Type"] == "application/x-amz-json-1.1"
    assert headers["x-amzn-RequestId"]
    assert isinstance(body["CollectionIds"], list)


def _input(operation: str):
    return rekognition_model().operation_model(operation).input_shape


@pytest.mark.parametrize(
    ("operation", "body", "expected"),
    [
        (
            "IndexFaces",
            {"Image": {}},
            "Value 'None' at 'CollectionId' failed to satisfy constraint: Member must not be null",
        ),
        (
            "SearchFaces",
            {"CollectionId": "c", "FaceId": "nope"},
            "at 'FaceId' failed to satisfy constraint: Member must satisfy regular expression pattern",
        ),
        (
            "SearchFaces",
            {"CollectionId": "c", "FaceId": "0" * 8 + "-0000-0000-0000-" + "0" * 12, "MaxFaces": 0},
            "at 'MaxFaces' failed to satisfy constraint: Member must have value greater than or equal to 1",
        ),
        (
            "SearchFaces",
            {"CollectionId": "c" * 256, "FaceId": "x"},
            "Member must have length less than or equal to 255",
        ),
        (
            "SearchFaces",
            {"CollectionId": "c", "FaceId": 7},
            "at 'FaceId' failed to satisfy constraint: Member must be a string",
        ),
        (
            "SearchFacesByImage",
            {"CollectionId": "c", "Image": {"Bytes": "AA=="}, "FaceMatchThreshold": 101},
            "Member must have value less than or equal to 100",
        ),
        (
            "DetectFaces",
            {"Image": {"Bytes": "AA=="}, "Attributes": ["EVERYTHING"]},
            "at 'Attributes.1.member' failed to satisfy constraint: Member must satisfy enum value set",
        ),
        (
            "DetectFaces",
            {"Image": {"Bytes": "not base64!"}},
            "at 'Image.Bytes' failed to satisfy constraint: Member must be base64-encoded binary data",
        ),
        (
            "IndexFaces",
            {"CollectionId": "c", "Image": {"S3Object": {"Bucket": "b", "Name": ""}}},
            "at 'Image.S3Object.Name' failed to satisfy constraint: Member must have length greater than or equal to 1",
        ),
        (
            "ListFaces",
            {"CollectionId": "c", "MaxResults": True},
            "at 'MaxResults' failed to satisfy constraint: Member must be an integer",
        ),
    ],
)
def test_validation_follows_the_service_model(operation, body, expected):
    with pytest.raises(InvalidParameterException) as caught:
        parse_request(_input(operation), body)
    assert expected in caught.value.message


def test_parsing_decodes_blobs_and_ignores_unknown_members():
    parsed = parse_request(_input("DetectFaces"), {"Image": {"Bytes": "aGk="}, "Surprise": 1})
    assert parsed == {"Image": {"Bytes": b"hi"}}


def test_the_validation_report_is_bounded():
    with pytest.raises(InvalidParameterException) as caught:
        parse_request(_input("DeleteFaces"), {"CollectionId": "c", "FaceIds": [1] * 40})
    message = caught.value.message
    assert message.startswith("40 validation errors detected: ") and message.endswith("; and 30 more")
    assert message.count("failed to satisfy constraint") == 10
    # Past 100 errors the walk stops.
    with pytest.raises(InvalidParameterException) as caught:
        parse_request(_input("DeleteFaces"), {"CollectionId": "c", "FaceIds": [[0] * 1000] * 4000})
    message = caught.value.message
    assert message.startswith("At least 100 validation errors detected: ")
    assert message.endswith("and at least 90 more (validation stopped at 100)")
    assert message.count("failed to satisfy constraint") == 10 and len(message) < 2500


def test_an_over_long_member_is_not_walked():
    started = time.perf_counter()
    for body in (
        {"CollectionId": "c", "FaceIds": [1] * 5_500_000},
        {"CollectionId": "c" * 10_000_000, "FaceIds": ["x" * 10_000_000]},
        {"CollectionId": "c", "FaceIds": [{"k": list(range(1_000_000))}]},
        {"CollectionId": "c", "Tags": {"k" * 10_000_000: 7}},
    ):
        with pytest.raises(InvalidParameterException) as caught:
            parse_request(_input("ListFaces" if "FaceIds" in body else "CreateCollection"), body)
        assert len(caught.value.message) < 1000
    with pytest.raises(InvalidParameterException) as caught:
        parse_request(_input("ListFaces"), {"CollectionId": "c", "FaceIds": [1] * 5_500_000})
    assert caught.value.message.startswith("1 validation error detected: Value '[1, 1, 1, 1, ...]' at 'FaceIds'")
    assert "Member must have length less than or equal to 4096" in caught.value.message
    assert time.perf_counter() - started < 1.0


@pytest.mark.parametrize(
    ("body", "path"),
    [
        ({"NextToken": "1.\ud800"}, "'NextToken'"),
        ({"Tags": {"k\udc00": "v"}}, "'Tags.key'"),
        ({"Image": {"S3Object": {"Name": "a\udfffb"}}}, "'Image.S3Object.Name'"),
        ({"FaceIds": ["ok", "\ud83d"]}, "'FaceIds.2.member'"),
    ],
)
def test_lone_surrogates_anywhere_are_invalid_parameters(body, path):
    with pytest.raises(InvalidParameterException) as caught:
        check_scalar_values(body)
    assert path in caught.value.message and "Unicode scalar values" in caught.value.message


def test_scalar_check_accepts_text_and_any_depth():
    check_scalar_values({"Name": "é😀\x00\U0010ffff", "Tags": {"ключ": ["値"]}})
    deep: list = []
    for _ in range(100_000):
        deep = [deep]
    check_scalar_values({"Deep": deep})
