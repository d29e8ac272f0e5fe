"""Export a collection from a store to a backup file, and import one into a store.

Both work through ``MetadataStore`` methods only. ``export_collection`` reads inside one
``store.snapshot()``, so the file is one consistent state of the collection while a server keeps
writing.

``import_collection`` checks first and writes after, with memory bounded whatever the file holds
(docs/backup-format.md, "Limits"):

1. *Check.* Each member is streamed (``Archive.records``) and every record checked by the rules the
   API enforces (``core/rules.py``: botocore's shapes for ids, ``ExternalImageId``, ``UserId``, tags
   and ``Confidence``, the box ranges, the face model's vector rule, the creation time), then kept
   in a scratch SQLite file in a temporary directory (removed afterwards), which also checks what
   spans records: no id twice, faces name images and users of the file, an image's faces are
   consecutive and at most ``MAX_FACES_PER_IMAGE``, every image has faces, a user has at most
   ``MAX_FACES_PER_USER`` faces and a ``Vector`` exactly when it has faces, the one its face model
   makes of their embeddings (``FaceAnalyzer.user_vector``, within ``USER_VECTOR_TOLERANCE``), a
   face picture (format version 2) belongs to a face of the file, one a face, and is a JPEG of at
   most ``MAX_CROP_BYTES``. The first problem refuses the whole file with one line naming the
   member, the line and the rule; nothing is stored.
2. *Refusals against the store:* the collection id is free, and no FaceId of the file is in the
   store (one indexed lookup per 500 FaceIds, ``MetadataStore.face_collections``: the cost does not
   grow with the number of collections).
3. *Write*, from the scratch file (so the checked records are the ones stored), in transactions of
   at most ``WRITE_BATCH`` users or faces (``_ID_BATCH`` pictures) through the store's own methods: the change-log triggers
   fire, so a running server finds the faces at its next search, and its own writes wait for one
   batch at most (tens of milliseconds), never for the whole import. A failure while writing
   removes the collection again. FaceIds, ImageIds, UserIds, ExternalImageIds, boxes,
   confidences, embeddings, user vectors, face pictures, tags and the creation time are kept as
   they were; the ARN is the target server's (``arn_prefix``).
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import datetime as dt
import logging
import sqlite3
import tempfile
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..core.rules import MAX_FACES_PER_IMAGE, VectorRule, created_problem, face_problem, shape_problem
from ..core.service import MAX_FACES_PER_USER
from ..storage.base import CollectionRecord, FaceRecord, MetadataStore, every_item
from ..vision.calibrated_pack import CalibratedFaceAnalyzer
from ..vision.dlib_pack import DlibFaceAnalyzer
from ..vision.packs import ModelPacks
from ..vision.zoo_pack import ZooFaceAnalyzer
from .archive import (
    CROPS,
    LINE_BYTES,
    Archive,
    BackupError,
    decode_vector,
    encode_vector,
    vector_line_bytes,
    write_archive,
)

log = logging.getLogger(__name__)

PACKS = {pack.model_version: pack for pack in (DlibFaceAnalyzer, ZooFaceAnalyzer, CalibratedFaceAnalyzer)}
"""The face model packs a server holds (those ``server.build_service`` loads), by version: each
declares its vectors' rule (``core.rules.VectorRule``) and how it makes a user's vector."""
RULES = {version: VectorRule.of(pack) for version, pack in PACKS.items()}

USER_VECTOR_TOLERANCE = 1e-4
"""Largest difference of any value between a user's ``Vector`` and the vector its face model makes of
its faces' embeddings (``FaceAnalyzer.user_vector``; float32 rounding differs by about 1e-7)."""

WRITE_BATCH = 1000
"""Most users or faces an import writes in one store transaction."""

_PAGE = 1000
_ID_BATCH = 500
MAX_CROP_BYTES = 256 * 1024
"""Largest face picture an import takes (the server's own are about 5 KB)."""

