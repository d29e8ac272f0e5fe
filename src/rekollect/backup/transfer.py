"""Export a collection from a store to a backup file, and import one into a store.

Both work through ``MetadataStore`` methods only. ``export_collection`` reads inside one
``store.snapshot()``, so the file is one consistent state of the collection while a server keeps
writing. ``import_collection`` verifies the whole file first (``Archive``), then writes everything
inside one ``store.atomic()`` transaction with the store's own methods: the change-log triggers
fire, so a server running on the same store finds the new faces and users at its next search
(``core/index_sync.py``), and a file refused half-way leaves nothing behind. FaceIds, ImageIds,
UserIds, ExternalImageIds, boxes, confidences, embeddings, user vectors, face pictures, tags and
the creation time are kept as they were; the ARN is the target server's (``arn_prefix``).
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import re
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..storage.base import CollectionRecord, FaceRecord, MetadataStore, every_item
from ..vision.calibrated_pack import CalibratedFaceAnalyzer
from ..vision.dlib_pack import DlibFaceAnalyzer
from ..vision.packs import ModelPacks
from ..vision.zoo_pack import ZooFaceAnalyzer
from .archive import CROPS, Archive, BackupError, decode_vector, encode_vector, write_archive

EMBEDDING_SIZES = {
    pack.model_version: pack.embedding_size for pack in (DlibFaceAnalyzer, ZooFaceAnalyzer, CalibratedFaceAnalyzer)
}
"""Values per embedding of each face model a server holds (the packs ``server.build_service`` loads)."""

COLLECTION_ID = re.compile(r"[a-zA-Z0-9_.\-]{1,255}")
"""``CollectionId`` as botocore's Rekognition model constrains it."""

_PAGE = 1000
_ID_BATCH = 500
MAX_CROP_BYTES = 256 * 1024
"""Largest face picture an import takes (the server's own are about 5 KB)."""


@dataclass(frozen=True)
class ImportSummary:
    """What an import stored: the collection and how many images, faces and users it holds."""

    collection: CollectionRecord
    images: int
    faces: int
    users: int


def export_collection(store: MetadataStore, collection_id: str, path: Path) -> dict[str, Any]:
    """Write collection ``collection_id`` of ``store`` to the backup file ``path``; return its manifest.

    ``BackupError`` if the collection does not exist; ``OSError`` if ``path`` cannot be written.
    """
    with store.snapshot():
        record = store.get_collection(collection_id)
        if record is None:
            raise BackupError(f"the collection id: {collection_id} does not exist")
        version = ModelPacks.canonical(record.face_model_version)
        header = {
            "ExportedAt": dt.datetime.now(dt.UTC).isoformat(),
            "Collection": {
                "CollectionId": record.collection_id,
                "CollectionArn": record.arn,
                "CreationTimestamp": record.created.isoformat(),
                "FaceModelVersion": version,
                "Tags": store.get_tags(collection_id),
            },
        }
        members = {
            "images.jsonl": (
                {"ImageId": image_id, "ContentSha256": content_hash, "ExternalImageId": external}
                for image_id, content_hash, external in store.iter_images(collection_id)
            ),
            "users.jsonl": (
                {"UserId": user.user_id, "Vector": None if user.vector is None else encode_vector(user.vector)}
                for user in every_item(lambda after: store.list_users(collection_id, after, _PAGE))
            ),
            "faces.jsonl": (
                _face_json(face) for face in every_item(lambda after: store.list_faces(collection_id, after, _PAGE))
            ),
            CROPS: (
                {"FaceId": face_id, "Crop": base64.b64encode(jpeg).decode("ascii")}
                for face_id, jpeg in store.iter_face_crops(collection_id)
            ),
        }
        return write_archive(path, header, members)


