"""``PostgresStore`` and ``PostgresJobStore`` against a real PostgreSQL, next to the SQLite stores.

The same calls run on both metadata stores and must give the same records and change log; then
what only PostgreSQL does: migrations applied once however many nodes start, the shared secret,
``NOTIFY`` waking a follower, job claims under leases (``SKIP LOCKED``), and errors while the
database is down.
"""

from __future__ import annotations

import datetime as dt
import signal
import threading
import time
import uuid
from collections.abc import Iterator

import boto3
import numpy as np
import psycopg
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError
from postgres_server import PostgresServer
from support import ServerProcess, image_bytes

from rekollect.errors import InternalServerError, LimitExceededException, ResourceNotFoundException
from rekollect.storage.base import CollectionRecord, FaceRecord
from rekollect.storage.jobs import IN_PROGRESS, SUCCEEDED, JobRecord, ResultRow
from rekollect.storage.postgres import PostgresStore
from rekollect.storage.postgres_db import OUTAGE_WAIT, PostgresDatabase
from rekollect.storage.postgres_jobs import PostgresJobStore
from rekollect.storage.sqlite import SqliteStore
from rekollect.video.jobs import VIDEO_APIS as VIDEO


@pytest.fixture(scope="module")
def postgres() -> Iterator[PostgresServer]:
    server = PostgresServer()
    yield server
    server.close()


@pytest.fixture
def database(postgres: PostgresServer) -> Iterator[PostgresDatabase]:
    database = PostgresDatabase(postgres.url, wait_seconds=2)
    with database.pool.connection() as connection:
        connection.execute("DROP SCHEMA public CASCADE")
        connection.execute("CREATE SCHEMA public")
    yield database
    database.close()


def _face(face_id: str, image_id: str, value: float) -> FaceRecord:
    return FaceRecord(face_id, image_id, "ext", (0.1, 0.2, 0.3, 0.4), 99.5, "2.0", np.full(4, value, np.float32))


def _exercise(store) -> list:
    """The same calls on any MetadataStore; what they return, change log included."""
    created = dt.datetime(2026, 12, 1, tzinfo=dt.UTC)
    results: list = [
        store.create_collection(CollectionRecord("c", "arn:c", created, "2.0"), {"k": "v"}),
        store.create_collection(CollectionRecord("c", "arn:c", created, "2.0"), {}),
    ]
    store.add_faces("c", "hash", [_face("f1", "i1", 0.5), _face("f2", "i1", 0.25)])
    results += [store.get_collection("c"), store.get_tags("c"), store.find_image("c", "hash", "ext")]
    results += [store.face_collections(["f2", "missing", "f1"])]
    results += [store.create_user("c", "u"), store.create_user("c", "u")]
    with store.atomic():
        store.set_face_user("c", ["f1"], "u")
        store.set_user_vector("c", "u", np.ones(4, np.float32))
    page = store.list_faces("c", None, 1)
    results += [page.items, store.list_faces("c", page.cursor, 1).items, store.get_user("c", "u")]
    results += [store.delete_faces("c", ["f2", "missing"]), store.count_faces("c"), store.count_users("c")]
    results += [[(change.space, change.key) for change in store.index_changes(0, 100)]]
    results += [store.delete_collection("c"), store.get_collection("c")]
    with pytest.raises(ResourceNotFoundException):
        store.set_tags("c", {"a": "b"})
    results += [[(change.space, change.key) for change in store.index_changes(0, 100)]]
    return [repr(result) for result in results]


def test_postgres_store_answers_as_sqlite_does(database, tmp_path):
    assert _exercise(PostgresStore(database)) == _exercise(SqliteStore(tmp_path / "store.sqlite3"))


