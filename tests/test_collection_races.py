"""Every write inside a collection that races DeleteCollection either lands before the deletion (and
is deleted with the collection) or fails with ``ResourceNotFoundException``: nothing it wrote shows
up in a collection later created with the same id. The race is made deterministic: a store proxy
deletes the collection, through another connection (as another request or server process would),
at the point named by each case: right after the operation has checked that the collection
exists, or in the middle of a video job's analysis."""

from __future__ import annotations

import datetime as dt
import shutil
import sqlite3
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
from support import FACES, image_bytes

from rekollect.config import Settings
from rekollect.errors import ResourceNotFoundException
from rekollect.liveness.sessions import LivenessSessions
from rekollect.operations import bind_operations
from rekollect.server import build_jobs, build_service, build_streams, open_stores, shut_down
from rekollect.storage.base import CollectionRecord
from rekollect.storage.sqlite import SqliteStore

FACE = image_bytes("people/Barack_Obama/obama_small.jpg")
OTHER = image_bytes("people/Tom_Hanks/Tom_Hanks_54745.png")
LIN = image_bytes("people/Lin-Manuel_Miranda/lin-manuel-miranda.png")
ARN = "arn:aws:rekognition:us-east-1:000000000000:collection/"


class DeletesDuring:
    """Store proxy that deletes ``collection`` through ``other`` once, after ``method`` has run."""

    def __init__(self, store: SqliteStore, other: SqliteStore) -> None:
        self._store, self._other = store, other
        self.armed: tuple[str, str] | None = None

    def __getattr__(self, name: str) -> Any:
        value = getattr(self._store, name)
        if self.armed is None or self.armed[0] != name:
            return value

        def call(*args: Any, **kwargs: Any) -> Any:
            result = value(*args, **kwargs)
            if self.armed is not None:
                collection, self.armed = self.armed[1], None
                assert self._other.delete_collection(collection)
            return result

        return call


@pytest.fixture(scope="module")
def service(tmp_path_factory) -> Iterator[tuple[Any, dict, DeletesDuring]]:
    root = tmp_path_factory.mktemp("races")
    (root / "buckets" / "videos").mkdir(parents=True)
    shutil.copyfile(FACES / "video" / "short_hamilton_clip.mp4", root / "buckets" / "videos" / "clip.mp4")
    settings = Settings(data_dir=root / "data", s3_local_root=root / "buckets")
    stores = open_stores(settings)
    service = build_service(settings, stores)
    videos, _ = build_jobs(settings, service, stores)
    proxy = DeletesDuring(service.store, SqliteStore(root / "data" / "rekollect.sqlite3"))
    service.store = proxy
    yield service, bind_operations(service, videos, LivenessSessions(service, proxy), build_streams(settings, service, stores)), proxy
    shut_down(service, threading.Event())


def _setup(call: dict, name: str) -> dict[str, str]:
    call["CreateCollection"]({"CollectionId": name, "Tags": {"old": "tag"}})
    faces = [call["IndexFaces"]({"CollectionId": name, "Image": {"Bytes": image}}) for image in (FACE, OTHER)]
    face_ids = [response["FaceRecords"][0]["Face"]["FaceId"] for response in faces]
    call["CreateUser"]({"CollectionId": name, "UserId": "someone"})
    call["AssociateFaces"]({"CollectionId": name, "UserId": "someone", "FaceIds": face_ids[:1], "UserMatchThreshold": 0})
    return {"associated": face_ids[0], "free": face_ids[1]}


CASES = {
    "IndexFaces": lambda name, ids: {"CollectionId": name, "Image": {"Bytes": FACE}, "ExternalImageId": "late"},
    "CreateUser": lambda name, ids: {"CollectionId": name, "UserId": "late", "ClientRequestToken": "t" * 10},
    "DeleteUser": lambda name, ids: {"CollectionId": name, "UserId": "someone"},
    "AssociateFaces": lambda name, ids: {"CollectionId": name, "UserId": "someone", "FaceIds": [ids["free"]]},
    "DisassociateFaces": lambda name, ids: {"CollectionId": name, "UserId": "someone", "FaceIds": [ids["associated"]]},
    "DeleteFaces": lambda name, ids: {"CollectionId": name, "FaceIds": [ids["free"]]},
    "TagResource": lambda name, ids: {"ResourceArn": ARN + name, "Tags": {"late": "tag"}},
    "UntagResource": lambda name, ids: {"ResourceArn": ARN + name, "TagKeys": ["old"]},
}


