"""The metadata store interface: collections, tags, images and faces.

The store is the source of truth, embeddings included; the vector index is rebuilt from it when
needed. Every method that writes is atomic and durable when it returns (an acknowledged write
survives a crash). Every method that writes inside a collection (tags, faces, users) raises
``ResourceNotFoundException`` if the collection does not exist when its transaction runs, so no
write racing DeleteCollection leaves rows that a re-created collection of the same id would show.
``SqliteStore`` (the embedded default) and ``PostgresStore`` are one ``SqlStore`` on two dialects
(``sql.py``, ``docs/storage.md``); another database can replace them by implementing ``MetadataStore``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Generic, Protocol, TypeVar

import numpy as np


@dataclass(frozen=True)
class CollectionRecord:
    """A face collection. ``created`` is timezone-aware UTC."""

    collection_id: str
    arn: str
    created: dt.datetime
    face_model_version: str


@dataclass(frozen=True)
class UserRecord:
    """A user of a collection: ``face_count`` associated faces and their ``vector`` (``None`` if none)."""

    user_id: str
    face_count: int
    vector: np.ndarray | None


@dataclass(frozen=True)
class SavedResponse:
    """A response kept for an idempotency token, with the fingerprint of the request that made it."""

    fingerprint: str
    response: str


@dataclass(frozen=True)
class FaceRecord:
    """A stored face. ``box`` is ``(width, height, left, top)`` as ratios of the upright image."""

    face_id: str
    image_id: str
    external_image_id: str | None
    box: tuple[float, float, float, float]
    confidence: float
    model_version: str
    embedding: np.ndarray
    user_id: str | None = None


@dataclass(frozen=True)
class IndexChange:
    """One entry of the index change log, with the store's state of that entry *now*.

    ``space`` is ``faces/<CollectionId>`` or ``users/<CollectionId>``; ``key`` a FaceId or UserId,
    or ``None`` when the collection was deleted (drop the space). ``vector`` is the key's current
    ``(d,)`` float32 vector, or ``None`` if it is gone. ``seq`` orders entries by commit.
    """

    seq: int
    space: str
    key: str | None
    vector: np.ndarray | None


T = TypeVar("T")


@dataclass(frozen=True)
class Page(Generic[T]):
    """One page of a listing; ``cursor`` continues after its last item, or is ``None`` at the end."""

    items: list[T]
    cursor: int | None


def every_item(page_after: Callable[[int | None], Page[T]]) -> Iterator[T]:
    """Every item of a listing, read page by page: ``page_after(cursor)`` is the page after
    ``cursor`` (``None``: the first page), as the store's ``list_*`` methods give them."""
    after = None
    while True:
        page = page_after(after)
        yield from page.items
        if page.cursor is None:
            return
        after = page.cursor


