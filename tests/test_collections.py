"""Collections and their tags through a real boto3 client."""

from __future__ import annotations

import datetime as dt

import pytest
from botocore.exceptions import ClientError


def error_code(caught: pytest.ExceptionInfo[ClientError]) -> str:
    return caught.value.response["Error"]["Code"]


def test_create_describe_delete(rekognition):
    created = rekognition.create_collection(CollectionId="lifecycle", Tags={"team": "doors"})
    assert created["StatusCode"] == 200
    assert created["CollectionArn"].endswith(":collection/lifecycle")
    described = rekognition.describe_collection(CollectionId="lifecycle")
    assert described["FaceCount"] == 0 and described["UserCount"] == 0
    assert described["CollectionARN"] == created["CollectionArn"]
    assert described["FaceModelVersion"] == created["FaceModelVersion"]
    age = dt.datetime.now(dt.UTC) - described["CreationTimestamp"]
    assert dt.timedelta(0) <= age < dt.timedelta(minutes=5)
    assert rekognition.delete_collection(CollectionId="lifecycle")["StatusCode"] == 200
    with pytest.raises(ClientError) as caught:
        rekognition.describe_collection(CollectionId="lifecycle")
    assert error_code(caught) == "ResourceNotFoundException"


def test_duplicate_and_missing_collections(rekognition, collection):
    with pytest.raises(ClientError) as caught:
        rekognition.create_collection(CollectionId=collection)
    assert error_code(caught) == "ResourceAlreadyExistsException"
    with pytest.raises(ClientError) as caught:
        rekognition.delete_collection(CollectionId="never-created")
    assert error_code(caught) == "ResourceNotFoundException"


def test_list_collections_paginates_and_rejects_tampered_tokens(rekognition):
    names = [f"page-{index}" for index in range(5)]
    for name in names:
        rekognition.create_collection(CollectionId=name)
    try:
        seen, token = [], None
        while True:
            page = rekognition.list_collections(MaxResults=2, **({"NextToken": token} if token else {}))
            assert len(page["CollectionIds"]) <= 2
            assert len(page["FaceModelVersions"]) == len(page["CollectionIds"])
            seen += page["CollectionIds"]
            token = page.get("NextToken")
            if not token:
                break
        assert [name for name in seen if name in names] == names
        first = rekognition.list_collections(MaxResults=1)["NextToken"]
        tampered = first[:-1] + ("0" if first[-1] != "0" else "1")
        with pytest.raises(ClientError) as caught:
            rekognition.list_collections(MaxResults=1, NextToken=tampered)
        assert error_code(caught) == "InvalidPaginationTokenException"
    finally:
        for name in names:
            rekognition.delete_collection(CollectionId=name)


def test_tags(rekognition, collection):
    arn = rekognition.describe_collection(CollectionId=collection)["CollectionARN"]
    rekognition.tag_resource(ResourceArn=arn, Tags={"a": "1", "b": "2"})
    rekognition.tag_resource(ResourceArn=arn, Tags={"b": "3"})
    assert rekognition.list_tags_for_resource(ResourceArn=arn)["Tags"] == {"a": "1", "b": "3"}
    rekognition.untag_resource(ResourceArn=arn, TagKeys=["a", "unknown"])
    assert rekognition.list_tags_for_resource(ResourceArn=arn)["Tags"] == {"b": "3"}
    with pytest.raises(ClientError) as caught:
        rekognition.list_tags_for_resource(ResourceArn=arn.replace(collection, "no-such-collection"))
    assert error_code(caught) == "ResourceNotFoundException"
    with pytest.raises(ClientError) as caught:
        rekognition.tag_resource(ResourceArn="arn:aws:s3:::some-bucket-name", Tags={"a": "1"})
    assert error_code(caught) == "InvalidParameterException"
