"""Collection operations: CreateCollection, DeleteCollection, DescribeCollection, ListCollections,
and the collection tagging operations TagResource, UntagResource, ListTagsForResource.

Each function takes the ``FaceService`` and the validated request members and returns the
response members (AWS Rekognition API Reference for each operation).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from ..core.service import FaceService
from ..errors import InvalidParameterException, ResourceAlreadyExistsException, ResourceNotFoundException
from ..storage.base import CollectionRecord

DEFAULT_PAGE_SIZE = 1000
_ARN_PARTS = 6


def create_collection(service: FaceService, request: dict[str, Any]) -> dict[str, Any]:
    """Create an empty collection; ``ResourceAlreadyExistsException`` if the id is taken."""
    collection_id = request["CollectionId"]
    record = CollectionRecord(
        collection_id=collection_id,
        arn=f"{service.arn_prefix}collection/{collection_id}",
        created=dt.datetime.now(dt.UTC),
        face_model_version=service.packs.default.model_version,
    )
    with service.writing():
        if not service.store.create_collection(record, request.get("Tags") or {}):
            raise ResourceAlreadyExistsException(f"The collection id: {collection_id} already exists")
    return {"StatusCode": 200, "CollectionArn": record.arn, "FaceModelVersion": record.face_model_version}


def delete_collection(service: FaceService, request: dict[str, Any]) -> dict[str, Any]:
    """Delete a collection and every face in it; ``ResourceNotFoundException`` if absent."""
    collection_id = request["CollectionId"]
    with service.writing():
        if not service.store.delete_collection(collection_id):
            raise ResourceNotFoundException(f"The collection id: {collection_id} does not exist")
    return {"StatusCode": 200}


def describe_collection(service: FaceService, request: dict[str, Any]) -> dict[str, Any]:
    """FaceCount, UserCount, FaceModelVersion, CollectionARN and CreationTimestamp."""
    record = service.collection(request["CollectionId"])
    return {
        "FaceCount": service.store.count_faces(record.collection_id),
        "UserCount": service.store.count_users(record.collection_id),
        "FaceModelVersion": record.face_model_version,
        "CollectionARN": record.arn,
        "CreationTimestamp": record.created,
    }


def list_collections(service: FaceService, request: dict[str, Any]) -> dict[str, Any]:
    """Collection ids in creation order, ``MaxResults`` (default 1000) per page."""
    after = service.tokens.cursor(request.get("NextToken"), "collections")
    page = service.store.list_collections(after, request.get("MaxResults") or DEFAULT_PAGE_SIZE)
    return {
        "CollectionIds": [record.collection_id for record in page.items],
        "FaceModelVersions": [service.packs.canonical(record.face_model_version) for record in page.items],
        "NextToken": service.tokens.token(page.cursor, "collections"),
    }


def tag_resource(service: FaceService, request: dict[str, Any]) -> dict[str, Any]:
    """Add or overwrite tags on a collection."""
    collection_id = _collection_of(service, request["ResourceArn"])
    with service.writing():
        service.store.set_tags(collection_id, request["Tags"])
    return {}


def untag_resource(service: FaceService, request: dict[str, Any]) -> dict[str, Any]:
    """Remove tags from a collection by key."""
    collection_id = _collection_of(service, request["ResourceArn"])
    with service.writing():
        service.store.remove_tags(collection_id, request["TagKeys"])
    return {}


def list_tags_for_resource(service: FaceService, request: dict[str, Any]) -> dict[str, Any]:
    """The tags of a collection."""
    return {"Tags": service.store.get_tags(_collection_of(service, request["ResourceArn"]))}


def _collection_of(service: FaceService, arn: str) -> str:
    """Collection id named by ``arn:aws:rekognition:<region>:<account>:collection/<id>``."""
    parts = arn.split(":", _ARN_PARTS - 1)
    if len(parts) != _ARN_PARTS or parts[0] != "arn" or parts[2] != "rekognition":
        raise InvalidParameterException(f"Invalid ResourceArn: {arn}")
    kind, _, collection_id = parts[5].partition("/")
    if kind != "collection" or not collection_id:
        raise InvalidParameterException(f"ResourceArn is not a collection: {arn}")
    record = service.store.get_collection(collection_id)
    if record is None or record.arn != arn:
        raise ResourceNotFoundException(f"The resource {arn} does not exist")
    return collection_id
