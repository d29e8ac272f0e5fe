"""Stateless image operations: DetectFaces and CompareFaces (AWS Rekognition API Reference)."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..core.measurement import measure_all
from ..core.quality_filter import SEARCH_DEFAULT, filter_faces
from ..core.service import FaceService
from ..errors import InvalidParameterException
from ..tallies import tally
from .face_details import bounding_box, face_detail
from .faces import DETECTED_FACE_COUNT, NO_FACE_MESSAGE

DEFAULT_SIMILARITY_THRESHOLD = 80.0
MAX_TARGET_FACES = 100
"""CompareFaces compares the source face with up to the 100 largest target faces (AWS docs)."""


def detect_faces(service: FaceService, request: dict[str, Any]) -> dict[str, Any]:
    """Every face in ``Image``, largest first, with the requested attributes."""
    image = service.load_image(request["Image"])
    attributes = request.get("Attributes")
    faces = service.pack().detect(image.pixels)
    tally(DETECTED_FACE_COUNT, len(faces))
    return {"FaceDetails": [face_detail(measured, image, attributes) for measured in measure_all(faces, image)]}


def compare_faces(service: FaceService, request: dict[str, Any]) -> dict[str, Any]:
    """Compare the largest face of ``SourceImage`` with the faces of ``TargetImage``.

    Target faces with ``Similarity`` ≥ ``SimilarityThreshold`` (default 80) are ``FaceMatches``,
    most similar first; the others are ``UnmatchedFaces``. Faces failing ``QualityFilter`` (default
    ``NONE``) are left out on both sides. A source image without a face is an
    ``InvalidParameterException``, as on AWS.
    """
    pack = service.pack()
    source = service.load_image(request["SourceImage"])
    target = service.load_image(request["TargetImage"])
    quality_filter = request.get("QualityFilter") or SEARCH_DEFAULT
    source_faces, _ = filter_faces(pack.detect(source.pixels), source, quality_filter)
    if not source_faces:
        raise InvalidParameterException(NO_FACE_MESSAGE)
    source_face = source_faces[0]
    target_faces, _ = filter_faces(pack.detect(target.pixels)[:MAX_TARGET_FACES], target, quality_filter)
    threshold = request.get("SimilarityThreshold", DEFAULT_SIMILARITY_THRESHOLD)

    matches: list[dict[str, Any]] = []
    unmatched: list[dict[str, Any]] = []
    if target_faces:
        source_vector = pack.embed(source.pixels, [source_face.face])[0]
        target_vectors = pack.embed(target.pixels, [measured.face for measured in target_faces])
        similarities = pack.similarity(np.linalg.norm(target_vectors - source_vector, axis=1))
        for face, similarity in zip(target_faces, similarities, strict=True):
            detail = face_detail(face, target)
            if similarity >= threshold:
                matches.append({"Similarity": float(similarity), "Face": detail})
            else:
                unmatched.append(detail)
        matches.sort(key=lambda match: match["Similarity"], reverse=True)
    return {
        "SourceImageFace": {"BoundingBox": bounding_box(source_face.box), "Confidence": source_face.confidence},
        "FaceMatches": matches,
        "UnmatchedFaces": unmatched,
    }
