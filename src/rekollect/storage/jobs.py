"""Jobs (stored-video and face clustering) as a queue: the ``JobStore`` interface, and ``SqlJobStore``,
its body for SQLite and PostgreSQL alike.

A job is added ``IN_PROGRESS``; a worker *claims* it (it becomes the job's ``owner`` until its
lease ends), renews the lease while it works, and finishes it with all its results in one
transaction, which only its current owner may do. A job whose owner stopped renewing (the process
or node died) can be claimed again once the lease has run out, so every job ends on exactly one
worker however many there are. Each kind of job (the ``api`` that started it) has its own workers,
which claim only their kinds. The limit on jobs ``IN_PROGRESS`` (of the kinds it counts) is checked
in the transaction that adds one (write transactions run one at a time), so it holds across all
processes and nodes sharing the store. A long job records the share of its work done
(``set_progress``), for Get* to report.

What differs between the databases is how a job is claimed and how its lease is written (the
``lease_until`` column is Unix seconds in SQLite, a timestamp in PostgreSQL): ``SqliteJobStore``
(``sqlite_jobs.py``) and ``PostgresJobStore`` (``postgres_jobs.py``).
"""

from __future__ import annotations

import json
import os
import socket
import time
from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Any, Protocol

from ..errors import IdempotentParameterMismatchException, LimitExceededException
from .base import Page
from .rows import page_of
from .sql import SqlDatabase

IN_PROGRESS, SUCCEEDED, FAILED = "IN_PROGRESS", "SUCCEEDED", "FAILED"
_NO_CURSOR = 2**62
"""A ``seq`` above every job's: where a newest-first listing starts."""

JOB_COLUMNS = "job_id, api, client_token, request, status, status_message, video_metadata, created, finished"

ORDERS = {
    "TIMESTAMP": "timestamp, person_index NULLS FIRST, seq",
    "INDEX": "person_index NULLS FIRST, timestamp, seq",
}
"""Result orders: by time (then person), or by person (then time); rows without a person first
(SQLite's default, spelled out since PostgreSQL's is the opposite)."""


@dataclass(frozen=True)
class JobRecord:
    """A Start* job. ``request`` is the validated Start request without ``ClientRequestToken``;
    ``created``/``finished`` are Unix seconds; ``video_metadata`` is the API's ``VideoMetadata`` (for a
    face clustering job: its counts, ``clustering.jobs``)."""

    job_id: str
    api: str
    client_token: str | None
    request: dict[str, Any]
    status: str
    status_message: str | None = None
    video_metadata: dict[str, Any] | None = None
    created: float = 0.0
    finished: float | None = None


@dataclass(frozen=True)
class ResultRow:
    """One result element (a ``PersonMatch``, a ``FaceDetection``, a face cluster or an unclustered face)
    with the keys it is sorted by."""

    timestamp: int
    person_index: int | None
    payload: dict[str, Any]


class JobStore(Protocol):
    """Persistent video jobs, claimed by workers under a lease (see the module docstring)."""

    def add(self, job: JobRecord, max_in_progress: int, counted: tuple[str, ...]) -> JobRecord:
        """Insert ``job``, or return the job already started with its ``(api, client_token)``;
        ``LimitExceededException`` when ``max_in_progress`` jobs of the ``counted`` apis are already
        ``IN_PROGRESS``."""
        ...

    def get(self, job_id: str) -> JobRecord | None:
        """The job, or ``None``."""
        ...

    def find_by_token(self, api: str, client_token: str) -> JobRecord | None:
        """The job started by ``api`` with ``ClientRequestToken`` ``client_token``, or ``None``."""
        ...

    def count_in_progress(self, apis: tuple[str, ...]) -> int:
        """Number of jobs of ``apis`` ``IN_PROGRESS`` (running or waiting for a worker)."""
        ...

    def claim(self, owner: str, lease_seconds: float, apis: tuple[str, ...]) -> JobRecord | None:
        """The oldest ``IN_PROGRESS`` job of ``apis`` that no live worker holds, now held by ``owner``; or ``None``."""
        ...

    def renew(self, job_id: str, owner: str, lease_seconds: float) -> bool:
        """Extend ``owner``'s lease on the job; ``False`` if ``owner`` no longer holds it."""
        ...

    def set_progress(self, job_id: str, owner: str, done: float) -> None:
        """Record that the share ``done`` (0 to 1) of the job's work is done (only while ``owner`` holds it)."""
        ...

    def progress(self, job_id: str) -> float:
        """The share of the job's work last recorded done (0 when none was)."""
        ...

    def finish(
        self,
        job_id: str,
        owner: str,
        status: str,
        status_message: str | None,
        video_metadata: dict[str, Any] | None,
        rows: list[ResultRow],
    ) -> JobRecord | None:
        """Store the results and the final status in one transaction and return the finished job;
        ``None`` (nothing written) if ``owner`` no longer holds the job."""
        ...

    def results(self, job_id: str, order: str, offset: int, limit: int) -> tuple[list[dict[str, Any]], bool]:
        """Up to ``limit`` result payloads from ``offset`` in ``order`` (a key of ``ORDERS``), and whether more follow."""
        ...

    def list_jobs(self, apis: tuple[str, ...], before: int | None, limit: int) -> Page[tuple[JobRecord, float]]:
        """Jobs of ``apis``, newest first, before cursor ``before`` (``None``: from the newest), each with its
        progress (``progress``); the page's ``cursor`` continues the listing."""
        ...


