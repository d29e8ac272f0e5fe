"""``FaceService``: the state every operation works on, and the steps they share.

It owns the metadata store, the vector index, the face model pack and the object source. The store
is the source of truth: the index follows its change log (``core/index_sync.py``), so the two
always agree, and a write changes only the store. Every write runs in ``writing()``: under one lock
(so a search never sees half of a write), in one store transaction, and then the index catches up.
"""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..errors import InternalServerError, InvalidParameterException, ResourceNotFoundException
from ..spaces import faces_space, users_space
from ..storage.base import CollectionRecord, FaceRecord, MetadataStore, UserRecord
from ..vision.analyzer import FaceAnalyzer
from ..vision.packs import ModelPacks
from .images import MAX_BYTES_INLINE, MAX_BYTES_S3, DecodedImage, decode_image
from .index_sync import SyncedIndex
from .objects import ObjectSource
from .pagination import TokenSigner
from .rules import VectorRule, face_problem

MAX_FACES_PER_USER = 100
"""AWS quota: faces associated with one user."""


@dataclass
class FaceService:
    """Shared state of the operations. ``arn_prefix`` is ``arn:aws:rekognition:<region>:<account>:``;
    ``face_crops``: whether IndexFaces keeps a picture of each face it stores (``--face-crops``)."""

    store: MetadataStore
    index: SyncedIndex
    packs: ModelPacks
    objects: ObjectSource
    tokens: TokenSigner
    arn_prefix: str
    face_crops: bool = False
    lock: threading.RLock = field(default_factory=threading.RLock)

    @contextmanager
    def writing(self) -> Iterator[None]:
        """Run the writes inside as one: under the service lock, so no search of this process sees
        half of them; in one store transaction (``MetadataStore.atomic``), so they commit together or
        not at all, re-checking what they read inside it; and, once committed, with the index caught
        up with the store's change log, so the next search finds them. Nested uses join the outer one."""
        with self.lock:
            with self.store.atomic():
                yield
            self.index.sync()

    def collection(self, collection_id: str) -> CollectionRecord:
        """The collection, its ``face_model_version`` number-like (``ModelPacks.canonical``);
        ``ResourceNotFoundException`` if it does not exist."""
        record = self.store.get_collection(collection_id)
        if record is None:
            raise ResourceNotFoundException(f"The collection id: {collection_id} does not exist")
        return dataclasses.replace(record, face_model_version=self.packs.canonical(record.face_model_version))

    def pack(self, collection: CollectionRecord | None = None) -> FaceAnalyzer:
        """The face model of ``collection``, or the default one for operations without a collection."""
        return self.packs.default if collection is None else self.packs.get(collection.face_model_version)

    def load_image(self, image: dict[str, Any]) -> DecodedImage:
        """Decode an ``Image`` member (``Bytes`` or ``S3Object``, exactly one)."""
        data, s3_object = image.get("Bytes"), image.get("S3Object")
        if (data is None) == (s3_object is None):
            raise InvalidParameterException("Image must have exactly one of Bytes or S3Object")
        if data is not None:
            return decode_image(data, max_bytes=MAX_BYTES_INLINE)
        if not s3_object.get("Bucket") or not s3_object.get("Name"):
            raise InvalidParameterException("Image.S3Object needs Bucket and Name")
        content = self.objects.read(s3_object["Bucket"], s3_object["Name"], s3_object.get("Version"), MAX_BYTES_S3)
        return decode_image(content, max_bytes=MAX_BYTES_S3)

    def search_faces(
        self,
        collection: CollectionRecord,
        vector: np.ndarray,
        max_faces: int,
        threshold: float,
        exclude: str | None = None,
    ) -> list[tuple[FaceRecord, float]]:
        """Stored faces with ``Similarity`` ≥ ``threshold``, most similar first, at most ``max_faces``.

        ``vector`` comes from the collection's own face model (``pack(collection)``)."""
        collection_id = collection.collection_id
        pack = self.pack(collection)
        max_distance = pack.distance_at(threshold)
        with self.lock:
            hits = self.index.search(faces_space(collection_id), vector, max_faces + 1, max_distance)
            hits = [(key, distance) for key, distance in hits if key != exclude][:max_faces]
            records = {face.face_id: face for face in self.store.get_faces(collection_id, [key for key, _ in hits])}
        similarities = pack.similarity(np.array([distance for _, distance in hits]))
        return [
            (records[key], float(similarity))
            for (key, _), similarity in zip(hits, similarities, strict=True)
            if key in records and similarity >= threshold
        ]

    def user(self, collection_id: str, user_id: str) -> UserRecord:
        """The user; ``ResourceNotFoundException`` if it does not exist."""
        record = self.store.get_user(collection_id, user_id)
        if record is None:
            raise ResourceNotFoundException(f"The user id: {user_id} does not exist in collection {collection_id}")
        return record

    def rule(self, collection: CollectionRecord) -> VectorRule:
        """The vectors of ``collection``'s face model (``core.rules.VectorRule``)."""
        return VectorRule.of(self.pack(collection))

    def check_new_faces(self, collection: CollectionRecord, records: list[FaceRecord]) -> None:
        """``InternalServerError`` (nothing stored) if a face about to be stored breaks the face rules
        (``core.rules.face_problem``): the API's ``Face`` shape, the box ranges, the model's vector rule."""
        rule = self.rule(collection)
        for record in records:
            problem = face_problem(record, rule, collection.face_model_version)
            if problem is not None:
                raise InternalServerError(
                    f"The face model produced a face that cannot be stored ({problem}); nothing was stored"
                )

    def recompute_user_vector(self, collection_id: str, user_id: str) -> np.ndarray | None:
        """Store the user's vector, made from its faces' embeddings by the collection's face model
        (``FaceAnalyzer.user_vector``); ``None`` without faces.

        Faces whose stored vector breaks the model's rule (quarantined, ``core/index_sync.py``) are
        left out. Call inside ``writing()``. The collection is read again inside that transaction,
        so a ``rekollect collection upgrade`` committed meanwhile is followed.
        """
        faces = self.store.list_faces(collection_id, None, MAX_FACES_PER_USER, user_id=user_id).items
        vector = None
        if faces:
            collection = self.collection(collection_id)
            pack, rule = self.pack(collection), self.rule(collection)
            usable = [face.embedding for face in faces if rule.problem(face.embedding) is None]
            vector = pack.user_vector(np.stack(usable)) if usable else None
            if vector is not None and (problem := rule.problem(vector, "users")) is not None:
                raise InternalServerError(f"The user's vector cannot be stored ({problem}); nothing was stored")
        self.store.set_user_vector(collection_id, user_id, vector)
        return vector

    def search_users(
        self,
        collection: CollectionRecord,
        vector: np.ndarray,
        max_users: int,
        threshold: float,
        exclude: str | None = None,
    ) -> list[tuple[UserRecord, float]]:
        """Users whose vector has ``Similarity`` ≥ ``threshold``, most similar first, at most ``max_users``."""
        collection_id = collection.collection_id
        pack = self.pack(collection)
        with self.lock:
            hits = self.index.search(users_space(collection_id), vector, max_users + 1, pack.distance_at(threshold))
            hits = [(key, distance) for key, distance in hits if key != exclude][:max_users]
            records = {key: self.store.get_user(collection_id, key) for key, _ in hits}
        similarities = pack.similarity(np.array([distance for _, distance in hits]))
        return [
            (record, float(similarity))
            for (key, _), similarity in zip(hits, similarities, strict=True)
            if (record := records[key]) is not None and similarity >= threshold
        ]
