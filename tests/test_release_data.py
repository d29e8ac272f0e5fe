"""A data directory and a PostgreSQL schema written by the current release open unchanged.

The release before the one SQL store body (commit ``RELEASE``, taken from this repository's history
as ``test_model_versions.py`` does) serves a SQLite data directory, and then a PostgreSQL database,
through the API: collections with tags, faces of model 2.0 (one deleted), users with faces and an
idempotency token, a deleted collection, a finished face clustering job. It reads everything back
and exports a collection. Then this release serves the same directory and database: it answers
every read as the release did, exports the same records (in the same order on SQLite), and keeps
writing to them, face pictures (``--face-crops``, a table the release did not have) and stream
processors (in the tables the job store's schema version 2 adds) included.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import zipfile
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest
from botocore.config import Config
from postgres_server import PostgresServer
from support import ServerProcess, image_bytes, release_source

from rekollect.wire.service_model import DATA_PATH

RELEASE = "1a3e440"
"""The last commit on main before ``SqlStore`` (the store bodies of SQLite and PostgreSQL were two)."""

OBAMA = ["people/Barack_Obama/obama.jpg", "people/Barack_Obama/obama1.jpg"]
GROUP = "groups/selfie-many-people.jpg"
PROBE = "people/Barack_Obama/obama2.jpg"


@pytest.fixture(scope="module")
def release(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The ``src`` folder of ``RELEASE``."""
    return release_source(RELEASE, tmp_path_factory.mktemp("release"))


@pytest.fixture(scope="module")
def postgres() -> Iterator[PostgresServer]:
    server = PostgresServer()
    yield server
    server.close()


