"""The Users API through boto3 and the aws CLI, on real photos."""

from __future__ import annotations

import json
import os
import subprocess
import uuid
from collections import defaultdict

import pytest
from botocore.exceptions import ClientError
from support import FACES, image_bytes, manifest
from test_cli import AWS

OBAMA = ["people/Barack_Obama/obama.jpg", "people/Barack_Obama/obama1.jpg", "people/Barack_Obama/obama2.jpg"]
BIDEN = "people/Joe_Biden/biden.jpg"


def error_code(caught: pytest.ExceptionInfo[ClientError]) -> str:
    return caught.value.response["Error"]["Code"]


def index(rekognition, collection: str, path: str) -> str:
    response = rekognition.index_faces(CollectionId=collection, Image={"Bytes": image_bytes(path)}, MaxFaces=1)
    return response["FaceRecords"][0]["Face"]["FaceId"]


def test_user_lifecycle(rekognition, collection):
    obama = [index(rekognition, collection, path) for path in OBAMA]
    biden = index(rekognition, collection, BIDEN)
    rekognition.create_user(CollectionId=collection, UserId="obama")
    assert rekognition.list_users(CollectionId=collection)["Users"] == [{"UserId": "obama", "UserStatus": "CREATED"}]
    with pytest.raises(ClientError) as caught:
        rekognition.create_user(CollectionId=collection, UserId="obama")
    assert error_code(caught) == "ConflictException"

    first = rekognition.associate_faces(CollectionId=collection, UserId="obama", FaceIds=obama[:2])
    assert [face["FaceId"] for face in first["AssociatedFaces"]] == obama[:2]
    assert first["UserStatus"] == "ACTIVE"
    missing = str(uuid.uuid4())
    second = rekognition.associate_faces(
        CollectionId=collection, UserId="obama", FaceIds=[obama[0], obama[2], biden, missing]
    )
    assert [face["FaceId"] for face in second["AssociatedFaces"]] == [obama[2]]  # obama[0] already there: ignored
    failures = {failure["FaceId"]: failure for failure in second["UnsuccessfulFaceAssociations"]}
    assert failures[missing]["Reasons"] == ["FACE_NOT_FOUND"]
    assert failures[biden]["Reasons"] == ["LOW_MATCH_CONFIDENCE"] and failures[biden]["Confidence"] < 75
    assert rekognition.describe_collection(CollectionId=collection)["UserCount"] == 1

    rekognition.create_user(CollectionId=collection, UserId="biden")
    rekognition.associate_faces(CollectionId=collection, UserId="biden", FaceIds=[biden])
    stolen = rekognition.associate_faces(CollectionId=collection, UserId="biden", FaceIds=[obama[0]])
    assert stolen["UnsuccessfulFaceAssociations"] == [
        {"FaceId": obama[0], "UserId": "obama", "Reasons": ["ASSOCIATED_TO_A_DIFFERENT_USER"]}
    ]

    listed = rekognition.list_faces(CollectionId=collection, UserId="obama")["Faces"]
    assert sorted(face["FaceId"] for face in listed) == sorted(obama)
    assert all(face["UserId"] == "obama" for face in listed)

    blocked = rekognition.delete_faces(CollectionId=collection, FaceIds=[obama[0]])
    assert blocked["DeletedFaces"] == []
    assert blocked["UnsuccessfulFaceDeletions"] == [
        {"FaceId": obama[0], "UserId": "obama", "Reasons": ["ASSOCIATED_TO_AN_EXISTING_USER"]}
    ]

    matches = rekognition.search_faces(CollectionId=collection, FaceId=obama[0])["FaceMatches"]
    assert {match["Face"]["UserId"] for match in matches} == {"obama"}

    removed = rekognition.disassociate_faces(
        CollectionId=collection, UserId="obama", FaceIds=[obama[0], biden, missing]
    )
    assert removed["DisassociatedFaces"] == [{"FaceId": obama[0]}]
    reasons = {failure["FaceId"]: failure["Reasons"] for failure in removed["UnsuccessfulFaceDisassociations"]}
    assert reasons == {biden: ["ASSOCIATED_TO_A_DIFFERENT_USER"], missing: ["FACE_NOT_FOUND"]}
    assert rekognition.delete_faces(CollectionId=collection, FaceIds=[obama[0]])["DeletedFaces"] == [obama[0]]

    rekognition.delete_user(CollectionId=collection, UserId="obama")
    assert all(
        "UserId" not in face for face in rekognition.list_faces(CollectionId=collection, FaceIds=obama[1:])["Faces"]
    )
    with pytest.raises(ClientError) as caught:
        rekognition.delete_user(CollectionId=collection, UserId="obama")
    assert error_code(caught) == "ResourceNotFoundException"
    with pytest.raises(ClientError) as caught:
        rekognition.associate_faces(CollectionId=collection, UserId="obama", FaceIds=obama[1:])
    assert error_code(caught) == "ResourceNotFoundException"