def import_collection(
    store: MetadataStore,
    path: Path,
    arn_prefix: str,
    collection_id: str | None = None,
    new_face_ids: bool = False,
) -> ImportSummary:
    """Import the backup file ``path`` into ``store`` as ``collection_id`` (default: the file's id).

    The collection's ARN is ``<arn_prefix>collection/<id>``. ``new_face_ids`` gives every face a new
    FaceId (needed to import a second copy into the store it came from: FaceIds are unique across
    a store). ``BackupError`` with the reason, and nothing stored, if the file is damaged or altered
    (checksums), of a face model this server cannot search, holds embeddings of the wrong length,
    names a collection that exists in the store, or holds FaceIds the store already has.
    """
    with Archive(path) as archive:
        header = archive.manifest.get("Collection")
        if not isinstance(header, dict):
            raise BackupError("the manifest has no Collection record")
        version = ModelPacks.canonical(str(header.get("FaceModelVersion")))
        if version not in EMBEDDING_SIZES:
            raise BackupError(
                f"the collection uses face model version {header.get('FaceModelVersion')}, which this server cannot"
                f" search (it has {', '.join(sorted(EMBEDDING_SIZES))})"
            )
        target = collection_id or str(header.get("CollectionId"))
        if not COLLECTION_ID.fullmatch(target):
            raise BackupError(f"invalid collection id {target!r} (1 to 255 of a-z, A-Z, 0-9, _ . -)")
        try:
            created = dt.datetime.fromisoformat(header["CreationTimestamp"])
            tags = {str(key): str(value) for key, value in dict(header.get("Tags") or {}).items()}
            if created.tzinfo is None:
                raise ValueError("no UTC offset")
        except (KeyError, TypeError, ValueError):
            raise BackupError(
                "the Collection record needs a CreationTimestamp (ISO 8601 with offset) and Tags"
            ) from None
        record = CollectionRecord(target, f"{arn_prefix}collection/{target}", created, version)
        importer = _Importer(store, archive, record, EMBEDDING_SIZES[version], new_face_ids)
        importer.check()
        with store.atomic():
            return importer.write(tags)