_SCRATCH = """
PRAGMA journal_mode = OFF;
PRAGMA synchronous = OFF;
PRAGMA cache_size = -8192;
CREATE TABLE images (image_id TEXT PRIMARY KEY, line INTEGER, content_hash TEXT, external TEXT, faces INTEGER);
CREATE TABLE users (seq INTEGER PRIMARY KEY, user_id TEXT UNIQUE, line INTEGER, vector BLOB, faces INTEGER);
CREATE TABLE faces (
    seq INTEGER PRIMARY KEY, face_id TEXT UNIQUE, stored_id TEXT, image_id TEXT, external TEXT, width REAL,
    height REAL, left REAL, top REAL, confidence REAL, embedding BLOB, user_id TEXT
);
CREATE INDEX faces_by_user ON faces (user_id, seq);
CREATE TABLE crops (face_id TEXT PRIMARY KEY, jpeg BLOB);
"""
"""The checked file, kept on disk (``faces.stored_id``: the FaceId the face gets in the store)."""


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
    a store). ``BackupError`` with the reason, and nothing stored, if the file breaks any rule (see
    the module docstring), names a collection that exists in the store, or holds FaceIds the store
    already has.
    """
    with Archive(path) as archive, tempfile.TemporaryDirectory(prefix="rekollect-import-") as scratch_dir:
        record, tags = _collection(archive.manifest["Collection"], arn_prefix, collection_id)
        scratch = sqlite3.connect(Path(scratch_dir) / "checked.sqlite3", isolation_level=None)
        try:
            scratch.executescript(_SCRATCH)
            _Checker(archive, scratch, record.face_model_version, new_face_ids).check()
            return _write(store, scratch, record, tags, new_face_ids)
        finally:
            scratch.close()


def _collection(
    header: dict[str, Any], arn_prefix: str, collection_id: str | None
) -> tuple[CollectionRecord, dict[str, str]]:
    """The collection record and tags of the manifest's ``Collection``; ``BackupError``
    for a face model this server cannot search or a value the API would refuse."""
    version = ModelPacks.canonical(str(header.get("FaceModelVersion")))
    if version not in RULES:
        raise BackupError(
            f"the collection uses face model version {header.get('FaceModelVersion')}, which this server cannot"
            f" search (it has {', '.join(sorted(RULES))})"
        )
    target = collection_id or header["CollectionId"]
    tags = header.get("Tags") or {}
    created_text = header.get("CreationTimestamp")
    for problem in (shape_problem("CollectionId", target), shape_problem("TagMap", tags, "Tags")):
        if problem is not None:
            raise BackupError(f"manifest.json: {problem}")
    try:
        created = dt.datetime.fromisoformat(created_text)  # type: ignore[arg-type]
        problem = "CreationTimestamp has no UTC offset" if created.tzinfo is None else None
        created = created.astimezone(dt.UTC)
    except (TypeError, ValueError, OverflowError):
        raise BackupError(
            "manifest.json: the Collection needs a CreationTimestamp (ISO 8601 with an offset, years 1970 to now)"
        ) from None
    problem = problem or created_problem(created)
    if problem is not None:
        raise BackupError(f"manifest.json: {problem}")
    record = CollectionRecord(target, f"{arn_prefix}collection/{target}", created, version)
    return record, dict(tags)


class _Checker:
    """Reads the archive once, checks every record, and keeps the checked file in ``scratch``."""

    def __init__(self, archive: Archive, scratch: sqlite3.Connection, version: str, new_face_ids: bool) -> None:
        self.archive, self.db, self.version, self.new_face_ids = archive, scratch, version, new_face_ids
        self.rule = RULES[version]
        self.user_vector = PACKS[version].user_vector

    def check(self) -> None:
        """``BackupError`` naming the member, line and rule of the first problem (see the module docstring)."""
        with self._transaction():
            for name, step in (
                ("images.jsonl", self._images),
                ("users.jsonl", self._users),
                ("faces.jsonl", self._faces),
                (CROPS, self._crops),
            ):
                try:
                    step()
                except BackupError as error:
                    if name in self.archive.members and self.archive.damaged(name):
                        raise BackupError(
                            f"{name} does not match its SHA-256 in the manifest: the file is damaged or was altered"
                        ) from None
                    raise error from None
            self._whole()

    @contextlib.contextmanager
    def _transaction(self) -> Iterator[None]:
        self.db.execute("BEGIN")
        try:
            yield
        finally:
            self.db.execute("COMMIT")

    def _images(self) -> None:
        for number, row in self.archive.records("images.jsonl", LINE_BYTES):
            where = f"images.jsonl line {number}"
            image_id, content_hash, external = row.get("ImageId"), row.get("ContentSha256"), row.get("ExternalImageId")
            _refuse(where, shape_problem("ImageId", image_id))
            if not isinstance(content_hash, str) or len(content_hash) != 64 or content_hash.strip("0123456789abcdef"):
                raise BackupError(f"{where}: ContentSha256 must be 64 lowercase hex digits")
            if external is not None:
                _refuse(where, shape_problem("ExternalImageId", external))
            try:
                self.db.execute("INSERT INTO images VALUES (?, ?, ?, ?, 0)", (image_id, number, content_hash, external))
            except sqlite3.IntegrityError:
                raise BackupError(f"{where}: ImageId {image_id} appears twice") from None

    def _users(self) -> None:
        for number, row in self.archive.records("users.jsonl", vector_line_bytes(self.rule.size)):
            where = f"users.jsonl line {number}"
            user_id, text = row.get("UserId"), row.get("Vector")
            _refuse(where, shape_problem("UserId", user_id))
            blob = None
            if text is not None:
                vector = decode_vector(text, f"{where}: Vector")
                problem = self.rule.problem(vector, "users")
                if problem is not None:
                    raise BackupError(f"{where}: Vector: {problem}")
                blob = vector.astype("<f4").tobytes()
            try:
                self.db.execute(
                    "INSERT INTO users (user_id, line, vector, faces) VALUES (?, ?, ?, 0)",
                    (user_id, number, blob),
                )
            except sqlite3.IntegrityError:
                raise BackupError(f"{where}: UserId {user_id} appears twice") from None

    def _faces(self) -> None:
        current = None
        for number, row in self.archive.records("faces.jsonl", vector_line_bytes(self.rule.size)):
            where = f"faces.jsonl line {number}"
            face = _face(row, where)
            _refuse(where, face_problem(face, self.rule, self.version))
            image = self.db.execute(
                "SELECT external, faces FROM images WHERE image_id = ?", (face.image_id,)
            ).fetchone()
            if image is None:
                raise BackupError(f"{where}: ImageId {face.image_id} is not in images.jsonl")
            if image[0] != face.external_image_id:
                raise BackupError(
                    f"{where}: ExternalImageId {face.external_image_id!r} is not its image's {image[0]!r}"
                )
            if face.image_id != current and image[1]:
                raise BackupError(f"{where}: the faces of image {face.image_id} are not consecutive")
            if image[1] >= MAX_FACES_PER_IMAGE:
                raise BackupError(f"{where}: image {face.image_id} has more than {MAX_FACES_PER_IMAGE} faces")
            current = face.image_id
            self.db.execute("UPDATE images SET faces = faces + 1 WHERE image_id = ?", (face.image_id,))
            if face.user_id is not None:
                self._add_to_user(face, where)
            try:
                self.db.execute(
                    "INSERT INTO faces (face_id, stored_id, image_id, external, width, height, left, top, confidence,"
                    " embedding, user_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (
                        face.face_id,
                        str(uuid.uuid4()) if self.new_face_ids else face.face_id,
                        face.image_id,
                        face.external_image_id,
                        *face.box,
                        face.confidence,
                        face.embedding.astype("<f4").tobytes(),
                        face.user_id,
                    ),
                )
            except sqlite3.IntegrityError:
                raise BackupError(f"{where}: FaceId {face.face_id} appears twice") from None

    def _crops(self) -> None:
        for number, row in self.archive.records(CROPS, LINE_BYTES + 4 * -(-MAX_CROP_BYTES // 3)):
            where = f"{CROPS} line {number}"
            face_id = row.get("FaceId")
            _refuse(where, shape_problem("FaceId", face_id))
            if self.db.execute("SELECT 1 FROM faces WHERE face_id = ?", (face_id,)).fetchone() is None:
                raise BackupError(f"{where}: FaceId {face_id} is not a face of faces.jsonl")
            try:
                jpeg = base64.b64decode(row.get("Crop"), validate=True)
            except (binascii.Error, TypeError, ValueError):
                raise BackupError(f"{where}: Crop is not base64") from None
            if not jpeg.startswith(b"\xff\xd8\xff") or len(jpeg) > MAX_CROP_BYTES:
                raise BackupError(f"{where}: Crop is not a JPEG of at most {MAX_CROP_BYTES} bytes")
            try:
                self.db.execute("INSERT INTO crops VALUES (?, ?)", (face_id, jpeg))
            except sqlite3.IntegrityError:
                raise BackupError(f"{where}: face {face_id} has a second picture") from None

    def _add_to_user(self, face: FaceRecord, where: str) -> None:
        user = self.db.execute("SELECT faces FROM users WHERE user_id = ?", (face.user_id,)).fetchone()
        if user is None:
            raise BackupError(f"{where}: UserId {face.user_id} is not in users.jsonl")
        if user[0] >= MAX_FACES_PER_USER:
            raise BackupError(f"{where}: user {face.user_id} has more than {MAX_FACES_PER_USER} faces (AWS's quota)")
        self.db.execute("UPDATE users SET faces = faces + 1 WHERE user_id = ?", (face.user_id,))

    def _whole(self) -> None:
        """What spans the members: every image has faces; users' vectors agree with their faces."""
        empty = self.db.execute("SELECT line, image_id FROM images WHERE faces = 0 ORDER BY line LIMIT 1").fetchone()
        if empty is not None:
            raise BackupError(f"images.jsonl line {empty[0]}: image {empty[1]} has no faces in faces.jsonl")
        users = self.db.execute("SELECT line, user_id, vector, faces FROM users ORDER BY line")
        while batch := users.fetchmany(_PAGE):
            for line, user_id, blob, faces in batch:
                self._check_user(f"users.jsonl line {line}", user_id, blob, faces)

    def _check_user(self, where: str, user_id: str, blob: bytes | None, faces: int) -> None:
        if blob is None and faces:
            raise BackupError(f"{where}: user {user_id} has {faces} faces but no Vector")
        if blob is not None and not faces:
            raise BackupError(f"{where}: user {user_id} has a Vector but no faces")
        if blob is None:
            return
        rows = self.db.execute("SELECT embedding FROM faces WHERE user_id = ? ORDER BY seq", (user_id,))
        expected = self.user_vector(np.stack([np.frombuffer(embedding, dtype="<f4") for (embedding,) in rows]))
        if np.abs(np.frombuffer(blob, dtype="<f4") - expected).max() > USER_VECTOR_TOLERANCE:
            raise BackupError(
                f"{where}: the Vector of user {user_id} is not the one face model {self.version} makes of its"
                " faces' embeddings"
            )


