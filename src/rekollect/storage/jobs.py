"""Jobs (stored-video and face clustering) as a queue: the ``JobStore`` interface and its embedded
default on SQLite.

A job is added ``IN_PROGRESS``; a worker *claims* it (it becomes the job's ``owner`` until its
lease ends), renews the lease while it works, and finishes it with all its results in one
transaction, which only its current owner may do. A job whose owner stopped renewing (the process
or node died) can be claimed again once the lease has run out, so every job ends on exactly one
worker however many there are. Each kind of job (the ``api`` that started it) has its own workers,
which claim only their kinds. The limit on jobs ``IN_PROGRESS`` (of the kinds it counts) is checked
in the transaction that adds one, so it holds across all processes sharing the store. A long job
records the share of its work done (``set_progress``), for Get* to report.

``SqliteJobStore`` keeps jobs in ``<data-dir>/jobs.sqlite3`` (WAL, ``synchronous=FULL``, one
connection behind a lock; every public method one transaction). Its workers are processes of one
machine, so besides an expired lease, a job whose owner process no longer exists is free at once:
a restarted server resumes its jobs without waiting for their leases. Schema version 1 (``PRAGMA
user_version``) adds the owner and lease columns to files written by earlier releases; their jobs
``IN_PROGRESS`` have no owner and are claimed like new ones.
"""

from __future__ import annotations

import json
import os
import socket
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from ..errors import IdempotentParameterMismatchException, LimitExceededException
from .database import SqliteDatabase

IN_PROGRESS, SUCCEEDED, FAILED = "IN_PROGRESS", "SUCCEEDED", "FAILED"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS jobs (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    job_id TEXT NOT NULL UNIQUE,
    api TEXT NOT NULL,
    client_token TEXT,
    request TEXT NOT NULL,
    status TEXT NOT NULL,
    status_message TEXT,
    video_metadata TEXT,
    created REAL NOT NULL,
    finished REAL
);
CREATE UNIQUE INDEX IF NOT EXISTS jobs_by_token ON jobs (api, client_token) WHERE client_token IS NOT NULL;
CREATE INDEX IF NOT EXISTS jobs_by_status ON jobs (status, seq);
CREATE TABLE IF NOT EXISTS job_results (
    job_id TEXT NOT NULL,
    seq INTEGER NOT NULL,
    timestamp INTEGER NOT NULL,
    person_index INTEGER,
    payload TEXT NOT NULL,
    PRIMARY KEY (job_id, seq)
);
CREATE TABLE IF NOT EXISTS job_progress (
    job_id TEXT PRIMARY KEY,
    done REAL NOT NULL
);
"""

JOB_COLUMNS = "job_id, api, client_token, request, status, status_message, video_metadata, created, finished"

ORDERS = {
    "TIMESTAMP": "timestamp, person_index, seq",
    "INDEX": "person_index, timestamp, seq",
}
"""Result orders: by time (then person), or by person (then time)."""


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


def worker_name() -> str:
    """``<pid>@<host>``: the owner name of this process's worker."""
    return f"{os.getpid()}@{socket.gethostname()}"


