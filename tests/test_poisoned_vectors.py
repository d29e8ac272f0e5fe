"""One bad vector must never take search down: NaN, infinite and 1e30 vectors planted straight into
the store (SQLite, and PostgreSQL as another node would write them) are quarantined, and every
search, ``/health`` and the next start-ups (from the index snapshot, and rebuilt from the store)
keep working, on a collection large enough for the FAISS IVF (``--ann-threshold 256``)."""

from __future__ import annotations

import datetime as dt
import json
import re
import shutil
import signal
import threading
import urllib.request
import uuid
from collections.abc import Iterator
from functools import partial
from pathlib import Path

import numpy as np
import psycopg
import pytest
from botocore.exceptions import ClientError
from postgres_server import PostgresServer
from support import ServerProcess, image_bytes

from rekollect.storage.base import FaceRecord
from rekollect.storage.postgres import PostgresStore
from rekollect.storage.postgres_db import PostgresDatabase
from rekollect.storage.sqlite import SqliteStore

OBAMA = image_bytes("people/Barack_Obama/obama.jpg")
OBAMA_AGAIN = image_bytes("people/Barack_Obama/obama2.jpg")
GOOD_FACES = 300
"""Planted unit vectors: with the real face, more than the IVF threshold (256) in collection ``big``."""


def bad_vectors() -> dict[str, np.ndarray]:
    """What the issue found stops FAISS: a NaN, an infinity, and values whose squared norm overflows."""
    unit = np.zeros(256, np.float32)
    unit[0] = 1.0
    nan, inf = unit.copy(), unit.copy()
    nan[7], inf[9] = np.nan, np.inf
    return {"nan": nan, "inf": inf, "1e30": np.full(256, 1e30, np.float32)}


@pytest.fixture(scope="module")
def postgres() -> Iterator[PostgresServer]:
    server = PostgresServer()
    yield server
    server.close()


@pytest.fixture(params=["sqlite", "postgresql"])
def backend(request, tmp_path) -> Iterator[tuple[list[str], object]]:
    """Server arguments and a function opening the store the server uses (as another process would)."""
    if request.param == "sqlite":
        yield [], lambda data_dir: SqliteStore(data_dir / "rekollect.sqlite3")
        return
    server = request.getfixturevalue("postgres")
    name = f"poison{uuid.uuid4().hex[:8]}"
    with psycopg.connect(server.url_for("postgres"), autocommit=True) as connection:
        connection.execute(f"CREATE DATABASE {name}")
    url = server.url_for(name)
    yield ["--database-url", url], lambda data_dir: PostgresStore(PostgresDatabase(url, max_connections=2))


def plant(store, collection: str, count: int, rng: np.random.Generator) -> dict[str, str]:
    """``count`` random unit faces and the three bad ones into ``collection``; the bad FaceIds by kind."""
    image = str(uuid.uuid4())
    good = rng.standard_normal((count, 256)).astype(np.float32)
    good /= np.linalg.norm(good, axis=1, keepdims=True)
    bad = {kind: str(uuid.uuid4()) for kind in bad_vectors()}
    faces = [_face(str(uuid.uuid4()), image, vector) for vector in good]
    faces += [_face(bad[kind], image, vector) for kind, vector in bad_vectors().items()]
    store.add_faces(collection, f"planted-{image}", faces)
    return bad


def _face(face_id: str, image_id: str, vector: np.ndarray) -> FaceRecord:
    return FaceRecord(face_id, image_id, "planted", (0.2, 0.3, 0.1, 0.1), 99.0, "2.0", vector)


def health(server: ServerProcess) -> tuple[int, dict]:
    with urllib.request.urlopen(f"{server.url}/health", timeout=30) as response:
        return response.status, json.loads(response.read())