def same_job(existing: JobRecord, request: dict[str, Any]) -> str:
    """The ``JobId`` of ``existing``, the job its ``ClientRequestToken`` started before, when it was
    started with ``request``; ``IdempotentParameterMismatchException`` when with other parameters
    (AWS API Reference, StartFaceSearch)."""
    if existing.request != request:
        raise IdempotentParameterMismatchException(
            "ClientRequestToken was already used to start a job with different parameters"
        )
    return existing.job_id


def limit_reached(max_in_progress: int) -> LimitExceededException:
    """The error of an ``add`` past ``max_in_progress`` jobs in progress."""
    return LimitExceededException(f"There are already {max_in_progress} such jobs in progress")


def worker_name(slot: str | None = None) -> str:
    """``<pid>@<host>``: the owner name of this process's worker; ``<pid>@<host>/<slot>`` for one of
    several workers of the process (each must own its jobs alone)."""
    name = f"{os.getpid()}@{socket.gethostname()}"
    return name if slot is None else f"{name}/{slot}"


class SqlJobStore(ABC):
    """``JobStore`` on the ``jobs``, ``job_results`` and ``job_progress`` tables through ``db``.

    A subclass gives ``claim`` and ``lease_end``, which depend on the database (see the module docstring).
    """

    lease_end: str
    """SQL expression with one ``?`` parameter (seconds): the ``lease_until`` of a lease taken now."""

    def __init__(self, db: SqlDatabase) -> None:
        self.db = db

    @abstractmethod
    def claim(self, owner: str, lease_seconds: float, apis: tuple[str, ...]) -> JobRecord | None:
        """The oldest ``IN_PROGRESS`` job of ``apis`` that no live worker holds, now held by ``owner``; or ``None``."""

    def add(self, job: JobRecord, max_in_progress: int, counted: tuple[str, ...]) -> JobRecord:
        with self.db.transaction() as db:  # the reads below join it
            existing = None if job.client_token is None else self.find_by_token(job.api, job.client_token)
            if existing is not None:
                return existing
            if self.count_in_progress(counted) >= max_in_progress:
                raise limit_reached(max_in_progress)
            db.run(f"INSERT INTO jobs ({JOB_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", job_values(job))
        return job

    def get(self, job_id: str) -> JobRecord | None:
        with self.db.connection() as db:
            row = db.one(f"SELECT {JOB_COLUMNS} FROM jobs WHERE job_id = ?", (job_id,))
        return None if row is None else job_of(row)

    def find_by_token(self, api: str, client_token: str) -> JobRecord | None:
        with self.db.connection() as db:
            row = db.one(f"SELECT {JOB_COLUMNS} FROM jobs WHERE api = ? AND client_token = ?", (api, client_token))
        return None if row is None else job_of(row)

    def count_in_progress(self, apis: tuple[str, ...]) -> int:
        with self.db.connection() as db:
            row = db.one(
                f"SELECT COUNT(*) FROM jobs WHERE status = ? AND {self.db.any_of('api')}",
                (IN_PROGRESS, self.db.listed(apis)),
            )
        return int(row[0])

    def renew(self, job_id: str, owner: str, lease_seconds: float) -> bool:
        with self.db.connection() as db:
            renewed = db.run(
                f"UPDATE jobs SET lease_until = {self.lease_end} WHERE job_id = ? AND owner = ? AND status = ?",
                (lease_seconds, job_id, owner, IN_PROGRESS),
            )
        return renewed > 0

    def set_progress(self, job_id: str, owner: str, done: float) -> None:
        with self.db.connection() as db:
            db.run(
                "INSERT INTO job_progress (job_id, done) SELECT job_id, ? FROM jobs WHERE job_id = ? AND owner = ?"
                " ON CONFLICT (job_id) DO UPDATE SET done = excluded.done",
                (done, job_id, owner),
            )

    def progress(self, job_id: str) -> float:
        with self.db.connection() as db:
            row = db.one("SELECT done FROM job_progress WHERE job_id = ?", (job_id,))
        return 0.0 if row is None else float(row[0])

    def finish(
        self,
        job_id: str,
        owner: str,
        status: str,
        status_message: str | None,
        video_metadata: dict[str, Any] | None,
        rows: list[ResultRow],
    ) -> JobRecord | None:
        with self.db.transaction() as db:
            finished = db.one(
                f"UPDATE jobs SET status = ?, status_message = ?, video_metadata = ?, finished = {self.db.now},"
                f" owner = NULL WHERE job_id = ? AND owner = ? AND status = ? RETURNING {JOB_COLUMNS}",
                (status, status_message, metadata_json(video_metadata), job_id, owner, IN_PROGRESS),
            )
            if finished is None:
                return None
            db.run("DELETE FROM job_results WHERE job_id = ?", (job_id,))
            db.many(
                "INSERT INTO job_results (job_id, seq, timestamp, person_index, payload) VALUES (?, ?, ?, ?, ?)",
                result_values(job_id, rows),
            )
        return job_of(finished)

    def list_jobs(self, apis: tuple[str, ...], before: int | None, limit: int) -> Page[tuple[JobRecord, float]]:
        with self.db.connection() as db:
            rows = db.all(
                f"SELECT jobs.seq, {', '.join(f'jobs.{column}' for column in JOB_COLUMNS.split(', '))},"
                " job_progress.done FROM jobs LEFT JOIN job_progress ON job_progress.job_id = jobs.job_id"
                f" WHERE jobs.{self.db.any_of('api')} AND jobs.seq < ? ORDER BY jobs.seq DESC LIMIT ?",
                (self.db.listed(apis), before or _NO_CURSOR, limit + 1),
            )
        return page_of([(row[0], (job_of(row[1:-1]), float(row[-1] or 0.0))) for row in rows], limit)

    def holds(self, job_id: str, owner: str) -> bool:
        """Whether ``owner`` holds ``job_id``, ``IN_PROGRESS`` (its lease was not taken over)."""
        with self.db.connection() as db:
            row = db.one("SELECT 1 FROM jobs WHERE job_id = ? AND owner = ? AND status = ?", (job_id, owner, IN_PROGRESS))
        return row is not None

    def cancel(self, job_id: str, status: str) -> bool:
        """End ``job_id`` with ``status``, without results, if it is ``IN_PROGRESS`` and no worker ever
        claimed it; whether it did (a claimed job is its worker's to finish)."""
        with self.db.connection() as db:
            ended = db.run(
                f"UPDATE jobs SET status = ?, finished = {self.db.now} WHERE job_id = ? AND status = ? AND owner IS NULL",
                (status, job_id, IN_PROGRESS),
            )
        return ended > 0

    def results(self, job_id: str, order: str, offset: int, limit: int) -> tuple[list[dict[str, Any]], bool]:
        with self.db.connection() as db:
            rows = db.all(
                f"SELECT payload FROM job_results WHERE job_id = ? ORDER BY {ORDERS[order]} LIMIT ? OFFSET ?",
                (job_id, limit + 1, offset),
            )
        return [json.loads(payload) for (payload,) in rows[:limit]], len(rows) > limit


