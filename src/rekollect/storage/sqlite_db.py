"""One SQLite file shared by the threads of a process: the SQLite dialect of the SQL stores (``sql.SqlDatabase``).

WAL journal with ``synchronous=FULL``: a transaction is on disk when ``COMMIT`` returns, so an
acknowledged write survives ``kill -9`` (SQLite's documented guarantee). One connection serves
all threads behind a re-entrant lock; ``transaction()`` nests (an inner one joins the outer).
A list parameter is one JSON array, matched through ``json_each``.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

from .full import reporting_full, writable
from .sql import Statements


class SqliteDatabase:
    """A SQLite connection, its lock, and transactions. ``schema`` is run at opening."""

    now = "((julianday('now') - 2440587.5) * 86400.0)"
    """The time now in Unix seconds (``julianday`` counts days from the Julian epoch; SQLite's docs)."""

    def __init__(self, path: Path, schema: str) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._connection = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        self._statements = Statements(self._connection)
        self.lock = threading.RLock()
        with self.lock:
            self._connection.execute("PRAGMA journal_mode=WAL")
            self._connection.execute("PRAGMA synchronous=FULL")
            self._connection.executescript(schema)

    def close(self) -> None:
        """Close the connection."""
        with self.lock:
            self._connection.close()

    @property
    def in_transaction(self) -> bool:
        """Whether a transaction is open: the calling thread's, when it holds the lock (inside ``connection()``)."""
        return self._connection.in_transaction

    def any_of(self, column: str) -> str:
        return f"{column} IN (SELECT value FROM json_each(?))"

    def listed(self, values: Iterable[str]) -> object:
        return json.dumps(list(values))

    def not_indexed(self, column: str) -> str:
        """``+column``: SQLite's unary ``+`` keeps a term from choosing an index ("The SQLite Query
        Optimizer Overview"); without statistics its planner would rather walk a collection's index
        than look up a list of unique keys."""
        return f"+{column}"

    @contextmanager
    def connection(self) -> Iterator[Statements]:
        """The connection, for statements one at a time (each its own transaction, unless this
        thread is inside ``transaction()`` or ``snapshot()``), with the lock held."""
        with self.lock, reporting_full():
            yield self._statements

    @contextmanager
    def transaction(self) -> Iterator[Statements]:
        """``BEGIN IMMEDIATE`` … ``COMMIT`` (``ROLLBACK`` on error); nested uses join the outer one.

        A failed ``COMMIT`` is rolled back too, so the connection never stays inside a transaction
        that later writes would join and never commit. A disk too full for the write raises
        ``InternalServerError`` saying so (``storage.full``).
        """
        with self.lock:
            if self._connection.in_transaction:  # this thread holds the lock: we are nested
                yield self._statements
                return
            with reporting_full():
                self._connection.execute("BEGIN IMMEDIATE")
                try:
                    yield self._statements
                    self._connection.execute("COMMIT")
                except BaseException:
                    if self._connection.in_transaction:  # SQLite may have rolled back already
                        self._connection.execute("ROLLBACK")
                    raise
            writable()

    @contextmanager
    def snapshot(self) -> Iterator[Statements]:
        """A read transaction (``BEGIN`` … ``ROLLBACK``): every read inside sees the database as it
        was at the first one, while other connections and processes go on committing (WAL mode;
        SQLite's "Isolation In SQLite"). For reads only; nested uses join the outer transaction."""
        with self.lock:
            if self._connection.in_transaction:
                yield self._statements
                return
            self._connection.execute("BEGIN")
            try:
                yield self._statements
            finally:
                if self._connection.in_transaction:
                    self._connection.execute("ROLLBACK")