def _face(row: dict[str, Any], where: str) -> FaceRecord:
    """The ``FaceRecord`` of a ``faces.jsonl`` row whose members are present (their values are
    checked by ``core.rules.face_problem``)."""
    box = row.get("BoundingBox")
    if not isinstance(box, dict) or any(box.get(name) is None for name in ("Width", "Height", "Left", "Top")):
        raise BackupError(f"{where}: a face needs a BoundingBox with Width, Height, Left and Top")
    if row.get("Confidence") is None or not isinstance(row.get("IndexFacesModelVersion"), str):
        raise BackupError(f"{where}: a face needs a Confidence and an IndexFacesModelVersion")
    return FaceRecord(
        face_id=row.get("FaceId"),  # type: ignore[arg-type]
        image_id=row.get("ImageId"),  # type: ignore[arg-type]
        external_image_id=row.get("ExternalImageId"),
        box=(box["Width"], box["Height"], box["Left"], box["Top"]),
        confidence=row["Confidence"],
        model_version=ModelPacks.canonical(row["IndexFacesModelVersion"]),
        embedding=decode_vector(row.get("Embedding"), f"{where}: Embedding"),
        user_id=row.get("UserId"),
    )


def _refuse(where: str, problem: str | None) -> None:
    if problem is not None:
        raise BackupError(f"{where}: {problem}")


