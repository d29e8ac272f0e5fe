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
from collections.abc import Iterator

import numpy as np
import pytest
from postgres_server import PostgresServer

from rekollect.errors import InternalServerError, LimitExceededException, ResourceNotFoundException
from rekollect.storage.base import CollectionRecord, FaceRecord
from rekollect.storage.jobs import IN_PROGRESS, SUCCEEDED, JobRecord, ResultRow
from rekollect.storage.postgres import PostgresStore
from rekollect.storage.postgres_db import PostgresDatabase
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
