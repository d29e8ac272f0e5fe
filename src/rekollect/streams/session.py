"""One session of a running stream processor, on the worker that claimed its job.

``Session.run`` reads the camera (``camera.LiveSource``), searches the collection for the faces of
each sampled frame (``FrameSearch``), writes one record per frame to the outputs
(``outputs.Outputs``) and keeps the processor's status: ``RUNNING`` from the first frame (with a
``StatusMessage`` while the camera is being reconnected), ``STOPPED`` once a StopStreamProcessor or
``MaxDurationInSeconds`` ends it (after the queued records are sent), ``FAILED`` with the reason when
the camera cannot be reached at the start, an output refuses the records, or the collection is
deleted. Once a second (``CONTROL_SECONDS``) it reads the processor's row and its job: a stop
request, a newer session, or the job held by another worker (its lease ran out: this worker was
cut off) end it. Every status it writes is conditional on its own session still being the
processor's, so a late write never overrides a newer session or a final status.

Searching a frame: faces are detected and measured, those outside ``RegionsOfInterest`` dropped,
embedded along their tracks (``video.reuse.EmbeddingReuse``: a face is embedded when its track is
new or its quality improved), and each searched in the collection at ``FaceMatchThreshold`` (AWS:
"values lower than 80 are set to 80"), at most ``MAX_MATCHES_PER_FACE`` matches a face.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ..core.measurement import FaceMeasurement, measure_all
from ..core.service import FaceService
from ..storage.base import CollectionRecord, FaceRecord
from ..storage.jobs import FAILED as JOB_FAILED
from ..storage.jobs import SUCCEEDED, JobRecord
from ..storage.streams import FAILED, RUNNING, STARTING, STOPPED, STOPPING, SqlStreamStore, StreamProcessorRecord
from ..video.analysis import MAX_MATCHES_PER_FACE
from ..video.reuse import EmbeddingReuse, face_quality
from .camera import LiveFrame, LiveSource
from .outputs import Outputs, OutRecord, record_bytes
from .regions import kept, region_polygon

log = logging.getLogger(__name__)

CONTROL_SECONDS = 1.0
"""How often a session reads its processor's row and job, and stores its latest matches."""
FLUSH_SECONDS = 10.0
"""How long a stopping session waits for its queued records to be sent."""
MATCHES_KEPT = 50
"""Latest matched frame records kept per processor (``GetStreamProcessorMatches``)."""
MIN_FACE_MATCH_THRESHOLD = 80.0
"""AWS ``FaceSearchSettings``: "values lower than 80 are set to 80"."""
DELETED_MESSAGE = "The collection id: {} was deleted while the stream processor was running"


@dataclass(frozen=True)
class FaceFound:
    """A face of a frame: its measurement and the stored faces it matched, most similar first."""

    measured: FaceMeasurement
    matches: tuple[tuple[FaceRecord, float], ...]


RecordOf = Callable[[str, LiveFrame, list[FaceFound]], dict[str, Any]]
"""The frame record (AWS's Kinesis face search record) of the faces found in a frame of the video
stream with that ARN: the operations write it (``operations.stream_processors.record_of``)."""


@dataclass(frozen=True)
class Ending:
    """How a session ended: its job's final status, and the processor's (``None``: cut off, another
    worker holds the job now, so nothing is written)."""

    job_status: str
    status: str | None
    message: str | None = None


STOP = Ending(SUCCEEDED, STOPPED)
CUT_OFF = Ending(JOB_FAILED, None)


class Failed(Exception):
    """The session cannot go on; the message becomes the processor's ``StatusMessage``."""


class FrameSearch:
    """Finds the faces of successive frames of one session and searches the collection for them."""

    def __init__(
        self, service: FaceService, collection: CollectionRecord, threshold: float, regions: list[dict[str, Any]]
    ) -> None:
        self.service = service
        self.collection = collection
        self.pack = service.pack(collection)
        self.threshold = max(MIN_FACE_MATCH_THRESHOLD, threshold)
        self.polygons = [region_polygon(region) for region in regions]
        self.reuse = EmbeddingReuse()

    def faces(self, frame: LiveFrame) -> list[FaceFound]:
        """The faces of ``frame`` inside the regions of interest, with their matches."""
        pixels = frame.image.pixels
        measured = [
            face for face in measure_all(self.pack.detect(pixels), frame.image) if kept(face.box, self.polygons)
        ]
        if not measured:
            return []
        vectors = self.reuse.embeddings(
            round(frame.received * 1000),
            pixels,
            [face.face.box for face in measured],
            [face_quality(face) for face in measured],
            lambda wanted: self.pack.embed(pixels, [measured[index].face for index in wanted]),
        )
        return [
            FaceFound(
                face, tuple(self.service.search_faces(self.collection, vector, MAX_MATCHES_PER_FACE, self.threshold))
            )
            for face, vector in zip(measured, vectors, strict=True)
        ]


