"""Face operations on a collection: IndexFaces, ListFaces, DeleteFaces, SearchFaces, SearchFacesByImage.

Semantics follow the AWS Rekognition API Reference: faces are indexed largest first and
``MaxFaces`` (at most 100) keeps the largest (the rest are ``UnindexedFaces`` with ``EXCEEDS_MAX_FACES``);
matches are ordered by ``Similarity``, highest first, and filtered by ``FaceMatchThreshold``
(default 80). Indexing the same image bytes with the same ``ExternalImageId`` again returns the
faces stored the first time instead of storing duplicates; without an ``ExternalImageId`` every
call indexes the image again, as on AWS ("If you provide the same image, specify the same
collection, and use the same external ID in the IndexFaces operation, Amazon Rekognition doesn't
save duplicate face metadata"). Rekognition keeps no image of a face; with ``--face-crops`` the
server keeps a small aligned picture of each face it stores (``vision/face_crop.py``), in the same
transaction as the face, for ``GetFaceCrops`` (``operations/crops.py``).
"""

from __future__ import annotations

import uuid
from typing import Any

from ..core.quality_filter import INDEX_DEFAULT, SEARCH_DEFAULT, filter_faces
from ..core.rules import MAX_FACES_PER_IMAGE
from ..core.service import FaceService
from ..errors import InvalidParameterException
from ..spaces import faces_space
from ..storage.base import FaceRecord
from ..tallies import tally
from ..vision.face_crop import face_crop
from .face_details import bounding_box, face_detail, face_member

DETECTED_FACE_COUNT = "DetectedFaceCount"
"""Tally of the faces DetectFaces and IndexFaces found (before ``QualityFilter`` and ``MaxFaces``),
the metric AWS publishes for these operations in CloudWatch (``rekollect.tallies``)."""

DEFAULT_FACE_MATCH_THRESHOLD = 80.0
DEFAULT_MAX_MATCHES = 4096
DEFAULT_PAGE_SIZE = 1000
NO_FACE_MESSAGE = "There are no faces in the image. Should be at least 1."


def index_faces(service: FaceService, request: dict[str, Any]) -> dict[str, Any]:
    """Detect faces in ``Image`` and add the largest ``MaxFaces`` of them to the collection."""
    collection = service.collection(request["CollectionId"])
    pack = service.pack(collection)
    image = service.load_image(request["Image"])
    detected = pack.detect(image.pixels)
    tally(DETECTED_FACE_COUNT, len(detected))
    faces, rejected = filter_faces(detected, image, request.get("QualityFilter") or INDEX_DEFAULT)
    limit = min(request.get("MaxFaces") or MAX_FACES_PER_IMAGE, MAX_FACES_PER_IMAGE)
    kept, excess = faces[:limit], faces[limit:]
    attributes = request.get("DetectionAttributes")
    external_image_id = request.get("ExternalImageId")

    stored = _already_indexed(service, collection.collection_id, image.sha256, external_image_id)
    if stored is None and kept:
        embeddings = pack.embed(image.pixels, [measured.face for measured in kept])
        image_id = str(uuid.uuid4())
        new_records = [
            FaceRecord(
                face_id=str(uuid.uuid4()),
                image_id=image_id,
                external_image_id=external_image_id,
                box=measured.box,
                confidence=measured.confidence,
                model_version=pack.model_version,
                embedding=embedding,
            )
            for measured, embedding in zip(kept, embeddings, strict=True)
        ]
        service.check_new_faces(collection, new_records)
        crops = {
            record.face_id: face_crop(image.pixels, measured.face)
            for record, measured in zip(new_records, kept, strict=True)
            if service.face_crops
        }
        # The duplicate check and the insert share one store transaction, so two server processes
        # indexing the same image at once cannot both store it.
        with service.writing():
            stored = _already_indexed(service, collection.collection_id, image.sha256, external_image_id)
            if stored is None:
                service.store.add_faces(collection.collection_id, image.sha256, new_records)
                if crops:
                    service.store.add_face_crops(collection.collection_id, crops)
                stored = new_records
    return {
        "FaceRecords": [
            {"Face": _indexed_face(record), "FaceDetail": face_detail(face, image, attributes)}
            for record, face in zip(stored or [], kept, strict=False)
        ],
        "FaceModelVersion": pack.model_version,
        "UnindexedFaces": [
            {"Reasons": reasons, "FaceDetail": face_detail(face, image, attributes)}
            for face, reasons in [*((face, ["EXCEEDS_MAX_FACES"]) for face in excess), *rejected]
        ],
    }


