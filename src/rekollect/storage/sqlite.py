"""``MetadataStore`` on one SQLite file: the embedded default.

Durability comes from ``SqliteDatabase`` (WAL, ``synchronous=FULL``): a transaction is on disk when
``COMMIT`` returns, so it survives ``kill -9`` of the server. Every public method is one transaction.

Every write inside a collection checks, in its own transaction, that the collection exists
(``ResourceNotFoundException`` if not). An operation checks the collection first and writes later
(IndexFaces detects faces in between); a DeleteCollection committed in between, by any thread or
process, would otherwise leave rows of a deleted collection behind, to reappear in a collection
later created with the same id. Schema version 1 (``PRAGMA user_version``) removes such rows left
by earlier releases.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Iterator
from contextlib import AbstractContextManager
from pathlib import Path

import numpy as np

from ..errors import ResourceNotFoundException
from .base import CollectionRecord, FaceRecord, IndexChange, Page, SavedResponse, UserRecord
from .database import SqliteDatabase
from .rows import (
    FACE_COLUMNS,
    USER_COLUMNS,
    collection_of,
    face_of,
    page_of,
    scope_pattern,
    user_of,
    vector_bytes,
    vector_of,
)

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


def _migrate(db: sqlite3.Connection) -> None:
    """Bring the schema to the current version (``PRAGMA user_version``), inside one transaction.

    Version 1: delete the rows of collections that no longer exist, and log the drop of their
    index spaces (those rows were never logged as deleted, so an index could still hold them).
    """
    if db.execute("PRAGMA user_version").fetchone()[0] >= 1:
        return
    orphaned = {
        row[0]
        for table in ("tags", "images", "faces", "users")
        for row in db.execute(f"SELECT DISTINCT collection_id FROM {table} WHERE {_ORPHANS}")
    }
    for table in ("tags", "images", "faces", "users"):
        db.execute(f"DELETE FROM {table} WHERE {_ORPHANS}")
    db.execute(f"DELETE FROM saved_responses WHERE {_SCOPE_COLLECTION} NOT IN (SELECT collection_id FROM collections)")
    db.executemany(
        "INSERT INTO index_log (kind, collection_id, key) VALUES (?, ?, NULL)",
        [(kind, collection_id) for collection_id in sorted(orphaned) for kind in ("faces", "users")],
    )
    db.execute("PRAGMA user_version = 1")


def _require_collection(db: sqlite3.Connection, collection_id: str) -> None:
    """``ResourceNotFoundException`` unless the collection exists (call inside the write's transaction)."""
    if db.execute("SELECT 1 FROM collections WHERE collection_id = ?", (collection_id,)).fetchone() is None:
        raise ResourceNotFoundException(f"The collection id: {collection_id} does not exist")




class SqliteStore:
    """``MetadataStore`` in ``<data-dir>/rekollect.sqlite3``.

    The ``index_log`` table is the index change log: triggers append one row per face added or
    deleted, user vector set or user deleted, and one ``key IS NULL`` row per kind when a collection
    is deleted (its faces' and users' own rows are then not logged), in the same transaction as the
    change, so log order is commit order.
    """

    def __init__(self, path: Path) -> None:
        self._db = SqliteDatabase(path, _SCHEMA)
        with self._db.transaction() as db:
            _migrate(db)

    def close(self) -> None:
        """Close the database connection."""
        self._db.close()

    def atomic(self) -> AbstractContextManager[object]:
        """One transaction around everything inside; nested uses join the outer transaction."""
        return self._db.transaction()

    def snapshot(self) -> AbstractContextManager[object]:
        """One read transaction around everything inside (``SqliteDatabase.snapshot``)."""
        return self._db.snapshot()

    # Collections

    def create_collection(self, record: CollectionRecord, tags: dict[str, str]) -> bool:
        with self._db.transaction() as db:
            try:
                db.execute(
                    "INSERT INTO collections (collection_id, arn, created, face_model_version) VALUES (?, ?, ?, ?)",
                    (record.collection_id, record.arn, record.created.timestamp(), record.face_model_version),
                )
            except sqlite3.IntegrityError:
                return False
            db.executemany(
                "INSERT INTO tags (collection_id, key, value) VALUES (?, ?, ?)",
                [(record.collection_id, key, value) for key, value in tags.items()],
            )
            return True

    def get_collection(self, collection_id: str) -> CollectionRecord | None:
        with self._db.lock:
            row = self._db.connection.execute(
                "SELECT collection_id, arn, created, face_model_version FROM collections WHERE collection_id = ?",
                (collection_id,),
            ).fetchone()
        return None if row is None else collection_of(row)

    def set_face_model_version(self, collection_id: str, version: str) -> None:
        with self._db.transaction() as db:
            _require_collection(db, collection_id)
            db.execute("UPDATE collections SET face_model_version = ? WHERE collection_id = ?", (version, collection_id))
            db.execute("UPDATE faces SET model_version = ? WHERE collection_id = ?", (version, collection_id))

    def delete_collection(self, collection_id: str) -> bool:
        with self._db.transaction() as db:
            deleted = db.execute("DELETE FROM collections WHERE collection_id = ?", (collection_id,)).rowcount
            for table in ("tags", "images", "faces", "users"):
                db.execute(f"DELETE FROM {table} WHERE collection_id = ?", (collection_id,))
            db.execute("DELETE FROM saved_responses WHERE scope LIKE ? ESCAPE '!'", (scope_pattern(collection_id),))
            return deleted > 0

    def list_collections(self, after: int | None, limit: int) -> Page[CollectionRecord]:
        with self._db.lock:
            rows = self._db.connection.execute(
                "SELECT seq, collection_id, arn, created, face_model_version FROM collections"
                " WHERE seq > ? ORDER BY seq LIMIT ?",
                (after or 0, limit + 1),
            ).fetchall()
        return page_of([(row[0], collection_of(row[1:])) for row in rows], limit)

    def get_tags(self, collection_id: str) -> dict[str, str]:
        with self._db.lock:
            rows = self._db.connection.execute(
                "SELECT key, value FROM tags WHERE collection_id = ? ORDER BY key", (collection_id,)
            ).fetchall()
        return dict(rows)

    def set_tags(self, collection_id: str, tags: dict[str, str]) -> None:
        with self._db.transaction() as db:
            _require_collection(db, collection_id)
            db.executemany(
                "INSERT INTO tags (collection_id, key, value) VALUES (?, ?, ?)"
                " ON CONFLICT (collection_id, key) DO UPDATE SET value = excluded.value",
                [(collection_id, key, value) for key, value in tags.items()],
            )

    def remove_tags(self, collection_id: str, keys: Iterable[str]) -> None:
        with self._db.transaction() as db:
            _require_collection(db, collection_id)
            db.executemany(
                "DELETE FROM tags WHERE collection_id = ? AND key = ?", [(collection_id, key) for key in keys]
            )

    # Faces

    def find_image(self, collection_id: str, content_hash: str, external_image_id: str) -> str | None:
        with self._db.lock:
            row = self._db.connection.execute(
                "SELECT image_id FROM images WHERE collection_id = ? AND content_hash = ? AND external_image_id = ?",
                (collection_id, content_hash, external_image_id),
            ).fetchone()
        return None if row is None else row[0]

    def add_faces(self, collection_id: str, content_hash: str, faces: list[FaceRecord]) -> None:
        if not faces:
            return
        first = faces[0]
        with self._db.transaction() as db:
            _require_collection(db, collection_id)
            db.execute(
                "INSERT INTO images (collection_id, image_id, content_hash, external_image_id) VALUES (?, ?, ?, ?)",
                (collection_id, first.image_id, content_hash, first.external_image_id),
            )
            db.executemany(
                f"INSERT INTO faces (collection_id, {FACE_COLUMNS}) VALUES (?, NULL, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    (
                        collection_id,
                        face.face_id,
                        face.image_id,
                        face.external_image_id,
                        *face.box,
                        face.confidence,
                        face.model_version,
                        vector_bytes(face.embedding),
                        face.user_id,
                    )
                    for face in faces
                ],
            )

    def get_faces(self, collection_id: str, face_ids: Iterable[str]) -> list[FaceRecord]:
        ids = list(dict.fromkeys(face_ids))
        with self._db.lock:
            rows = [
                row
                for start in range(0, len(ids), 500)
                for row in self._db.connection.execute(  # "+collection_id": look up by the face_id index
                    f"SELECT {FACE_COLUMNS} FROM faces WHERE +collection_id = ?"
                    f" AND face_id IN ({','.join('?' * len(ids[start : start + 500]))})",
                    (collection_id, *ids[start : start + 500]),
                ).fetchall()
            ]
        return [face_of(row) for row in sorted(rows)]

    def faces_of_image(self, collection_id: str, image_id: str) -> list[FaceRecord]:
        with self._db.lock:
            rows = self._db.connection.execute(
                f"SELECT {FACE_COLUMNS} FROM faces WHERE collection_id = ? AND image_id = ? ORDER BY seq",
                (collection_id, image_id),
            ).fetchall()
        return [face_of(row) for row in rows]

    def list_faces(
        self,
        collection_id: str,
        after: int | None,
        limit: int,
        *,
        user_id: str | None = None,
        face_ids: list[str] | None = None,
    ) -> Page[FaceRecord]:
        query = f"SELECT {FACE_COLUMNS} FROM faces WHERE collection_id = ? AND seq > ?"
        params: list[object] = [collection_id, after or 0]
        if user_id is not None:
            query += " AND user_id = ?"
            params.append(user_id)
        if face_ids is not None:
            query += f" AND face_id IN ({','.join('?' * len(face_ids))})"
            params.extend(face_ids)
        query += " ORDER BY seq LIMIT ?"
        params.append(limit + 1)
        with self._db.lock:
            rows = self._db.connection.execute(query, params).fetchall()
        return page_of([(row[0], face_of(row)) for row in rows], limit)

    def delete_faces(self, collection_id: str, face_ids: Iterable[str]) -> list[str]:
        deleted = []
        with self._db.transaction() as db:
            _require_collection(db, collection_id)
            for face_id in dict.fromkeys(face_ids):
                row = db.execute(
                    "DELETE FROM faces WHERE collection_id = ? AND face_id = ? RETURNING image_id",
                    (collection_id, face_id),
                ).fetchone()
                if row is None:
                    continue
                deleted.append(face_id)
                db.execute(
                    "DELETE FROM images WHERE collection_id = ? AND image_id = ?"
                    " AND NOT EXISTS (SELECT 1 FROM faces WHERE collection_id = ? AND image_id = ?)",
                    (collection_id, row[0], collection_id, row[0]),
                )
        return deleted

    def count_faces(self, collection_id: str) -> int:
        with self._db.lock:
            return int(
                self._db.connection.execute(
                    "SELECT COUNT(*) FROM faces WHERE collection_id = ?", (collection_id,)
                ).fetchone()[0]
            )

    def iter_images(self, collection_id: str) -> Iterator[tuple[str, str, str | None]]:
        with self._db.lock:
            rows = self._db.connection.execute(
                "SELECT image_id, content_hash, external_image_id FROM images WHERE collection_id = ? ORDER BY rowid",
                (collection_id,),
            ).fetchall()
        yield from rows

    def iter_embeddings(self, collection_id: str) -> Iterator[tuple[str, np.ndarray]]:
        with self._db.lock:
            rows = self._db.connection.execute(
                "SELECT face_id, embedding FROM faces WHERE collection_id = ? ORDER BY seq", (collection_id,)
            ).fetchall()
        for face_id, blob in rows:
            yield face_id, vector_of(blob)

    # Users


    def create_user(self, collection_id: str, user_id: str) -> bool:
        with self._db.transaction() as db:
            _require_collection(db, collection_id)
            try:
                db.execute("INSERT INTO users (collection_id, user_id) VALUES (?, ?)", (collection_id, user_id))
            except sqlite3.IntegrityError:
                return False
            return True

    def get_user(self, collection_id: str, user_id: str) -> UserRecord | None:
        with self._db.lock:
            row = self._db.connection.execute(
                f"SELECT {USER_COLUMNS} FROM users WHERE collection_id = ? AND user_id = ?",
                (collection_id, user_id),
            ).fetchone()
        return None if row is None else user_of(row)

    def delete_user(self, collection_id: str, user_id: str) -> bool:
        with self._db.transaction() as db:
            _require_collection(db, collection_id)
            db.execute(
                "UPDATE faces SET user_id = NULL WHERE collection_id = ? AND user_id = ?", (collection_id, user_id)
            )
            return (
                db.execute(
                    "DELETE FROM users WHERE collection_id = ? AND user_id = ?", (collection_id, user_id)
                ).rowcount
                > 0
            )

    def list_users(self, collection_id: str, after: int | None, limit: int) -> Page[UserRecord]:
        with self._db.lock:
            rows = self._db.connection.execute(
                f"SELECT users.seq, {USER_COLUMNS} FROM users WHERE collection_id = ? AND seq > ?"
                " ORDER BY seq LIMIT ?",
                (collection_id, after or 0, limit + 1),
            ).fetchall()
        return page_of([(row[0], user_of(row[1:])) for row in rows], limit)

    def count_users(self, collection_id: str) -> int:
        with self._db.lock:
            return int(
                self._db.connection.execute(
                    "SELECT COUNT(*) FROM users WHERE collection_id = ?", (collection_id,)
                ).fetchone()[0]
            )

    def set_face_user(self, collection_id: str, face_ids: Iterable[str], user_id: str | None) -> None:
        with self._db.transaction() as db:
            _require_collection(db, collection_id)
            db.executemany(
                "UPDATE faces SET user_id = ? WHERE collection_id = ? AND face_id = ?",
                [(user_id, collection_id, face_id) for face_id in face_ids],
            )

    def set_user_vector(self, collection_id: str, user_id: str, vector: np.ndarray | None) -> None:
        blob = None if vector is None else vector_bytes(vector)
        with self._db.transaction() as db:
            _require_collection(db, collection_id)
            db.execute(
                "UPDATE users SET vector = ? WHERE collection_id = ? AND user_id = ?", (blob, collection_id, user_id)
            )

    def iter_user_vectors(self, collection_id: str) -> Iterator[tuple[str, np.ndarray]]:
        with self._db.lock:
            rows = self._db.connection.execute(
                "SELECT user_id, vector FROM users WHERE collection_id = ? AND vector IS NOT NULL ORDER BY seq",
                (collection_id,),
            ).fetchall()
        for user_id, blob in rows:
            yield user_id, vector_of(blob)

    # Index change log

    def index_cursor(self) -> int:
        with self._db.lock:
            row = self._db.connection.execute("SELECT MAX(seq) FROM index_log").fetchone()
        return int(row[0] or 0)

    def index_changes(self, after: int, limit: int) -> list[IndexChange]:
        with self._db.lock:
            if self._db.connection.in_transaction:  # this thread's writes are not committed yet
                return []
            rows = self._db.connection.execute(
                "SELECT l.seq, l.kind, l.collection_id, l.key, CASE"
                " WHEN l.key IS NULL THEN NULL"
                " WHEN l.kind = 'faces' THEN"
                "  (SELECT embedding FROM faces WHERE face_id = l.key AND collection_id = l.collection_id)"
                " ELSE (SELECT vector FROM users WHERE collection_id = l.collection_id AND user_id = l.key) END"
                " FROM index_log l WHERE l.seq > ? ORDER BY l.seq LIMIT ?",
                (after, limit),
            ).fetchall()
        return [
            IndexChange(
                seq, f"{kind}/{collection_id}", key, None if blob is None else vector_of(blob)
            )
            for seq, kind, collection_id, key, blob in rows
        ]

    # Idempotency

    def saved_response(self, scope: str, token: str) -> SavedResponse | None:
        with self._db.lock:
            row = self._db.connection.execute(
                "SELECT fingerprint, response FROM saved_responses WHERE scope = ? AND token = ?", (scope, token)
            ).fetchone()
        return None if row is None else SavedResponse(*row)

    def save_response(self, scope: str, token: str, saved: SavedResponse) -> None:
        with self._db.transaction() as db:
            db.execute(
                "INSERT INTO saved_responses (scope, token, fingerprint, response) VALUES (?, ?, ?, ?)",
                (scope, token, saved.fingerprint, saved.response),
            )

