"""``PostgresStore`` and ``PostgresJobStore`` against a real PostgreSQL, next to the SQLite stores.

The same calls run on both metadata stores, every method of ``MetadataStore``, and must give the
same records, in the same order, and the same change log; the same calls run on both job stores,
every method of ``JobStore``, and must give the same jobs and results. Then what only PostgreSQL does: migrations applied once however many nodes start, the shared secret,
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
from rekollect.storage.base import CollectionRecord, FaceRecord, SavedResponse, every_item
from rekollect.storage.jobs import FAILED, IN_PROGRESS, SUCCEEDED, JobRecord, ResultRow
from rekollect.storage.liveness import LivenessSessionRecord
from rekollect.storage.postgres import PostgresStore
from rekollect.storage.postgres_db import OUTAGE_WAIT, PostgresDatabase
from rekollect.storage.postgres_jobs import PostgresJobStore
from rekollect.storage.postgres_schema import MIGRATIONS
from rekollect.storage.sqlite import SqliteStore
from rekollect.storage.sqlite_jobs import SqliteJobStore
from rekollect.storage.streams import FAILED as PROCESSOR_FAILED
from rekollect.storage.streams import RUNNING, STARTING, STOPPED, SqlStreamStore, StreamProcessorRecord
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
    results += _exercise_the_rest(store)
    return [repr(result) for result in results]


def _exercise_the_rest(store) -> list:
    """The store methods ``_exercise`` does not call, and the orders of every listing."""
    created = dt.datetime(2026, 12, 2, tzinfo=dt.UTC)
    results: list = [store.index_cursor()]
    for name in ("b", "a", "c"):  # creation order is not name order
        store.create_collection(CollectionRecord(name, f"arn:{name}", created, "1.0"), {"z": "1", "y": "2"})
    page = store.list_collections(None, 2)
    results += [page.items, store.list_collections(page.cursor, 2)]
    store.set_tags("a", {"x": "3", "y": "new"})
    store.remove_tags("a", ["z", "unknown"])
    results += [store.get_tags("a")]
    # Images whose ids sort against their indexing order; faces asked for out of order.
    store.add_faces("a", "h2", [_face("a2", "img-2", 0.1), _face("a3", "img-2", 0.2)])
    store.add_faces("a", "h1", [_face("a1", "img-1", 0.3)])
    store.add_faces("b", "h9", [_face("b1", "img-9", 0.4)])
    store.add_faces("a", "h0", [])
    results += [store.get_faces("a", ["a1", "b1", "a3", "a2", "a1", "missing"])]
    results += [
        store.faces_of_image("a", "img-2"),
        store.find_image("a", "h1", "ext"),
        store.find_image("a", "h1", "x"),
    ]
    results += [list(store.iter_images("a")), list(store.iter_embeddings("a")), store.count_faces("a")]
    results += [store.list_faces("a", None, 10, face_ids=["a3", "a1", "b1"]).items]
    store.add_face_crops("a", {"a3": b"\xff\xd8\xff-a3", "a1": b"\xff\xd8\xff-a1"})
    store.add_face_crops("a", {"a1": b"\xff\xd8\xff-a1-again"})  # replaces
    results += [store.get_face_crops("a", ["a1", "a2", "a3", "b1", "missing"]), list(store.iter_face_crops("a"))]
    store.delete_faces("a", ["a3"])
    store.add_faces("a", "h2b", [_face("a3", "img-2b", 0.2)])  # the same FaceId again, without its picture
    results += [store.get_face_crops("a", ["a3"]), list(store.iter_face_crops("a"))]
    results += [store.create_user("a", "v"), store.create_user("a", "w"), store.create_user("b", "v")]
    store.set_face_user("a", ["a2", "a3", "b1"], "v")
    store.set_user_vector("a", "v", np.full(4, 0.5, np.float32))
    results += [store.list_faces("a", None, 10, user_id="v"), store.list_faces("a", None, 1, user_id="w")]
    results += [list(every_item(lambda after: store.list_users("a", after, 1))), store.count_users("a")]
    results += [list(store.iter_user_vectors("a"))]
    store.set_face_user("a", ["a3"], None)
    results += [store.get_user("a", "v"), store.get_user("a", "nobody")]
    results += [store.delete_user("a", "v"), store.delete_user("a", "v"), store.get_faces("a", ["a2"])]
    for write in (
        lambda: store.add_faces("gone", "h", [_face("g1", "img-g", 0.5)]),
        lambda: store.remove_tags("gone", ["z"]),
        lambda: store.create_user("gone", "u"),
        lambda: store.delete_user("gone", "u"),
        lambda: store.delete_faces("gone", ["a1"]),
        lambda: store.set_face_user("gone", ["a1"], None),
        lambda: store.set_user_vector("gone", "u", None),
        lambda: store.add_face_crops("gone", {"g1": b"x"}),
    ):
        with pytest.raises(ResourceNotFoundException):
            write()
    store.save_response("CreateUser\na", "token", SavedResponse("fingerprint", "{}"))
    results += [store.saved_response("CreateUser\na", "token"), store.saved_response("CreateUser\na", "other")]
    with store.snapshot():
        results += [store.count_faces("a"), store.get_collection("a")]
    with store.atomic():
        store.delete_faces("a", ["a1"])
        results += [store.index_changes(0, 1000)]  # none: this thread's writes are not committed
    results += [store.delete_collection("a"), store.saved_response("CreateUser\na", "token"), store.get_tags("a")]
    results += [list(store.iter_face_crops("a"))]
    results += [[(change.seq, change.space, change.key, change.vector) for change in store.index_changes(0, 1000)]]
    results += [store.index_changes(3, 2), store.index_cursor()]
    return results


def test_postgres_store_answers_as_sqlite_does(database, tmp_path):
    assert _exercise(PostgresStore(database)) == _exercise(SqliteStore(tmp_path / "store.sqlite3"))


def _exercise_jobs(jobs) -> list:
    """The same calls on any JobStore; what they return (``finished`` only as set or not: it is a time)."""

    def shown(job: JobRecord | None) -> object:
        return (
            job
            if job is None
            else (
                job.job_id,
                job.api,
                job.client_token,
                job.request,
                job.status,
                job.status_message,
                job.video_metadata,
                job.created,
                job.finished is not None,
            )
        )

    def job(job_id: str, token: str | None, api: str = "StartFaceDetection") -> JobRecord:
        return JobRecord(job_id, api, token, {"Video": {"n": job_id}}, IN_PROGRESS, created=1000.0 + len(job_id))

    results: list = [shown(jobs.add(job("j1", "token"), 2, VIDEO)), shown(jobs.add(job("j2", "token"), 2, VIDEO))]
    results += [
        shown(jobs.add(job("j3", None), 2, VIDEO)),
        shown(jobs.add(job("k1", None, "StartFaceClustering"), 1, ("StartFaceClustering",))),
    ]
    with pytest.raises(LimitExceededException):
        jobs.add(job("j4", None), 2, VIDEO)
    results += [jobs.count_in_progress(VIDEO), jobs.count_in_progress(("StartFaceClustering", *VIDEO))]
    results += [
        shown(jobs.get("j1")),
        shown(jobs.get("missing")),
        shown(jobs.find_by_token("StartFaceDetection", "token")),
    ]
    results += [shown(jobs.find_by_token("StartFaceSearch", "token"))]
    results += [shown(jobs.claim("a", 30, VIDEO)), shown(jobs.claim("b", 30, VIDEO)), shown(jobs.claim("c", 30, VIDEO))]
    results += [jobs.renew("j1", "a", -1), jobs.renew("j1", "b", 30)]  # a's lease on j1 has run out: c takes it over
    results += [shown(jobs.claim("c", 30, VIDEO)), jobs.renew("j1", "a", 30)]
    jobs.set_progress("j1", "a", 0.9)  # ignored: a no longer holds j1
    results += [jobs.progress("j1")]
    jobs.set_progress("j1", "c", 0.25)
    jobs.set_progress("j1", "c", 0.5)
    results += [jobs.progress("j1"), jobs.progress("j3")]
    rows = [
        ResultRow(200, 1, {"r": 0}),
        ResultRow(100, 2, {"r": 1}),
        ResultRow(100, 1, {"r": 2}),
        ResultRow(0, None, {"r": 3}),
    ]
    results += [shown(jobs.finish("j1", "a", SUCCEEDED, None, None, rows))]
    results += [shown(jobs.finish("j1", "c", SUCCEEDED, None, {"DurationMillis": 1}, rows))]
    results += [shown(jobs.finish("j1", "c", FAILED, "again", None, []))]  # finished already
    results += [shown(jobs.finish("j3", "b", FAILED, "it failed", None, []))]
    for order in ("TIMESTAMP", "INDEX"):
        results += [jobs.results("j1", order, 0, 10), jobs.results("j1", order, 1, 2), jobs.results("j1", order, 3, 2)]
    results += [
        jobs.count_in_progress(VIDEO),
        shown(jobs.get("j1")),
        shown(jobs.claim("d", 30, ("StartFaceClustering",))),
    ]
    page = jobs.list_jobs(VIDEO, None, 1)
    results += [[(shown(job), done) for job, done in page.items], page.cursor is not None]
    page = jobs.list_jobs(VIDEO, page.cursor, 5)
    results += [[(shown(job), done) for job, done in page.items], page.cursor]
    results += [[shown(job) for job, _ in jobs.list_jobs(("StartFaceClustering", *VIDEO), None, 10).items]]
    return [repr(result) for result in results]


def test_postgres_job_store_answers_as_sqlite_does(database, tmp_path):
    PostgresStore(database)  # migrates
    assert _exercise_jobs(PostgresJobStore(database)) == _exercise_jobs(SqliteJobStore(tmp_path / "jobs.sqlite3"))


def test_migrations_apply_once_and_the_secret_is_shared(database, postgres):
    stores = []
    threads = [threading.Thread(target=lambda: stores.append(PostgresStore(database))) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    with database.pool.connection() as connection:
        assert connection.execute("SELECT version FROM rekollect_schema ORDER BY version").fetchall() == [
            (number,) for number in range(1, len(MIGRATIONS) + 1)
        ]
    other = PostgresDatabase(postgres.url)
    try:
        assert PostgresStore(other).secret("pagination", 32) == stores[0].secret("pagination", 32)
        assert len(stores[0].secret("pagination", 32)) == 32
    finally:
        other.close()


def _exercise_liveness(store) -> list[str]:
    first = LivenessSessionRecord(
        "00000000-0000-4000-8000-000000000001", "token", {"AuditImagesLimit": 1}, 100.0, "CREATED"
    )
    again = LivenessSessionRecord("00000000-0000-4000-8000-000000000002", "token", {}, 150.0, "CREATED")
    old = LivenessSessionRecord("00000000-0000-4000-8000-000000000003", None, {}, 10.0, "CREATED")
    results = [
        store.add_liveness_session(old, token_after=0.0, prune_before=0.0),
        store.add_liveness_session(first, token_after=0.0, prune_before=0.0),
        store.add_liveness_session(again, token_after=50.0, prune_before=20.0),  # the same token: the first session
        store.get_liveness_session(old.session_id),  # pruned
        store.claim_liveness_session(first.session_id, 90.0, 160.0, {"kind": "light"}),
        store.claim_liveness_session(first.session_id, 90.0, 161.0, {"kind": "light"}),  # used once
    ]
    store.finish_liveness_session(first.session_id, "SUCCEEDED", {"Confidence": 99.5})
    results.append(store.get_liveness_session(first.session_id))
    return [repr(result) for result in results]


def test_postgres_keeps_liveness_sessions_as_sqlite_does(database, tmp_path):
    assert _exercise_liveness(PostgresStore(database)) == _exercise_liveness(SqliteStore(tmp_path / "store.sqlite3"))


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
    behind it, wait ``OUTAGE_WAIT`` (then try to connect by themselves) until the pool gives a
    connection again (recorded, not timed)."""
    store = PostgresStore(database)
    asked: list[float | None] = []

    def recording(method):
        def call(timeout: float | None = None):
            asked.append(timeout)
            return method(timeout=timeout)

        return call

    monkeypatch.setattr(database.pool, "getconn", recording(database.pool.getconn))  # connection() calls it
    postgres.stop(signal.SIGQUIT)
    try:
        for _ in range(3):
            with pytest.raises(InternalServerError, match="database is unavailable"):
                store.count_faces("c")
    finally:
        postgres.start()
    assert asked == [2, OUTAGE_WAIT, OUTAGE_WAIT]
    deadline = time.monotonic() + 30
    while True:  # back: served at once, by a connection of its own while the pool reconnects
        try:
            assert store.count_faces("c") == 0
            break
        except InternalServerError:
            assert time.monotonic() < deadline, "the database did not come back"
            time.sleep(0.5)
    deadline = time.monotonic() + 60
    while True:  # every request served meanwhile; once the pool gives a connection, the full wait is back
        asked.clear()
        assert store.count_faces("c") == 0
        if asked == [2]:
            break
        assert asked == [OUTAGE_WAIT] and time.monotonic() < deadline, "the pool did not reconnect"
        time.sleep(0.5)


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