def test_migrations_apply_once_and_the_secret_is_shared(database, postgres):
    stores = []
    threads = [threading.Thread(target=lambda: stores.append(PostgresStore(database))) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    with database.pool.connection() as connection:
        assert connection.execute("SELECT version FROM rekollect_schema").fetchall() == [(1,)]
    other = PostgresDatabase(postgres.url)
    try:
        assert PostgresStore(other).secret("pagination", 32) == stores[0].secret("pagination", 32)
        assert len(stores[0].secret("pagination", 32)) == 32
    finally:
        other.close()


def test_a_commit_wakes_the_follower(database):
    store = PostgresStore(database)
    woken = threading.Event()
    stop = threading.Event()
    follower = threading.Thread(target=store.follow_changes, args=(woken.set, stop))
    follower.start()
    try:
        assert woken.wait(5)  # once at connection, for what was missed
        woken.clear()
        store.create_collection(CollectionRecord("c", "arn:c", dt.datetime.now(dt.UTC), "2.0"), {})
        assert not woken.wait(0.5)  # creating a collection logs no index change
        store.add_faces("c", "hash", [_face("f1", "i1", 0.5)])
        assert woken.wait(5)
    finally:
        stop.set()
        follower.join()


def test_jobs_are_claimed_once_and_taken_over_after_the_lease(database):
    PostgresStore(database)  # migrates
    jobs = PostgresJobStore(database)
    jobs.add(JobRecord("j1", "StartFaceDetection", "token", {"Video": {}}, IN_PROGRESS), 2, VIDEO)
    assert jobs.add(JobRecord("j2", "StartFaceDetection", "token", {"Video": {}}, IN_PROGRESS), 2, VIDEO).job_id == "j1"
    jobs.add(JobRecord("j3", "StartFaceDetection", None, {"Video": {}}, IN_PROGRESS), 2, VIDEO)
    with pytest.raises(LimitExceededException):
        jobs.add(JobRecord("j4", "StartFaceDetection", None, {"Video": {}}, IN_PROGRESS), 2, VIDEO)

    assert jobs.claim("a", 0.5, VIDEO).job_id == "j1"
    assert jobs.claim("b", 0.5, VIDEO).job_id == "j3"
    assert jobs.claim("c", 0.5, VIDEO) is None
    assert jobs.claim("c", 0.5, ("StartFaceClustering",)) is None  # workers claim only their kinds
    assert jobs.renew("j1", "a", 0.5) and not jobs.renew("j1", "b", 0.5)
    time.sleep(0.7)  # a's lease on j1 runs out: c takes it over
    assert jobs.claim("c", 30, VIDEO).job_id == "j1"
    assert jobs.finish("j1", "a", SUCCEEDED, None, None, []) is None  # a no longer owns it
    jobs.set_progress("j1", "a", 0.9)  # ignored: a no longer owns it
    jobs.set_progress("j1", "c", 0.5)
    assert jobs.progress("j1") == 0.5
    finished = jobs.finish("j1", "c", SUCCEEDED, None, {"DurationMillis": 1}, [ResultRow(5, None, {"x": 1})])
    assert finished.status == SUCCEEDED and jobs.results("j1", "TIMESTAMP", 0, 10) == ([{"x": 1}], False)


def test_requests_while_the_database_is_down_get_a_clear_error(database, postgres):
    store = PostgresStore(database)
    postgres.stop(signal.SIGQUIT)
    try:
        with pytest.raises(InternalServerError, match="database is unavailable"):
            store.count_faces("c")
    finally:
        postgres.start()
    deadline = time.monotonic() + 30  # the pool reconnects by itself (its retries back off from 1 s)
    while True:
        try:
            assert store.count_faces("c") == 0
            break
        except InternalServerError:
            assert time.monotonic() < deadline, "the pool did not reconnect"
            time.sleep(0.5)


def test_once_the_database_is_gone_requests_do_not_queue_their_waits(database, postgres, monkeypatch):
    """The first request waits ``wait_seconds`` for a connection; the next ones, which may have queued
    behind it, wait ``OUTAGE_WAIT`` only until a connection is made again (recorded, not timed)."""
    store = PostgresStore(database)
    asked: list[float | None] = []
    pooled = database.pool.connection

    def recording(timeout: float | None = None):
        asked.append(timeout)
        return pooled(timeout=timeout)

    monkeypatch.setattr(database.pool, "connection", recording)
    postgres.stop(signal.SIGQUIT)
    try:
        for _ in range(3):
            with pytest.raises(InternalServerError, match="database is unavailable"):
                store.count_faces("c")
    finally:
        postgres.start()
    assert asked == [2, OUTAGE_WAIT, OUTAGE_WAIT]
    deadline = time.monotonic() + 30
    while True:
        try:
            assert store.count_faces("c") == 0
            break
        except InternalServerError:
            assert time.monotonic() < deadline, "the pool did not reconnect"
            time.sleep(0.5)
    asked.clear()
    store.count_faces("c")
    assert asked == [2]  # connected again: the full wait is back


def test_requests_in_flight_fail_within_the_wait_when_the_database_stops(postgres, tmp_path):
    """A server on PostgreSQL under concurrent requests; the database stops: every request answers
    InternalServerError after one connection wait (3 s) at most, never several queued one after
    another behind the service's and the index's locks (which took requests 6 to 15 s before).
    The bound leaves 3 s for the face detection a request may do before it needs the database."""
    with psycopg.connect(postgres.url_for("postgres"), autocommit=True) as connection:
        connection.execute("CREATE DATABASE outage")
    server = ServerProcess(tmp_path / "data", "--database-url", postgres.url_for("outage")).start()
    client = boto3.client(
        "rekognition",
        endpoint_url=server.url,
        region_name="us-east-1",
        aws_access_key_id="local",
        aws_secret_access_key="local",
        config=Config(retries={"total_max_attempts": 1}, read_timeout=120),  # each call one request
    )
    client.create_collection(CollectionId="c")
    face_id = client.index_faces(CollectionId="c", Image={"Bytes": image_bytes("people/Barack_Obama/obama.jpg")})[
        "FaceRecords"
    ][0]["Face"]["FaceId"]
    failures: list[tuple[str, float, str]] = []
    stop, failing = threading.Event(), threading.Event()

    def traffic(call) -> None:
        while not stop.is_set():
            started = time.monotonic()
            try:
                call()
            except ClientError as error:
                failures.append((error.response["Error"]["Code"], time.monotonic() - started, str(error)))
                failing.set()

    photo = {"Bytes": image_bytes("people/Barack_Obama/obama2.jpg")}
    calls = [  # requests that detect faces first are in flight, past their first read, when it stops
        lambda: client.index_faces(CollectionId="c", Image=photo, MaxFaces=1),
        lambda: client.search_faces_by_image(CollectionId="c", Image=photo),
        lambda: client.search_faces(CollectionId="c", FaceId=face_id),
        lambda: client.list_faces(CollectionId="c"),
        lambda: client.create_user(CollectionId="c", UserId=f"u{uuid.uuid4().hex}"),
    ]
    threads = [threading.Thread(target=traffic, args=(call,)) for call in calls]
    for thread in threads:
        thread.start()
    try:
        postgres.stop(signal.SIGQUIT)
        assert failing.wait(60)
        deadline = time.monotonic() + 60
        while len(failures) < 3 * len(calls):  # several rounds of every kind of request
            assert time.monotonic() < deadline
            time.sleep(0.1)
    finally:
        stop.set()
        for thread in threads:
            thread.join()
        postgres.start()
        server.stop()
    assert {code for code, _, _ in failures} == {"InternalServerError"}
    assert all("database is unavailable" in message for _, _, message in failures)
    slowest = max(seconds for _, seconds, _ in failures)
    assert slowest < 2 * 3.0, f"a request waited {slowest:.1f} s: waits were queued"