class SqliteJobStore:
    """``JobStore`` on one SQLite file."""

    def __init__(self, path: Path) -> None:
        self._db = SqliteDatabase(path, _SCHEMA)
        with self._db.transaction() as db:
            if db.execute("PRAGMA user_version").fetchone()[0] < 1:
                db.execute("ALTER TABLE jobs ADD COLUMN owner TEXT")
                db.execute("ALTER TABLE jobs ADD COLUMN lease_until REAL")
                db.execute("PRAGMA user_version = 1")

    def close(self) -> None:
        """Close the database connection."""
        self._db.close()

    def add(self, job: JobRecord, max_in_progress: int, counted: tuple[str, ...]) -> JobRecord:
        with self._db.transaction() as db:  # the reads below join it (one connection)
            existing = None if job.client_token is None else self.find_by_token(job.api, job.client_token)
            if existing is not None:
                return existing
            if self.count_in_progress(counted) >= max_in_progress:
                raise limit_reached(max_in_progress)
            db.execute(f"INSERT INTO jobs ({JOB_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", job_values(job))
        return job

    def get(self, job_id: str) -> JobRecord | None:
        with self._db.lock:
            row = self._db.connection.execute(f"SELECT {JOB_COLUMNS} FROM jobs WHERE job_id = ?", (job_id,)).fetchone()
        return None if row is None else job_of(row)

    def find_by_token(self, api: str, client_token: str) -> JobRecord | None:
        with self._db.lock:
            row = self._db.connection.execute(
                f"SELECT {JOB_COLUMNS} FROM jobs WHERE api = ? AND client_token = ?", (api, client_token)
            ).fetchone()
        return None if row is None else job_of(row)

    def count_in_progress(self, apis: tuple[str, ...]) -> int:
        with self._db.lock:
            return int(
                self._db.connection.execute(
                    f"SELECT COUNT(*) FROM jobs WHERE status = ? AND api IN ({','.join('?' * len(apis))})",
                    (IN_PROGRESS, *apis),
                ).fetchone()[0]
            )

    def claim(self, owner: str, lease_seconds: float, apis: tuple[str, ...]) -> JobRecord | None:
        # Look first without writing: idle workers poll, and an empty write would still touch the disk.
        if not self._claimable(owner, apis, self._db.connection):
            return None
        with self._db.transaction() as db:
            free = self._claimable(owner, apis, db)
            if not free:
                return None
            db.execute(
                "UPDATE jobs SET owner = ?, lease_until = ? WHERE job_id = ?", (owner, time.time() + lease_seconds, free[0])
            )
            return job_of(db.execute(f"SELECT {JOB_COLUMNS} FROM jobs WHERE job_id = ?", (free[0],)).fetchone())

    def _claimable(self, owner: str, apis: tuple[str, ...], db: sqlite3.Connection) -> list[str]:
        """Ids of the ``IN_PROGRESS`` jobs of ``apis`` that ``owner`` may claim now, oldest first."""
        now = time.time()
        with self._db.lock:
            candidates = db.execute(
                "SELECT job_id, owner, lease_until FROM jobs"
                f" WHERE status = ? AND api IN ({','.join('?' * len(apis))}) ORDER BY seq",
                (IN_PROGRESS, *apis),
            ).fetchall()
        return [
            job_id
            for job_id, holder, lease_until in candidates
            if holder is None or lease_until < now or (holder != owner and not _alive(holder))
        ]

    def renew(self, job_id: str, owner: str, lease_seconds: float) -> bool:
        with self._db.transaction() as db:
            return (
                db.execute(
                    "UPDATE jobs SET lease_until = ? WHERE job_id = ? AND owner = ? AND status = ?",
                    (time.time() + lease_seconds, job_id, owner, IN_PROGRESS),
                ).rowcount
                > 0
            )

    def set_progress(self, job_id: str, owner: str, done: float) -> None:
        with self._db.transaction() as db:
            if db.execute("SELECT 1 FROM jobs WHERE job_id = ? AND owner = ?", (job_id, owner)).fetchone():
                db.execute("INSERT OR REPLACE INTO job_progress (job_id, done) VALUES (?, ?)", (job_id, done))

    def progress(self, job_id: str) -> float:
        with self._db.lock:
            row = self._db.connection.execute("SELECT done FROM job_progress WHERE job_id = ?", (job_id,)).fetchone()
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
        with self._db.transaction() as db:
            updated = db.execute(
                "UPDATE jobs SET status = ?, status_message = ?, video_metadata = ?, finished = ?, owner = NULL"
                " WHERE job_id = ? AND owner = ? AND status = ?",
                (status, status_message, metadata_json(video_metadata), time.time(), job_id, owner, IN_PROGRESS),
            ).rowcount
            if not updated:
                return None
            db.execute("DELETE FROM job_results WHERE job_id = ?", (job_id,))
            db.executemany(
                "INSERT INTO job_results (job_id, seq, timestamp, person_index, payload) VALUES (?, ?, ?, ?, ?)",
                result_values(job_id, rows),
            )
            row = db.execute(f"SELECT {JOB_COLUMNS} FROM jobs WHERE job_id = ?", (job_id,)).fetchone()
        return job_of(row)

    def results(self, job_id: str, order: str, offset: int, limit: int) -> tuple[list[dict[str, Any]], bool]:
        with self._db.lock:
            rows = self._db.connection.execute(
                f"SELECT payload FROM job_results WHERE job_id = ? ORDER BY {ORDERS[order]} LIMIT ? OFFSET ?",
                (job_id, limit + 1, offset),
            ).fetchall()
        return [json.loads(payload) for (payload,) in rows[:limit]], len(rows) > limit


def _alive(owner: str) -> bool:
    """Whether ``owner`` (``<pid>@<host>``, a process of this machine) still runs."""
    pid, _, host = owner.partition("@")
    if host != socket.gethostname() or not pid.isdigit():
        return True  # not ours to judge: wait for its lease
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    return True  # running (or running as another user: PermissionError)


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


def job_of(row: tuple | sqlite3.Row) -> JobRecord:
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
        created=created,
        finished=finished,
    )
