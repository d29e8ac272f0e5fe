"""Stream processors as stored: ``StreamProcessorRecord`` and ``SqlStreamStore``, in SQL that SQLite
and PostgreSQL both run.

The tables (``stream_processors``, ``stream_matches``) live beside the job queue: in
``jobs.sqlite3`` on the embedded default (``sqlite_jobs.py``, schema version 2), in the one
PostgreSQL database otherwise (``postgres_schema.py``, version 2). A running processor *is* a job
of that queue (``api`` ``StartStreamProcessor``), so ``SqlStreamStore`` works through the
``SqlJobStore``'s database: starting a processor (its status, session and the job that runs it) and
stopping it commit in one transaction on either database.

A processor's ``settings`` are the CreateStreamProcessor members DescribeStreamProcessor returns
(``Input``, ``Output``, ``RoleArn``, ``Settings``, ``NotificationChannel``, ``RegionsOfInterest``,
``DataSharingPreference``), kept as JSON; ``tags`` are its tags. ``stream_matches`` keeps the latest
frame records that matched a face, per processor, for the console (``GetStreamProcessorMatches``).
Names are unique in a store (one account and region per server), listings are in creation order.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import Any

from .base import Page
from .jobs import JOB_COLUMNS, JobRecord, SqlJobStore, job_values
from .rows import page_of

STOPPED, STARTING, RUNNING, FAILED, STOPPING, UPDATING = (
    "STOPPED",
    "STARTING",
    "RUNNING",
    "FAILED",
    "STOPPING",
    "UPDATING",
)
"""``StreamProcessorStatus`` (botocore's Rekognition model)."""

_COLUMNS = "name, arn, settings, tags, status, status_message, session_id, job_id, created, updated"


@dataclass(frozen=True)
class StreamProcessorRecord:
    """A stream processor. ``created``/``updated`` are Unix seconds; ``session_id`` and ``job_id`` name
    the last session started (``None`` before the first StartStreamProcessor)."""

    name: str
    arn: str
    settings: dict[str, Any]
    status: str
    status_message: str | None = None
    session_id: str | None = None
    job_id: str | None = None
    created: float = 0.0
    updated: float = 0.0
    tags: dict[str, str] = field(default_factory=dict)


class SqlStreamStore:
    """Stream processors and their latest matches in the database of ``jobs`` (see the module docstring).

    Each method is one transaction, or joins the caller's ``atomic()``.
    """

    def __init__(self, jobs: SqlJobStore) -> None:
        self.jobs = jobs
        self.db = jobs.db

    def atomic(self) -> AbstractContextManager[object]:
        """One write transaction around everything inside (processors and jobs); nested uses join it."""
        return self.db.transaction()

    def create(self, record: StreamProcessorRecord) -> bool:
        """Insert ``record``; ``False`` (nothing written) when its name is taken."""
        now = time.time()
        with self.db.transaction() as db:
            created = db.one(
                f"INSERT INTO stream_processors ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
                " ON CONFLICT (name) DO NOTHING RETURNING seq",
                (
                    record.name,
                    record.arn,
                    json.dumps(record.settings, sort_keys=True),
                    json.dumps(record.tags, sort_keys=True),
                    record.status,
                    record.status_message,
                    None,
                    None,
                    record.created or now,
                    record.updated or now,
                ),
            )
        return created is not None

    def get(self, name: str) -> StreamProcessorRecord | None:
        """The processor called ``name``, or ``None``."""
        with self.db.connection() as db:
            row = db.one(f"SELECT {_COLUMNS} FROM stream_processors WHERE name = ?", (name,))
        return None if row is None else _record_of(row)

    def list(self, after: int | None, limit: int) -> Page[StreamProcessorRecord]:
        """Processors in creation order, after cursor ``after``."""
        with self.db.connection() as db:
            rows = db.all(
                f"SELECT seq, {_COLUMNS} FROM stream_processors WHERE seq > ? ORDER BY seq LIMIT ?",
                (after or 0, limit + 1),
            )
        return page_of([(row[0], _record_of(row[1:])) for row in rows], limit)

    def set_status(
        self, name: str, status: str, message: str | None, *, session_id: str | None = None, job_id: str | None = None
    ) -> None:
        """Record ``status`` and its ``message`` (and, when given, a new session and its job)."""
        with self.db.transaction() as db:
            db.run(
                "UPDATE stream_processors SET status = ?, status_message = ?, updated = ?,"
                " session_id = COALESCE(?, session_id), job_id = COALESCE(?, job_id) WHERE name = ?",
                (status, message, time.time(), session_id, job_id, name),
            )

    def set_session_status(
        self, name: str, session_id: str, status: str, message: str | None, allowed: tuple[str, ...]
    ) -> bool:
        """Record ``status`` only while ``session_id`` is the processor's session and its status is one
        of ``allowed`` (a session's runner never overrides a newer session, a stop request or a final
        status); whether it was recorded."""
        with self.db.transaction() as db:
            changed = db.run(
                "UPDATE stream_processors SET status = ?, status_message = ?, updated = ?"
                f" WHERE name = ? AND session_id = ? AND {self.db.any_of('status')}",
                (status, message, time.time(), name, session_id, self.db.listed(allowed)),
            )
        return changed > 0

    def start_session(self, name: str, job: JobRecord) -> None:
        """Queue ``job`` (the session ``job.request["SessionId"]`` of processor ``name``) and mark the
        processor ``STARTING`` with that session, in one transaction."""
        with self.db.transaction() as db:
            db.run(f"INSERT INTO jobs ({JOB_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", job_values(job))
            self.set_status(name, STARTING, None, session_id=job.request["SessionId"], job_id=job.job_id)

    def set_settings(self, name: str, settings: dict[str, Any]) -> None:
        """Replace the processor's settings (UpdateStreamProcessor)."""
        with self.db.transaction() as db:
            db.run(
                "UPDATE stream_processors SET settings = ?, updated = ? WHERE name = ?",
                (json.dumps(settings, sort_keys=True), time.time(), name),
            )

    def set_tags(self, name: str, tags: dict[str, str]) -> None:
        """Replace the processor's tags."""
        with self.db.transaction() as db:
            db.run("UPDATE stream_processors SET tags = ? WHERE name = ?", (json.dumps(tags, sort_keys=True), name))

    def delete(self, name: str) -> None:
        """Delete the processor and its matches."""
        with self.db.transaction() as db:
            db.run("DELETE FROM stream_processors WHERE name = ?", (name,))
            db.run("DELETE FROM stream_matches WHERE name = ?", (name,))

    def add_matches(self, name: str, session_id: str, records: Iterable[str], keep: int) -> None:
        """Append frame ``records`` (JSON text, oldest first) of ``session_id``, keeping the ``keep`` newest."""
        rows = [(name, session_id, record) for record in records]
        if not rows:
            return
        with self.db.transaction() as db:
            db.many("INSERT INTO stream_matches (name, session_id, record) VALUES (?, ?, ?)", rows)
            oldest_kept = db.one(
                "SELECT seq FROM stream_matches WHERE name = ? ORDER BY seq DESC LIMIT 1 OFFSET ?", (name, keep - 1)
            )
            if oldest_kept is not None:
                db.run("DELETE FROM stream_matches WHERE name = ? AND seq < ?", (name, oldest_kept[0]))

    def matches(self, name: str, limit: int) -> list[tuple[str, str]]:
        """The newest ``limit`` matched frame records ``(session_id, record)``, newest first."""
        with self.db.connection() as db:
            rows = db.all(
                "SELECT session_id, record FROM stream_matches WHERE name = ? ORDER BY seq DESC LIMIT ?", (name, limit)
            )
        return [(session_id, record) for session_id, record in rows]


def _record_of(row: tuple) -> StreamProcessorRecord:
    name, arn, settings, tags, status, message, session_id, job_id, created, updated = row
    return StreamProcessorRecord(
        name=name,
        arn=arn,
        settings=json.loads(settings),
        status=status,
        status_message=message,
        session_id=session_id,
        job_id=job_id,
        created=float(created),
        updated=float(updated),
        tags=json.loads(tags),
    )
