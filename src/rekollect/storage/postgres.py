"""``MetadataStore`` on PostgreSQL: the store for several nodes (``--database-url``).

The tables, the change-log triggers and every method's semantics mirror ``SqliteStore``, so the
operations cannot tell the two apart: each public method is one transaction (or joins the caller's
``atomic()``), each write inside a collection checks in its own transaction that the collection
exists (``ResourceNotFoundException`` if not), and the ``index_log`` table, filled by triggers in
the same transaction as each change, is the index change log that every node's ``SyncedIndex``
follows. Its order is commit order because write transactions run one at a time
(``PostgresDatabase.WRITE_LOCK``). A statement trigger sends ``NOTIFY rekollect_index`` with each
transaction that adds log entries, delivered when it commits; ``follow_changes`` wakes a node on it.

Embeddings are stored as little-endian float32 bytes (``bytea``), as in SQLite, so both stores
hold the same bits and give the same search results.
"""

from __future__ import annotations

import secrets
import threading
from collections.abc import Callable, Iterable, Iterator
from contextlib import AbstractContextManager

import numpy as np
import psycopg

from ..errors import ResourceNotFoundException
from .base import CollectionRecord, FaceRecord, IndexChange, Page, SavedResponse, UserRecord
from .postgres_db import PostgresDatabase
from .postgres_schema import MIGRATIONS
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

CHANGES_CHANNEL = "rekollect_index"
"""``NOTIFY`` channel of the index change log."""




def _require_collection(db: psycopg.Connection, collection_id: str) -> None:
    """``ResourceNotFoundException`` unless the collection exists (call inside the write's transaction)."""
    if db.execute("SELECT 1 FROM collections WHERE collection_id = %s", (collection_id,)).fetchone() is None:
        raise ResourceNotFoundException(f"The collection id: {collection_id} does not exist")


