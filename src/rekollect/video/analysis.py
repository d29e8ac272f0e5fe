"""What a job computes from sampled frames: the faces GetFaceSearch and GetFaceDetection report.

Face search (AWS API Reference, GetFaceSearch): faces in each sampled frame are linked into
persons (``tracker``) and each face is searched in the collection; a face is kept when it matches
at least one stored face with ``Similarity`` ≥ ``FaceMatchThreshold``. ``Person.Face`` carries the
default attributes only, as GetFaceSearch documents. Face detection (GetFaceDetection) reports
every face of every sampled frame with the requested attributes. Each face is a ``FaceSeen`` (what
was measured, not yet in the API's shape: ``operations.video.result_of`` writes it).

The face models' work on a frame (detection and measurement; attributes) runs on ``threads`` frames
at once (``parallel.analysed_in_order``); embedding, linking faces into persons and searching the
collection then take the frames one by one, in order. Two frames at once on two cores took the
Hamilton clip's face search from 3.6 to 2.5 s: each network run on two threads uses the second core
for only part of its time. A face search embeds a face only when its track is new or its quality
improved (``reuse.EmbeddingReuse``); the other faces of a track reuse its embedding.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from ..core.face_attributes import FaceAttributes, measure_attributes
from ..core.measurement import FaceMeasurement, measure_all
from ..core.service import FaceService
from ..storage.base import FaceRecord
from .decode import Frame
from .parallel import analysed_in_order
from .reuse import EmbeddingReuse, face_quality
from .tracker import FaceTracker

MAX_MATCHES_PER_FACE = 100
"""Most collection faces reported for one face of one frame."""

LINK_SIMILARITY = 80.0
"""Similarity at which a face is re-linked to a person seen earlier (the default match threshold)."""

OVERLAP_SIMILARITY = 50.0
"""Similarity a face overlapping a person's last box needs to continue that person."""


@dataclass(frozen=True)
class FaceSeen:
    """A face in a sampled frame: its ``timestamp`` (ms from the first frame), its measurement, the
    attributes asked for; for a face search, the ``person`` (``Index``) it was linked to and the stored
    faces it matched, ``(FaceRecord, Similarity)`` most similar first."""

    timestamp: int
    measured: FaceMeasurement
    attributes: FaceAttributes
    person: int | None = None
    matches: tuple[tuple[FaceRecord, float], ...] = ()


def faces_searched(
    service: FaceService, collection_id: str, threshold: float, frames: Iterable[Frame], threads: int = 1
) -> list[FaceSeen]:
    """The faces of ``frames`` that match the collection, with their persons and matches
    (``threads``: frames analysed at once)."""
    collection = service.collection(collection_id)
    pack = service.pack(collection)
    tracker = FaceTracker(
        link_distance=pack.distance_at(LINK_SIMILARITY),
        overlap_distance=pack.distance_at(OVERLAP_SIMILARITY),
    )
    reuse = EmbeddingReuse()

    def analyse(frame: Frame) -> list[FaceMeasurement]:
        return measure_all(pack.detect(frame.image.pixels), frame.image)

    rows = []
    for frame, measured in analysed_in_order(frames, analyse, threads):
        if not measured:
            continue
        boxes = [face.face.box for face in measured]
        vectors = reuse.embeddings(
            frame.timestamp,
            frame.image.pixels,
            boxes,
            [face_quality(face) for face in measured],
            lambda wanted, frame=frame, measured=measured: pack.embed(
                frame.image.pixels, [measured[index].face for index in wanted]
            ),
        )
        persons = tracker.assign(frame.timestamp, boxes, vectors)
        for face, vector, person in zip(measured, vectors, persons, strict=True):
            matches = service.search_faces(collection, vector, MAX_MATCHES_PER_FACE, threshold)
            if matches:
                rows.append(FaceSeen(frame.timestamp, face, FaceAttributes(), person, tuple(matches)))
    return rows


def faces_detected(service: FaceService, attributes: str, frames: Iterable[Frame], threads: int = 1) -> list[FaceSeen]:
    """Every face of ``frames`` with the ``FaceAttributes`` (``DEFAULT`` or ``ALL``) asked for, largest
    first within a frame (``threads``: frames analysed at once)."""
    pack = service.pack()

    def analyse(frame: Frame) -> list[tuple[FaceMeasurement, FaceAttributes]]:
        return [
            (measured, measure_attributes(measured.face, frame.image, [attributes]))
            for measured in measure_all(pack.detect(frame.image.pixels), frame.image)
        ]

    return [
        FaceSeen(frame.timestamp, measured, found)
        for frame, faces in analysed_in_order(frames, analyse, threads)
        for measured, found in faces
    ]
