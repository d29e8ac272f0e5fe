"""``JobStore`` on PostgreSQL: one video job queue for every node (``--database-url``).

Workers claim the oldest free job with ``SELECT … FOR UPDATE SKIP LOCKED`` (two nodes asking at
once get different jobs, neither waits), hold it under a lease they renew while they work, and
finish it only while they still own it. A job whose node died is free again once its lease runs
out, and another node runs it from the beginning. Results are rows of the shared database, so any
node answers GetFaceSearch / GetFaceDetection. ``add`` counts the jobs in progress under an
advisory lock of its own, so the ``--video-max-jobs`` limit is cluster-wide. Lease times are the
database server's clock (``now()``), so the nodes' clocks need not agree.

The tables live in the metadata store's database and share its ``PostgresDatabase``, so a job's
final status and the check that its collection still exists commit in one transaction.
"""

from __future__ import annotations

import json
from typing import Any

from .jobs import (
    IN_PROGRESS,
    JOB_COLUMNS,
    ORDERS,
    JobRecord,
    ResultRow,
    job_of,
    job_values,
    limit_reached,
    metadata_json,
    result_values,
)
from .postgres_db import PostgresDatabase

JOBS_LOCK = 7_361_003
"""Advisory lock key held while a job is added (the in-progress count and the insert are one step)."""


class PostgresJobStore:
    """``JobStore`` in the database of ``database`` (tables created by ``postgres_schema.MIGRATIONS``)."""

    def __init__(self, database: PostgresDatabase) -> None:
        self._db = database

    def add(self, job: JobRecord, max_in_progress: int, counted: tuple[str, ...]) -> JobRecord:
        with self._db.transaction() as db:
            db.execute("SELECT pg_advisory_xact_lock(%s)", (JOBS_LOCK,))
            # The reads below join this transaction (``PostgresDatabase.connection``).
            existing = None if job.client_token is None else self.find_by_token(job.api, job.client_token)
            if existing is not None:
                return existing
            if self.count_in_progress(counted) >= max_in_progress:
                raise limit_reached(max_in_progress)
            db.execute(
                f"INSERT INTO jobs ({JOB_COLUMNS}) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)", job_values(job)
            )
        return job

    def get(self, job_id: str) -> JobRecord | None:
        with self._db.connection() as db:
            row = db.execute(f"SELECT {JOB_COLUMNS} FROM jobs WHERE job_id = %s", (job_id,)).fetchone()
        return None if row is None else job_of(row)

    def find_by_token(self, api: str, client_token: str) -> JobRecord | None:
        with self._db.connection() as db:
            row = db.execute(
                f"SELECT {JOB_COLUMNS} FROM jobs WHERE api = %s AND client_token = %s", (api, client_token)
            ).fetchone()
        return None if row is None else job_of(row)

    def count_in_progress(self, apis: tuple[str, ...]) -> int:
        with self._db.connection() as db:
            return int(
                db.execute(
                    "SELECT COUNT(*) FROM jobs WHERE status = %s AND api = ANY(%s)", (IN_PROGRESS, list(apis))
                ).fetchone()[0]
            )

    def claim(self, owner: str, lease_seconds: float, apis: tuple[str, ...]) -> JobRecord | None:
        with self._db.connection() as db, db.transaction():
            row = db.execute(
                "UPDATE jobs SET owner = %s, lease_until = now() + make_interval(secs => %s)"
                " WHERE seq = (SELECT seq FROM jobs WHERE status = %s AND api = ANY(%s)"
                " AND (owner IS NULL OR lease_until < now()) ORDER BY seq LIMIT 1 FOR UPDATE SKIP LOCKED)"
                f" RETURNING {JOB_COLUMNS}",
                (owner, lease_seconds, IN_PROGRESS, list(apis)),
            ).fetchone()
        return None if row is None else job_of(row)

    def renew(self, job_id: str, owner: str, lease_seconds: float) -> bool:
        with self._db.connection() as db:
            return (
                db.execute(
                    "UPDATE jobs SET lease_until = now() + make_interval(secs => %s)"
                    " WHERE job_id = %s AND owner = %s AND status = %s",
                    (lease_seconds, job_id, owner, IN_PROGRESS),
                ).rowcount
                > 0
            )

    def set_progress(self, job_id: str, owner: str, done: float) -> None:
        with self._db.connection() as db:
            db.execute(
                "INSERT INTO job_progress (job_id, done) SELECT job_id, %s FROM jobs WHERE job_id = %s AND owner = %s"
                " ON CONFLICT (job_id) DO UPDATE SET done = excluded.done",
                (done, job_id, owner),
            )

    def progress(self, job_id: str) -> float:
        with self._db.connection() as db:
            row = db.execute("SELECT done FROM job_progress WHERE job_id = %s", (job_id,)).fetchone()
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
            finished = db.execute(
                "UPDATE jobs SET status = %s, status_message = %s, video_metadata = %s,"
                " finished = extract(epoch FROM now()), owner = NULL"
                f" WHERE job_id = %s AND owner = %s AND status = %s RETURNING {JOB_COLUMNS}",
                (status, status_message, metadata_json(video_metadata), job_id, owner, IN_PROGRESS),
            ).fetchone()
            if finished is None:
                return None
            db.execute("DELETE FROM job_results WHERE job_id = %s", (job_id,))
            with db.cursor() as cursor:
                cursor.executemany(
                    "INSERT INTO job_results (job_id, seq, timestamp, person_index, payload)"
                    " VALUES (%s, %s, %s, %s, %s)",
                    result_values(job_id, rows),
                )
        return job_of(finished)

    def results(self, job_id: str, order: str, offset: int, limit: int) -> tuple[list[dict[str, Any]], bool]:
        with self._db.connection() as db:
            rows = db.execute(
                f"SELECT payload FROM job_results WHERE job_id = %s ORDER BY {ORDERS[order]} LIMIT %s OFFSET %s",
                (job_id, limit + 1, offset),
            ).fetchall()
        return [json.loads(payload) for (payload,) in rows[:limit]], len(rows) > limit
