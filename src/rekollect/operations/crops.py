"""GetFaceCrops (``rekollect-extensions``, not in Rekognition): the pictures the server kept of stored faces.

Rekognition keeps no image of the faces it indexes ("Amazon Rekognition doesn't save the actual
faces that are detected", IndexFaces in the API Reference); Rekollect keeps one only when its
operator runs it with ``--face-crops`` (``vision/face_crop.py``: a JPEG aligned on the face's
landmarks, 128 pixels square). GetFaceCrops returns those of ``FaceIds`` and, for each user of
``UserIds``, the picture of its face nearest the user's vector (the face that stands best for the
user; a user's picture is never stored apart, so it goes with its faces). Faces without a picture
(indexed while crops were off, or unknown) and users without one are left out; ``FaceCropsEnabled``
says whether the server keeps pictures of the faces it indexes now.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..core.service import MAX_FACES_PER_USER, FaceService
from ..errors import InvalidParameterException


def get_face_crops(service: FaceService, request: dict[str, Any]) -> dict[str, Any]:
    """Pictures of ``FaceIds`` and of ``UserIds``' best faces; ``InvalidParameterException`` with
    neither, ``ResourceNotFoundException`` without the collection."""
    collection = service.collection(request["CollectionId"])
    cid = collection.collection_id
    face_ids, user_ids = request.get("FaceIds") or [], request.get("UserIds") or []
    if not face_ids and not user_ids:
        raise InvalidParameterException("Provide FaceIds, UserIds or both")
    found = service.store.get_face_crops(cid, face_ids) if face_ids else {}
    crops: list[dict[str, Any]] = [
        {"FaceId": face_id, "Crop": found[face_id]} for face_id in dict.fromkeys(face_ids) if face_id in found
    ]
    for user_id in dict.fromkeys(user_ids):
        best = _user_crop(service, cid, user_id)
        if best is not None:
            crops.append({"FaceId": best[0], "UserId": user_id, "Crop": best[1]})
    return {"FaceCrops": crops, "FaceCropsEnabled": service.face_crops}


def _user_crop(service: FaceService, collection_id: str, user_id: str) -> tuple[str, bytes] | None:
    """``(FaceId, picture)`` of the user's face nearest its vector among those with a picture; ``None``
    for an unknown user or one without such a face."""
    user = service.store.get_user(collection_id, user_id)
    if user is None or user.vector is None:
        return None
    faces = service.store.list_faces(collection_id, None, MAX_FACES_PER_USER, user_id=user_id).items
    pictures = service.store.get_face_crops(collection_id, [face.face_id for face in faces])
    pictured = [face for face in faces if face.face_id in pictures]
    if not pictured:
        return None
    distances = np.linalg.norm(np.stack([face.embedding for face in pictured]) - user.vector, axis=1)
    best = pictured[int(np.argmin(distances))]
    return best.face_id, pictures[best.face_id]