def test_search_users(rekognition, collection):
    obama = [index(rekognition, collection, path) for path in OBAMA]
    biden = index(rekognition, collection, BIDEN)
    for user_id, faces in (("obama", obama[:2]), ("biden", [biden])):
        rekognition.create_user(CollectionId=collection, UserId=user_id)
        rekognition.associate_faces(CollectionId=collection, UserId=user_id, FaceIds=faces)

    by_face = rekognition.search_users(CollectionId=collection, FaceId=obama[2])
    assert by_face["SearchedFace"] == {"FaceId": obama[2]}
    assert [match["User"] for match in by_face["UserMatches"]] == [{"UserId": "obama", "UserStatus": "ACTIVE"}]
    assert by_face["UserMatches"][0]["Similarity"] >= 80

    everyone = rekognition.search_users(CollectionId=collection, UserId="obama", UserMatchThreshold=0)
    assert everyone["SearchedUser"] == {"UserId": "obama"}
    assert [match["User"]["UserId"] for match in everyone["UserMatches"]] == ["biden"]

    two = rekognition.search_users(CollectionId=collection, FaceId=obama[2], UserMatchThreshold=0)["UserMatches"]
    similarities = [match["Similarity"] for match in two]
    assert [match["User"]["UserId"] for match in two] == ["obama", "biden"] and similarities == sorted(
        similarities, reverse=True
    )
    assert (
        len(
            rekognition.search_users(CollectionId=collection, FaceId=obama[2], UserMatchThreshold=0, MaxUsers=1)[
                "UserMatches"
            ]
        )
        == 1
    )

    group = rekognition.search_users_by_image(
        CollectionId=collection, Image={"Bytes": image_bytes("groups/obama_and_biden.jpg")}
    )
    assert len(group["UnsearchedFaces"]) == 2
    assert all(face["Reasons"] == ["FACE_NOT_LARGEST"] for face in group["UnsearchedFaces"])
    assert group["SearchedFace"]["FaceDetail"]["BoundingBox"]["Width"] > 0
    assert [match["User"]["UserId"] for match in group["UserMatches"]] == ["obama"]

    nobody = rekognition.search_users_by_image(
        CollectionId=collection, Image={"Bytes": image_bytes("nonfaces/rocket.jpg")}
    )
    assert nobody["UserMatches"] == [] and "SearchedFace" not in nobody

    with pytest.raises(ClientError) as caught:
        rekognition.search_users(CollectionId=collection, UserId="nobody")
    assert error_code(caught) == "ResourceNotFoundException"


def test_explicit_client_request_tokens(rekognition, collection):
    faces = [index(rekognition, collection, path) for path in OBAMA]
    rekognition.create_user(CollectionId=collection, UserId="u1", ClientRequestToken="create-u1")
    # The same token and parameters: the same (empty) response, no ConflictException.
    rekognition.create_user(CollectionId=collection, UserId="u1", ClientRequestToken="create-u1")
    with pytest.raises(ClientError) as caught:
        rekognition.create_user(CollectionId=collection, UserId="u2", ClientRequestToken="create-u1")
    assert error_code(caught) == "IdempotentParameterMismatchException"
    assert [user["UserId"] for user in rekognition.list_users(CollectionId=collection)["Users"]] == ["u1"]

    first = rekognition.associate_faces(
        CollectionId=collection, UserId="u1", FaceIds=faces[:2], ClientRequestToken="assoc-1"
    )
    rekognition.disassociate_faces(CollectionId=collection, UserId="u1", FaceIds=faces[:1], ClientRequestToken="dis-1")
    again = rekognition.associate_faces(
        CollectionId=collection, UserId="u1", FaceIds=faces[:2], ClientRequestToken="assoc-1"
    )
    assert again["AssociatedFaces"] == first["AssociatedFaces"]
    # Replayed, not re-run: the face disassociated in between stays disassociated.
    assert len(rekognition.list_faces(CollectionId=collection, UserId="u1")["Faces"]) == 1
    with pytest.raises(ClientError) as caught:
        rekognition.associate_faces(
            CollectionId=collection, UserId="u1", FaceIds=faces[2:], ClientRequestToken="assoc-1"
        )
    assert error_code(caught) == "IdempotentParameterMismatchException"
    rekognition.disassociate_faces(CollectionId=collection, UserId="u1", FaceIds=faces[:1], ClientRequestToken="dis-1")

    rekognition.delete_user(CollectionId=collection, UserId="u1", ClientRequestToken="delete-u1")
    rekognition.delete_user(CollectionId=collection, UserId="u1", ClientRequestToken="delete-u1")
    with pytest.raises(ClientError) as caught:
        rekognition.delete_user(CollectionId=collection, UserId="u1", ClientRequestToken="delete-u1-again")
    assert error_code(caught) == "ResourceNotFoundException"


