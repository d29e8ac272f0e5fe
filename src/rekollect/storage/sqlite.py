"""``MetadataStore`` on one SQLite file: the embedded default (``SqlStore`` on ``SqliteDatabase``).

What is SQLite's own is here: the tables and change-log triggers in SQLite's DDL, and the schema
migrations (``PRAGMA user_version``); every method is ``SqlStore``'s. Durability comes from
``SqliteDatabase`` (WAL, ``synchronous=FULL``): a transaction is on disk when ``COMMIT`` returns,
so it survives ``kill -9`` of the server.

Every write inside a collection checks, in its own transaction, that the collection exists
(``ResourceNotFoundException`` if not). An operation checks the collection first and writes later
(IndexFaces detects faces in between); a DeleteCollection committed in between, by any thread or
process, would otherwise leave rows of a deleted collection behind, to reappear in a collection
later created with the same id. Schema version 1 (``PRAGMA user_version``) removes such rows left
by earlier releases; version 2 adds the ``face_crops`` table (the faces' pictures, kept with
``--face-crops``), version 3 the Face Liveness sessions.
"""

from __future__ import annotations

from pathlib import Path

from ..spaces import FACES, USERS
from .sql import SqlStore, Statements
from .sqlite_db import SqliteDatabase

_SCHEMA = """
CREATE TABLE IF NOT EXISTS collections (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    collection_id TEXT NOT NULL UNIQUE,
    arn TEXT NOT NULL,
    created REAL NOT NULL,
    face_model_version TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS tags (
    collection_id TEXT NOT NULL,
    key TEXT NOT NULL,
    value TEXT NOT NULL,
    PRIMARY KEY (collection_id, key)
);
CREATE TABLE IF NOT EXISTS images (
    collection_id TEXT NOT NULL,
    image_id TEXT NOT NULL,
    content_hash TEXT NOT NULL,
    external_image_id TEXT,
    PRIMARY KEY (collection_id, image_id)
);
CREATE INDEX IF NOT EXISTS images_by_hash ON images (collection_id, content_hash);
CREATE TABLE IF NOT EXISTS faces (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    collection_id TEXT NOT NULL,
    face_id TEXT NOT NULL UNIQUE,
    image_id TEXT NOT NULL,
    external_image_id TEXT,
    box_width REAL NOT NULL,
    box_height REAL NOT NULL,
    box_left REAL NOT NULL,
    box_top REAL NOT NULL,
    confidence REAL NOT NULL,
    model_version TEXT NOT NULL,
    embedding BLOB NOT NULL,
    user_id TEXT
);
CREATE INDEX IF NOT EXISTS faces_by_collection ON faces (collection_id, seq);
CREATE INDEX IF NOT EXISTS faces_by_image ON faces (collection_id, image_id);
CREATE INDEX IF NOT EXISTS faces_by_user ON faces (collection_id, user_id);
CREATE TABLE IF NOT EXISTS users (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    collection_id TEXT NOT NULL,
    user_id TEXT NOT NULL,
    vector BLOB,
    UNIQUE (collection_id, user_id)
);
CREATE TABLE IF NOT EXISTS index_log (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    kind TEXT NOT NULL,
    collection_id TEXT NOT NULL,
    key TEXT
);
CREATE TRIGGER IF NOT EXISTS index_log_face_added AFTER INSERT ON faces BEGIN
    INSERT INTO index_log (kind, collection_id, key) VALUES ('faces', NEW.collection_id, NEW.face_id);
END;
CREATE TRIGGER IF NOT EXISTS index_log_face_deleted AFTER DELETE ON faces
WHEN EXISTS (SELECT 1 FROM collections WHERE collection_id = OLD.collection_id) BEGIN
    INSERT INTO index_log (kind, collection_id, key) VALUES ('faces', OLD.collection_id, OLD.face_id);
END;
CREATE TRIGGER IF NOT EXISTS index_log_user_vector AFTER UPDATE OF vector ON users BEGIN
    INSERT INTO index_log (kind, collection_id, key) VALUES ('users', NEW.collection_id, NEW.user_id);
END;
CREATE TRIGGER IF NOT EXISTS index_log_user_deleted AFTER DELETE ON users
WHEN EXISTS (SELECT 1 FROM collections WHERE collection_id = OLD.collection_id) BEGIN
    INSERT INTO index_log (kind, collection_id, key) VALUES ('users', OLD.collection_id, OLD.user_id);
END;
CREATE TRIGGER IF NOT EXISTS index_log_collection_deleted AFTER DELETE ON collections BEGIN
    INSERT INTO index_log (kind, collection_id, key)
    VALUES ('faces', OLD.collection_id, NULL), ('users', OLD.collection_id, NULL);
END;
CREATE TABLE IF NOT EXISTS face_crops (
    collection_id TEXT NOT NULL,
    face_id TEXT NOT NULL PRIMARY KEY,
    jpeg BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS face_crops_by_collection ON face_crops (collection_id);
CREATE TABLE IF NOT EXISTS saved_responses (
    scope TEXT NOT NULL,
    token TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    response TEXT NOT NULL,
    PRIMARY KEY (scope, token)
);
"""

