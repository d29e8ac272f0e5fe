"""User operations: CreateUser, DeleteUser, ListUsers, AssociateFaces, DisassociateFaces,
SearchUsers, SearchUsersByImage (AWS Rekognition API Reference, "Searching faces in a collection").

A user gathers up to 100 faces of one person. Its search vector is made from its faces'
embeddings by the collection's face model (``FaceAnalyzer.user_vector``: their mean for 1.0 and
2.0; for 2.1 their unit mean scaled to the number of faces, so that a user's Similarity has the
false-match rate a face's has), recomputed in the same transaction as every association change;
SearchUsers* search those vectors with the collection's distance-to-Similarity map.

``UserStatus`` is ``CREATED`` for a user without faces and ``ACTIVE`` once it has some. Rekognition
reports ``UPDATING`` while it rebuilds a user vector in the background; here the vector is rebuilt
before AssociateFaces/DisassociateFaces return, so ``UPDATING`` is never observed.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..core.idempotency import run_once
from ..core.quality_filter import SEARCH_DEFAULT, filter_faces
from ..core.service import MAX_FACES_PER_USER, FaceService
from ..errors import (
    ConflictException,
    InvalidParameterException,
    ResourceNotFoundException,
    ServiceQuotaExceededException,
)
from ..spaces import faces_space, users_space
from ..storage.base import CollectionRecord, UserRecord
from .face_details import face_detail

DEFAULT_USER_MATCH_THRESHOLD = 80.0
DEFAULT_ASSOCIATION_THRESHOLD = 75.0
DEFAULT_MAX_USERS = 500
DEFAULT_PAGE_SIZE = 500


def user_status(record: UserRecord) -> str:
    """``ACTIVE`` with faces, ``CREATED`` without."""
    return "ACTIVE" if record.face_count else "CREATED"


def create_user(service: FaceService, request: dict[str, Any]) -> dict[str, Any]:
    """Create a user; ``ConflictException`` if the UserId exists in the collection."""
    collection = service.collection(request["CollectionId"])
    user_id = request["UserId"]

    def action() -> dict[str, Any]:
        if not service.store.create_user(collection.collection_id, user_id):
            raise ConflictException(f"The user id: {user_id} already exists in collection {collection.collection_id}")
        return {}

    with service.writing():
        response, _ = run_once(service.store, "CreateUser", request, action)
    return response


def delete_user(service: FaceService, request: dict[str, Any]) -> dict[str, Any]:
    """Disassociate a user's faces, then delete it; ``ResourceNotFoundException`` if absent."""
    collection = service.collection(request["CollectionId"])
    user_id = request["UserId"]

    def action() -> dict[str, Any]:
        if not service.store.delete_user(collection.collection_id, user_id):
            raise ResourceNotFoundException(f"The user id: {user_id} does not exist")
        return {}

    with service.writing():
        response, _ = run_once(service.store, "DeleteUser", request, action)
    return response


def list_users(service: FaceService, request: dict[str, Any]) -> dict[str, Any]:
    """Users in creation order, ``MaxResults`` (default 500) per page."""
    collection = service.collection(request["CollectionId"])
    listing = f"users\n{collection.collection_id}"
    after = service.tokens.cursor(request.get("NextToken"), listing)
    page = service.store.list_users(collection.collection_id, after, request.get("MaxResults") or DEFAULT_PAGE_SIZE)
    return {
        "Users": [{"UserId": user.user_id, "UserStatus": user_status(user)} for user in page.items],
        "NextToken": service.tokens.token(page.cursor, listing),
    }


def associate_faces(service: FaceService, request: dict[str, Any]) -> dict[str, Any]:
    """Associate faces with a user.

    A face of another user fails with ``ASSOCIATED_TO_A_DIFFERENT_USER``, an unknown one (or one whose
    stored vector is quarantined: ``core/index_sync.py``) with ``FACE_NOT_FOUND``, and one whose
    Similarity to the user's existing vector is below
    ``UserMatchThreshold`` (default 75) with ``LOW_MATCH_CONFIDENCE`` and that Similarity as
    ``Confidence``. Faces already associated with this user are ignored. More than 100 faces per
    user is ``ServiceQuotaExceededException``.
    """
    collection = service.collection(request["CollectionId"])
    cid, user_id = collection.collection_id, request["UserId"]
    threshold = request.get("UserMatchThreshold", DEFAULT_ASSOCIATION_THRESHOLD)

    def action() -> dict[str, Any]:
        user = service.user(cid, user_id)
        found = {face.face_id: face for face in service.store.get_faces(cid, request["FaceIds"])}
        associated, failed = [], []
        rule = service.rule(collection)
        for face_id in dict.fromkeys(request["FaceIds"]):
            face = found.get(face_id)
            if face is None or rule.problem(face.embedding) is not None:  # a quarantined face is not searchable
                failed.append({"FaceId": face_id, "Reasons": ["FACE_NOT_FOUND"]})
            elif face.user_id == user_id:
                continue
            elif face.user_id is not None:
                failed.append(
                    {"FaceId": face_id, "UserId": face.user_id, "Reasons": ["ASSOCIATED_TO_A_DIFFERENT_USER"]}
                )
            elif (
                user.vector is not None
                and (similarity := float(service.pack(collection).similarity(np.linalg.norm(face.embedding - user.vector))))
                < threshold
            ):
                failed.append(
                    {
                        "FaceId": face_id,
                        "UserId": user_id,
                        "Confidence": similarity,
                        "Reasons": ["LOW_MATCH_CONFIDENCE"],
                    }
                )
            else:
                associated.append(face_id)
        if user.face_count + len(associated) > MAX_FACES_PER_USER:
            raise ServiceQuotaExceededException(
                f"User {user_id} would have {user.face_count + len(associated)} faces; the limit is {MAX_FACES_PER_USER}"
            )
        service.store.set_face_user(cid, associated, user_id)
        service.recompute_user_vector(cid, user_id)
        status = "ACTIVE" if user.face_count + len(associated) else "CREATED"
        return {
            "AssociatedFaces": [{"FaceId": face_id} for face_id in associated],
            "UnsuccessfulFaceAssociations": failed,
            "UserStatus": status,
        }

    with service.writing():
        response, _ = run_once(service.store, "AssociateFaces", request, action)
    return response