class PostgresStore:
    """``MetadataStore`` in the PostgreSQL database of ``database`` (migrated to the current schema)."""

    def __init__(self, database: PostgresDatabase) -> None:
        self._db = database
        database.migrate(MIGRATIONS)

    def close(self) -> None:
        """Close the connection pool."""
        self._db.close()

    def atomic(self) -> AbstractContextManager[object]:
        """One transaction around everything inside (holding the cluster's write lock); nested uses join it."""
        return self._db.transaction()

    def snapshot(self) -> AbstractContextManager[object]:
        """One read-only ``REPEATABLE READ`` transaction around everything inside (``PostgresDatabase.snapshot``)."""
        return self._db.snapshot()

    def secret(self, name: str, size: int) -> bytes:
        """The random ``size``-byte secret called ``name``, created by the first node that asks."""
        with self._db.transaction() as db:
            db.execute(
                "INSERT INTO secrets (name, value) VALUES (%s, %s) ON CONFLICT (name) DO NOTHING",
                (name, secrets.token_bytes(size)),
            )
            return bytes(db.execute("SELECT value FROM secrets WHERE name = %s", (name,)).fetchone()[0])

    def follow_changes(self, on_change: Callable[[], None], stop: threading.Event) -> None:
        """Call ``on_change`` whenever change log entries are committed, until ``stop`` (blocks; run in a thread)."""
        self._db.follow(CHANGES_CHANNEL, on_change, stop)

    # Collections

    def create_collection(self, record: CollectionRecord, tags: dict[str, str]) -> bool:
        with self._db.transaction() as db:
            created = db.execute(
                "INSERT INTO collections (collection_id, arn, created, face_model_version) VALUES (%s, %s, %s, %s)"
                " ON CONFLICT (collection_id) DO NOTHING RETURNING seq",
                (record.collection_id, record.arn, record.created.timestamp(), record.face_model_version),
            ).fetchone()
            if created is None:
                return False
            with db.cursor() as cursor:
                cursor.executemany(
                    "INSERT INTO tags (collection_id, key, value) VALUES (%s, %s, %s)",
                    [(record.collection_id, key, value) for key, value in tags.items()],
                )
            return True

    def get_collection(self, collection_id: str) -> CollectionRecord | None:
        with self._db.connection() as db:
            row = db.execute(
                "SELECT collection_id, arn, created, face_model_version FROM collections WHERE collection_id = %s",
                (collection_id,),
            ).fetchone()
        return None if row is None else collection_of(row)

    def set_face_model_version(self, collection_id: str, version: str) -> None:
        with self._db.transaction() as db:
            _require_collection(db, collection_id)
            db.execute("UPDATE collections SET face_model_version = %s WHERE collection_id = %s", (version, collection_id))
            db.execute("UPDATE faces SET model_version = %s WHERE collection_id = %s", (version, collection_id))

    def delete_collection(self, collection_id: str) -> bool:
        with self._db.transaction() as db:
            deleted = db.execute("DELETE FROM collections WHERE collection_id = %s", (collection_id,)).rowcount
            for table in ("tags", "images", "faces", "users"):
                db.execute(f"DELETE FROM {table} WHERE collection_id = %s", (collection_id,))
            db.execute(
                "DELETE FROM saved_responses WHERE scope LIKE %s ESCAPE '!'", (scope_pattern(collection_id),)
            )
            return deleted > 0

    def list_collections(self, after: int | None, limit: int) -> Page[CollectionRecord]:
        with self._db.connection() as db:
            rows = db.execute(
                "SELECT seq, collection_id, arn, created, face_model_version FROM collections"
                " WHERE seq > %s ORDER BY seq LIMIT %s",
                (after or 0, limit + 1),
            ).fetchall()
        return page_of([(row[0], collection_of(row[1:])) for row in rows], limit)

    def get_tags(self, collection_id: str) -> dict[str, str]:
        with self._db.connection() as db:
            rows = db.execute(
                "SELECT key, value FROM tags WHERE collection_id = %s ORDER BY key", (collection_id,)
            ).fetchall()
        return dict(rows)

    def set_tags(self, collection_id: str, tags: dict[str, str]) -> None:
        with self._db.transaction() as db, db.cursor() as cursor:
            _require_collection(db, collection_id)
            cursor.executemany(
                "INSERT INTO tags (collection_id, key, value) VALUES (%s, %s, %s)"
                " ON CONFLICT (collection_id, key) DO UPDATE SET value = excluded.value",
                [(collection_id, key, value) for key, value in tags.items()],
            )

    def remove_tags(self, collection_id: str, keys: Iterable[str]) -> None:
        with self._db.transaction() as db:
            _require_collection(db, collection_id)
            db.execute("DELETE FROM tags WHERE collection_id = %s AND key = ANY(%s)", (collection_id, list(keys)))

    # Faces

    def find_image(self, collection_id: str, content_hash: str, external_image_id: str) -> str | None:
        with self._db.connection() as db:
            row = db.execute(
                "SELECT image_id FROM images WHERE collection_id = %s AND content_hash = %s"
                " AND external_image_id = %s",
                (collection_id, content_hash, external_image_id),
            ).fetchone()
        return None if row is None else row[0]

    def add_faces(self, collection_id: str, content_hash: str, faces: list[FaceRecord]) -> None:
        if not faces:
            return
        first = faces[0]
        with self._db.transaction() as db, db.cursor() as cursor:
            _require_collection(db, collection_id)
            db.execute(
                "INSERT INTO images (collection_id, image_id, content_hash, external_image_id)"
                " VALUES (%s, %s, %s, %s)",
                (collection_id, first.image_id, content_hash, first.external_image_id),
            )
            cursor.executemany(
                "INSERT INTO faces (collection_id, face_id, image_id, external_image_id, box_width, box_height,"
                " box_left, box_top, confidence, model_version, embedding, user_id)"
                " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
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
        with self._db.connection() as db:
            rows = db.execute(
                f"SELECT {FACE_COLUMNS} FROM faces WHERE collection_id = %s AND face_id = ANY(%s) ORDER BY seq",
                (collection_id, ids),
            ).fetchall()
        return [face_of(row) for row in rows]

    def faces_of_image(self, collection_id: str, image_id: str) -> list[FaceRecord]:
        with self._db.connection() as db:
            rows = db.execute(
                f"SELECT {FACE_COLUMNS} FROM faces WHERE collection_id = %s AND image_id = %s ORDER BY seq",
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
        query = f"SELECT {FACE_COLUMNS} FROM faces WHERE collection_id = %s AND seq > %s"
        params: list[object] = [collection_id, after or 0]
        if user_id is not None:
            query += " AND user_id = %s"
            params.append(user_id)
        if face_ids is not None:
            query += " AND face_id = ANY(%s)"
            params.append(list(face_ids))
        query += " ORDER BY seq LIMIT %s"
        params.append(limit + 1)
        with self._db.connection() as db:
            rows = db.execute(query, params).fetchall()
        return page_of([(row[0], face_of(row)) for row in rows], limit)

    def delete_faces(self, collection_id: str, face_ids: Iterable[str]) -> list[str]:
        deleted = []
        with self._db.transaction() as db:
            _require_collection(db, collection_id)
            for face_id in dict.fromkeys(face_ids):
                row = db.execute(
                    "DELETE FROM faces WHERE collection_id = %s AND face_id = %s RETURNING image_id",
                    (collection_id, face_id),
                ).fetchone()
                if row is None:
                    continue
                deleted.append(face_id)
                db.execute(
                    "DELETE FROM images WHERE collection_id = %s AND image_id = %s"
                    " AND NOT EXISTS (SELECT 1 FROM faces WHERE collection_id = %s AND image_id = %s)",
                    (collection_id, row[0], collection_id, row[0]),
                )
        return deleted

    def count_faces(self, collection_id: str) -> int:
        with self._db.connection() as db:
            return int(db.execute("SELECT COUNT(*) FROM faces WHERE collection_id = %s", (collection_id,)).fetchone()[0])

    def iter_images(self, collection_id: str) -> Iterator[tuple[str, str, str | None]]:
        with self._db.connection() as db:
            rows = db.execute(
                "SELECT image_id, content_hash, external_image_id FROM images WHERE collection_id = %s"
                " ORDER BY image_id",
                (collection_id,),
            ).fetchall()
        yield from rows

    def iter_embeddings(self, collection_id: str) -> Iterator[tuple[str, np.ndarray]]:
        with self._db.connection() as db:
            rows = db.execute(
                "SELECT face_id, embedding FROM faces WHERE collection_id = %s ORDER BY seq", (collection_id,)
            ).fetchall()
        for face_id, blob in rows:
            yield face_id, vector_of(blob)

    # Users

    def create_user(self, collection_id: str, user_id: str) -> bool:
        with self._db.transaction() as db:
            _require_collection(db, collection_id)
            return (
                db.execute(
                    "INSERT INTO users (collection_id, user_id) VALUES (%s, %s)"
                    " ON CONFLICT (collection_id, user_id) DO NOTHING RETURNING seq",
                    (collection_id, user_id),
                ).fetchone()
                is not None
            )

    def get_user(self, collection_id: str, user_id: str) -> UserRecord | None:
        with self._db.connection() as db:
            row = db.execute(
                f"SELECT {USER_COLUMNS} FROM users WHERE collection_id = %s AND user_id = %s",
                (collection_id, user_id),
            ).fetchone()
        return None if row is None else user_of(row)

    def delete_user(self, collection_id: str, user_id: str) -> bool:
        with self._db.transaction() as db:
            _require_collection(db, collection_id)
            db.execute(
                "UPDATE faces SET user_id = NULL WHERE collection_id = %s AND user_id = %s", (collection_id, user_id)
            )
            return (
                db.execute(
                    "DELETE FROM users WHERE collection_id = %s AND user_id = %s", (collection_id, user_id)
                ).rowcount
                > 0
            )

    def list_users(self, collection_id: str, after: int | None, limit: int) -> Page[UserRecord]:
        with self._db.connection() as db:
            rows = db.execute(
                f"SELECT users.seq, {USER_COLUMNS} FROM users WHERE collection_id = %s AND seq > %s"
                " ORDER BY seq LIMIT %s",
                (collection_id, after or 0, limit + 1),
            ).fetchall()
        return page_of([(row[0], user_of(row[1:])) for row in rows], limit)

    def count_users(self, collection_id: str) -> int:
        with self._db.connection() as db:
            return int(db.execute("SELECT COUNT(*) FROM users WHERE collection_id = %s", (collection_id,)).fetchone()[0])

    def set_face_user(self, collection_id: str, face_ids: Iterable[str], user_id: str | None) -> None:
        with self._db.transaction() as db:
            _require_collection(db, collection_id)
            db.execute(
                "UPDATE faces SET user_id = %s WHERE collection_id = %s AND face_id = ANY(%s)",
                (user_id, collection_id, list(face_ids)),
            )

    def set_user_vector(self, collection_id: str, user_id: str, vector: np.ndarray | None) -> None:
        blob = None if vector is None else vector_bytes(vector)
        with self._db.transaction() as db:
            _require_collection(db, collection_id)
            db.execute(
                "UPDATE users SET vector = %s WHERE collection_id = %s AND user_id = %s",
                (blob, collection_id, user_id),
            )

    def iter_user_vectors(self, collection_id: str) -> Iterator[tuple[str, np.ndarray]]:
        with self._db.connection() as db:
            rows = db.execute(
                "SELECT user_id, vector FROM users WHERE collection_id = %s AND vector IS NOT NULL ORDER BY seq",
                (collection_id,),
            ).fetchall()
        for user_id, blob in rows:
            yield user_id, vector_of(blob)

    # Index change log

    def index_cursor(self) -> int:
        with self._db.connection() as db:
            row = db.execute("SELECT MAX(seq) FROM index_log").fetchone()
        return int(row[0] or 0)

    def index_changes(self, after: int, limit: int) -> list[IndexChange]:
        if self._db.in_transaction:  # this thread's writes are not committed yet
            return []
        with self._db.connection() as db:
            rows = db.execute(
                "SELECT l.seq, l.kind, l.collection_id, l.key, CASE"
                " WHEN l.key IS NULL THEN NULL"
                " WHEN l.kind = 'faces' THEN"
                "  (SELECT embedding FROM faces WHERE face_id = l.key AND collection_id = l.collection_id)"
                " ELSE (SELECT vector FROM users WHERE collection_id = l.collection_id AND user_id = l.key) END"
                " FROM index_log l WHERE l.seq > %s ORDER BY l.seq LIMIT %s",
                (after, limit),
            ).fetchall()
        return [
            IndexChange(seq, f"{kind}/{collection_id}", key, None if blob is None else vector_of(blob))
            for seq, kind, collection_id, key, blob in rows
        ]

    # Idempotency

    def saved_response(self, scope: str, token: str) -> SavedResponse | None:
        with self._db.connection() as db:
            row = db.execute(
                "SELECT fingerprint, response FROM saved_responses WHERE scope = %s AND token = %s", (scope, token)
            ).fetchone()
        return None if row is None else SavedResponse(*row)

    def save_response(self, scope: str, token: str, saved: SavedResponse) -> None:
        with self._db.transaction() as db:
            db.execute(
                "INSERT INTO saved_responses (scope, token, fingerprint, response) VALUES (%s, %s, %s, %s)",
                (scope, token, saved.fingerprint, saved.response),
            )