class MetadataStore(Protocol):
    """Persistent state of the face service."""

    def atomic(self) -> AbstractContextManager[None]:
        """Group the writes made inside into one durable transaction (nested uses join the outer one)."""
        ...

    def snapshot(self) -> AbstractContextManager[None]:
        """A consistent read: everything read inside sees one committed state of the store while
        other threads and processes go on writing (reads only; used by ``rekollect collection export``)."""
        ...

    # Collections
    def create_collection(self, record: CollectionRecord, tags: dict[str, str]) -> bool:
        """Create a collection; return ``False`` if the id is already taken."""
        ...

    def get_collection(self, collection_id: str) -> CollectionRecord | None:
        """The collection, or ``None``."""
        ...

    def delete_collection(self, collection_id: str) -> bool:
        """Delete a collection with its faces, their pictures, users and tags; ``False`` if it did not exist."""
        ...

    def list_collections(self, after: int | None, limit: int) -> Page[CollectionRecord]:
        """Collections in creation order, starting after cursor ``after``."""
        ...

    def set_face_model_version(self, collection_id: str, version: str) -> None:
        """Record that the collection and every face of it are now on face model ``version``
        (``rekollect collection upgrade``); ``ResourceNotFoundException`` without the collection."""
        ...

    def get_tags(self, collection_id: str) -> dict[str, str]:
        """Tags of a collection."""
        ...

    def set_tags(self, collection_id: str, tags: dict[str, str]) -> None:
        """Add or overwrite tags."""
        ...

    def remove_tags(self, collection_id: str, keys: Iterable[str]) -> None:
        """Remove tags by key; unknown keys are ignored."""
        ...

    # Faces
    def find_image(self, collection_id: str, content_hash: str, external_image_id: str) -> str | None:
        """ImageId of an image already indexed with these bytes and ExternalImageId, or ``None``."""
        ...

    def add_faces(self, collection_id: str, content_hash: str, faces: list[FaceRecord]) -> None:
        """Store the faces of one indexed image (all share one ImageId) in one transaction."""
        ...

    def get_faces(self, collection_id: str, face_ids: Iterable[str]) -> list[FaceRecord]:
        """The faces among ``face_ids`` that exist, in storage order."""
        ...

    def face_collections(self, face_ids: Iterable[str]) -> dict[str, str]:
        """The collection of each of ``face_ids`` that is in the store, in any collection (FaceIds
        are unique across a store): FaceId → CollectionId, by the FaceId index."""
        ...

    def faces_of_image(self, collection_id: str, image_id: str) -> list[FaceRecord]:
        """Faces indexed from one image, in the order they were indexed."""
        ...

    def list_faces(
        self,
        collection_id: str,
        after: int | None,
        limit: int,
        *,
        user_id: str | None = None,
        face_ids: list[str] | None = None,
    ) -> Page[FaceRecord]:
        """Faces in storage order, optionally only a user's or only the given ids."""
        ...

    def delete_faces(self, collection_id: str, face_ids: Iterable[str]) -> list[str]:
        """Delete faces (and their pictures); return the ids that existed and are now gone."""
        ...

    def count_faces(self, collection_id: str) -> int:
        """Number of faces in a collection."""
        ...

    def add_face_crops(self, collection_id: str, crops: dict[str, bytes]) -> None:
        """Keep the picture (JPEG bytes) of each face of ``crops`` (by FaceId); deleted with the face
        (``delete_faces``) and with the collection."""
        ...

    def get_face_crops(self, collection_id: str, face_ids: Iterable[str]) -> dict[str, bytes]:
        """The kept pictures of the faces among ``face_ids`` that have one, by FaceId."""
        ...

    def iter_face_crops(self, collection_id: str) -> Iterator[tuple[str, bytes]]:
        """``(face_id, jpeg)`` of every face of a collection that has a picture (used by backups)."""
        ...

    def iter_images(self, collection_id: str) -> Iterator[tuple[str, str, str | None]]:
        """``(image_id, content_hash, external_image_id)`` of every image of a collection that has faces,
        in the order they were indexed."""
        ...

    def iter_embeddings(self, collection_id: str) -> Iterator[tuple[str, np.ndarray]]:
        """``(face_id, embedding)`` for every face of a collection (used to build the index)."""
        ...

    # Users

    def create_user(self, collection_id: str, user_id: str) -> bool:
        """Create a user with no faces; ``False`` if the id is taken in the collection."""
        ...

    def get_user(self, collection_id: str, user_id: str) -> UserRecord | None:
        """The user, or ``None``."""
        ...

    def delete_user(self, collection_id: str, user_id: str) -> bool:
        """Disassociate the user's faces and delete it; ``False`` if it did not exist."""
        ...

    def list_users(self, collection_id: str, after: int | None, limit: int) -> Page[UserRecord]:
        """Users in creation order, starting after cursor ``after``."""
        ...

    def count_users(self, collection_id: str) -> int:
        """Number of users in a collection."""
        ...

    def set_face_user(self, collection_id: str, face_ids: Iterable[str], user_id: str | None) -> None:
        """Associate faces with ``user_id`` (or disassociate them with ``None``)."""
        ...

    def set_user_vector(self, collection_id: str, user_id: str, vector: np.ndarray | None) -> None:
        """Store the user's search vector (``None`` when it has no faces)."""
        ...

    def iter_user_vectors(self, collection_id: str) -> Iterator[tuple[str, np.ndarray]]:
        """``(user_id, vector)`` of every user that has one (used to build the index)."""
        ...

    # Index change log

    def index_cursor(self) -> int:
        """``seq`` of the newest index change log entry (0 when empty)."""
        ...

    def index_changes(self, after: int, limit: int) -> list[IndexChange]:
        """Up to ``limit`` committed change log entries with ``seq > after``, oldest first (none
        while the calling thread is inside ``atomic()``: its entries are not committed yet)."""
        ...

    # Idempotency

    def saved_response(self, scope: str, token: str) -> SavedResponse | None:
        """The response saved for ``token`` in ``scope``, or ``None``."""
        ...

    def save_response(self, scope: str, token: str, saved: SavedResponse) -> None:
        """Remember the response for ``token`` in ``scope``."""
        ...
