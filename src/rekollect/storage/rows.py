"""Rows of the metadata tables as records: the part of the SQL stores that SQLite and PostgreSQL share.

Both stores have the same tables, keep embeddings and user vectors as little-endian float32 bytes,
and page listings by the rows' ``seq``.
"""

from __future__ import annotations

import datetime as dt

import numpy as np

from .base import CollectionRecord, FaceRecord, Page, T, UserRecord

FACE_COLUMNS = (
    "seq, face_id, image_id, external_image_id, box_width, box_height, box_left, box_top,"
    " confidence, model_version, embedding, user_id"
)
"""The ``faces`` columns that ``face_of`` reads, ``seq`` first."""

USER_COLUMNS = (
    "users.user_id, (SELECT COUNT(*) FROM faces"
    " WHERE faces.collection_id = users.collection_id AND faces.user_id = users.user_id), users.vector"
)
"""The ``users`` columns (and face count) that ``user_of`` reads."""


def vector_of(blob: bytes) -> np.ndarray:
    """A stored little-endian float32 vector as a ``(d,)`` float32 array."""
    return np.frombuffer(bytes(blob), dtype="<f4").astype(np.float32, copy=False)


def vector_bytes(vector: np.ndarray) -> bytes:
    """``vector`` as stored: little-endian float32 bytes."""
    return np.asarray(vector, dtype="<f4").tobytes()


def user_of(row: tuple) -> UserRecord:
    """The user in a row of ``USER_COLUMNS``."""
    user_id, face_count, blob = row
    return UserRecord(user_id=user_id, face_count=int(face_count), vector=None if blob is None else vector_of(blob))


def collection_of(row: tuple) -> CollectionRecord:
    """The collection in a row of ``(collection_id, arn, created, face_model_version)``; ``created`` in Unix seconds."""
    collection_id, arn, created, version = row
    return CollectionRecord(collection_id, arn, dt.datetime.fromtimestamp(created, tz=dt.UTC), version)


def face_of(row: tuple) -> FaceRecord:
    """The face in a row of ``FACE_COLUMNS``."""
    (_, face_id, image_id, external, width, height, left, top, confidence, version, blob, user_id) = row
    return FaceRecord(
        face_id=face_id,
        image_id=image_id,
        external_image_id=external,
        box=(width, height, left, top),
        confidence=confidence,
        model_version=version,
        embedding=vector_of(blob),
        user_id=user_id,
    )


def page_of(rows: list[tuple[int, T]], limit: int) -> Page[T]:
    """A page from up to ``limit + 1`` ``(seq, item)`` rows: the extra row says another page follows."""
    if len(rows) > limit:
        rows = rows[:limit]
        return Page([item for _, item in rows], rows[-1][0])
    return Page([item for _, item in rows], None)


def scope_pattern(collection_id: str) -> str:
    """LIKE pattern (escape ``!``) of the idempotency scopes of a collection (they end with ``\\n<CollectionId>``)."""
    escaped = collection_id.replace("!", "!!").replace("%", "!%").replace("_", "!_")
    return f"%\n{escaped}"
