"""Face clustering jobs: started in the request path, run on a worker thread, persisted, resumed.

They live in the video jobs' store (``<data-dir>/jobs.sqlite3``, ``storage.jobs``) with the API
name ``StartFaceClustering``: the validated request, the status, the share of the work done
(``JobStore.set_progress``), and on success one result row per cluster (largest first) followed by
one per unclustered face, written with the final status in one transaction; the counts
(``FaceCount``, ``ClusterCount``, ``UnclusteredFaceCount``) go in the job's metadata column.

A job reads the collection's faces from the metadata store (the source of truth, shared by every
process) page by page, without stopping writes: a face indexed during the job may be left out, and
one deleted after it was read may still be listed. It needs nothing else to run again: jobs left ``IN_PROGRESS`` by a stopped server are
run again from the beginning by the process that resumes jobs (``run_worker(resume=True)``), and
any process answers GetFaceClustering from the shared store. A job whose collection was deleted (or
deleted and created again) while it ran ends ``FAILED``, checked under the store's write lock as
video face searches are (``video.jobs``).

Idempotency and limits as the video jobs (AWS API Reference for StartFaceSearch): a repeated
``ClientRequestToken`` returns the same ``JobId`` for equal parameters and
``IdempotentParameterMismatchException`` otherwise; at most ``max_jobs`` clustering jobs may be
``IN_PROGRESS``, one more is a ``LimitExceededException``.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
import uuid
from collections import Counter
from typing import Any

import numpy as np

from ..core.service import FaceService
from ..errors import IdempotentParameterMismatchException, LimitExceededException, ResourceNotFoundException
from ..storage.base import CollectionRecord, FaceRecord
from ..storage.jobs import FAILED, IN_PROGRESS, SUCCEEDED, JobRecord, JobStore, ResultRow
from ..vision.analyzer import FaceAnalyzer
from .graph import Cluster, cluster_vectors

log = logging.getLogger(__name__)

FACE_CLUSTERING = "StartFaceClustering"
DEFAULT_MAX_JOBS = 20
"""Clustering jobs ``IN_PROGRESS`` at once (as Rekognition's default quota for video jobs)."""
DELETED_MESSAGE = "The collection id: {} was deleted while the job was in progress"
_PAGE = 10_000
"""Faces read from the store per query."""
_LOADED, _GRAPHED = 0.1, 0.9
"""Share of the job done once the faces are read, and once the neighbour graph is built."""
_PROGRESS_STEP = 0.02
"""Least progress between two progress writes."""


class ClusteringJobs:
    """Starts, runs, persists and resumes face clustering jobs for one ``FaceService``."""

    def __init__(self, service: FaceService, store: JobStore, *, max_jobs: int = DEFAULT_MAX_JOBS) -> None:
        if max_jobs < 1:
            raise ValueError("the clustering job limit must be at least 1")
        self.service = service
        self.store = store
        self.max_jobs = max_jobs
        self._lock = threading.Lock()
        self._queue: queue.Queue[str] = queue.Queue()

    def run_worker(self, *, resume: bool = True) -> None:
        """Start the worker thread; with ``resume``, first queue the clustering jobs left unfinished."""
        for job in self._in_progress() if resume else []:
            log.info("resuming face clustering job %s", job.job_id)
            self._queue.put(job.job_id)
        threading.Thread(target=self._work, name="clustering-jobs", daemon=True).start()

    def start(self, params: dict[str, Any], client_token: str | None) -> str:
        """Start a job with the validated ``params`` (defaults filled in, ``CollectionId`` existing); return its ``JobId``."""
        with self._lock:
            if client_token is not None:
                existing = self.store.find_by_token(FACE_CLUSTERING, client_token)
                if existing is not None:
                    if existing.request != params:
                        raise IdempotentParameterMismatchException(
                            "ClientRequestToken was already used to start a job with different parameters"
                        )
                    return existing.job_id
            if len(self._in_progress()) >= self.max_jobs:
                raise LimitExceededException(f"There are already {self.max_jobs} face clustering jobs in progress")
            job_id = str(uuid.uuid4())
            self.store.add(JobRecord(job_id, FACE_CLUSTERING, client_token, params, IN_PROGRESS, created=time.time()))
        self._queue.put(job_id)
        return job_id

    def job(self, job_id: str) -> JobRecord:
        """The clustering job; ``ResourceNotFoundException`` when there is none."""
        job = self.store.get(job_id)
        if job is None or job.api != FACE_CLUSTERING:
            raise ResourceNotFoundException(f"Job id {job_id} does not exist")
        return job

    def _in_progress(self) -> list[JobRecord]:
        return [job for job in self.store.in_progress() if job.api == FACE_CLUSTERING]

    def _work(self) -> None:
        while True:
            job_id = self._queue.get()
            try:
                job = self.store.get(job_id)
                if job is not None and job.status == IN_PROGRESS:
                    self._run(job)
            except Exception:
                log.exception("face clustering job %s failed", job_id)
                try:
                    self.store.finish(job_id, FAILED, "Internal error while clustering the faces", None, [])
                except Exception:  # the job stays IN_PROGRESS and runs again at the next start
                    log.exception("face clustering job %s: its failure could not be recorded", job_id)

    def _run(self, job: JobRecord) -> None:
        request = job.request
        try:
            collection = self.service.collection(request["CollectionId"])
        except ResourceNotFoundException as error:
            self.store.finish(job.job_id, FAILED, error.message, None, [])
            return
        faces = _faces(self.service, collection, include_associated=request["IncludeAssociatedFaces"])
        reporter = _ProgressReporter(self.store, job.job_id)
        reporter(_LOADED)
        pack = self.service.pack(collection)
        vectors = np.stack([face.embedding for face in faces]) if faces else np.zeros((0, 1), np.float32)
        clusters = cluster_vectors(
            vectors,
            pack.distance_at(request["FaceMatchThreshold"]),
            min_size=request["MinClusterSize"],
            progress=lambda done: reporter(_LOADED + (_GRAPHED - _LOADED) * done),
        )
        rows = [
            ResultRow(0, number, _cluster_payload(number, cluster, faces, pack))
            for number, cluster in enumerate(clusters)
        ]
        clustered = np.zeros(len(faces), dtype=bool)
        for cluster in clusters:
            clustered[cluster.members] = True
        rows += [
            ResultRow(0, len(clusters) + number, {"FaceId": faces[row].face_id})
            for number, row in enumerate(np.flatnonzero(~clustered).tolist())
        ]
        counts = {
            "FaceCount": len(faces),
            "ClusterCount": len(clusters),
            "UnclusteredFaceCount": int((~clustered).sum()),
        }
        self._finish(job, collection, counts, rows)

    def _finish(
        self, job: JobRecord, collection: CollectionRecord, counts: dict[str, int], rows: list[ResultRow]
    ) -> None:
        store = self.service.store
        with store.atomic():
            current = store.get_collection(collection.collection_id)
            if current is None or current.created != collection.created:
                self.store.finish(job.job_id, FAILED, DELETED_MESSAGE.format(collection.collection_id), None, [])
                return
            self.store.finish(job.job_id, SUCCEEDED, None, counts, rows)
        log.info("face clustering job %s: %s", job.job_id, counts)


class _ProgressReporter:
    """Writes a job's progress when it has grown by ``_PROGRESS_STEP`` since the last write."""

    def __init__(self, store: JobStore, job_id: str) -> None:
        self.store, self.job_id, self.written = store, job_id, -1.0

    def __call__(self, done: float) -> None:
        if done - self.written >= _PROGRESS_STEP:
            self.store.set_progress(self.job_id, done)
            self.written = done


def _faces(service: FaceService, collection: CollectionRecord, *, include_associated: bool) -> list[FaceRecord]:
    """Every face of the collection in storage order, without those associated with a user unless asked."""
    faces: list[FaceRecord] = []
    cursor = None
    while True:
        page = service.store.list_faces(collection.collection_id, cursor, _PAGE)
        faces += [face for face in page.items if include_associated or face.user_id is None]
        if page.cursor is None:
            return faces
        cursor = page.cursor


def _cluster_payload(number: int, cluster: Cluster, faces: list[FaceRecord], pack: FaceAnalyzer) -> dict[str, Any]:
    """A ``FaceCluster`` of the extension model; ``ClusterId`` is ``number + 1``."""
    members = [faces[row] for row in cluster.members.tolist()]
    payload: dict[str, Any] = {
        "ClusterId": str(number + 1),
        "FaceIds": [face.face_id for face in members],
        "RepresentativeFaceId": members[0].face_id,
        "Cohesion": float(np.mean(pack.similarity(cluster.distances[1:]))),
    }
    users = Counter(face.user_id for face in members if face.user_id is not None)
    if users:
        user_id, count = users.most_common(1)[0]
        if 2 * count > len(members):
            payload["SuggestedUserId"] = user_id
    return payload