def disassociate_faces(service: FaceService, request: dict[str, Any]) -> dict[str, Any]:
    """Remove faces from a user; unknown faces fail with ``FACE_NOT_FOUND``, another user's with
    ``ASSOCIATED_TO_A_DIFFERENT_USER``; faces of no user are ignored."""
    collection = service.collection(request["CollectionId"])
    cid, user_id = collection.collection_id, request["UserId"]

    def action() -> dict[str, Any]:
        user = service.user(cid, user_id)
        found = {face.face_id: face for face in service.store.get_faces(cid, request["FaceIds"])}
        removed, failed = [], []
        for face_id in dict.fromkeys(request["FaceIds"]):
            face = found.get(face_id)
            if face is None:
                failed.append({"FaceId": face_id, "Reasons": ["FACE_NOT_FOUND"]})
            elif face.user_id == user_id:
                removed.append(face_id)
            elif face.user_id is not None:
                failed.append(
                    {"FaceId": face_id, "UserId": face.user_id, "Reasons": ["ASSOCIATED_TO_A_DIFFERENT_USER"]}
                )
        service.store.set_face_user(cid, removed, None)
        service.recompute_user_vector(cid, user_id)
        return {
            "DisassociatedFaces": [{"FaceId": face_id} for face_id in removed],
            "UnsuccessfulFaceDisassociations": failed,
            "UserStatus": "ACTIVE" if user.face_count - len(removed) else "CREATED",
        }

    with service.writing():
        response, _ = run_once(service.store, "DisassociateFaces", request, action)
    return response


def search_users(service: FaceService, request: dict[str, Any]) -> dict[str, Any]:
    """Users matching a stored face (``FaceId``) or another user (``UserId``), most similar first."""
    collection = service.collection(request["CollectionId"])
    cid = collection.collection_id
    face_id, user_id = request.get("FaceId"), request.get("UserId")
    if (face_id is None) == (user_id is None):
        raise InvalidParameterException("Provide exactly one of FaceId or UserId")
    response: dict[str, Any] = {"FaceModelVersion": collection.face_model_version}
    if face_id is not None:
        if not service.store.get_faces(cid, [face_id]):
            raise ResourceNotFoundException(f"The face id: {face_id} does not exist in collection {cid}")
        vector, exclude = service.index.get(faces_space(cid), face_id), None
        response["SearchedFace"] = {"FaceId": face_id}
    else:
        user = service.user(cid, user_id)
        if user.vector is None:
            raise InvalidParameterException(f"The user id: {user_id} has no associated faces to search with")
        vector, exclude = service.index.get(users_space(cid), user_id), user_id
        response["SearchedUser"] = {"UserId": user_id}
    if vector is None:  # quarantined by the index (core/index_sync.py): never searched with
        raise InvalidParameterException(
            f"The {'face' if face_id is not None else 'user'} id: {face_id or user_id} cannot be searched: its stored"
            " vector is not one its face model produces"
        )
    response["UserMatches"] = _user_matches(service, collection, vector, request, exclude)
    return response


def search_users_by_image(service: FaceService, request: dict[str, Any]) -> dict[str, Any]:
    """Users matching the largest face in ``Image`` that passes ``QualityFilter`` (default ``NONE``).

    The other faces are ``UnsearchedFaces``: ``FACE_NOT_LARGEST`` for good ones, their quality
    reasons for the rest. An image without a usable face gives no matches (not an error).
    """
    collection = service.collection(request["CollectionId"])
    pack = service.pack(collection)
    image = service.load_image(request["Image"])
    kept, rejected = filter_faces(pack.detect(image.pixels), image, request.get("QualityFilter") or SEARCH_DEFAULT)
    unsearched = [(face, ["FACE_NOT_LARGEST"]) for face in kept[1:]] + rejected
    response: dict[str, Any] = {
        "FaceModelVersion": collection.face_model_version,
        "UserMatches": [],
        "UnsearchedFaces": [
            {"FaceDetails": face_detail(face, image), "Reasons": reasons}
            for face, reasons in sorted(unsearched, key=lambda item: item[0].face.area, reverse=True)
        ],
    }
    if kept:
        searched = kept[0]
        vector = pack.embed(image.pixels, [searched.face])[0]
        response["SearchedFace"] = {"FaceDetail": face_detail(searched, image)}
        response["UserMatches"] = _user_matches(service, collection, vector, request, None)
    return response


def _user_matches(
    service: FaceService, collection: CollectionRecord, vector: Any, request: dict[str, Any], exclude: str | None
) -> list[dict[str, Any]]:
    matches = service.search_users(
        collection,
        vector,
        request.get("MaxUsers") or DEFAULT_MAX_USERS,
        request.get("UserMatchThreshold", DEFAULT_USER_MATCH_THRESHOLD),
        exclude=exclude,
    )
    return [
        {"Similarity": similarity, "User": {"UserId": user.user_id, "UserStatus": user_status(user)}}
        for user, similarity in matches
    ]

