"""Stored-video operations: StartFaceSearch, GetFaceSearch, StartFaceDetection, GetFaceDetection.

Semantics follow the AWS Rekognition API Reference. Start* return a ``JobId`` at once and the job
runs on the server's worker (``video.jobs``). Get* report ``JobStatus`` (``IN_PROGRESS``,
``SUCCEEDED``, ``FAILED`` with a ``StatusMessage``), the measured ``VideoMetadata`` and, once the
job has succeeded, its results, ``MaxResults`` (default and most 1000) per page. GetFaceSearch
sorts by ``TIMESTAMP`` (default: time, then person ``Index``) or ``INDEX`` (person, then time);
GetFaceDetection by time. An unknown ``JobId`` is a ``ResourceNotFoundException``.
"""

from __future__ import annotations

from typing import Any

from ..storage.jobs import SUCCEEDED, JobRecord
from ..video.analysis import FaceSeen
from ..video.jobs import FACE_DETECTION, FACE_SEARCH, VideoJobs
from .face_details import bounding_box, detail_of, face_member
from .faces import DEFAULT_FACE_MATCH_THRESHOLD
from .job_results import result_page


def start_face_search(jobs: VideoJobs, request: dict[str, Any]) -> dict[str, Any]:
    """Start searching ``CollectionId`` for the faces of persons in ``Video``; ``ResourceNotFoundException`` without it."""
    collection = jobs.service.collection(request["CollectionId"])
    params = {
        "CollectionId": collection.collection_id,
        "FaceMatchThreshold": request.get("FaceMatchThreshold", DEFAULT_FACE_MATCH_THRESHOLD),
        **_common_params(request),
    }
    return {"JobId": jobs.start(FACE_SEARCH, params, request.get("ClientRequestToken"))}


def start_face_detection(jobs: VideoJobs, request: dict[str, Any]) -> dict[str, Any]:
    """Start detecting faces in ``Video`` with ``FaceAttributes`` (``DEFAULT`` or ``ALL``)."""
    params = {"FaceAttributes": request.get("FaceAttributes", "DEFAULT"), **_common_params(request)}
    return {"JobId": jobs.start(FACE_DETECTION, params, request.get("ClientRequestToken"))}


def get_face_search(jobs: VideoJobs, request: dict[str, Any]) -> dict[str, Any]:
    """Status, metadata and (once succeeded) one page of ``Persons``."""
    job = jobs.job(request["JobId"], FACE_SEARCH)
    sort_by = request.get("SortBy", "TIMESTAMP")
    return {**_status(job), **_page(jobs, job, request, sort_by, "Persons")}


def get_face_detection(jobs: VideoJobs, request: dict[str, Any]) -> dict[str, Any]:
    """Status, metadata and (once succeeded) one page of ``Faces``."""
    job = jobs.job(request["JobId"], FACE_DETECTION)
    return {**_status(job), **_page(jobs, job, request, "TIMESTAMP", "Faces")}


def result_of(api: str, seen: FaceSeen) -> dict[str, Any]:
    """A face a job of ``api`` saw, as its result element: GetFaceSearch's ``PersonMatch`` (the face
    with the default attributes, its person and matches) or GetFaceDetection's ``FaceDetection``."""
    detail = detail_of(seen.measured, seen.attributes)
    if api != FACE_SEARCH:
        return {"Timestamp": seen.timestamp, "Face": detail}
    return {
        "Timestamp": seen.timestamp,
        "Person": {"Index": seen.person, "BoundingBox": bounding_box(seen.measured.box), "Face": detail},
        "FaceMatches": [{"Similarity": similarity, "Face": face_member(record)} for record, similarity in seen.matches],
    }


def _common_params(request: dict[str, Any]) -> dict[str, Any]:
    return {key: request[key] for key in ("Video", "NotificationChannel", "JobTag") if key in request}


def _status(job: JobRecord) -> dict[str, Any]:
    return {
        "JobId": job.job_id,
        "JobStatus": job.status,
        "StatusMessage": job.status_message,
        "VideoMetadata": job.video_metadata,
        "Video": job.request["Video"],
        "JobTag": job.request.get("JobTag"),
    }


def _page(jobs: VideoJobs, job: JobRecord, request: dict[str, Any], order: str, member: str) -> dict[str, Any]:
    if job.status != SUCCEEDED:
        return {}
    listing = f"video\n{job.job_id}\n{order}"
    items, next_token = result_page(jobs.service.tokens, jobs.store, job.job_id, listing, order, request)
    return {member: items, "NextToken": next_token}