_ORPHANS = "collection_id NOT IN (SELECT collection_id FROM collections)"
"""Rows of collections that no longer exist (left by DeleteCollection races before schema version 1)."""

_SCOPE_COLLECTION = "substr(scope, instr(scope, char(10)) + 1)"
"""The collection of an idempotency scope (``<Operation>\\n<CollectionId>``)."""


_LIVENESS_SESSIONS = """
CREATE TABLE IF NOT EXISTS liveness_sessions (
    session_id TEXT PRIMARY KEY,
    client_token TEXT,
    settings TEXT NOT NULL,
    created REAL NOT NULL,
    status TEXT NOT NULL,
    started REAL,
    challenge TEXT,
    result TEXT
)"""


def _migrate(db: Statements) -> None:
    """Bring the schema to the current version (``PRAGMA user_version``), inside one transaction.

    Version 1: delete the rows of collections that no longer exist, and log the drop of their
    index spaces (those rows were never logged as deleted, so an index could still hold them).
    Version 2: the ``face_crops`` table, which the schema run at every opening has just made (as it
    makes every missing table); the version records that a release with it wrote this file.
    Version 3: the Face Liveness sessions (``storage/liveness.py``).
    """
    version = db.one("PRAGMA user_version")[0]
    if version < 1:
        _remove_orphans(db)
    if version < 2:
        db.run("PRAGMA user_version = 2")
    if version < 3:
        db.run(_LIVENESS_SESSIONS)
        db.run("CREATE INDEX IF NOT EXISTS liveness_sessions_by_token ON liveness_sessions (client_token)")
        db.run("CREATE INDEX IF NOT EXISTS liveness_sessions_by_created ON liveness_sessions (created)")
        db.run("PRAGMA user_version = 3")


def _remove_orphans(db: Statements) -> None:
    """Schema version 1 (see ``_migrate``)."""
    orphaned = {
        row[0]
        for table in ("tags", "images", "faces", "users")
        for row in db.all(f"SELECT DISTINCT collection_id FROM {table} WHERE {_ORPHANS}")
    }
    for table in ("tags", "images", "faces", "users"):
        db.run(f"DELETE FROM {table} WHERE {_ORPHANS}")
    db.run(f"DELETE FROM saved_responses WHERE {_SCOPE_COLLECTION} NOT IN (SELECT collection_id FROM collections)")
    db.many(
        "INSERT INTO index_log (kind, collection_id, key) VALUES (?, ?, NULL)",
        [(kind, collection_id) for collection_id in sorted(orphaned) for kind in (FACES, USERS)],
    )


class SqliteStore(SqlStore):
    """``MetadataStore`` in ``<data-dir>/rekollect.sqlite3`` (created, or migrated to the current schema).

    The ``index_log`` table is the index change log: triggers append one row per face added or
    deleted, user vector set or user deleted, and one ``key IS NULL`` row per kind when a collection
    is deleted (its faces' and users' own rows are then not logged), in the same transaction as the
    change, so log order is commit order.
    """

    def __init__(self, path: Path) -> None:
        database = SqliteDatabase(path, _SCHEMA)
        with database.transaction() as db:
            _migrate(db)
        super().__init__(database)
