"""Data survives a restart of the server, including one killed with SIGKILL, and a SIGTERM (what
systemd and Docker send) writes the index snapshot of every acknowledged write before exiting."""

from __future__ import annotations

import json
import signal
import sqlite3
import threading
import time

from botocore.exceptions import ClientError, ConnectionClosedError, EndpointConnectionError, ReadTimeoutError
from support import ServerProcess, image_bytes

from rekollect.index.tiered import TieredIndex

SMALL_FACES = [
    image_bytes("people/Barack_Obama/obama_small.jpg"),
    image_bytes("people/Tom_Hanks/Tom_Hanks_54745.png"),
]


def test_collections_faces_and_tags_survive_restarts(tmp_path):
    data = tmp_path / "data"
    first = ServerProcess(data).start()
    try:
        client = first.client()
        client.create_collection(CollectionId="durable", Tags={"k": "v"})
        face_id = client.index_faces(
            CollectionId="durable", Image={"Bytes": image_bytes("people/Barack_Obama/obama.jpg")}, ExternalImageId="o"
        )["FaceRecords"][0]["Face"]["FaceId"]
        token = client.list_faces(CollectionId="durable", MaxResults=1).get("NextToken")
    finally:
        first.stop(signal.SIGKILL)

    second = ServerProcess(data).start()
    try:
        client = second.client()
        assert client.describe_collection(CollectionId="durable")["FaceCount"] == 1
        arn = client.describe_collection(CollectionId="durable")["CollectionARN"]
        assert client.list_tags_for_resource(ResourceArn=arn)["Tags"] == {"k": "v"}
        matches = client.search_faces_by_image(
            CollectionId="durable", Image={"Bytes": image_bytes("people/Barack_Obama/obama2.jpg")}
        )["FaceMatches"]
        assert [match["Face"]["FaceId"] for match in matches] == [face_id]
        assert token is None
    finally:
        second.stop()


def test_sigterm_during_writes_leaves_a_snapshot_of_every_acknowledged_write(tmp_path):
    data = tmp_path / "data"
    server = ServerProcess(data).start()
    server.client().create_collection(CollectionId="term")
    acknowledged: set[str] = set()
    stop = threading.Event()

    def writer(number: int) -> None:
        client, step = server.client(), 0
        while not stop.is_set():
            try:
                response = client.index_faces(
                    CollectionId="term", Image={"Bytes": SMALL_FACES[number]}, ExternalImageId=f"{number}-{step}"
                )
            except (ClientError, ConnectionClosedError, EndpointConnectionError, ReadTimeoutError, ConnectionError):
                return
            acknowledged.update(record["Face"]["FaceId"] for record in response["FaceRecords"])
            step += 1

    threads = [threading.Thread(target=writer, args=(number,)) for number in range(len(SMALL_FACES))]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + 120
    while len(acknowledged) < 4 and time.monotonic() < deadline:
        time.sleep(0.05)
    server.stop(signal.SIGTERM)  # requests are under way: uvicorn lets them finish, then the app shuts down
    stop.set()
    for thread in threads:
        thread.join()

    with sqlite3.connect(data / "rekollect.sqlite3") as db:
        cursor = db.execute("SELECT MAX(seq) FROM index_log").fetchone()[0]
        stored = {row[0] for row in db.execute("SELECT face_id FROM faces WHERE collection_id = 'term'")}
    assert acknowledged <= stored and len(acknowledged) >= 4
    manifest = json.loads((data / "index" / "manifest.json").read_text())
    assert manifest["cursor"] == cursor, "the snapshot misses writes acknowledged before SIGTERM"
    snapshot = TieredIndex()
    for name in manifest["files"].values():
        snapshot.load_space(data / "index" / name)
    assert snapshot.spaces() == ["faces/term"] and snapshot.size("faces/term") == len(stored)

    restarted = ServerProcess(data).start()
    try:
        client = restarted.client()
        assert "snapshot, 0 log entries replayed" in restarted.log.read_text()
        assert {face["FaceId"] for face in client.list_faces(CollectionId="term")["Faces"]} == stored
        matches = client.search_faces_by_image(
            CollectionId="term", Image={"Bytes": SMALL_FACES[0]}, FaceMatchThreshold=0, MaxFaces=4096
        )["FaceMatches"]
        assert {match["Face"]["FaceId"] for match in matches} == stored
    finally:
        restarted.stop()