def check_serving(server: ServerProcess, obama: dict[str, str], bad: dict[str, str]) -> None:
    """Every search of every collection answers, the real face is found, a bad one never is."""
    client = server.client()
    for collection, face_id in obama.items():
        matches = client.search_faces_by_image(
            CollectionId=collection, Image={"Bytes": OBAMA_AGAIN}, FaceMatchThreshold=0, MaxFaces=4096
        )["FaceMatches"]
        assert matches[0]["Face"]["FaceId"] == face_id and matches[0]["Similarity"] > 90
        assert not {match["Face"]["FaceId"] for match in matches} & set(bad)
        found = client.search_faces(CollectionId=collection, FaceId=face_id, FaceMatchThreshold=0, MaxFaces=4096)
        assert not {match["Face"]["FaceId"] for match in found["FaceMatches"]} & set(bad)
    users = client.search_users_by_image(CollectionId="big", Image={"Bytes": OBAMA_AGAIN}, UserMatchThreshold=0)
    assert [match["User"]["UserId"] for match in users["UserMatches"]] == ["obama"]
    with pytest.raises(ClientError) as caught:
        client.search_users(CollectionId="big", UserId="poisoned")
    assert caught.value.response["Error"]["Code"] == "InvalidParameterException"
    for face_id, collection in bad.items():
        with pytest.raises(ClientError) as caught:
            client.search_faces(CollectionId=collection, FaceId=face_id)
        assert caught.value.response["Error"]["Code"] == "InvalidParameterException"
    status, report = health(server)
    assert status == 200 and report["status"] == "ready"


def test_planted_bad_vectors_are_quarantined_and_search_stays_up(backend, tmp_path):
    args, open_store = backend
    data_dir = tmp_path / "data"
    server = ServerProcess(data_dir, "--ann-threshold", "256", *args).start()
    try:
        client = server.client()
        obama = {}
        for collection in ("big", "small", "other"):
            client.create_collection(CollectionId=collection)
            record = client.index_faces(CollectionId=collection, Image={"Bytes": OBAMA}, MaxFaces=1)
            obama[collection] = record["FaceRecords"][0]["Face"]["FaceId"]
        client.create_user(CollectionId="big", UserId="obama")
        client.associate_faces(CollectionId="big", UserId="obama", FaceIds=[obama["big"]])
        client.create_user(CollectionId="big", UserId="poisoned")

        store = open_store(data_dir)  # another process (or node) writes behind the server's back
        rng = np.random.default_rng(20)
        planted = plant(store, "big", GOOD_FACES, rng)
        planted_small = plant(store, "small", 3, rng)
        nan_user = bad_vectors()["nan"]
        store.set_user_vector("big", "poisoned", nan_user)
        store.close()
        bad = {face_id: "big" for face_id in planted.values()} | {
            face_id: "small" for face_id in planted_small.values()
        }

        check_serving(server, obama, bad)
        log = server.log.read_text()
        for face_id in bad:
            assert len(re.findall(rf"quarantined face {face_id} of collection", log)) == 1, face_id
        assert "quarantined user poisoned of collection big" in log
        assert client.describe_collection(CollectionId="big")["FaceCount"] == GOOD_FACES + 4
    finally:
        server.stop()

    # Start-up from the index snapshot written at the stop, then rebuilt from the store.
    for rebuild in (False, True):
        if rebuild:
            shutil.rmtree(data_dir / "index")
        server = ServerProcess(data_dir, "--ann-threshold", "256", *args).start()
        try:
            check_serving(server, obama, bad)
        finally:
            server.stop(signal.SIGTERM)

    # The quarantined rows are ordinary faces to delete (their ids are UUIDs).
    server = ServerProcess(data_dir, "--ann-threshold", "256", *args).start()
    try:
        client = server.client()
        deleted = client.delete_faces(CollectionId="big", FaceIds=list(planted.values()))["DeletedFaces"]
        assert sorted(deleted) == sorted(planted.values())
        check_serving(server, obama, {face_id: "small" for face_id in planted_small.values()})
    finally:
        server.stop()