def metadata_json(value: dict[str, Any] | None) -> str | None:
    """A job's ``video_metadata`` as stored: JSON, or ``None``."""
    return None if value is None else json.dumps(value)


def job_values(job: JobRecord) -> tuple[Any, ...]:
    """``job`` as the values of ``JOB_COLUMNS``."""
    return (
        job.job_id,
        job.api,
        job.client_token,
        json.dumps(job.request, sort_keys=True),
        job.status,
        job.status_message,
        metadata_json(job.video_metadata),
        job.created or time.time(),
        job.finished,
    )


def result_values(job_id: str, rows: list[ResultRow]) -> list[tuple[Any, ...]]:
    """``rows`` as values of ``job_results (job_id, seq, timestamp, person_index, payload)``."""
    return [(job_id, seq, row.timestamp, row.person_index, json.dumps(row.payload)) for seq, row in enumerate(rows)]


def job_of(row: tuple) -> JobRecord:
    """The job in a row of ``JOB_COLUMNS``."""
    job_id, api, token, request, status, message, metadata, created, finished = row
    return JobRecord(
        job_id=job_id,
        api=api,
        client_token=token,
        request=json.loads(request),
        status=status,
        status_message=message,
        video_metadata=None if metadata is None else json.loads(metadata),
        created=float(created),  # SQLite's RETURNING gives a whole REAL as an integer
        finished=None if finished is None else float(finished),
    )
