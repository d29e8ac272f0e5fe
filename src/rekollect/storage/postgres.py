"""``MetadataStore`` on PostgreSQL: the store for several nodes (``--database-url``).

Every method is ``SqlStore``'s, as for SQLite, so the operations cannot tell the two apart; what is
PostgreSQL's own is its schema (``postgres_schema.py``, applied by ``PostgresDatabase.migrate``),
the cluster's one write lock (``PostgresDatabase.WRITE_LOCK``: write transactions run one at a
time, so the change log's order is commit order), and two things only several nodes need: a
secret shared by every node (the pagination key) and ``follow_changes``. A statement trigger
sends ``NOTIFY rekollect_index`` with each transaction that adds change-log entries, delivered when
it commits; ``follow_changes`` wakes a node on it.

Embeddings are stored as little-endian float32 bytes (``bytea``), as in SQLite, so both stores
hold the same bits and give the same search results.
"""

from __future__ import annotations

import secrets
import threading
from collections.abc import Callable

from .postgres_db import PostgresDatabase
from .postgres_schema import MIGRATIONS
from .sql import SqlStore

CHANGES_CHANNEL = "rekollect_index"
"""``NOTIFY`` channel of the index change log."""


class PostgresStore(SqlStore):
    """``MetadataStore`` in the PostgreSQL database of ``database`` (migrated to the current schema)."""

    def __init__(self, database: PostgresDatabase) -> None:
        database.migrate(MIGRATIONS)
        super().__init__(database)
        self._database = database

    def secret(self, name: str, size: int) -> bytes:
        """The random ``size``-byte secret called ``name``, created by the first node that asks."""
        with self.db.transaction() as db:
            db.run(
                "INSERT INTO secrets (name, value) VALUES (?, ?) ON CONFLICT (name) DO NOTHING",
                (name, secrets.token_bytes(size)),
            )
            return bytes(db.one("SELECT value FROM secrets WHERE name = ?", (name,))[0])

    def follow_changes(self, on_change: Callable[[], None], stop: threading.Event) -> None:
        """Call ``on_change`` whenever change log entries are committed, until ``stop`` (blocks; run in a thread)."""
        self._database.follow(CHANGES_CHANNEL, on_change, stop)