def test_a_snapshot_holding_a_bad_vector_is_rebuilt_from_the_store(tmp_path, caplog):
    """An index snapshot whose checksums hold but whose vectors break the model's rule is not searched."""
    from rekollect.core.index_sync import SyncedIndex
    from rekollect.core.rules import VectorRule
    from rekollect.index.tiered import TieredIndex
    from rekollect.storage.base import CollectionRecord

    store = SqliteStore(tmp_path / "rekollect.sqlite3")
    store.create_collection(CollectionRecord("c", "arn:c", dt.datetime.now(dt.UTC), "2.0"), {})
    rng = np.random.default_rng(3)
    plant(store, "c", 20, rng)  # bad rows: quarantined on the first build
    rule = VectorRule(256, (0.999, 1.001), (0.0, 1.001))
    first = SyncedIndex(store, TieredIndex(), tmp_path / "index", rules=lambda space: rule)
    first.open()
    assert first.inner.size("faces/c") == 20
    # Damage a vector inside the saved space, keeping every checksum right (as a bug or an older release could).
    poisoned = TieredIndex()
    poisoned.load_space(next(Path(tmp_path / "index").glob("*.rkix")))
    poisoned._spaces["faces/c"].blocks[0][0, 3] = np.nan  # a hand-made bad snapshot
    first.close()
    poisoned.save_space("faces/c", next(Path(tmp_path / "index").glob("*.rkix")))
    caplog.set_level("WARNING")
    second = SyncedIndex(store, TieredIndex(), tmp_path / "index", rules=lambda space: rule)
    second.open()
    assert "ignoring the index snapshot" in caplog.text and "unusable vectors" in caplog.text
    assert second.inner.size("faces/c") == 20
    assert second.inner.rejected_keys("faces/c", lambda rows: rule.usable(rows)) == []
    second.close()


def test_the_api_stores_no_vector_its_face_model_would_not_produce(tmp_path, monkeypatch):
    """The API's own write paths go through the same rules: a face model answering NaN stores nothing
    (InternalServerError), and a quarantined face cannot join a user (FACE_NOT_FOUND)."""
    from rekollect.config import Settings
    from rekollect.errors import InternalServerError
    from rekollect.operations import OPERATIONS
    from rekollect.server import build_service, open_stores, shut_down

    settings = Settings(data_dir=tmp_path / "data")
    stores = open_stores(settings)
    service = build_service(settings, stores)
    call = {name: partial(operation, service) for name, operation in OPERATIONS.items()}
    try:
        call["CreateCollection"]({"CollectionId": "c"})
        pack = service.packs.default
        embed = pack.embed
        monkeypatch.setattr(pack, "embed", lambda image, faces: embed(image, faces) * np.nan)
        with pytest.raises(InternalServerError, match="Embedding: a vector with a NaN or infinite value"):
            call["IndexFaces"]({"CollectionId": "c", "Image": {"Bytes": OBAMA}})
        assert call["DescribeCollection"]({"CollectionId": "c"})["FaceCount"] == 0
        monkeypatch.setattr(pack, "embed", embed)
        good = call["IndexFaces"]({"CollectionId": "c", "Image": {"Bytes": OBAMA}})["FaceRecords"][0]["Face"]["FaceId"]
        planted = plant(service.store, "c", 0, np.random.default_rng(1))
        call["CreateUser"]({"CollectionId": "c", "UserId": "u"})
        answer = call["AssociateFaces"]({"CollectionId": "c", "UserId": "u", "FaceIds": [good, *planted.values()]})
        assert [face["FaceId"] for face in answer["AssociatedFaces"]] == [good]
        assert {failure["FaceId"]: failure["Reasons"] for failure in answer["UnsuccessfulFaceAssociations"]} == {
            face_id: ["FACE_NOT_FOUND"] for face_id in planted.values()
        }
        assert np.isfinite(service.store.get_user("c", "u").vector).all()
    finally:
        shut_down(service, threading.Event())

