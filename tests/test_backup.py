"""``rekollect collection export`` / ``import``: a collection's round trip between data directories
and servers, while they run, and the files an import must refuse."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from support import ServerProcess, image_bytes

from rekollect.storage.base import CollectionRecord, FaceRecord
from rekollect.storage.sqlite import SqliteStore

OBAMA = ["people/Barack_Obama/obama.jpg", "people/Barack_Obama/obama1.jpg"]
GROUP = "groups/obama_and_biden.jpg"
PROBE = "people/Barack_Obama/obama2.jpg"
TAGS = {"team": "front-desk", "site": "north"}


@dataclass(frozen=True)
class Exported:
    collection: str
    file: Path


def rekollect(*args: str) -> subprocess.CompletedProcess[str]:
    """``python -m rekollect <args>`` (the console script as CI's fresh venv has it)."""
    return subprocess.run([sys.executable, "-m", "rekollect", *args], capture_output=True, text=True, timeout=120)


def import_file(data_dir: Path, file: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    return rekollect("collection", "import", "--data-dir", str(data_dir), "--input", str(file), *extra)


def state(client, collection: str) -> dict:
    """Everything a client sees of a collection, search results included."""
    described = client.describe_collection(CollectionId=collection)
    probe = {"Bytes": image_bytes(PROBE)}
    return {
        "describe": {key: value for key, value in described.items() if key != "ResponseMetadata"},
        "faces": client.list_faces(CollectionId=collection)["Faces"],
        "users": client.list_users(CollectionId=collection)["Users"],
        "tags": client.list_tags_for_resource(ResourceArn=described["CollectionARN"])["Tags"],
        "matches": client.search_faces_by_image(CollectionId=collection, Image=probe, FaceMatchThreshold=0)[
            "FaceMatches"
        ],
        "user_matches": client.search_users_by_image(CollectionId=collection, Image=probe, UserMatchThreshold=0)[
            "UserMatches"
        ],
    }


@pytest.fixture(scope="module")
def exported(rekognition, server, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Exported]:
    """A collection on face model 2.1 (the default) with faces, a user and tags in the session server, exported while it runs."""
    collection = "backup-source"
    rekognition.create_collection(CollectionId=collection, Tags=TAGS)
    assert rekognition.describe_collection(CollectionId=collection)["FaceModelVersion"] == "2.1"
    obama = [
        rekognition.index_faces(CollectionId=collection, Image={"Bytes": image_bytes(path)}, ExternalImageId=f"o{n}")[
            "FaceRecords"
        ][0]["Face"]["FaceId"]
        for n, path in enumerate(OBAMA)
    ]
    group = rekognition.index_faces(CollectionId=collection, Image={"Bytes": image_bytes(GROUP)}, ExternalImageId="g")
    assert len(group["FaceRecords"]) == 3
    rekognition.create_user(CollectionId=collection, UserId="obama")
    rekognition.create_user(CollectionId=collection, UserId="nobody")
    rekognition.associate_faces(CollectionId=collection, UserId="obama", FaceIds=obama)
    file = tmp_path_factory.mktemp("backup") / "backup.zip"
    done = rekollect(
        "collection", "export", "--data-dir", str(server.data_dir), "--collection-id", collection, "--output", str(file)
    )
    assert done.returncode == 0, done.stderr
    assert "5 faces, 2 users" in done.stdout
    yield Exported(collection, file)
    rekognition.delete_collection(CollectionId=collection)


def test_round_trip_to_another_data_dir_gives_identical_results(rekognition, exported, tmp_path):
    with zipfile.ZipFile(exported.file) as archive:
        manifest = json.loads(archive.read("manifest.json"))
        assert sorted(archive.namelist()) == [
            "crops.jsonl", "faces.jsonl", "images.jsonl", "manifest.json", "users.jsonl"
        ]  # fmt: skip
    assert manifest["Collection"]["FaceModelVersion"] == "2.1" and manifest["Collection"]["Tags"] == TAGS
    assert {name: entry["Records"] for name, entry in manifest["Files"].items()} == {
        "images.jsonl": 3,
        "faces.jsonl": 5,
        "users.jsonl": 2,
        "crops.jsonl": 0,  # the session server keeps no face pictures (no --face-crops)
    }

    data = tmp_path / "data"
    done = import_file(data, exported.file)
    assert done.returncode == 0, done.stderr
    target = ServerProcess(data).start()
    try:
        copy = target.client()
        source_state, target_state = state(rekognition, exported.collection), state(copy, exported.collection)
        assert target_state == source_state
        assert len(target_state["matches"]) == 5 and target_state["user_matches"][0]["User"]["UserId"] == "obama"
        assert {user["UserId"]: user["UserStatus"] for user in target_state["users"]} == {
            "obama": "ACTIVE",
            "nobody": "CREATED",
        }
        # Same bytes and ExternalImageId are still recognised as already indexed.
        again = copy.index_faces(
            CollectionId=exported.collection, Image={"Bytes": image_bytes(OBAMA[0])}, ExternalImageId="o0"
        )
        assert again["FaceRecords"][0]["Face"]["FaceId"] == target_state["faces"][0]["FaceId"]
    finally:
        target.stop()


def test_import_into_the_running_server_is_searchable_at_once(rekognition, exported, server):
    refused = import_file(server.data_dir, exported.file)
    assert refused.returncode == 1 and f"collection id: {exported.collection} already exists" in refused.stderr
    refused = import_file(server.data_dir, exported.file, "--collection-id", "backup-copy")
    assert refused.returncode == 1 and "--new-face-ids" in refused.stderr
    assert "backup-copy" not in rekognition.list_collections()["CollectionIds"]

    done = import_file(server.data_dir, exported.file, "--collection-id", "backup-copy", "--new-face-ids")
    assert done.returncode == 0, done.stderr
    try:
        source, copy = state(rekognition, exported.collection), state(rekognition, "backup-copy")
        assert copy["describe"]["CollectionARN"].endswith(":collection/backup-copy")
        assert copy["tags"] == TAGS and copy["users"] == source["users"]
        assert not {face["FaceId"] for face in copy["faces"]} & {face["FaceId"] for face in source["faces"]}
        assert [(m["Face"]["ExternalImageId"], m["Similarity"]) for m in copy["matches"]] == [
            (m["Face"]["ExternalImageId"], m["Similarity"]) for m in source["matches"]
        ]
        assert copy["user_matches"] == source["user_matches"]
    finally:
        rekognition.delete_collection(CollectionId="backup-copy")


def rewrite(source: Path, target: Path, edit) -> None:
    """Copy a backup file, passing each member's bytes through ``edit(name, data)``."""
    with zipfile.ZipFile(source) as old, zipfile.ZipFile(target, "w") as new:
        for name in old.namelist():
            new.writestr(name, edit(name, old.read(name)))


def with_model_version(version: str):
    def edit(name: str, data: bytes) -> bytes:
        if name != "manifest.json":
            return data
        manifest = json.loads(data)
        manifest["Collection"]["FaceModelVersion"] = version
        return json.dumps(manifest).encode()

    return edit


def test_damaged_or_foreign_files_are_refused(exported, tmp_path):
    data = tmp_path / "data"
    tampered = tmp_path / "tampered.zip"
    rewrite(
        exported.file, tampered, lambda name, data: data.replace(b'"o1"', b'"o9"') if name == "faces.jsonl" else data
    )
    done = import_file(data, tampered)
    assert done.returncode == 1 and "faces.jsonl does not match its SHA-256" in done.stderr

    unknown = tmp_path / "unknown.zip"
    rewrite(exported.file, unknown, with_model_version("3.0"))
    done = import_file(data, unknown)
    assert done.returncode == 1
    assert "face model version 3.0, which this server cannot search (it has 1.0, 2.0, 2.1)" in done.stderr

    wrong_length = tmp_path / "wrong-length.zip"
    rewrite(exported.file, wrong_length, with_model_version("rekollect-dlib-resnet-v1"))
    done = import_file(data, wrong_length)
    assert done.returncode == 1
    assert "users.jsonl line 1: Vector: a vector of 256 values where the face model's have 128" in done.stderr

    not_a_backup = tmp_path / "photo.zip"
    not_a_backup.write_bytes(image_bytes(PROBE))
    done = import_file(data, not_a_backup)
    assert done.returncode == 1 and "not a readable backup file" in done.stderr

    missing = rekollect(
        "collection", "export", "--data-dir", str(data), "--collection-id", "nope", "--output", str(tmp_path / "x.zip")
    )
    assert missing.returncode == 1 and "the collection id: nope does not exist" in missing.stderr

    # Nothing of the refused imports was stored (the store exists: the refusals opened it).
    store_check = rekollect(
        "collection",
        "export",
        "--data-dir",
        str(data),
        "--collection-id",
        exported.collection,
        "--output",
        str(tmp_path / "y.zip"),
    )
    assert store_check.returncode == 1 and "does not exist" in store_check.stderr


def test_snapshot_reads_one_state_while_another_process_writes(tmp_path):
    """What makes an export consistent: reads inside ``snapshot()`` ignore commits made meanwhile."""
    path = tmp_path / "rekollect.sqlite3"
    reader, writer = SqliteStore(path), SqliteStore(path)
    record = CollectionRecord(
        "c", "arn:aws:rekognition:us-east-1:000000000000:collection/c", dt.datetime.now(dt.UTC), "2.0"
    )
    writer.create_collection(record, {"k": "v"})
    face = FaceRecord("f", "i", None, (0.5, 0.5, 0.1, 0.1), 99.0, "2.0", np.ones(256, dtype=np.float32))
    with reader.snapshot():
        assert reader.count_faces("c") == 0
        writer.add_faces("c", "hash", [face])  # commits at once: readers never block a WAL writer
        writer.set_tags("c", {"k": "changed"})
        assert reader.count_faces("c") == 0 and reader.get_tags("c") == {"k": "v"}
    assert reader.count_faces("c") == 1 and reader.get_tags("c") == {"k": "changed"}
