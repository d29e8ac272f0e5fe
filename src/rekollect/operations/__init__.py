"""Rekognition operations: one plain function each, ``(FaceService, request) -> response``.

``OPERATIONS`` maps each AWS operation name to its function; the wire layer binds them to a
``FaceService``. Requests arrive validated against botocore's model, responses are ``dict``s in
the model's output shape.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from functools import partial
from typing import Any

from ..core.service import FaceService
from . import collections, detection, faces, users, video

Operation = Callable[[FaceService, dict[str, Any]], dict[str, Any]]

OPERATIONS: dict[str, Operation] = {
    "CreateCollection": collections.create_collection,
    "DeleteCollection": collections.delete_collection,
    "DescribeCollection": collections.describe_collection,
    "ListCollections": collections.list_collections,
    "TagResource": collections.tag_resource,
    "UntagResource": collections.untag_resource,
    "ListTagsForResource": collections.list_tags_for_resource,
    "IndexFaces": faces.index_faces,
    "ListFaces": faces.list_faces,
    "DeleteFaces": faces.delete_faces,
    "SearchFaces": faces.search_faces,
    "SearchFacesByImage": faces.search_faces_by_image,
    "DetectFaces": detection.detect_faces,
    "CompareFaces": detection.compare_faces,
    "CreateUser": users.create_user,
    "DeleteUser": users.delete_user,
    "ListUsers": users.list_users,
    "AssociateFaces": users.associate_faces,
    "DisassociateFaces": users.disassociate_faces,
    "SearchUsers": users.search_users,
    "SearchUsersByImage": users.search_users_by_image,
    "StartFaceSearch": video.start_face_search,
    "GetFaceSearch": video.get_face_search,
    "StartFaceDetection": video.start_face_detection,
    "GetFaceDetection": video.get_face_detection,
}


def bind_operations(
    service: FaceService, operations: Mapping[str, Operation] = OPERATIONS
) -> dict[str, Callable[[dict[str, Any]], dict[str, Any]]]:
    """Each of ``operations`` (default: Rekognition's) with ``service`` bound, as the wire layer calls them."""
    return {name: partial(operation, service) for name, operation in operations.items()}
