"""Names of the vector index's spaces: one for a collection's faces, one for its users' vectors.

The store's change log names the space each entry belongs to (``storage.sql``: the ``kind`` column
of ``index_log`` is ``FACES`` or ``USERS``, as its triggers write them), and the index keeps one
space per name (``core.index_sync``, ``core.service``): both spell the names here.
"""

from __future__ import annotations

FACES = "faces"
"""Kind of the space of a collection's face embeddings (keys: FaceIds)."""

USERS = "users"
"""Kind of the space of a collection's user vectors (keys: UserIds)."""


def space(kind: str, collection_id: str) -> str:
    """``<kind>/<CollectionId>``: the space of ``kind`` (``FACES`` or ``USERS``) of a collection."""
    return f"{kind}/{collection_id}"


def faces_space(collection_id: str) -> str:
    """The space holding a collection's face vectors."""
    return space(FACES, collection_id)


def users_space(collection_id: str) -> str:
    """The space holding a collection's user vectors."""
    return space(USERS, collection_id)