class Session:
    """The session ``job`` runs, of the processor ``record``, on the worker ``owner`` (module docstring).

    ``open_source(url, on_state, must_connect)`` makes the camera reader; ``outputs`` are the
    session's destinations; ``notify(record, status, message)`` publishes a status change.
    """

    def __init__(
        self,
        *,
        service: FaceService,
        store: SqlStreamStore,
        job: JobRecord,
        owner: str,
        record: StreamProcessorRecord,
        url: str,
        outputs: Outputs,
        open_source: Callable[[str, Callable[[str | None], None], bool], LiveSource],
        record_of: RecordOf,
        notify: Callable[[StreamProcessorRecord, str, str | None], None],
    ) -> None:
        self.service = service
        self.store = store
        self.job = job
        self.owner = owner
        self.record = record
        self.name = record.name
        self.session_id = job.request["SessionId"]
        self.url = url
        self.outputs = outputs
        self.open_source = open_source
        self.record_of = record_of
        self.notify = notify
        self.stream_arn = record.settings["Input"]["KinesisVideoStream"]["Arn"]
        max_duration = job.request.get("MaxDurationInSeconds")
        self.deadline = None if max_duration is None else job.created + max_duration
        self._status_lock = threading.Lock()
        self._status = record.status if record.status == RUNNING else STARTING
        self._message = record.status_message  # a worker that died may have left one: the first frame clears it
        self._matched: list[str] = []

    def run(self) -> None:
        """Run until stopped, failed, or cut off (see the module docstring)."""
        try:
            search = self._search()
        except Failed as error:
            self._end(Ending(JOB_FAILED, FAILED, str(error)))
            return
        source = self.open_source(self.url, self._source_state, self._status == STARTING)
        source.start()
        try:
            ending = self._loop(source, search)
        except Failed as error:
            ending = Ending(JOB_FAILED, FAILED, str(error))
        except Exception:
            log.exception("stream processor %s failed", self.name)
            ending = Ending(JOB_FAILED, FAILED, "Internal error while processing the stream")
        finally:
            source.stop()
        self._end(ending)
        log.info(
            "stream processor %s: session %s ended %s (%d frames skipped; %d of %d faces embedded)",
            self.name,
            self.session_id,
            ending.status or "(taken over by another worker)",
            source.skipped,
            search.reuse.embedded,
            search.reuse.faces,
        )

    def _search(self) -> FrameSearch:
        face_search = self.record.settings["Settings"]["FaceSearch"]
        collection_id = face_search["CollectionId"]
        if self.service.store.get_collection(collection_id) is None:
            raise Failed(f"The collection id: {collection_id} does not exist")
        self.collection = self.service.collection(collection_id)
        regions = self.record.settings.get("RegionsOfInterest") or []
        return FrameSearch(self.service, self.collection, face_search["FaceMatchThreshold"], regions)

    def _loop(self, source: LiveSource, search: FrameSearch) -> Ending:
        """Frames until the session ends; how it ended."""
        next_control = 0.0
        while True:
            if time.monotonic() >= next_control:
                ending = self._control(source)
                if ending is not None:
                    return ending
                next_control = time.monotonic() + CONTROL_SECONDS
            frame = source.next_frame(timeout=max(0.0, next_control - time.monotonic()))
            if frame is None:
                if source.failure:
                    raise Failed(source.failure)
                continue
            if self._status == STARTING:
                self._set_status(RUNNING, None)
            faces = search.faces(frame)
            data = record_bytes(self.record_of(self.stream_arn, frame, faces))
            out = OutRecord(data, f"{frame.fragment_number}-{round(frame.offset * 1000):06d}", frame.received)
            ending = None

            def keep_waiting() -> bool:
                nonlocal ending
                ending = self._control(source)
                return ending is None

            if not self.outputs.put(out, keep_waiting):
                assert ending is not None
                return ending
            if any(face.matches for face in faces):
                self._matched.append(data.decode())

    def _control(self, source: LiveSource) -> Ending | None:
        """``None`` to go on; else how the session ends. Stores the latest matches."""
        self._store_matches()
        if not self.store.jobs.holds(self.job.job_id, self.owner):
            return CUT_OFF
        record = self.store.get(self.name)
        if record is None or record.session_id != self.session_id or record.status in (STOPPED, FAILED, STOPPING):
            return STOP
        if self.deadline is not None and time.time() >= self.deadline:
            return STOP
        current = self.service.store.get_collection(self.collection.collection_id)
        if current is None or current.created != self.collection.created:
            raise Failed(DELETED_MESSAGE.format(self.collection.collection_id))
        if self.outputs.failure:
            raise Failed(self.outputs.failure)
        if source.failure:
            raise Failed(source.failure)
        return None

    def _store_matches(self) -> None:
        """Store the matched frame records of the frames analysed since the last call."""
        self.store.add_matches(self.name, self.session_id, self._matched, MATCHES_KEPT)
        self._matched = []

    def _source_state(self, message: str | None) -> None:
        """The camera's state (reader thread): a message while it is unavailable, ``None`` when it works."""
        with self._status_lock:
            if message == self._message:
                return
        self._set_status(self._status, message)

    def _set_status(self, status: str, message: str | None) -> None:
        with self._status_lock:
            previous = self._status
            self._status, self._message = status, message
            recorded = self.store.set_session_status(self.name, self.session_id, status, message, (STARTING, RUNNING))
        if recorded and status != previous:
            self.notify(self.record, status, message)

    def _end(self, ending: Ending) -> None:
        """Send the queued records (when stopping; else drop them), then finish the job and record the
        processor's status in one transaction (nothing when cut off)."""
        if not self.outputs.close(FLUSH_SECONDS if ending.status == STOPPED else 0) and ending.status == STOPPED:
            log.warning("stream processor %s: records still queued when its session ended were dropped", self.name)
        if ending.status is None:
            return
        self._store_matches()
        with self.store.atomic():
            finished = self.store.jobs.finish(self.job.job_id, self.owner, ending.job_status, ending.message, None, [])
            recorded = finished is not None and self.store.set_session_status(
                self.name, self.session_id, ending.status, ending.message, (STARTING, RUNNING, STOPPING)
            )
        if recorded:
            self.notify(self.record, ending.status, ending.message)
