"""A PostgreSQL connection pool shared by the threads of a process: the PostgreSQL dialect of the
SQL stores (``sql.SqlDatabase``).

``transaction()`` is the PostgreSQL counterpart of ``SqliteDatabase.transaction()``: it nests (an
inner one joins the outer one, on the same connection), and every outermost one first takes one
transaction-level advisory lock, ``WRITE_LOCK``, held until it commits. Writes therefore run one at
a time across all nodes, as they do in SQLite, which gives the stores the same guarantees on every
node: checks made inside a transaction still hold when it commits, and the change log's ``seq``
order is its commit order (a reader that saw entry ``n`` never sees an entry below ``n`` appear
later). Write transactions hold the lock for milliseconds (IndexFaces runs its models before it).

A list parameter is a PostgreSQL array, matched with ``= ANY``. Statements are written with
``?`` placeholders and run with psycopg's ``%s``.

Durability is PostgreSQL's: ``COMMIT`` returns once the commit record is flushed to its WAL
(``synchronous_commit`` on, the default), so an acknowledged write survives a crash of the node or
of the database server.

A database that cannot be reached, or that restarts under a request, raises
``InternalServerError`` ("retry the request": the AWS SDKs retry HTTP 500 by themselves); the pool
drops broken connections and opens new ones, so the node recovers without a restart. A request
waits at most ``wait_seconds`` (3 s) for a connection. Once one has waited that long in vain (or
lost its connection), requests wait only ``OUTAGE_WAIT`` for a pooled one and then try to connect
by themselves (refused at once by a stopped database; at most ``max_connections`` at a time), until
the pool gives connections again. So requests queued behind one another (on the service's lock, or
the index's) do not add their waits up: every request in flight when the database goes away fails
within the 3 s. And as the pool reconnects in the background on its own schedule, its attempts
backing off (1, 2, 4... s), a database that is back sooner serves requests through their own
connections meanwhile.

Schema migrations: ``migrate`` applies the numbered steps a store passes it that the database's
``rekollect_schema`` table does not list yet, each in its own transaction together with its row in
that table, under an advisory lock, so that nodes starting at once apply each step exactly once.
PostgreSQL's DDL is transactional, so a step is applied whole or not at all. (A migration tool
such as Alembic would add SQLAlchemy to the dependencies for what these few lines do.)
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager

import psycopg
import psycopg_pool

from ..errors import InternalServerError
from ..startup import StartupRefused
from .sql import Statements, percent_placeholders

log = logging.getLogger(__name__)

WRITE_LOCK = 7_361_001
"""Advisory lock key taken by every write transaction (one writer at a time, cluster-wide)."""

MIGRATION_LOCK = 7_361_002
"""Advisory lock key held while schema migrations are checked and applied."""

UNAVAILABLE = "The database is unavailable ({}); retry the request"

OUTAGE_WAIT = 0.1
"""Seconds a request waits for a pooled connection once another one's wait ran out (or its
connection was lost), until the pool gives connections again (see the module docstring)."""
OUTAGE_CONNECT = 2
"""Seconds a request may take to connect by itself then (libpq's least ``connect_timeout``)."""


class PostgresDatabase:
    """A connection pool on ``url`` (``postgresql://...``), transactions, and change notifications.

    ``max_connections`` bounds the pool; a request waits at most ``wait_seconds`` for a connection.
    ``StartupRefused`` if the database cannot be reached within ``connect_seconds`` at start.
    """

    now = "extract(epoch FROM now())"
    """The time now in Unix seconds: the database server's clock (the start of the transaction)."""

    def __init__(
        self,
        url: str,
        *,
        max_connections: int = 8,
        wait_seconds: float = 3.0,
        connect_seconds: float = 30.0,
    ) -> None:
        self.url = url
        self.wait_seconds = wait_seconds
        self._local = threading.local()
        self._outage = False
        """Set when a wait for a connection ran out or a connection was lost; cleared when the pool
        gives a connection again."""
        self._own_connections = threading.BoundedSemaphore(max_connections)
        """Connections requests may open by themselves at once during an outage (no more than the pool's)."""
        self.pool = psycopg_pool.ConnectionPool(
            url,
            min_size=1,
            max_size=max_connections,
            kwargs={"autocommit": True},
            check=psycopg_pool.ConnectionPool.check_connection,
            timeout=wait_seconds,
            open=False,
            name="rekollect",
        )
        try:
            self.pool.open(wait=True, timeout=connect_seconds)
        except psycopg_pool.PoolTimeout:
            self.pool.close()
            raise StartupRefused(
                f"cannot connect to the database at {_redacted(url)} within {connect_seconds:.0f} s"
            ) from None

    def close(self) -> None:
        """Close every connection of the pool."""
        self.pool.close()

    @property
    def in_transaction(self) -> bool:
        """Whether the calling thread is inside ``transaction()``."""
        return getattr(self._local, "connection", None) is not None

    def any_of(self, column: str) -> str:
        return f"{column} = ANY(?)"

    def listed(self, values: Iterable[str]) -> object:
        return list(values)

    def not_indexed(self, column: str) -> str:
        """``column`` as it is: PostgreSQL's planner has statistics and needs no hint."""
        return column

    @contextmanager
    def connection(self) -> Iterator[Statements]:
        """The calling thread's transaction connection inside ``transaction()``, else a pooled one
        in autocommit mode (each statement sees everything committed before it)."""
        current = getattr(self._local, "connection", None)
        if current is not None:
            yield Statements(current, percent_placeholders)
            return
        with self._pooled() as connection:
            yield Statements(connection, percent_placeholders)

    @contextmanager
    def _pooled(self) -> Iterator[psycopg.Connection]:
        """A connection from the pool, waiting ``wait_seconds`` for it; once a wait has run out (or a
        connection was lost), ``OUTAGE_WAIT``, then a connection of its own, until the pool gives one
        again (see the module docstring). A lost or unreachable database is ``InternalServerError``."""
        with _reporting_unavailable(self._note_outage), self._connection(self._outage) as connection:
            yield connection

    def _note_outage(self) -> None:
        self._outage = True

    @contextmanager
    def _connection(self, outage: bool) -> Iterator[psycopg.Connection]:
        if not outage:
            with self.pool.connection(timeout=self.wait_seconds) as connection:
                yield connection
            return
        try:
            pooled = self.pool.getconn(timeout=OUTAGE_WAIT)
        except psycopg_pool.PoolTimeout:
            # The pool reconnects on its own schedule, its attempts backing off (1, 2, 4... s): a
            # database that is back sooner serves this request through a connection of its own.
            if not self._own_connections.acquire(blocking=False):
                raise
            try:
                with psycopg.connect(self.url, autocommit=True, connect_timeout=OUTAGE_CONNECT) as connection:
                    yield connection
            finally:
                self._own_connections.release()
            return
        self._outage = False  # the pool has connections again
        try:
            yield pooled
        finally:
            self.pool.putconn(pooled)

    def transaction(self) -> AbstractContextManager[Statements]:
        """``BEGIN`` … ``COMMIT`` (``ROLLBACK`` on error) holding ``WRITE_LOCK``; nested uses join the outer one."""
        return self._thread_transaction("SELECT pg_advisory_xact_lock(%s)", (WRITE_LOCK,))

    def snapshot(self) -> AbstractContextManager[Statements]:
        """A read-only ``REPEATABLE READ`` transaction: every read inside (on this thread) sees one
        committed state of the database while other connections go on committing; nested uses join
        the outer transaction."""
        return self._thread_transaction("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY", ())

    @contextmanager
    def _thread_transaction(self, first: str, params: tuple[object, ...]) -> Iterator[Statements]:
        """A transaction that starts with the statement ``first`` and is the calling thread's until it
        ends (``connection()`` and nested transactions join it)."""
        current = getattr(self._local, "connection", None)
        if current is not None:
            yield Statements(current, percent_placeholders)
            return
        with self._pooled() as connection, connection.transaction():
            connection.execute(first, params)
            self._local.connection = connection
            try:
                yield Statements(connection, percent_placeholders)
            finally:
                self._local.connection = None

    def migrate(self, steps: Sequence[str]) -> None:
        """Apply ``steps[i]`` (SQL) as schema version ``i + 1`` unless already applied, oldest first."""
        with self._pooled() as connection, connection.transaction():
            connection.execute("SELECT pg_advisory_xact_lock(%s)", (MIGRATION_LOCK,))
            connection.execute(
                "CREATE TABLE IF NOT EXISTS rekollect_schema"
                " (version INTEGER PRIMARY KEY, applied TIMESTAMPTZ NOT NULL DEFAULT now())"
            )
            applied = {row[0] for row in connection.execute("SELECT version FROM rekollect_schema")}
            for version, step in enumerate(steps, start=1):
                if version in applied:
                    continue
                connection.execute(step)
                connection.execute("INSERT INTO rekollect_schema (version) VALUES (%s)", (version,))
                log.info("database schema migrated to version %d", version)

    def follow(self, channel: str, on_wake: Callable[[], None], stop: threading.Event) -> None:
        """Call ``on_wake`` at every ``NOTIFY`` on ``channel`` (and after each (re)connection, for
        what was missed meanwhile) until ``stop`` is set; runs in the calling thread.

        Connection failures are logged and retried every second; ``on_wake`` failures are logged.
        """
        while not stop.is_set():
            try:
                with psycopg.connect(self.url, autocommit=True, connect_timeout=5) as connection:
                    connection.execute(f"LISTEN {channel}")
                    _wake(on_wake)
                    while not stop.is_set():
                        woken = False
                        for _ in connection.notifies(timeout=1.0):
                            woken = True
                            break
                        if woken:
                            _wake(on_wake)
                        else:
                            connection.execute("SELECT 1")  # notices a dead connection within a second
            except psycopg.Error as error:
                if not stop.is_set():
                    log.warning("listening for %s: %s; reconnecting", channel, error)
                    stop.wait(1.0)


def _wake(on_wake: Callable[[], None]) -> None:
    try:
        on_wake()
    except Exception:
        log.exception("handling a change notification")


@contextmanager
def _reporting_unavailable(noted: Callable[[], None]) -> Iterator[None]:
    """Turn a lost or unreachable database into ``InternalServerError`` with the reason, after
    calling ``noted``."""
    try:
        yield
    except psycopg_pool.PoolTimeout:
        noted()
        raise InternalServerError(UNAVAILABLE.format("no connection could be made in time")) from None
    except psycopg.OperationalError as error:
        noted()
        reason = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise InternalServerError(UNAVAILABLE.format(reason)) from None


def _redacted(url: str) -> str:
    """``url`` without its password."""
    try:
        info = psycopg.conninfo.conninfo_to_dict(url)
    except psycopg.ProgrammingError:
        return "<the configured URL>"
    info.pop("password", None)
    return " ".join(f"{key}={value}" for key, value in info.items())

