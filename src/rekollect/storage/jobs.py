"""Jobs (stored-video and face clustering) and their results in ``<data-dir>/jobs.sqlite3``.

Durability from ``SqliteDatabase`` (WAL, ``synchronous=FULL``), one connection
behind a lock, every public method one transaction. A job's results and its final status are
written in the same transaction, so a job is either ``IN_PROGRESS`` with no results or finished
with all of them.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

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

_JOB_COLUMNS = "job_id, api, client_token, request, status, status_message, video_metadata, created, finished"

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


class JobStore:
    """Jobs and results on one SQLite file."""

    def __init__(self, path: Path) -> None:
        self._db = SqliteDatabase(path, _SCHEMA)

    def close(self) -> None:
        """Close the database connection."""
        self._db.close()

    def add(self, job: JobRecord) -> None:
        """Insert a new job (``sqlite3.IntegrityError`` if its id or its (api, token) exists)."""
        with self._db.transaction() as db:
            db.execute(
                f"INSERT INTO jobs ({_JOB_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    job.job_id,
                    job.api,
                    job.client_token,
                    json.dumps(job.request, sort_keys=True),
                    job.status,
                    job.status_message,
                    None if job.video_metadata is None else json.dumps(job.video_metadata),
                    job.created or time.time(),
                    job.finished,
                ),
            )

    def get(self, job_id: str) -> JobRecord | None:
        """The job, or ``None``."""
        with self._db.lock:
            row = self._db.connection.execute(f"SELECT {_JOB_COLUMNS} FROM jobs WHERE job_id = ?", (job_id,)).fetchone()
        return None if row is None else _job(row)

    def find_by_token(self, api: str, client_token: str) -> JobRecord | None:
        """The job started by ``api`` with ``ClientRequestToken`` ``client_token``, or ``None``."""
        with self._db.lock:
            row = self._db.connection.execute(
                f"SELECT {_JOB_COLUMNS} FROM jobs WHERE api = ? AND client_token = ?", (api, client_token)
            ).fetchone()
        return None if row is None else _job(row)

    def in_progress(self) -> list[JobRecord]:
        """Unfinished jobs, oldest first."""
        with self._db.lock:
            rows = self._db.connection.execute(
                f"SELECT {_JOB_COLUMNS} FROM jobs WHERE status = ? ORDER BY seq", (IN_PROGRESS,)
            ).fetchall()
        return [_job(row) for row in rows]

    def set_progress(self, job_id: str, done: float) -> None:
        """Record that the share ``done`` (0 to 1) of an unfinished job's work is done."""
        with self._db.transaction() as db:
            db.execute("INSERT OR REPLACE INTO job_progress (job_id, done) VALUES (?, ?)", (job_id, done))

    def progress(self, job_id: str) -> float:
        """The share of the job's work last recorded done (0 when none was)."""
        with self._db.lock:
            row = self._db.connection.execute("SELECT done FROM job_progress WHERE job_id = ?", (job_id,)).fetchone()
        return 0.0 if row is None else float(row[0])

    def finish(
        self,
        job_id: str,
        status: str,
        status_message: str | None,
        video_metadata: dict[str, Any] | None,
        rows: list[ResultRow],
    ) -> JobRecord:
        """Store the results and the final status in one transaction; return the finished job."""
        with self._db.transaction() as db:
            db.execute("DELETE FROM job_results WHERE job_id = ?", (job_id,))
            db.executemany(
                "INSERT INTO job_results (job_id, seq, timestamp, person_index, payload) VALUES (?, ?, ?, ?, ?)",
                [
                    (job_id, seq, row.timestamp, row.person_index, json.dumps(row.payload))
                    for seq, row in enumerate(rows)
                ],
            )
            db.execute(
                "UPDATE jobs SET status = ?, status_message = ?, video_metadata = ?, finished = ? WHERE job_id = ?",
                (
                    status,
                    status_message,
                    None if video_metadata is None else json.dumps(video_metadata),
                    time.time(),
                    job_id,
                ),
            )
            row = db.execute(f"SELECT {_JOB_COLUMNS} FROM jobs WHERE job_id = ?", (job_id,)).fetchone()
        return _job(row)

    def results(self, job_id: str, order: str, offset: int, limit: int) -> tuple[list[dict[str, Any]], bool]:
        """Up to ``limit`` result payloads from ``offset`` in ``order`` (a key of ``ORDERS``), and whether more follow."""
        with self._db.lock:
            rows = self._db.connection.execute(
                f"SELECT payload FROM job_results WHERE job_id = ? ORDER BY {ORDERS[order]} LIMIT ? OFFSET ?",
                (job_id, limit + 1, offset),
            ).fetchall()
        return [json.loads(payload) for (payload,) in rows[:limit]], len(rows) > limit


def _job(row: tuple) -> JobRecord:
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
