"""What a job computes from sampled frames: GetFaceSearch ``PersonMatch`` and GetFaceDetection ``FaceDetection`` rows.

Face search (AWS API Reference, GetFaceSearch): faces in each sampled frame are linked into
persons (``tracker``) and each face is searched in the collection; a ``PersonMatch`` is kept when
the face matches at least one stored face with ``Similarity`` ≥ ``FaceMatchThreshold``. ``Person.Face``
carries the default attributes only, as GetFaceSearch documents. Face detection
(GetFaceDetection) reports every face of every sampled frame with the requested attributes.

The face models' work on a frame (detection, embeddings, attributes) runs on ``threads`` frames at
once (``parallel.analysed_in_order``); linking faces into persons and searching the collection then take the
frames one by one, in order. Two frames at once on two cores took the Hamilton clip's face search
from 3.6 to 2.5 s: each network run on two threads uses the second core for only part of its time.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np

from ..core.face_details import bounding_box, face_detail, face_member
from ..core.service import FaceService
from ..storage.jobs import ResultRow
from ..vision.analyzer import DetectedFace
from .decode import Frame
from .parallel import analysed_in_order
from .tracker import FaceTracker

MAX_MATCHES_PER_FACE = 100
"""Most collection faces reported for one face of one frame."""

LINK_SIMILARITY = 80.0
"""Similarity at which a face is re-linked to a person seen earlier (the default match threshold)."""

OVERLAP_SIMILARITY = 50.0
"""Similarity a face overlapping a person's last box needs to continue that person."""

def face_search_rows(
    service: FaceService, collection_id: str, threshold: float, frames: Iterable[Frame], threads: int = 1
) -> list[ResultRow]:
    """``PersonMatch`` rows for the faces of ``frames`` that match the collection (``threads``: frames
    analysed at once)."""
    collection = service.collection(collection_id)
    pack = service.pack(collection)
    tracker = FaceTracker(
        link_distance=pack.distance_at(LINK_SIMILARITY),
        overlap_distance=pack.distance_at(OVERLAP_SIMILARITY),
    )

    def analyse(frame: Frame) -> tuple[list[DetectedFace], np.ndarray]:
        faces = pack.detect(frame.image.pixels)
        return faces, pack.embed(frame.image.pixels, faces)

    rows = []
    for frame, (faces, vectors) in analysed_in_order(frames, analyse, threads):
        if not faces:
            continue
        persons = tracker.assign(frame.timestamp, [face.box for face in faces], vectors)
        for face, vector, person in zip(faces, vectors, persons, strict=True):
            matches = service.search_faces(collection, vector, MAX_MATCHES_PER_FACE, threshold)
            if not matches:
                continue
            payload = {
                "Timestamp": frame.timestamp,
                "Person": {
                    "Index": person,
                    "BoundingBox": bounding_box(face, frame.image),
                    "Face": face_detail(face, frame.image),
                },
                "FaceMatches": [
                    {"Similarity": similarity, "Face": face_member(record)} for record, similarity in matches
                ],
            }
            rows.append(ResultRow(frame.timestamp, person, payload))
    return rows


def face_detection_rows(
    service: FaceService, attributes: str, frames: Iterable[Frame], threads: int = 1
) -> list[ResultRow]:
    """``FaceDetection`` rows for every face of ``frames``, largest first within a frame (``threads``:
    frames analysed at once)."""
    pack = service.pack()

    def analyse(frame: Frame) -> list[dict[str, Any]]:
        return [face_detail(face, frame.image, [attributes]) for face in pack.detect(frame.image.pixels)]

    return [
        ResultRow(frame.timestamp, None, {"Timestamp": frame.timestamp, "Face": detail})
        for frame, details in analysed_in_order(frames, analyse, threads)
        for detail in details
    ]