def test_user_face_limit_and_list_pagination(rekognition, collection):
    for number in range(3):
        rekognition.create_user(CollectionId=collection, UserId=f"user-{number}")
    first = rekognition.list_users(CollectionId=collection, MaxResults=2)
    second = rekognition.list_users(CollectionId=collection, MaxResults=2, NextToken=first["NextToken"])
    assert [u["UserId"] for u in first["Users"] + second["Users"]] == ["user-0", "user-1", "user-2"]
    assert "NextToken" not in second
    with pytest.raises(ClientError) as caught:
        rekognition.list_users(CollectionId=collection, NextToken=first["NextToken"][:-2] + "zz")
    assert error_code(caught) == "InvalidPaginationTokenException"
    with pytest.raises(ClientError) as caught:
        rekognition.associate_faces(
            CollectionId=collection, UserId="user-0", FaceIds=[str(uuid.uuid4()) for _ in range(101)]
        )
    assert error_code(caught) == "InvalidParameterException"  # the model allows 1-100 ids per call


def _identities() -> dict[str, list]:
    photos = defaultdict(list)
    for row in manifest():
        if row.kind == "person" and not row.is_edge_case and row.is_jpeg_or_png:
            photos[row.identity].append(row)
    return {identity: rows for identity, rows in photos.items() if len(rows) >= 2}


def test_held_out_photo_finds_its_user_through_the_cli(server, rekognition, collection):
    """One user per identity from all but one photo; the held-out photo, searched with the aws CLI, finds it."""
    identities = _identities()
    for identity, rows in identities.items():
        faces = [index(rekognition, collection, row.path) for row in rows[:-1]]
        rekognition.create_user(CollectionId=collection, UserId=identity)
        associated = rekognition.associate_faces(CollectionId=collection, UserId=identity, FaceIds=faces)
        assert len(associated["AssociatedFaces"]) == len(faces), identity
    env = {
        **os.environ,
        "AWS_ACCESS_KEY_ID": "AKIDEXAMPLE",
        "AWS_SECRET_ACCESS_KEY": "secret",
        "AWS_DEFAULT_REGION": "us-east-1",
    }
    for identity, rows in identities.items():
        completed = subprocess.run(
            [AWS, "rekognition", "search-users-by-image", "--collection-id", collection,
             "--image-bytes", f"fileb://{FACES / rows[-1].path}", "--endpoint-url", server.url, "--output", "json"],
            capture_output=True, text=True, env=env, timeout=120, check=True,
        )  # fmt: skip
        matches = json.loads(completed.stdout)["UserMatches"]
        assert matches and matches[0]["User"]["UserId"] == identity, rows[-1].path


def test_search_users_by_image_quality_filter(rekognition, collection):
    face = index(rekognition, collection, "people/Barack_Obama/obama.jpg")
    rekognition.create_user(CollectionId=collection, UserId="obama")
    rekognition.associate_faces(CollectionId=collection, UserId="obama", FaceIds=[face])
    # HIGH asks for near-frontal, sharp faces of 64 px or more: some faces of this group photo fail it.
    photo = image_bytes("groups/obama_and_biden.jpg")
    loose = rekognition.search_users_by_image(CollectionId=collection, Image={"Bytes": photo}, QualityFilter="NONE")
    strict = rekognition.search_users_by_image(CollectionId=collection, Image={"Bytes": photo}, QualityFilter="HIGH")
    loose_reasons = [reason for face in loose["UnsearchedFaces"] for reason in face["Reasons"]]
    strict_reasons = [reason for face in strict["UnsearchedFaces"] for reason in face["Reasons"]]
    assert set(loose_reasons) == {"FACE_NOT_LARGEST"}
    assert set(strict_reasons) - {"FACE_NOT_LARGEST"}, strict_reasons
    assert len(strict["UnsearchedFaces"]) + ("SearchedFace" in strict) == 3