def _write(
    store: MetadataStore,
    scratch: sqlite3.Connection,
    record: CollectionRecord,
    tags: dict[str, str],
    new_face_ids: bool,
) -> ImportSummary:
    """Store the checked file (see the module docstring, step 3); ``BackupError`` if refused."""
    collection_id = record.collection_id
    taken = f"the collection id: {collection_id} already exists; import under another id with --collection-id"
    if store.get_collection(collection_id) is not None:
        raise BackupError(taken)
    if not new_face_ids:
        _refuse_taken_face_ids(store, scratch)
    if not store.create_collection(record, tags):
        raise BackupError(taken)
    try:
        for users in _batches(scratch.execute("SELECT user_id FROM users ORDER BY seq")):
            with store.atomic():
                for (user_id,) in users:
                    store.create_user(collection_id, user_id)
        faces = 0
        for images in _image_batches(scratch, record.face_model_version):
            with store.atomic():
                for content_hash, group in images:
                    store.add_faces(collection_id, content_hash, group)
                    faces += len(group)
        vectors = scratch.execute("SELECT user_id, vector FROM users WHERE vector IS NOT NULL ORDER BY seq")
        for users in _batches(vectors):
            with store.atomic():
                for user_id, blob in users:
                    store.set_user_vector(collection_id, user_id, np.frombuffer(blob, dtype="<f4").astype(np.float32))
        crops = scratch.execute("SELECT f.stored_id, c.jpeg FROM crops c JOIN faces f USING (face_id) ORDER BY f.seq")
        while pictures := crops.fetchmany(_ID_BATCH):
            with store.atomic():
                store.add_face_crops(collection_id, dict(pictures))
    except BaseException as error:
        try:
            store.delete_collection(collection_id)
        except Exception as cleanup:  # the reason the import failed is the one to report
            log.error("the partly imported collection %s could not be removed: %s", collection_id, cleanup)
        if isinstance(error, Exception):
            raise BackupError(
                f"writing the collection failed ({type(error).__name__}: {error}); nothing of it was kept"
            ) from None
        raise
    (images,) = scratch.execute("SELECT COUNT(*) FROM images").fetchone()
    (users,) = scratch.execute("SELECT COUNT(*) FROM users").fetchone()
    return ImportSummary(record, images, faces, users)