def list_faces(service: FaceService, request: dict[str, Any]) -> dict[str, Any]:
    """Stored faces in indexing order, ``MaxResults`` (default 1000) per page, optionally filtered."""
    collection = service.collection(request["CollectionId"])
    user_id, face_ids = request.get("UserId"), request.get("FaceIds")
    listing = f"faces\n{collection.collection_id}\n{user_id}\n{','.join(face_ids or [])}"
    after = service.tokens.cursor(request.get("NextToken"), listing)
    page = service.store.list_faces(
        collection.collection_id,
        after,
        request.get("MaxResults") or DEFAULT_PAGE_SIZE,
        user_id=user_id,
        face_ids=face_ids,
    )
    return {
        "Faces": [face_member(record) for record in page.items],
        "NextToken": service.tokens.token(page.cursor, listing),
        "FaceModelVersion": collection.face_model_version,
    }


def delete_faces(service: FaceService, request: dict[str, Any]) -> dict[str, Any]:
    """Delete faces by id. Faces still associated with a user are kept and reported with
    ``ASSOCIATED_TO_AN_EXISTING_USER``; unknown ids with ``FACE_NOT_FOUND``."""
    collection = service.collection(request["CollectionId"])
    cid = collection.collection_id
    requested = list(dict.fromkeys(request["FaceIds"]))
    with service.writing():  # no AssociateFaces in any process between the check and the delete
        found = {face.face_id: face for face in service.store.get_faces(cid, requested)}
        failed = [
            {"FaceId": face_id, "UserId": found[face_id].user_id, "Reasons": ["ASSOCIATED_TO_AN_EXISTING_USER"]}
            if face_id in found
            else {"FaceId": face_id, "Reasons": ["FACE_NOT_FOUND"]}
            for face_id in requested
            if face_id not in found or found[face_id].user_id is not None
        ]
        deletable = [face_id for face_id in requested if face_id in found and found[face_id].user_id is None]
        deleted = service.store.delete_faces(cid, deletable)
    return {"DeletedFaces": deleted, "UnsuccessfulFaceDeletions": failed}


def search_faces(service: FaceService, request: dict[str, Any]) -> dict[str, Any]:
    """Faces in the collection that match a stored face (the face itself is not returned)."""
    collection = service.collection(request["CollectionId"])
    face_id = request["FaceId"]
    vector = service.index.get(faces_space(collection.collection_id), face_id)
    if vector is None:
        raise InvalidParameterException(f"faceId {face_id} was not found in the collection")
    matches = service.search_faces(
        collection,
        vector,
        request.get("MaxFaces") or DEFAULT_MAX_MATCHES,
        request.get("FaceMatchThreshold", DEFAULT_FACE_MATCH_THRESHOLD),
        exclude=face_id,
    )
    return {
        "SearchedFaceId": face_id,
        "FaceMatches": [{"Similarity": similarity, "Face": face_member(record)} for record, similarity in matches],
        "FaceModelVersion": collection.face_model_version,
    }


def search_faces_by_image(service: FaceService, request: dict[str, Any]) -> dict[str, Any]:
    """Faces in the collection that match the largest face in ``Image`` that passes ``QualityFilter``."""
    collection = service.collection(request["CollectionId"])
    pack = service.pack(collection)
    image = service.load_image(request["Image"])
    faces, _ = filter_faces(pack.detect(image.pixels), image, request.get("QualityFilter") or SEARCH_DEFAULT)
    if not faces:
        raise InvalidParameterException(NO_FACE_MESSAGE)
    searched = faces[0]
    vector = pack.embed(image.pixels, [searched.face])[0]
    matches = service.search_faces(
        collection,
        vector,
        request.get("MaxFaces") or DEFAULT_MAX_MATCHES,
        request.get("FaceMatchThreshold", DEFAULT_FACE_MATCH_THRESHOLD),
    )
    return {
        "SearchedFaceBoundingBox": bounding_box(searched.box),
        "SearchedFaceConfidence": searched.confidence,
        "FaceMatches": [{"Similarity": similarity, "Face": face_member(record)} for record, similarity in matches],
        "FaceModelVersion": collection.face_model_version,
    }


def _already_indexed(
    service: FaceService, collection_id: str, content_hash: str, external_image_id: str | None
) -> list[FaceRecord] | None:
    """The faces stored from the same bytes with the same ``ExternalImageId``; ``None`` when there are
    none or no ``ExternalImageId`` is given (AWS de-duplicates only by the external id)."""
    if external_image_id is None:
        return None
    image_id = service.store.find_image(collection_id, content_hash, external_image_id)
    return None if image_id is None else service.store.faces_of_image(collection_id, image_id)


def _indexed_face(record: FaceRecord) -> dict[str, Any]:
    """IndexFaces reports the new face without the ListFaces-only members."""
    member = face_member(record)
    del member["IndexFacesModelVersion"], member["UserId"]
    return member