def extensions(server: ServerProcess, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("AWS_DATA_PATH", str(DATA_PATH))
    session = boto3.session.Session(
        region_name="us-east-1", aws_access_key_id="AKIDEXAMPLE", aws_secret_access_key="secret"
    )
    return session.client("rekollect-extensions", endpoint_url=server.url, config=Config(retries={"max_attempts": 1}))


def write(server: ServerProcess, monkeypatch: pytest.MonkeyPatch) -> str:
    """Write a bit of everything through the API; the face clustering job's id."""
    client = server.client()
    client.create_collection(CollectionId="kept", Tags={"team": "front-desk", "site": "north"})
    client.create_collection(CollectionId="gone")
    client.index_faces(CollectionId="gone", Image={"Bytes": image_bytes(OBAMA[0])})
    client.delete_collection(CollectionId="gone")
    obama = [
        client.index_faces(CollectionId="kept", Image={"Bytes": image_bytes(path)}, ExternalImageId=f"o{n}")[
            "FaceRecords"
        ][0]["Face"]["FaceId"]
        for n, path in enumerate(OBAMA)
    ]
    group = client.index_faces(CollectionId="kept", Image={"Bytes": image_bytes(GROUP)}, ExternalImageId="group")
    client.delete_faces(CollectionId="kept", FaceIds=[group["FaceRecords"][-1]["Face"]["FaceId"]])
    client.create_user(CollectionId="kept", UserId="obama", ClientRequestToken="create-obama")
    client.create_user(CollectionId="kept", UserId="nobody")
    client.associate_faces(CollectionId="kept", UserId="obama", FaceIds=obama, ClientRequestToken="associate-obama")
    job_id = extensions(server, monkeypatch).start_face_clustering(
        CollectionId="kept", FaceMatchThreshold=80, IncludeAssociatedFaces=True
    )["JobId"]
    clustering(server, monkeypatch, job_id)
    return job_id


def clustering(server: ServerProcess, monkeypatch: pytest.MonkeyPatch, job_id: str) -> dict:
    """The face clustering job, once finished."""
    client = extensions(server, monkeypatch)
    deadline = time.monotonic() + 60
    while (result := client.get_face_clustering(JobId=job_id))["JobStatus"] == "IN_PROGRESS":
        assert time.monotonic() < deadline, "the clustering job did not finish"
        time.sleep(0.2)
    result.pop("ResponseMetadata")
    return result


def read(server: ServerProcess, monkeypatch: pytest.MonkeyPatch, job_id: str) -> dict:
    """Everything the API reads back of what ``write`` wrote."""
    client = server.client()

    def answer(response: dict) -> dict:
        response.pop("ResponseMetadata")
        response.pop("NextToken", None)  # signed with the store's key: compared by what it pages to
        return response

    faces = client.list_faces(CollectionId="kept")["Faces"]
    searched = faces[0]["FaceId"]
    users_face = next(face["FaceId"] for face in faces if face.get("UserId") == "obama")
    return {
        "collections": answer(client.list_collections()),
        "described": answer(client.describe_collection(CollectionId="kept")),
        "tags": answer(client.list_tags_for_resource(ResourceArn=client.describe_collection(CollectionId="kept")["CollectionARN"])),
        "faces": faces,
        "second page": answer(client.list_faces(CollectionId="kept", MaxResults=2, NextToken=client.list_faces(CollectionId="kept", MaxResults=2)["NextToken"])),
        "users": answer(client.list_users(CollectionId="kept")),
        "user's faces": answer(client.list_faces(CollectionId="kept", UserId="obama")),
        "search faces": answer(client.search_faces(CollectionId="kept", FaceId=searched, FaceMatchThreshold=0)),
        "search by image": answer(client.search_faces_by_image(CollectionId="kept", Image={"Bytes": image_bytes(PROBE)})),
        "search users": answer(client.search_users(CollectionId="kept", FaceId=users_face, UserMatchThreshold=0)),
        "token replayed": answer(client.create_user(CollectionId="kept", UserId="obama", ClientRequestToken="create-obama")),
        "clustering": clustering(server, monkeypatch, job_id),
    }  # fmt: skip


def export(env: dict[str, str], store: list[str], output: Path) -> dict[str, list]:
    """``rekollect collection export`` of ``kept`` from ``store`` (flags) by the release on ``PYTHONPATH`` in ``env``."""
    done = subprocess.run(
        [sys.executable, "-m", "rekollect", "collection", "export", *store, "--collection-id", "kept", "--output", str(output)],
        capture_output=True, text=True, timeout=120, env={**os.environ, **env}, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    with zipfile.ZipFile(output) as archive:
        return {
            name: [json.loads(line) for line in archive.read(name).decode().splitlines()]
            for name in ("images.jsonl", "faces.jsonl", "users.jsonl")
        }


def written_by_the_release_then_served(
    data: Path, store: list[str], release: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> tuple[dict, dict, dict, dict, ServerProcess]:
    """Reads and an export of the release on its own data (``data``, and the database flags ``store``),
    the same of this release, and this release's server (running: stop it)."""
    old_env = {"PYTHONPATH": str(release)}
    old = ServerProcess(data, *store, env=old_env).start()
    try:
        job_id = write(old, monkeypatch)
        before = read(old, monkeypatch, job_id)
    finally:
        old.stop()
    exported_before = export(old_env, ["--data-dir", str(data), *store], tmp_path / "release.rkbackup")
    sources = tmp_path / "sources.conf"
    sources.write_text("door = rtsp://127.0.0.1:8554/door\n")
    new = ServerProcess(data, *store, "--face-crops", "--stream-sources", str(sources)).start()
    try:
        after = read(new, monkeypatch, job_id)
        exported_after = export({}, ["--data-dir", str(data), *store], tmp_path / "this-release.rkbackup")
    except BaseException:
        new.stop()
        raise
    return before, after, exported_before, exported_after, new


def keeps_writing(server: ServerProcess, monkeypatch: pytest.MonkeyPatch) -> None:
    """This release writes to the data the release made: faces (with their pictures, a table the release
    did not have), users, a collection's deletion, a Face Liveness session."""
    client = server.client()
    added = client.index_faces(CollectionId="kept", Image={"Bytes": image_bytes(PROBE)}, ExternalImageId="probe")
    probe = added["FaceRecords"][0]["Face"]["FaceId"]
    old_faces = [face["FaceId"] for face in client.list_faces(CollectionId="kept")["Faces"] if face["FaceId"] != probe]
    crops = extensions(server, monkeypatch).get_face_crops(CollectionId="kept", FaceIds=[probe, *old_faces])
    assert [crop["FaceId"] for crop in crops["FaceCrops"]] == [probe]  # the release kept none
    assert crops["FaceCrops"][0]["Crop"].startswith(b"\xff\xd8\xff")  # a JPEG
    assert client.associate_faces(CollectionId="kept", UserId="obama", FaceIds=[probe])["AssociatedFaces"] == [
        {"FaceId": probe}
    ]
    matches = client.search_faces(CollectionId="kept", FaceId=probe)["FaceMatches"]
    assert {match["Face"]["ExternalImageId"] for match in matches} == {"o0", "o1"}
    assert client.delete_user(CollectionId="kept", UserId="nobody") is not None
    # Stream processors, in the tables this release adds to the release's job store.
    client.create_stream_processor(
        Name="door",
        Input={"KinesisVideoStream": {"Arn": "arn:aws:kinesisvideo:us-east-1:123456789012:stream/door/1"}},
        Output={"KinesisDataStream": {"Arn": "arn:aws:kinesis:us-east-1:123456789012:stream/faces"}},
        RoleArn="arn:aws:iam::123456789012:role/streams",
        Settings={"FaceSearch": {"CollectionId": "kept"}},
    )
    assert client.list_stream_processors()["StreamProcessors"] == [{"Name": "door", "Status": "STOPPED"}]
    client.delete_stream_processor(Name="door")
    client.delete_collection(CollectionId="kept")
    assert client.list_collections()["CollectionIds"] == []
    session = client.create_face_liveness_session(ClientRequestToken="kept")["SessionId"]  # a table this release adds
    assert client.get_face_liveness_session_results(SessionId=session)["Status"] == "CREATED"


def test_a_sqlite_data_dir_of_the_release_is_served_unchanged(release, monkeypatch, tmp_path):
    data = tmp_path / "data"
    before, after, exported_before, exported_after, server = written_by_the_release_then_served(
        data, [], release, monkeypatch, tmp_path
    )
    try:
        assert after == before
        assert exported_after == exported_before  # the same records in the same order
        keeps_writing(server, monkeypatch)
    finally:
        server.stop()
    # The release's backup file (format version 1, without face pictures) is imported by this release.
    done = subprocess.run(
        [sys.executable, "-m", "rekollect", "collection", "import", "--data-dir", str(tmp_path / "restored"),
         "--input", str(tmp_path / "release.rkbackup")],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    faces, images = len(exported_before["faces.jsonl"]), len(exported_before["images.jsonl"])
    assert f"imported collection kept (face model 2.0: {faces} faces, {images} images, 2 users)" in done.stdout


def test_a_postgresql_schema_of_the_release_is_served_unchanged(release, postgres, monkeypatch, tmp_path):
    store = ["--database-url", postgres.url]
    before, after, exported_before, exported_after, server = written_by_the_release_then_served(
        tmp_path / "data", store, release, monkeypatch, tmp_path
    )
    try:
        assert after == before
        # The release listed a PostgreSQL store's images by ImageId; this one in the order they were indexed.
        assert exported_after["faces.jsonl"] == exported_before["faces.jsonl"]
        assert exported_after["users.jsonl"] == exported_before["users.jsonl"]
        order = list(dict.fromkeys(face["ImageId"] for face in exported_after["faces.jsonl"]))
        assert [image["ImageId"] for image in exported_after["images.jsonl"]] == order
        assert sorted(exported_after["images.jsonl"], key=str) == sorted(exported_before["images.jsonl"], key=str)
        keeps_writing(server, monkeypatch)
    finally:
        server.stop()