def _batches(rows: Any) -> Iterator[list[tuple]]:
    """``rows`` (a cursor) in lists of at most ``WRITE_BATCH``."""
    while batch := rows.fetchmany(WRITE_BATCH):
        yield batch


def _image_batches(scratch: sqlite3.Connection, version: str) -> Iterator[list[tuple[str, list[FaceRecord]]]]:
    """The faces in file order as ``(content hash, faces of one image)`` runs, in lists of about
    ``WRITE_BATCH`` faces (an image's faces are never split)."""
    rows = scratch.execute(
        "SELECT f.stored_id, f.image_id, f.external, f.width, f.height, f.left, f.top, f.confidence, f.embedding,"
        " f.user_id, i.content_hash FROM faces f JOIN images i USING (image_id) ORDER BY f.seq"
    )
    batch: list[tuple[str, list[FaceRecord]]] = []
    size = 0
    for face_id, image_id, external, width, height, left, top, confidence, blob, user_id, content_hash in rows:
        face = FaceRecord(
            face_id=face_id,
            image_id=image_id,
            external_image_id=external,
            box=(width, height, left, top),
            confidence=confidence,
            model_version=version,
            embedding=np.frombuffer(blob, dtype="<f4").astype(np.float32),
            user_id=user_id,
        )
        if batch and batch[-1][1][0].image_id == image_id:
            batch[-1][1].append(face)
        else:
            if size >= WRITE_BATCH:
                yield batch
                batch, size = [], 0
            batch.append((content_hash, [face]))
        size += 1
    if batch:
        yield batch


def _refuse_taken_face_ids(store: MetadataStore, scratch: sqlite3.Connection) -> None:
    """``BackupError`` if any FaceId of the file is already in the store (in any collection)."""
    rows = scratch.execute("SELECT face_id FROM faces ORDER BY seq")
    while batch := rows.fetchmany(_ID_BATCH):
        taken = store.face_collections([face_id for (face_id,) in batch])
        if taken:
            face_id, collection_id = next(iter(taken.items()))
            raise BackupError(
                f"FaceId {face_id} is already in collection {collection_id} of this store (FaceIds are unique"
                " across a store): import with --new-face-ids to give the faces new FaceIds"
            )


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