def _exercise_streams(jobs) -> list:
    """The same calls on ``SqlStreamStore`` over a job store of either database; what they return
    (times left out: they are the clock's)."""
    store = SqlStreamStore(jobs)

    def described(record: StreamProcessorRecord | None) -> tuple | None:
        if record is None:
            return None
        return record.name, record.arn, record.settings, record.status, record.status_message, record.session_id, record.job_id, record.tags

    def shown(job: JobRecord | None) -> tuple | None:
        return None if job is None else (job.job_id, job.api, job.request, job.status, job.status_message)

    settings = {"Settings": {"FaceSearch": {"CollectionId": "c", "FaceMatchThreshold": 80.0}}}
    results: list = [
        store.create(StreamProcessorRecord("door", "arn:door", settings, STOPPED, tags={"site": "north"})),
        store.create(StreamProcessorRecord("door", "arn:other", {}, STOPPED)),
        store.create(StreamProcessorRecord("lab", "arn:lab", settings, STOPPED)),
    ]
    page = store.list(None, 1)
    results += [[described(item) for item in page.items], [described(item) for item in store.list(page.cursor, 5).items]]
    with store.atomic():
        store.start_session("door", JobRecord("sj", "StartStreamProcessor", None, {"Name": "door", "SessionId": "s1"}, IN_PROGRESS, created=1.0))
    results += [described(store.get("door")), shown(jobs.get("sj"))]
    results += [
        store.set_session_status("door", "s0", RUNNING, None, (STARTING,)),  # another session's: ignored
        store.set_session_status("door", "s1", RUNNING, "reconnecting", (STARTING,)),
        store.set_session_status("door", "s1", RUNNING, None, (STARTING,)),  # no longer STARTING
        described(store.get("door")),
    ]
    results += [jobs.holds("sj", "w"), jobs.cancel("sj", SUCCEEDED), shown(jobs.get("sj"))]
    with store.atomic():
        store.start_session("lab", JobRecord("sk", "StartStreamProcessor", None, {"Name": "lab", "SessionId": "s2"}, IN_PROGRESS, created=2.0))
    results += [shown(jobs.claim("w", 30, ("StartStreamProcessor",))), jobs.holds("sk", "w"), jobs.cancel("sk", SUCCEEDED)]
    store.add_matches("door", "s1", [f'{{"n": {n}}}' for n in range(4)], 3)
    store.add_matches("door", "s1", ['{"n": 4}'], 3)
    store.add_matches("lab", "s2", ['{"n": 9}'], 3)
    results += [store.matches("door", 10), store.matches("door", 1)]
    store.set_settings("door", {"changed": True})
    store.set_tags("door", {})
    store.set_status("door", PROCESSOR_FAILED, "it failed")
    results += [described(store.get("door"))]
    store.delete("door")
    results += [described(store.get("door")), store.matches("door", 10), store.matches("lab", 10)]
    return [repr(result) for result in results]


def test_postgres_stream_store_answers_as_sqlite_does(database, tmp_path):
    PostgresStore(database)  # migrates
    assert _exercise_streams(PostgresJobStore(database)) == _exercise_streams(SqliteJobStore(tmp_path / "jobs.sqlite3"))
