"""Stored-video jobs: started in the request path, run by a worker thread of any process, persisted.

``start`` reads the video object once (``InvalidS3ObjectException`` / ``VideoTooLargeException``
are raised to the caller, as StartFaceSearch and StartFaceDetection document), spools it to
``<data-dir>/video-spool/<JobId>`` and adds the job ``IN_PROGRESS`` to the job store, a queue
shared by every process (and, on PostgreSQL, every node). Each process runs one worker thread that
claims the oldest free job under a lease, renews the lease while it works, and runs one job at a
time (the face networks already use the cores). A job ends ``SUCCEEDED`` with all its results or
``FAILED`` with a ``StatusMessage``; then its spool file is removed and the completion message
sent. A job whose worker died is claimed again once its lease has run out (on SQLite, at once when
its process is gone) and runs from the beginning: from the spool file when this machine has it,
else from the video object, read again (it failed with a message when that is gone). A face search
whose collection was deleted (or deleted and created again) while it ran ends ``FAILED``: the check
and the final status are written in one metadata-store transaction, so no DeleteCollection of any
process falls between them and no result names faces of a deleted collection.

A spool file is written as ``<JobId>.part`` under an exclusive ``flock``, fsynced, then renamed; a
failed write removes it. Each process removes, when it starts, the ``.part`` files no live process
holds locked: those left by a crash during a StartFaceSearch / StartFaceDetection.

Idempotency (AWS API Reference): a ``ClientRequestToken`` seen before for the same operation
returns the same ``JobId`` when the other parameters are equal, and
``IdempotentParameterMismatchException`` when they differ. At most ``max_jobs`` jobs may be
``IN_PROGRESS`` in the whole store; one more is a ``LimitExceededException`` (Rekognition's default
quota is 20).
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import logging
import os
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from ..core.job_worker import JobWorker
from ..core.service import FaceService
from ..errors import (
    InvalidParameterException,
    RekognitionError,
    ResourceNotFoundException,
    VideoTooLargeException,
)
from ..storage.base import CollectionRecord
from ..storage.full import reporting_full
from ..storage.jobs import FAILED, IN_PROGRESS, SUCCEEDED, JobRecord, JobStore, ResultRow, same_job
from .analysis import FaceSeen, faces_detected, faces_searched
from .decode import MAX_DURATION_MILLIS, MAX_VIDEO_BYTES, Frame, VideoError, probe, sample_frames
from .notify import Notifier

log = logging.getLogger(__name__)

FACE_SEARCH = "StartFaceSearch"
FACE_DETECTION = "StartFaceDetection"
VIDEO_APIS = (FACE_SEARCH, FACE_DETECTION)
"""The kinds of job in the store that are video jobs (it holds face clustering jobs too)."""
GONE_MESSAGE = "The server stopped while the job was in progress and its video is no longer available: {}"
DELETED_MESSAGE = "The collection id: {} was deleted while the job was in progress"
PROGRESS_STEP = 0.02
"""Least growth of a job's recorded progress between two writes of it."""

ResultOf = Callable[[str, FaceSeen], dict[str, Any]]
"""A face a job of an api saw, as that api's result element (GetFaceSearch's ``PersonMatch``,
GetFaceDetection's ``FaceDetection``): the operations write it (``operations.video.result_of``)."""


