"""One SQLite file shared by the threads of a process: the durable base of the embedded stores.

WAL journal with ``synchronous=FULL``: a transaction is on disk when ``COMMIT`` returns, so an
acknowledged write survives ``kill -9`` (SQLite's documented guarantee). One connection serves
all threads behind a re-entrant lock; ``transaction()`` nests (an inner one joins the outer).
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from .full import reporting_full, writable


class SqliteDatabase:
    """A SQLite connection, its lock, and transactions. ``schema`` is run at opening."""

    def __init__(self, path: Path, schema: str) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.connection = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        self.lock = threading.RLock()
        with self.lock:
            self.connection.execute("PRAGMA journal_mode=WAL")
            self.connection.execute("PRAGMA synchronous=FULL")
            self.connection.executescript(schema)

    def close(self) -> None:
        """Close the connection."""
        with self.lock:
            self.connection.close()

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """``BEGIN IMMEDIATE`` … ``COMMIT`` (``ROLLBACK`` on error); nested uses join the outer one.

        A failed ``COMMIT`` is rolled back too, so the connection never stays inside a transaction
        that later writes would join and never commit. A disk too full for the write raises
        ``InternalServerError`` saying so (``storage.full``).
        """
        with self.lock:
            if self.connection.in_transaction:  # this thread holds the lock: we are nested
                yield self.connection
                return
            with reporting_full():
                self.connection.execute("BEGIN IMMEDIATE")
                try:
                    yield self.connection
                    self.connection.execute("COMMIT")
                except BaseException:
                    if self.connection.in_transaction:  # SQLite may have rolled back already
                        self.connection.execute("ROLLBACK")
                    raise
            writable()

    @contextmanager
    def snapshot(self) -> Iterator[sqlite3.Connection]:
        """A read transaction (``BEGIN`` … ``ROLLBACK``): every read inside sees the database as it
        was at the first one, while other connections and processes go on committing (WAL mode;
        SQLite's "Isolation In SQLite"). For reads only; nested uses join the outer transaction."""
        with self.lock:
            if self.connection.in_transaction:
                yield self.connection
                return
            self.connection.execute("BEGIN")
            try:
                yield self.connection
            finally:
                if self.connection.in_transaction:
                    self.connection.execute("ROLLBACK")