class _Importer:
    """One import: ``check`` reads and validates the whole file (outside any transaction, so the
    store's write lock is held only for ``write``); ``write`` (inside ``store.atomic()``) stores it."""

    def __init__(
        self, store: MetadataStore, archive: Archive, record: CollectionRecord, size: int, new_face_ids: bool
    ) -> None:
        self.store, self.archive, self.record, self.size = store, archive, record, size
        self.new_face_ids = new_face_ids
        self.images: dict[str, tuple[str, str | None]] = {}
        self.vectors: dict[str, np.ndarray | None] = {}
        self.face_ids: list[str] = []
        self.file_face_ids: set[str] = set()
        self.renamed: dict[str, str] = {}
        """The new FaceId of each FaceId of the file (``new_face_ids``), made once."""

    def check(self) -> None:
        """``BackupError`` if any record is malformed, of another face model, of the wrong vector
        length, or refers to an image or user the file does not hold."""
        for row in self.archive.records("images.jsonl"):
            image_id = _text(row, "ImageId", "images.jsonl")
            if image_id in self.images:
                raise BackupError(f"images.jsonl: ImageId {image_id} appears twice")
            self.images[image_id] = (_text(row, "ContentSha256", "images.jsonl"), row.get("ExternalImageId"))
        for row in self.archive.records("users.jsonl"):
            user_id = _text(row, "UserId", "users.jsonl")
            if user_id in self.vectors:
                raise BackupError(f"users.jsonl: UserId {user_id} appears twice")
            vector = row.get("Vector")
            self.vectors[user_id] = None if vector is None else self._vector(vector, f"user {user_id}")
        done: set[str] = set()
        for group in self._image_groups():
            if group[0].image_id in done:
                raise BackupError(f"faces.jsonl: the faces of image {group[0].image_id} are not consecutive")
            done.add(group[0].image_id)
            if not self.new_face_ids:
                self.face_ids.extend(face.face_id for face in group)
        if done != set(self.images):
            raise BackupError(f"images.jsonl lists {len(set(self.images) - done)} images without faces")
        if len(set(self.face_ids)) != len(self.face_ids):
            raise BackupError("faces.jsonl: a FaceId appears twice")
        for _ in self._crops():
            pass

    def write(self, tags: dict[str, str]) -> ImportSummary:
        """Store the checked file: collection, users, faces (one ``add_faces`` per image), user vectors."""
        collection_id = self.record.collection_id
        if not self.store.create_collection(self.record, tags):
            raise BackupError(
                f"the collection id: {collection_id} already exists; import under another id with --collection-id"
            )
        self._refuse_taken_face_ids()
        for user_id in self.vectors:
            self.store.create_user(collection_id, user_id)
        faces = 0
        for group in self._image_groups():
            self.store.add_faces(collection_id, self.images[group[0].image_id][0], group)
            faces += len(group)
        for user_id, vector in self.vectors.items():
            if vector is not None:
                self.store.set_user_vector(collection_id, user_id, vector)
        batch: dict[str, bytes] = {}
        for face_id, jpeg in self._crops():
            batch[self._face_id(face_id)] = jpeg
            if len(batch) == _ID_BATCH:
                self.store.add_face_crops(collection_id, batch)
                batch = {}
        if batch:
            self.store.add_face_crops(collection_id, batch)
        return ImportSummary(self.record, len(self.images), faces, len(self.vectors))

    def _crops(self) -> Iterator[tuple[str, bytes]]:
        """``(FaceId of the file, JPEG)`` of each face picture; ``BackupError`` for one of a face the file
        does not hold, one that is not a JPEG of at most ``MAX_CROP_BYTES``, or a face's second."""
        seen: set[str] = set()
        for row in self.archive.records(CROPS):
            face_id = _text(row, "FaceId", CROPS)
            if face_id not in self.file_face_ids or face_id in seen:
                raise BackupError(f"{CROPS}: FaceId {face_id} is not a face of faces.jsonl, or has two pictures")
            seen.add(face_id)
            try:
                jpeg = base64.b64decode(row.get("Crop"), validate=True)
            except (binascii.Error, TypeError, ValueError):
                raise BackupError(f"{CROPS}: the picture of face {face_id} is not base64") from None
            if not jpeg.startswith(b"\xff\xd8\xff") or len(jpeg) > MAX_CROP_BYTES:
                raise BackupError(
                    f"{CROPS}: the picture of face {face_id} is not a JPEG of at most {MAX_CROP_BYTES} bytes"
                )
            yield face_id, jpeg

    def _face_id(self, face_id: str) -> str:
        """The FaceId the face of the file's ``face_id`` gets in the store."""
        return self.renamed.setdefault(face_id, str(uuid.uuid4())) if self.new_face_ids else face_id

    def _image_groups(self) -> Iterator[list[FaceRecord]]:
        """The faces of the file, in runs of one image each."""
        group: list[FaceRecord] = []
        for row in self.archive.records("faces.jsonl"):
            face = self._face(row)
            if group and face.image_id != group[0].image_id:
                yield group
                group = []
            group.append(face)
        if group:
            yield group

    def _face(self, row: dict[str, Any]) -> FaceRecord:
        face_id = _text(row, "FaceId", "faces.jsonl")
        what = f"face {face_id}"
        image_id = _text(row, "ImageId", "faces.jsonl")
        if image_id not in self.images:
            raise BackupError(f"{what}: ImageId {image_id} is not in images.jsonl")
        user_id = row.get("UserId")
        if user_id is not None and user_id not in self.vectors:
            raise BackupError(f"{what}: UserId {user_id} is not in users.jsonl")
        version = ModelPacks.canonical(str(row.get("IndexFacesModelVersion")))
        if version != self.record.face_model_version:
            raise BackupError(
                f"{what}: face model version {version}, its collection's is {self.record.face_model_version}"
            )
        try:
            box = row["BoundingBox"]
            geometry = (float(box["Width"]), float(box["Height"]), float(box["Left"]), float(box["Top"]))
            confidence = float(row["Confidence"])
        except (KeyError, TypeError, ValueError):
            raise BackupError(f"{what}: needs a BoundingBox (Width, Height, Left, Top) and a Confidence") from None
        self.file_face_ids.add(face_id)
        return FaceRecord(
            face_id=self._face_id(face_id),
            image_id=image_id,
            external_image_id=row.get("ExternalImageId"),
            box=geometry,
            confidence=confidence,
            model_version=version,
            embedding=self._vector(row.get("Embedding"), what),
            user_id=user_id,
        )

    def _vector(self, text: Any, what: str) -> np.ndarray:
        vector = decode_vector(text, what)
        if vector.shape != (self.size,):
            raise BackupError(
                f"{what}: a vector of {vector.size} values; face model {self.record.face_model_version}'s have {self.size}"
            )
        return vector

    def _refuse_taken_face_ids(self) -> None:
        """``BackupError`` if any FaceId of the file is already in the store (in any collection)."""
        for collection in every_item(lambda after: self.store.list_collections(after, _PAGE)):
            for start in range(0, len(self.face_ids), _ID_BATCH):
                taken = self.store.get_faces(collection.collection_id, self.face_ids[start : start + _ID_BATCH])
                if taken:
                    raise BackupError(
                        f"FaceId {taken[0].face_id} is already in collection {collection.collection_id} of this"
                        " store (FaceIds are unique across a store): import with --new-face-ids to give the"
                        " faces new FaceIds"
                    )


def _text(row: dict[str, Any], key: str, member: str) -> str:
    value = row.get(key)
    if not isinstance(value, str) or not value:
        raise BackupError(f"{member}: a record without {key}")
    return value


def _face_json(face: FaceRecord) -> dict[str, Any]:
    width, height, left, top = face.box
    return {
        "FaceId": face.face_id,
        "ImageId": face.image_id,
        "ExternalImageId": face.external_image_id,
        "BoundingBox": {"Width": width, "Height": height, "Left": left, "Top": top},
        "Confidence": face.confidence,
        "IndexFacesModelVersion": ModelPacks.canonical(face.model_version),
        "UserId": face.user_id,
        "Embedding": encode_vector(face.embedding),
    }
