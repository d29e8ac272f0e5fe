"""``JobStore`` on one SQLite file: the embedded default (``SqlJobStore`` on ``SqliteDatabase``).

Jobs live in ``<data-dir>/jobs.sqlite3`` (WAL, ``synchronous=FULL``, one connection behind a lock).
What is SQLite's own is here: the tables, their migrations, and claims. The workers are processes
of one machine, so besides an expired lease, a job whose owner process no longer exists is free at
once: a restarted server resumes its jobs without waiting for their leases. Schema version 1
(``PRAGMA user_version``) adds the owner and lease columns to files written by earlier releases;
their jobs ``IN_PROGRESS`` have no owner and are claimed like new ones. Version 2 adds the stream
processor tables (``streams.SqlStreamStore``). An owner may name a worker slot of its process
(``<pid>@<host>/<slot>``, ``jobs.worker_name``).
"""

from __future__ import annotations

import os
import socket
import time
from pathlib import Path

from .jobs import IN_PROGRESS, JOB_COLUMNS, JobRecord, SqlJobStore, job_of
from .sql import Statements
from .sqlite_db import SqliteDatabase

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


_STREAM_TABLES = (
    """CREATE TABLE IF NOT EXISTS stream_processors (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        name TEXT NOT NULL UNIQUE,
        arn TEXT NOT NULL,
        settings TEXT NOT NULL,
        tags TEXT NOT NULL,
        status TEXT NOT NULL,
        status_message TEXT,
        session_id TEXT,
        job_id TEXT,
        created REAL NOT NULL,
        updated REAL NOT NULL
    )""",
    """CREATE TABLE IF NOT EXISTS stream_matches (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        name TEXT NOT NULL,
        session_id TEXT NOT NULL,
        record TEXT NOT NULL
    )""",
    "CREATE INDEX IF NOT EXISTS stream_matches_by_name ON stream_matches (name, seq)",
)
"""Schema version 2: the stream processors and their latest matches (``streams.SqlStreamStore``)."""


class SqliteJobStore(SqlJobStore):
    """``JobStore`` in the SQLite file ``path`` (created, or migrated to the current schema)."""

    lease_end = f"{SqliteDatabase.now} + ?"

    def __init__(self, path: Path) -> None:
        database = SqliteDatabase(path, _SCHEMA)
        with database.transaction() as db:
            if db.one("PRAGMA user_version")[0] < 1:
                db.run("ALTER TABLE jobs ADD COLUMN owner TEXT")
                db.run("ALTER TABLE jobs ADD COLUMN lease_until REAL")
                db.run("PRAGMA user_version = 1")
            if db.one("PRAGMA user_version")[0] < 2:
                for statement in _STREAM_TABLES:
                    db.run(statement)
                db.run("PRAGMA user_version = 2")
        super().__init__(database)

    def close(self) -> None:
        """Close the database connection (this store's own file)."""
        self.db.close()

    def claim(self, owner: str, lease_seconds: float, apis: tuple[str, ...]) -> JobRecord | None:
        # Look first without writing: idle workers poll, and an empty write would still touch the disk.
        with self.db.connection() as db:
            if not self._claimable(owner, apis, db):
                return None
        with self.db.transaction() as db:
            free = self._claimable(owner, apis, db)
            if not free:
                return None
            row = db.one(
                f"UPDATE jobs SET owner = ?, lease_until = {self.lease_end} WHERE job_id = ? RETURNING {JOB_COLUMNS}",
                (owner, lease_seconds, free[0]),
            )
        return job_of(row)

    def _claimable(self, owner: str, apis: tuple[str, ...], db: Statements) -> list[str]:
        """Ids of the ``IN_PROGRESS`` jobs of ``apis`` that ``owner`` may claim now, oldest first."""
        now = time.time()
        candidates = db.all(
            f"SELECT job_id, owner, lease_until FROM jobs WHERE status = ? AND {self.db.any_of('api')} ORDER BY seq",
            (IN_PROGRESS, self.db.listed(apis)),
        )
        return [
            job_id
            for job_id, holder, lease_until in candidates
            if holder is None or lease_until < now or (holder != owner and not _alive(holder))
        ]


def _alive(owner: str) -> bool:
    """Whether ``owner`` (``<pid>@<host>``, or ``<pid>@<host>/<slot>``: a process of this machine) still runs."""
    pid, _, place = owner.partition("@")
    host = place.partition("/")[0]
    if host != socket.gethostname() or not pid.isdigit():
        return True  # not ours to judge: wait for its lease
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    return True  # running (or running as another user: PermissionError)
