"""Face clustering jobs: started in the request path, run by a worker thread of any process, persisted.

They live in the video jobs' store (``storage.jobs``: ``jobs.sqlite3``, or PostgreSQL for several
nodes) with the API name ``StartFaceClustering``: the validated request, the status, the share of
the work done (``JobStore.set_progress``), and on success one result row per cluster (largest
first) followed by one per unclustered face, written with the final status in one transaction; the
counts (``FaceCount``, ``ClusterCount``, ``UnclusteredFaceCount``) go in the job's metadata column.
Each process runs a ``JobWorker`` that claims clustering jobs under a lease, so every job runs on
exactly one worker of the cluster, and one whose worker died is run again from the beginning by
another once its lease runs out (on SQLite, at once when its process is gone).

A job reads the collection's faces from the metadata store (the source of truth, shared by every
process) page by page, without stopping writes: a face indexed during the job may be left out.
Faces whose stored vector breaks the face model's rule (``core/rules.py``; the index quarantines
them) are left out too. It needs nothing else to run again, and any process answers
GetFaceClustering from the shared store. A job whose collection was deleted (or deleted and created
again) while it ran ends ``FAILED``, checked under the store's write lock as video face searches are
(``video.jobs``). Its results are read against the collection as it is when they are asked for
(``current_results``): faces deleted since are no longer listed, and once the collection itself
is deleted (or created again) the results list no faces and ``StatusMessage`` says so.

Idempotency and limits as the video jobs (AWS API Reference for StartFaceSearch): a repeated
``ClientRequestToken`` returns the same ``JobId`` for equal parameters and
``IdempotentParameterMismatchException`` otherwise; at most ``max_jobs`` clustering jobs may be
``IN_PROGRESS`` in the whole store, one more is a ``LimitExceededException``.
"""

from __future__ import annotations

import json
import logging
import time
import uuid
from collections import Counter
from typing import Any

import numpy as np

from ..core.job_worker import JobWorker
from ..core.service import FaceService
from ..errors import ResourceNotFoundException
from ..storage.base import CollectionRecord, FaceRecord, every_item
from ..storage.jobs import FAILED, IN_PROGRESS, SUCCEEDED, JobRecord, JobStore, ResultRow, same_job
from ..vision.analyzer import FaceAnalyzer
from .graph import Cluster, cluster_vectors

log = logging.getLogger(__name__)

FACE_CLUSTERING = "StartFaceClustering"
DEFAULT_MAX_JOBS = 20
"""Clustering jobs ``IN_PROGRESS`` at once (as Rekognition's default quota for video jobs)."""
DELETED_MESSAGE = "The collection id: {} was deleted while the job was in progress"
GONE_MESSAGE = "The collection id: {} was deleted after the job finished: none of its faces exist any more"
CREATED = "CollectionCreated"
"""Key of the job's metadata holding its collection's creation time (Unix seconds): which collection
instance the results are of (jobs of earlier releases have none: the collection's id only)."""
_PAGE = 10_000
"""Faces read from the store per query."""
_LOADED, _GRAPHED = 0.1, 0.9
"""Share of the job done once the faces are read, and once the neighbour graph is built."""
_PROGRESS_STEP = 0.02
"""Least progress between two progress writes."""


