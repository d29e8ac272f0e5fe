"""ListJobs (``rekollect-extensions``, not in Rekognition): the video and face clustering jobs the server holds.

Rekognition has no listing of its stored-video jobs (a client keeps the JobIds it started); the
console needs one to show past jobs. Jobs come newest first,
``MaxResults`` (default and most 100) a page, optionally of one ``JobType``, each with its status,
progress (0–100: the share of the video decoded, or of the clustering done; 100 once finished),
collection, video and times. ``NextToken`` is signed (``core.pagination``) and valid for the
listing of one ``JobType`` only.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from ..clustering.jobs import FACE_CLUSTERING
from ..core.pagination import TokenSigner
from ..storage.jobs import IN_PROGRESS, JobRecord, JobStore
from ..video.jobs import FACE_DETECTION, FACE_SEARCH

JOB_TYPES = {"FACE_SEARCH": FACE_SEARCH, "FACE_DETECTION": FACE_DETECTION, "FACE_CLUSTERING": FACE_CLUSTERING}
"""``JobType`` values and the Start operation of each."""
MAX_PAGE_SIZE = 100


def list_jobs(tokens: TokenSigner, store: JobStore, request: dict[str, Any]) -> dict[str, Any]:
    """One page of jobs, newest first; ``InvalidPaginationTokenException`` for a token of another listing."""
    job_type = request.get("JobType")
    apis = (JOB_TYPES[job_type],) if job_type else tuple(JOB_TYPES.values())
    listing = f"jobs\n{job_type or ''}"
    limit = min(request.get("MaxResults") or MAX_PAGE_SIZE, MAX_PAGE_SIZE)
    page = store.list_jobs(apis, tokens.cursor(request.get("NextToken"), listing), limit)
    return {
        "Jobs": [_summary(job, progress) for job, progress in page.items],
        "NextToken": tokens.token(page.cursor, listing),
    }


def _summary(job: JobRecord, progress: float) -> dict[str, Any]:
    job_type = next(name for name, api in JOB_TYPES.items() if api == job.api)
    summary: dict[str, Any] = {
        "JobId": job.job_id,
        "JobType": job_type,
        "JobStatus": job.status,
        "StatusMessage": job.status_message,
        "Progress": round(100.0 * progress, 1) if job.status == IN_PROGRESS else 100.0,
        "CollectionId": job.request.get("CollectionId"),
        "CreationTimestamp": dt.datetime.fromtimestamp(job.created, dt.UTC),
        "CompletionTimestamp": None if job.finished is None else dt.datetime.fromtimestamp(job.finished, dt.UTC),
    }
    if "Video" in job.request:
        summary["Video"] = job.request["Video"]
    return summary