@pytest.mark.parametrize("operation", list(CASES))
def test_a_write_racing_delete_collection_leaves_nothing_behind(service, operation):
    _, call, proxy = service
    name = f"race-{operation.lower()}"
    ids = _setup(call, name)
    proxy.armed = ("get_collection", name)  # DeleteCollection lands right after the operation's check
    with pytest.raises(ResourceNotFoundException):
        call[operation](CASES[operation](name, ids))
    assert proxy.armed is None
    _assert_recreated_empty(call, name)


def test_a_face_search_job_whose_collection_is_deleted_while_it_runs_fails(service):
    _, call, proxy = service
    call["CreateCollection"]({"CollectionId": "race-video"})
    call["IndexFaces"]({"CollectionId": "race-video", "Image": {"Bytes": LIN}, "ExternalImageId": "lin"})
    proxy.armed = ("get_faces", "race-video")  # deleted after the job's first match
    video = {"S3Object": {"Bucket": "videos", "Name": "clip.mp4"}}
    job_id = call["StartFaceSearch"]({"CollectionId": "race-video", "Video": video})["JobId"]
    deadline = time.monotonic() + 300
    while (result := call["GetFaceSearch"]({"JobId": job_id}))["JobStatus"] == "IN_PROGRESS":
        assert time.monotonic() < deadline
        time.sleep(0.5)
    assert proxy.armed is None, "the job never matched a face"
    assert result["JobStatus"] == "FAILED" and "race-video was deleted" in result["StatusMessage"]
    assert "Persons" not in result
    _assert_recreated_empty(call, "race-video")


def _assert_recreated_empty(call: dict, name: str) -> None:
    call["CreateCollection"]({"CollectionId": name})
    described = call["DescribeCollection"]({"CollectionId": name})
    assert (described["FaceCount"], described["UserCount"]) == (0, 0)
    assert call["ListFaces"]({"CollectionId": name})["Faces"] == []
    assert call["ListUsers"]({"CollectionId": name})["Users"] == []
    assert call["ListTagsForResource"]({"ResourceArn": ARN + name})["Tags"] == {}
    matches = call["SearchFacesByImage"]({"CollectionId": name, "Image": {"Bytes": FACE}, "FaceMatchThreshold": 0})
    assert matches["FaceMatches"] == []
    call["DeleteCollection"]({"CollectionId": name})


def test_rows_left_by_earlier_races_are_removed_when_the_store_opens(tmp_path):
    path = tmp_path / "rekollect.sqlite3"
    SqliteStore(path).close()
    with sqlite3.connect(path) as db:  # what an earlier release could leave: rows of a deleted collection
        db.execute("PRAGMA user_version = 0")
        db.execute("INSERT INTO users (collection_id, user_id) VALUES ('gone', 'ghost')")
        db.execute("INSERT INTO tags (collection_id, key, value) VALUES ('gone', 'k', 'v')")
        db.execute("INSERT INTO saved_responses VALUES ('CreateUser\ngone', 'token', 'f', '{}')")
        db.execute(
            "INSERT INTO faces (collection_id, face_id, image_id, box_width, box_height, box_left, box_top,"
            " confidence, model_version, embedding) VALUES ('gone', 'f1', 'i1', 1, 1, 0, 0, 99, 'v', x'00')"
        )
    store = SqliteStore(path)
    store.create_collection(CollectionRecord("gone", "arn", dt.datetime.now(dt.UTC), "v"), {})
    assert (store.count_faces("gone"), store.count_users("gone"), store.get_tags("gone")) == (0, 0, {})
    assert store.saved_response("CreateUser\ngone", "token") is None
    drops = [(change.space, change.key) for change in store.index_changes(0, 100)]
    assert ("faces/gone", None) in drops and ("users/gone", None) in drops
    store.close()