class ClusteringJobs:
    """Starts, runs and persists face clustering jobs for one ``FaceService``; a worker holds a job
    for ``lease_seconds`` at a time (``JobWorker``)."""

    def __init__(
        self, service: FaceService, store: JobStore, *, max_jobs: int = DEFAULT_MAX_JOBS, lease_seconds: float = 30.0
    ) -> None:
        if max_jobs < 1:
            raise ValueError("the clustering job limit must be at least 1")
        self.service = service
        self.store = store
        self.max_jobs = max_jobs
        self.worker = JobWorker(
            store, (FACE_CLUSTERING,), self._run_or_fail, name="clustering-jobs", lease_seconds=lease_seconds
        )

    def run_worker(self) -> None:
        """Start this process's worker thread (it also takes over the jobs of workers that died)."""
        self.worker.start()

    def start(self, params: dict[str, Any], client_token: str | None) -> str:
        """Start a job with the validated ``params`` (defaults filled in, ``CollectionId`` existing); return its ``JobId``."""
        params = json.loads(json.dumps(params))  # as the store gives it back
        job = self.store.add(
            JobRecord(str(uuid.uuid4()), FACE_CLUSTERING, client_token, params, IN_PROGRESS, created=time.time()),
            self.max_jobs,
            (FACE_CLUSTERING,),
        )
        job_id = same_job(job, params)
        self.worker.wake()
        return job_id

    def job(self, job_id: str) -> JobRecord:
        """The clustering job; ``ResourceNotFoundException`` when there is none."""
        job = self.store.get(job_id)
        if job is None or job.api != FACE_CLUSTERING:
            raise ResourceNotFoundException(f"Job id {job_id} does not exist")
        return job

    def current_results(self, job: JobRecord, items: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], str | None]:
        """A page of a succeeded job's result ``items`` as the collection is now: the FaceIds of
        faces deleted since left out (a cluster left with none is left out, a deleted representative
        is no longer named), and a message instead of any face once the collection is gone."""
        collection_id = job.request["CollectionId"]
        created = (job.video_metadata or {}).get(CREATED)
        record = self.service.store.get_collection(collection_id)
        if record is None or (created is not None and record.created.timestamp() != created):
            return [], GONE_MESSAGE.format(collection_id)
        named = [face_id for item in items for face_id in item.get("FaceIds", [item.get("FaceId")])]
        existing = {face.face_id for face in self.service.store.get_faces(collection_id, named)}
        current = []
        for item in items:
            if "ClusterId" not in item:
                if item["FaceId"] in existing:
                    current.append(item)
                continue
            kept = [face_id for face_id in item["FaceIds"] if face_id in existing]
            if kept:
                cluster = {**item, "FaceIds": kept}
                if cluster["RepresentativeFaceId"] not in existing:
                    del cluster["RepresentativeFaceId"]
                current.append(cluster)
        return current, None

    def _run_or_fail(self, job: JobRecord) -> None:
        try:
            self._run(job)
        except Exception:
            log.exception("face clustering job %s failed", job.job_id)
            try:
                self._end(job.job_id, FAILED, "Internal error while clustering the faces", None, [])
            except Exception:  # the job stays IN_PROGRESS and runs again once its lease runs out
                log.exception("face clustering job %s: its failure could not be recorded", job.job_id)

    def _end(
        self, job_id: str, status: str, message: str | None, counts: dict[str, int] | None, rows: list[ResultRow]
    ) -> None:
        if self.store.finish(job_id, self.worker.owner, status, message, counts, rows) is None:
            log.warning("face clustering job %s was finished by another worker; this run's result is dropped", job_id)

    def _run(self, job: JobRecord) -> None:
        request = job.request
        try:
            collection = self.service.collection(request["CollectionId"])
        except ResourceNotFoundException as error:
            self._end(job.job_id, FAILED, error.message, None, [])
            return
        faces = _faces(self.service, collection, include_associated=request["IncludeAssociatedFaces"])
        reporter = _ProgressReporter(self.store, job.job_id, self.worker.owner)
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
            CREATED: collection.created.timestamp(),
        }
        self._finish(job, collection, counts, rows)

    def _finish(
        self, job: JobRecord, collection: CollectionRecord, counts: dict[str, int], rows: list[ResultRow]
    ) -> None:
        store = self.service.store
        with store.atomic():
            current = store.get_collection(collection.collection_id)
            if current is None or current.created != collection.created:
                self._end(job.job_id, FAILED, DELETED_MESSAGE.format(collection.collection_id), None, [])
                return
            self._end(job.job_id, SUCCEEDED, None, counts, rows)
        log.info("face clustering job %s: %s", job.job_id, counts)


class _ProgressReporter:
    """Writes a job's progress when it has grown by ``_PROGRESS_STEP`` since the last write."""

    def __init__(self, store: JobStore, job_id: str, owner: str) -> None:
        self.store, self.job_id, self.owner, self.written = store, job_id, owner, -1.0

    def __call__(self, done: float) -> None:
        if done - self.written >= _PROGRESS_STEP:
            self.store.set_progress(self.job_id, self.owner, done)
            self.written = done


def _faces(service: FaceService, collection: CollectionRecord, *, include_associated: bool) -> list[FaceRecord]:
    """Every face of the collection in storage order, without those associated with a user unless
    asked, and without those whose stored vector breaks the model's rule (never given to FAISS)."""
    pages = every_item(lambda after: service.store.list_faces(collection.collection_id, after, _PAGE))
    faces = [face for face in pages if include_associated or face.user_id is None]
    usable = service.rule(collection).usable_each([face.embedding for face in faces])
    return [face for face, ok in zip(faces, usable, strict=True) if ok]


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
