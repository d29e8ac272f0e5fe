"""``SqlStore``: the metadata store written once, in SQL that SQLite and PostgreSQL both run.

Every statement here is plain SQL both databases accept (``ON CONFLICT … DO NOTHING RETURNING``
and ``RETURNING`` need SQLite 3.35 or later), with ``?`` placeholders. What truly differs between
the two is a small ``SqlDatabase``, the dialect: how a connection, a write transaction and a read
snapshot are had; how a list parameter is matched ("any of": ``json_each`` in SQLite, ``= ANY`` in
PostgreSQL); the SQL for "now"; and one planner hint SQLite needs. The tables, change-log triggers
and migrations each database is opened with live beside its dialect (``sqlite.py``,
``postgres_schema.py``); ``docs/storage.md`` says why this is hand-written rather than SQLAlchemy
Core (measured).

Semantics (``MetadataStore``): each public method is one transaction, or joins the caller's
``atomic()``; each write inside a collection checks in its own transaction that the collection
exists (``ResourceNotFoundException`` if not), so no write racing DeleteCollection leaves rows that
a re-created collection of the same id would show. Triggers append each change of a face or user
vector to ``index_log`` in the same transaction, so log order is commit order (writes run one at a
time on either database). Every listing has one defined order, the same on both databases:
``seq`` (creation order) for collections, faces, users and log entries, key for tags, and the
order their faces were indexed in for images.
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import AbstractContextManager
from typing import Any, Protocol

import numpy as np

from ..errors import ResourceNotFoundException
from ..spaces import space
from .base import CollectionRecord, FaceRecord, IndexChange, Page, SavedResponse, UserRecord
from .liveness import LivenessRows
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


class Statements:
    """A DB-API connection as the SQL bodies use it: ``?`` placeholders whatever the driver's own
    (``translate``, when given, rewrites a statement for the driver), and four ways to run a statement."""

    def __init__(self, connection: Any, translate: Callable[[str], str] | None = None) -> None:
        self.connection = connection
        self._translate = translate or (lambda sql: sql)

    def one(self, sql: str, params: Sequence[object] = ()) -> tuple | None:
        """The first row of the result, or ``None``."""
        return self.connection.execute(self._translate(sql), params).fetchone()

    def all(self, sql: str, params: Sequence[object] = ()) -> list[tuple]:
        """Every row of the result."""
        return self.connection.execute(self._translate(sql), params).fetchall()

    def run(self, sql: str, params: Sequence[object] = ()) -> int:
        """Run a statement that returns no rows; the number of rows it changed."""
        return self.connection.execute(self._translate(sql), params).rowcount

    def many(self, sql: str, rows: Iterable[Sequence[object]]) -> None:
        """Run a statement once for each parameter row."""
        with contextlib.closing(self.connection.cursor()) as cursor:
            cursor.executemany(self._translate(sql), list(rows))


@functools.lru_cache(maxsize=1024)
def percent_placeholders(sql: str) -> str:
    """``sql`` with ``%s`` placeholders (psycopg's) for ``?``, and a literal ``%`` doubled."""
    return sql.replace("%", "%%").replace("?", "%s")


class SqlDatabase(Protocol):
    """A database as ``SqlStore`` and ``SqlJobStore`` use it: the dialect of one SQL engine."""

    now: str
    """SQL expression: the database's time now, in Unix seconds (a float)."""

    def connection(self) -> AbstractContextManager[Statements]:
        """Statements one at a time, each atomic and durable by itself; inside ``transaction()`` or
        ``snapshot()`` on this thread, that transaction's."""
        ...

    def transaction(self) -> AbstractContextManager[Statements]:
        """One write transaction, committed at the end (rolled back on error); writes run one at a
        time; nested uses join the outer one."""
        ...

    def snapshot(self) -> AbstractContextManager[Statements]:
        """One read transaction: every read inside sees one committed state while others write."""
        ...

    @property
    def in_transaction(self) -> bool:
        """Whether the calling thread is inside ``transaction()`` (ask inside ``connection()``)."""
        ...

    def any_of(self, column: str) -> str:
        """A condition with one ``?`` parameter, true where ``column`` equals one of a list (``listed``)."""
        ...

    def listed(self, values: Iterable[str]) -> object:
        """``values`` as the parameter of ``any_of``."""
        ...

    def not_indexed(self, column: str) -> str:
        """``column`` as a condition names it so that the planner does not look it up through an index."""
        ...

    def close(self) -> None:
        """Close the connections."""
        ...


class SqlStore(LivenessRows):
    """``MetadataStore`` on the tables of ``sqlite.py`` / ``postgres_schema.py`` through ``db``
    (with the Face Liveness sessions of ``LivenessRows``)."""

    def __init__(self, db: SqlDatabase) -> None:
        self.db = db
        self._faces_by_id = f"{db.any_of('face_id')} AND {db.not_indexed('collection_id')} = ?"
        """Faces of a list of ids in one collection, found through the unique ``face_id`` index
        (SQLite's planner would otherwise walk the whole collection)."""

    def close(self) -> None:
        """Close the database connections."""
        self.db.close()

    def atomic(self) -> AbstractContextManager[object]:
        """One transaction around everything inside; nested uses join the outer transaction."""
        return self.db.transaction()

    def snapshot(self) -> AbstractContextManager[object]:
        """One read transaction around everything inside (reads only)."""
        return self.db.snapshot()

    @staticmethod
    def _require_collection(db: Statements, collection_id: str) -> None:
        """``ResourceNotFoundException`` unless the collection exists (call inside the write's transaction)."""
        if db.one("SELECT 1 FROM collections WHERE collection_id = ?", (collection_id,)) is None:
            raise ResourceNotFoundException(f"The collection id: {collection_id} does not exist")

    # Collections

    def create_collection(self, record: CollectionRecord, tags: dict[str, str]) -> bool:
        with self.db.transaction() as db:
            created = db.one(
                "INSERT INTO collections (collection_id, arn, created, face_model_version) VALUES (?, ?, ?, ?)"
                " ON CONFLICT (collection_id) DO NOTHING RETURNING seq",
                (record.collection_id, record.arn, record.created.timestamp(), record.face_model_version),
            )
            if created is None:
                return False
            db.many(
                "INSERT INTO tags (collection_id, key, value) VALUES (?, ?, ?)",
                [(record.collection_id, key, value) for key, value in tags.items()],
            )
            return True

    def get_collection(self, collection_id: str) -> CollectionRecord | None:
        with self.db.connection() as db:
            row = db.one(
                "SELECT collection_id, arn, created, face_model_version FROM collections WHERE collection_id = ?",
                (collection_id,),
            )
        return None if row is None else collection_of(row)

    def set_face_model_version(self, collection_id: str, version: str) -> None:
        with self.db.transaction() as db:
            self._require_collection(db, collection_id)
            db.run("UPDATE collections SET face_model_version = ? WHERE collection_id = ?", (version, collection_id))
            db.run("UPDATE faces SET model_version = ? WHERE collection_id = ?", (version, collection_id))

    def delete_collection(self, collection_id: str) -> bool:
        with self.db.transaction() as db:
            deleted = db.run("DELETE FROM collections WHERE collection_id = ?", (collection_id,))
            for table in ("tags", "images", "faces", "users", "face_crops"):
                db.run(f"DELETE FROM {table} WHERE collection_id = ?", (collection_id,))
            db.run("DELETE FROM saved_responses WHERE scope LIKE ? ESCAPE '!'", (scope_pattern(collection_id),))
            return deleted > 0

    def list_collections(self, after: int | None, limit: int) -> Page[CollectionRecord]:
        with self.db.connection() as db:
            rows = db.all(
                "SELECT seq, collection_id, arn, created, face_model_version FROM collections"
                " WHERE seq > ? ORDER BY seq LIMIT ?",
                (after or 0, limit + 1),
            )
        return page_of([(row[0], collection_of(row[1:])) for row in rows], limit)

    def get_tags(self, collection_id: str) -> dict[str, str]:
        with self.db.connection() as db:
            return dict(db.all("SELECT key, value FROM tags WHERE collection_id = ? ORDER BY key", (collection_id,)))

    def set_tags(self, collection_id: str, tags: dict[str, str]) -> None:
        with self.db.transaction() as db:
            self._require_collection(db, collection_id)
            db.many(
                "INSERT INTO tags (collection_id, key, value) VALUES (?, ?, ?)"
                " ON CONFLICT (collection_id, key) DO UPDATE SET value = excluded.value",
                [(collection_id, key, value) for key, value in tags.items()],
            )

    def remove_tags(self, collection_id: str, keys: Iterable[str]) -> None:
        with self.db.transaction() as db:
            self._require_collection(db, collection_id)
            db.run(
                f"DELETE FROM tags WHERE collection_id = ? AND {self.db.any_of('key')}",
                (collection_id, self.db.listed(keys)),
            )

    # Faces

    def find_image(self, collection_id: str, content_hash: str, external_image_id: str) -> str | None:
        with self.db.connection() as db:
            row = db.one(
                "SELECT image_id FROM images WHERE collection_id = ? AND content_hash = ? AND external_image_id = ?",
                (collection_id, content_hash, external_image_id),
            )
        return None if row is None else row[0]

    def add_faces(self, collection_id: str, content_hash: str, faces: list[FaceRecord]) -> None:
        if not faces:
            return
        first = faces[0]
        with self.db.transaction() as db:
            self._require_collection(db, collection_id)
            db.run(
                "INSERT INTO images (collection_id, image_id, content_hash, external_image_id) VALUES (?, ?, ?, ?)",
                (collection_id, first.image_id, content_hash, first.external_image_id),
            )
            db.many(
                "INSERT INTO faces (collection_id, face_id, image_id, external_image_id, box_width, box_height,"
                " box_left, box_top, confidence, model_version, embedding, user_id)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
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
        with self.db.connection() as db:
            rows = db.all(
                f"SELECT {FACE_COLUMNS} FROM faces WHERE {self._faces_by_id} ORDER BY seq",
                (self.db.listed(dict.fromkeys(face_ids)), collection_id),
            )
        return [face_of(row) for row in rows]

    def face_collections(self, face_ids: Iterable[str]) -> dict[str, str]:
        with self.db.connection() as db:
            rows = db.all(
                f"SELECT face_id, collection_id FROM faces WHERE {self.db.any_of('face_id')}",
                (self.db.listed(dict.fromkeys(face_ids)),),
            )
        return dict(rows)

    def faces_of_image(self, collection_id: str, image_id: str) -> list[FaceRecord]:
        with self.db.connection() as db:
            rows = db.all(
                f"SELECT {FACE_COLUMNS} FROM faces WHERE collection_id = ? AND image_id = ? ORDER BY seq",
                (collection_id, image_id),
            )
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
            query += f" AND {self._faces_by_id}"
            params += [self.db.listed(face_ids), collection_id]
        with self.db.connection() as db:
            rows = db.all(f"{query} ORDER BY seq LIMIT ?", [*params, limit + 1])
        return page_of([(row[0], face_of(row)) for row in rows], limit)

    def delete_faces(self, collection_id: str, face_ids: Iterable[str]) -> list[str]:
        deleted = []
        with self.db.transaction() as db:
            self._require_collection(db, collection_id)
            for face_id in dict.fromkeys(face_ids):
                row = db.one(
                    "DELETE FROM faces WHERE collection_id = ? AND face_id = ? RETURNING image_id",
                    (collection_id, face_id),
                )
                if row is None:
                    continue
                deleted.append(face_id)
                db.run("DELETE FROM face_crops WHERE face_id = ?", (face_id,))
                db.run(
                    "DELETE FROM images WHERE collection_id = ? AND image_id = ?"
                    " AND NOT EXISTS (SELECT 1 FROM faces WHERE collection_id = ? AND image_id = ?)",
                    (collection_id, row[0], collection_id, row[0]),
                )
        return deleted

    def add_face_crops(self, collection_id: str, crops: dict[str, bytes]) -> None:
        with self.db.transaction() as db:
            self._require_collection(db, collection_id)
            db.many(
                "INSERT INTO face_crops (collection_id, face_id, jpeg) VALUES (?, ?, ?)"
                " ON CONFLICT (face_id) DO UPDATE SET jpeg = excluded.jpeg",
                [(collection_id, face_id, jpeg) for face_id, jpeg in crops.items()],
            )

    def get_face_crops(self, collection_id: str, face_ids: Iterable[str]) -> dict[str, bytes]:
        """In the faces' storage order. Only crops of faces that exist: a crop row never outlives its face here, but one written by
        this release and left by an older one that deleted the face would."""
        with self.db.connection() as db:
            rows = db.all(
                "SELECT face_crops.face_id, face_crops.jpeg FROM face_crops"
                " JOIN faces ON faces.face_id = face_crops.face_id AND faces.collection_id = face_crops.collection_id"
                f" WHERE face_crops.{self.db.any_of('face_id')} AND face_crops.collection_id = ? ORDER BY faces.seq",
                (self.db.listed(dict.fromkeys(face_ids)), collection_id),
            )
        return {face_id: bytes(jpeg) for face_id, jpeg in rows}

    def iter_face_crops(self, collection_id: str) -> Iterator[tuple[str, bytes]]:
        """In the faces' storage order."""
        with self.db.connection() as db:
            rows = db.all(
                "SELECT face_crops.face_id, face_crops.jpeg FROM face_crops"
                " JOIN faces ON faces.face_id = face_crops.face_id AND faces.collection_id = face_crops.collection_id"
                " WHERE face_crops.collection_id = ? ORDER BY faces.seq",
                (collection_id,),
            )
        for face_id, jpeg in rows:
            yield face_id, bytes(jpeg)

    def count_faces(self, collection_id: str) -> int:
        with self.db.connection() as db:
            return int(db.one("SELECT COUNT(*) FROM faces WHERE collection_id = ?", (collection_id,))[0])

    def iter_images(self, collection_id: str) -> Iterator[tuple[str, str, str | None]]:
        """Images in the order their faces were indexed (an image's first face's ``seq``)."""
        with self.db.connection() as db:
            rows = db.all(
                "SELECT images.image_id, images.content_hash, images.external_image_id FROM images"
                " JOIN faces ON faces.collection_id = images.collection_id AND faces.image_id = images.image_id"
                " WHERE images.collection_id = ?"
                " GROUP BY images.image_id, images.content_hash, images.external_image_id ORDER BY MIN(faces.seq)",
                (collection_id,),
            )
        yield from rows

    def iter_embeddings(self, collection_id: str) -> Iterator[tuple[str, np.ndarray]]:
        with self.db.connection() as db:
            rows = db.all("SELECT face_id, embedding FROM faces WHERE collection_id = ? ORDER BY seq", (collection_id,))
        for face_id, blob in rows:
            yield face_id, vector_of(blob)

    # Users

    def create_user(self, collection_id: str, user_id: str) -> bool:
        with self.db.transaction() as db:
            self._require_collection(db, collection_id)
            created = db.one(
                "INSERT INTO users (collection_id, user_id) VALUES (?, ?)"
                " ON CONFLICT (collection_id, user_id) DO NOTHING RETURNING seq",
                (collection_id, user_id),
            )
            return created is not None

    def get_user(self, collection_id: str, user_id: str) -> UserRecord | None:
        with self.db.connection() as db:
            row = db.one(
                f"SELECT {USER_COLUMNS} FROM users WHERE collection_id = ? AND user_id = ?", (collection_id, user_id)
            )
        return None if row is None else user_of(row)

    def delete_user(self, collection_id: str, user_id: str) -> bool:
        with self.db.transaction() as db:
            self._require_collection(db, collection_id)
            db.run("UPDATE faces SET user_id = NULL WHERE collection_id = ? AND user_id = ?", (collection_id, user_id))
            return db.run("DELETE FROM users WHERE collection_id = ? AND user_id = ?", (collection_id, user_id)) > 0

    def list_users(self, collection_id: str, after: int | None, limit: int) -> Page[UserRecord]:
        with self.db.connection() as db:
            rows = db.all(
                f"SELECT users.seq, {USER_COLUMNS} FROM users WHERE collection_id = ? AND seq > ?"
                " ORDER BY seq LIMIT ?",
                (collection_id, after or 0, limit + 1),
            )
        return page_of([(row[0], user_of(row[1:])) for row in rows], limit)

    def count_users(self, collection_id: str) -> int:
        with self.db.connection() as db:
            return int(db.one("SELECT COUNT(*) FROM users WHERE collection_id = ?", (collection_id,))[0])

    def set_face_user(self, collection_id: str, face_ids: Iterable[str], user_id: str | None) -> None:
        with self.db.transaction() as db:
            self._require_collection(db, collection_id)
            db.run(
                f"UPDATE faces SET user_id = ? WHERE {self._faces_by_id}",
                (user_id, self.db.listed(face_ids), collection_id),
            )

    def set_user_vector(self, collection_id: str, user_id: str, vector: np.ndarray | None) -> None:
        blob = None if vector is None else vector_bytes(vector)
        with self.db.transaction() as db:
            self._require_collection(db, collection_id)
            db.run("UPDATE users SET vector = ? WHERE collection_id = ? AND user_id = ?", (blob, collection_id, user_id))

    def iter_user_vectors(self, collection_id: str) -> Iterator[tuple[str, np.ndarray]]:
        with self.db.connection() as db:
            rows = db.all(
                "SELECT user_id, vector FROM users WHERE collection_id = ? AND vector IS NOT NULL ORDER BY seq",
                (collection_id,),
            )
        for user_id, blob in rows:
            yield user_id, vector_of(blob)

    # Index change log

    def index_cursor(self) -> int:
        with self.db.connection() as db:
            return int(db.one("SELECT MAX(seq) FROM index_log")[0] or 0)

    def index_changes(self, after: int, limit: int) -> list[IndexChange]:
        with self.db.connection() as db:
            if self.db.in_transaction:  # this thread's writes are not committed yet
                return []
            rows = db.all(
                "SELECT l.seq, l.kind, l.collection_id, l.key, CASE"
                " WHEN l.key IS NULL THEN NULL"
                " WHEN l.kind = 'faces' THEN"
                "  (SELECT embedding FROM faces WHERE face_id = l.key AND collection_id = l.collection_id)"
                " ELSE (SELECT vector FROM users WHERE collection_id = l.collection_id AND user_id = l.key) END"
                " FROM index_log l WHERE l.seq > ? ORDER BY l.seq LIMIT ?",
                (after, limit),
            )
        return [
            IndexChange(seq, space(kind, collection_id), key, None if blob is None else vector_of(blob))
            for seq, kind, collection_id, key, blob in rows
        ]

    # Idempotency

    def saved_response(self, scope: str, token: str) -> SavedResponse | None:
        with self.db.connection() as db:
            row = db.one("SELECT fingerprint, response FROM saved_responses WHERE scope = ? AND token = ?", (scope, token))
        return None if row is None else SavedResponse(*row)

    def save_response(self, scope: str, token: str, saved: SavedResponse) -> None:
        with self.db.transaction() as db:
            db.run(
                "INSERT INTO saved_responses (scope, token, fingerprint, response) VALUES (?, ?, ?, ?)",
                (scope, token, saved.fingerprint, saved.response),
            )