class VideoJobs:
    """Starts, runs and persists stored-video jobs for one ``FaceService``.

    ``result_of`` writes each face a job saw as the result element the job's results store. ``sample_rate`` is the number of frames analysed per second of video; ``max_jobs`` the most
    jobs ``IN_PROGRESS`` at once in the store; ``analysis_threads`` frames of a job are analysed
    at once (``parallel.analysed_in_order``); a worker holds a job for ``lease_seconds`` at a time
    and renews its lease every third of that; an idle worker looks for jobs every
    ``poll_seconds`` (at once for jobs its own process starts).
    """

    def __init__(
        self,
        service: FaceService,
        store: JobStore,
        spool: Path,
        notifier: Notifier,
        *,
        result_of: ResultOf,
        sample_rate: float,
        max_jobs: int,
        analysis_threads: int = 1,
        lease_seconds: float = 30.0,
        poll_seconds: float = 1.0,
    ) -> None:
        if sample_rate <= 0 or max_jobs < 1:
            raise ValueError("the video sampling rate must be positive and the job limit at least 1")
        self.service = service
        self.store = store
        self.spool = spool
        self.notifier = notifier
        self.result_of = result_of
        self.sample_rate = sample_rate
        self.max_jobs = max_jobs
        self.analysis_threads = analysis_threads
        self.worker = JobWorker(
            store, VIDEO_APIS, self._run, name="video-jobs", lease_seconds=lease_seconds, poll_seconds=poll_seconds
        )
        spool.mkdir(parents=True, exist_ok=True)
        _remove_stale_parts(spool)

    def run_worker(self) -> None:
        """Start this process's worker thread (it also takes over the jobs of workers that died)."""
        self.worker.start()

    def start(self, api: str, params: dict[str, Any], client_token: str | None) -> str:
        """Start a job for ``api`` with the validated ``params`` (defaults filled in); return its ``JobId``."""
        params = json.loads(json.dumps(params))
        if client_token is not None:
            existing = self.store.find_by_token(api, client_token)
            if existing is not None:
                return same_job(existing, params)
        s3_object = params["Video"].get("S3Object")
        if not s3_object or not s3_object.get("Bucket") or not s3_object.get("Name"):
            raise InvalidParameterException("Video.S3Object needs Bucket and Name")
        job_id = str(uuid.uuid4())
        path = self._spool_file(job_id)
        try:
            self._fetch(params, path)
            _check_duration(path)
            job = self.store.add(
                JobRecord(job_id, api, client_token, params, IN_PROGRESS, created=time.time()), self.max_jobs, VIDEO_APIS
            )
        except BaseException:
            path.unlink(missing_ok=True)
            raise
        if job.job_id != job_id:  # the same token was used meanwhile
            path.unlink(missing_ok=True)
            return same_job(job, params)
        self.worker.wake()
        return job_id

    def job(self, job_id: str, api: str) -> JobRecord:
        """The job started by ``api``; ``ResourceNotFoundException`` when there is none."""
        job = self.store.get(job_id)
        if job is None or job.api != api:
            raise ResourceNotFoundException(f"Job id {job_id} does not exist")
        return job

    def _fetch(self, params: dict[str, Any], path: Path) -> None:
        """Read the job's video object (``VideoTooLargeException`` past the limit) into ``path``."""
        s3_object = params["Video"]["S3Object"]
        data = self.service.objects.read(
            s3_object["Bucket"], s3_object["Name"], s3_object.get("Version"), MAX_VIDEO_BYTES, VideoTooLargeException
        )
        with reporting_full():
            _write_durably(path, data)

    def _spool_file(self, job_id: str) -> Path:
        return self.spool / job_id

    def _run(self, job: JobRecord) -> None:
        path = self._spool_file(job.job_id)
        if not path.is_file():
            try:
                self._fetch(job.request, path)
            except RekognitionError as error:
                self._finish(job, FAILED, GONE_MESSAGE.format(error), None, [])
                return
        metadata, searched = None, None
        try:
            metadata = probe(path).member()
            frames = self._reporting_progress(job, sample_frames(path, self.sample_rate), metadata["DurationMillis"])
            if job.api == FACE_SEARCH:
                request = job.request
                searched = self.service.collection(request["CollectionId"])
                seen = faces_searched(
                    self.service, request["CollectionId"], request["FaceMatchThreshold"], frames, self.analysis_threads
                )
            else:
                seen = faces_detected(self.service, job.request["FaceAttributes"], frames, self.analysis_threads)
            rows = [ResultRow(face.timestamp, face.person, self.result_of(job.api, face)) for face in seen]
        except (VideoError, RekognitionError) as error:
            self._finish(job, FAILED, str(error), metadata, [])
        except Exception:
            log.exception("video job %s failed", job.job_id)
            self._finish(job, FAILED, "Internal error while analysing the video", metadata, [])
        else:
            self._finish(job, SUCCEEDED, None, metadata, rows, searched)

    def _reporting_progress(self, job: JobRecord, frames: Iterator[Frame], duration_millis: int) -> Iterator[Frame]:
        """``frames``, recording the share of the video decoded so far as the job's progress (for ListJobs)
        each time it grew by ``PROGRESS_STEP``."""
        recorded = 0.0
        for frame in frames:
            done = min(1.0, frame.timestamp / duration_millis) if duration_millis > 0 else 0.0
            if done - recorded >= PROGRESS_STEP:
                self.store.set_progress(job.job_id, self.worker.owner, done)
                recorded = done
            yield frame

    def _finish(
        self,
        job: JobRecord,
        status: str,
        message: str | None,
        metadata: dict[str, Any] | None,
        rows: list[ResultRow],
        searched: CollectionRecord | None = None,
    ) -> None:
        """Record the outcome; a search of ``searched`` fails if that collection is no longer the same record
        (deleted, or re-created: its creation time differs)."""
        store = self.service.store
        with store.atomic() if searched is not None else contextlib.nullcontext():
            if searched is not None and store.get_collection(searched.collection_id) != searched:
                status, message, rows = FAILED, DELETED_MESSAGE.format(searched.collection_id), []
            finished = self.store.finish(job.job_id, self.worker.owner, status, message, metadata, rows)
        self._spool_file(job.job_id).unlink(missing_ok=True)
        if finished is None:
            log.warning("video job %s was finished by another worker; this run's results are dropped", job.job_id)
            return
        log.info("video job %s %s (%d results)", job.job_id, status, len(rows))
        self.notifier.job_finished(finished)


def _write_durably(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` through a locked ``.part`` file (fsync, rename); no ``.part`` stays on error."""
    partial = path.with_suffix(".part")
    try:
        with open(partial, "wb") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)  # held until closed: the file is not stale
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
            partial.replace(path)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise


def _remove_stale_parts(spool: Path) -> None:
    """Remove the ``.part`` files of ``spool`` that no live process holds locked (their writer died)."""
    for partial in spool.glob("*.part"):
        try:
            with open(partial, "rb") as handle:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                partial.unlink()
        except BlockingIOError:
            continue  # being written
        except FileNotFoundError:
            continue  # renamed or removed meanwhile
        log.info("removed %s, left by a video job start that did not finish", partial)


def _check_duration(path: Path) -> None:
    """``VideoTooLargeException`` past 6 hours; undecodable files are left for the job to fail."""
    try:
        duration = probe(path).duration_millis
    except VideoError:
        return
    if duration > MAX_DURATION_MILLIS:
        raise VideoTooLargeException(f"Video duration {duration} ms exceeds the maximum of {MAX_DURATION_MILLIS} ms")
